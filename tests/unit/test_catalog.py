"""The catalog queries as both readers send them: numbered placeholders and text array parameters (the reads
themselves are in io/test_preload.py)."""

from __future__ import annotations

import json
from pathlib import Path

from restpg._core import SchemaCache
from restpg.schema.catalog import (
    CatalogJob,
    CatalogQuery,
    _numbered,
    _text_array,
    assemble_document,
    reading_groups,
)

FIXTURE = Path(__file__).parents[2] / "rust" / "tests" / "fixtures" / "schema.json"


def test_named_placeholders_become_numbered_ones() -> None:
    sql, names = _numbered("select %(b)s, %(a)s, %(b)s, '100%%', like 'x\\_%%'")
    assert sql == "select $1, $2, $1, '100%', like 'x\\_%'"
    assert names == ["b", "a"]


def test_a_query_without_placeholders_is_unchanged() -> None:
    assert _numbered("select 1") == ("select 1", [])


def test_text_arrays_quote_every_element() -> None:
    assert _text_array([]) == b"{}"
    assert _text_array(["api", "v2"]) == b'{"api","v2"}'
    assert _text_array(['a"b', "c\\d", "e,f", "NULL"]) == b'{"a\\"b","c\\\\d","e,f","NULL"}'


def _job(stem: str) -> CatalogJob:
    return (stem, f"select '{stem}'".encode(), [])


def test_a_side_by_side_read_puts_the_largest_query_alone() -> None:
    fingerprint, keys, routines, tables = _job(""), _job("keys"), _job("routines"), _job("tables")
    assert reading_groups([fingerprint, keys, routines, tables]) == [[fingerprint, keys, routines], [tables]]
    assert reading_groups([tables]) == [[tables]]  # no connection without a query
    assert reading_groups([keys, routines]) == [[keys, routines]]


def test_the_document_in_pieces_builds_the_same_cache_as_whole() -> None:
    whole = FIXTURE.read_bytes()
    parts = {stem: json.dumps(value).encode() for stem, value in json.loads(whole).items()}
    pieces = assemble_document([CatalogQuery(stem, "") for stem in sorted(parts)], parts)
    assert len(pieces) > 1 and json.loads(b"".join(pieces)) == json.loads(whole)
    assert SchemaCache(pieces).to_json() == SchemaCache(whole).to_json()

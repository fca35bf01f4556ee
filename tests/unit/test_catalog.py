"""The catalog queries as both readers send them: numbered placeholders and text array parameters (the reads
themselves are in io/test_preload.py)."""

from __future__ import annotations

from restpg.schema.catalog import CatalogJob, _numbered, _text_array, reading_groups


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

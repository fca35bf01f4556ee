"""The catalog queries as both readers send them: numbered placeholders and text array parameters (the reads
themselves are in io/test_preload.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from restpg._core import SchemaCache
from restpg.schema.catalog import (
    CatalogJob,
    CatalogQuery,
    _numbered,
    _text_array,
    catalog_queries,
    document_of,
    reading_order,
    whole_document,
)
from restpg.schema.fingerprint import CATALOGS

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


def test_a_side_by_side_read_takes_the_largest_queries_first() -> None:
    states, columns, descriptions, keys, routines, tables = (
        _job(stem) for stem in ("", "columns", "descriptions", "keys", "routines", "tables")
    )
    assert reading_order([states, columns, descriptions, keys, routines, tables]) == [
        columns,
        keys,
        states,
        descriptions,
        routines,
        tables,
    ]
    assert reading_order([routines, states]) == [routines, states]  # the others keep their order


def test_the_document_in_parts_builds_the_same_cache_as_whole() -> None:
    whole = FIXTURE.read_bytes()
    results = {stem: json.dumps(value).encode() for stem, value in json.loads(whole).items()}
    document = document_of(
        [CatalogQuery(stem, "", frozenset()) for stem in sorted(results)], results | {"": b"x"}
    )
    assert list(document) == sorted(results) and json.loads(whole_document(document)) == json.loads(whole)
    assert SchemaCache(document).to_json() == SchemaCache(whole).to_json()


def test_a_document_missing_a_part_or_of_another_shape_is_refused() -> None:
    results = {stem: json.dumps(value).encode() for stem, value in json.loads(FIXTURE.read_bytes()).items()}
    with pytest.raises(ValueError, match="no part `keys`"):
        SchemaCache({stem: json for stem, json in results.items() if stem != "keys"})
    with pytest.raises(ValueError, match="routines: "):
        SchemaCache(results | {"routines": b"{}"})
    with pytest.raises(TypeError):
        SchemaCache(list(results.values()))  # type: ignore[arg-type]
    assert SchemaCache(results | {"extra": b"[]"}).table_count > 0  # a part the core does not know is ignored


def test_every_query_file_names_the_catalogs_it_reads() -> None:
    """A reload reuses a query's last result while the catalogs its ``-- catalogs:`` lines name are
    unchanged: a catalog it reads but does not name would leave its result stale."""
    # pg_depend is not fingerprinted: its rows the queries read change only with pg_class, pg_attribute
    # and pg_rewrite rows (the files say so). pg_relation_is_updatable reads pg_rewrite and pg_trigger.
    follows = {"pg_depend": set(), "pg_relation_is_updatable": {"pg_rewrite", "pg_trigger"}}
    for query in catalog_queries():
        code = "\n".join(line.split("--")[0] for line in query.sql.splitlines())
        read = set(re.findall(r"\b(?:from|join)\s+(pg_\w+)", code)) | {
            name for name in follows if re.search(rf"\b{name}\(", code)
        }
        needed: set[str] = set()
        for catalog in read:
            if catalog == "pg_description":  # in two parts: at least one must be named
                assert query.catalogs & {"pg_description:pg_class", "pg_description:other"}, query.stem
            else:
                needed |= follows.get(catalog, {catalog})
        assert needed <= query.catalogs, (query.stem, sorted(needed - query.catalogs))
        assert query.catalogs <= CATALOGS
        # A change query follows changes of what the query reads, no other.
        assert query.changes is None or query.changes.follows <= query.catalogs, query.stem
        assert query.changes is None or query.changes.members <= query.changes.follows, query.stem


def test_no_query_file_names_a_placeholder_in_a_comment() -> None:
    """Placeholders are numbered wherever they are written: one in a comment becomes a parameter that no
    statement uses, which PostgreSQL cannot type (the whole read fails)."""
    for query in catalog_queries():
        for sql in (query.sql, query.changes.sql if query.changes else ""):
            comments = [line.partition("--")[2] for line in sql.splitlines() if "--" in line]
            assert not [c for c in comments if re.search(r"%\(\w+\)s", c)], query.stem


@pytest.mark.parametrize(
    ("header", "error"),
    [
        ("", "must name the catalogs it reads"),
        ("-- catalogs: pg_class pg_nonsense\n", "pg_nonsense"),
    ],
)
def test_a_query_file_without_valid_catalogs_is_refused(tmp_path: Path, header: str, error: str) -> None:
    (tmp_path / "tables.sql").write_text(header + "select '[]'::json")
    with pytest.raises(ValueError, match=error):
        catalog_queries(tmp_path)


@pytest.mark.parametrize(
    ("header", "error"),
    [
        ("-- members: pg_class\n", "must name what it follows"),
        ("-- follows: pg_class pg_nonsense\n-- members: pg_class\n", "pg_nonsense"),
        ("-- follows: pg_class\n", "must name its members"),
    ],
)
def test_a_change_query_without_valid_parts_is_refused(tmp_path: Path, header: str, error: str) -> None:
    (tmp_path / "tables.sql").write_text("-- catalogs: pg_class\nselect '[]'::json")
    (tmp_path / "changes").mkdir()
    (tmp_path / "changes" / "tables.sql").write_text(header + "select '{}'::json, '{}'")
    with pytest.raises(ValueError, match=error):
        catalog_queries(tmp_path)

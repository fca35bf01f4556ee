"""A reload's read (``introspect.reread_catalog``) against a real database: it runs again only the queries
whose catalogs changed, what it assembles is what a full read gives, and its fingerprint is the catalog's."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from restpg._core import SchemaCache
from restpg.db.pool import Pool, PoolOptions
from restpg.schema.catalog import catalog_queries
from restpg.schema.fingerprint import catalog_fingerprint
from restpg.schema.introspect import SchemaTooLarge, reread_catalog
from support.postgres import Database
from support.rereads import reread, run

ALL = frozenset(query.stem for query in catalog_queries())


@pytest.fixture
def schema(database: Database) -> Iterator[str]:
    name = f"reread_{uuid.uuid4().hex[:8]}"
    run(database, name, "create schema {s}", "create table {s}.films (id int primary key, title text)")
    yield name
    run(database, name, "drop schema {s} cascade")


MERGED = frozenset({"columns", "routines"})


@pytest.mark.parametrize(
    ("change", "rerun", "merged"),
    [
        ("comment on table {s}.films is 'the films'", {"descriptions"}, set()),
        ("comment on column {s}.films.title is 'its title'", {"descriptions"}, set()),
        # A default may call a function: the columns are looked at, none of them read (see below).
        ("create function {s}.answer() returns int language sql as 'select 42'", set(), MERGED),
        ("alter table {s}.films add column year int", ALL - MERGED, MERGED),
        (
            "create table {s}.reviews (id int primary key, film int references {s}.films)",
            ALL - MERGED,
            MERGED,
        ),
        # The schemas changed (one renamed renames the types and sequences in it): read whole.
        ("create schema {o}", ALL, set()),
    ],
)
def test_a_reload_reruns_only_the_queries_whose_catalogs_changed(
    database: Database, schema: str, change: str, rerun: set[str], merged: set[str]
) -> None:
    _, _, first = reread(database, schema, None)
    assert first is not None and first.ran == ALL
    _, _, unchanged = reread(database, schema, first)
    assert unchanged is not None and unchanged.ran == unchanged.merged == frozenset()  # every result reused
    try:
        run(database, schema, change)
        _, _, after = reread(database, schema, unchanged)
        assert after is not None and (after.ran, after.merged) == (rerun, merged)
    finally:
        run(database, schema, "drop schema if exists {o}")


def test_a_foreign_server_reruns_the_relations(database: Database, schema: str) -> None:
    """Whether a foreign table can be written depends on its wrapper's handler (tables.sql): the foreign
    data catalogs are parts of the fingerprint, and their change runs tables.sql again."""
    run(database, schema, "create foreign data wrapper {s}")
    try:
        _, _, first = reread(database, schema, None)
        run(database, schema, "create server {s} foreign data wrapper {s}")
        _, _, after = reread(database, schema, first)
        assert after is not None and after.ran == {"tables"}
    finally:
        run(database, schema, "drop foreign data wrapper {s} cascade")


def test_an_unchanged_catalog_stops_the_read_at_its_fingerprint(database: Database, schema: str) -> None:
    fingerprint, _, first = reread(database, schema, None)
    assert reread(database, schema, first, unless=fingerprint) == (fingerprint, None, None)
    run(database, schema, "comment on table {s}.films is 'the films'")
    changed, document, reading = reread(database, schema, first, unless=fingerprint)
    assert changed != fingerprint and reading is not None and reading.ran == {"descriptions"}
    assert document is not None and b'"the films"' in document["descriptions"]
    assert SchemaCache(document).table_count == 1


def test_a_read_over_the_cap_fails_and_drops_its_connection(database: Database, schema: str) -> None:
    async def over_the_cap() -> tuple[int, int]:
        pool = Pool(database.admin_dsn, PoolOptions(size=1))
        await pool.open()
        try:
            with pytest.raises(SchemaTooLarge, match="restpg-max-schema-bytes = 100 bytes"):
                await reread_catalog(
                    pool,
                    schemas=[schema],
                    extra_search_path=[],
                    digest="d",
                    previous=None,
                    unless=None,
                    max_bytes=100,
                )
            # Left mid-transaction: dropped, not given back; the next read gets a fresh connection.
            idle_after_failure = pool.idle
            fingerprint, document, _ = await reread_catalog(
                pool, schemas=[schema], extra_search_path=[], digest="d", previous=None, unless=None
            )
            assert document is not None and fingerprint.endswith("-d")
            return idle_after_failure, pool.idle
        finally:
            await pool.close()

    assert asyncio.run(over_the_cap()) == (0, 1)


def test_temporary_tables_leave_the_fingerprint_as_it_was(database: Database, schema: str) -> None:
    """Temporary relations say nothing about the API: their rows in the catalogs (the relation, its columns,
    types, default, key, comment, a view's rule) are left out of the fingerprint, which a real table does
    change."""

    def fingerprint() -> str:
        return asyncio.run(catalog_fingerprint(database.admin_dsn, "d"))

    with psycopg.connect(database.admin_dsn, autocommit=True) as conn:
        # The backend's temporary schema is created once, with its first temporary table.
        conn.execute("create temporary table warm_up (id int)")
        before = fingerprint()
        conn.execute("create temporary table scratch (id int primary key, note text default 'x')")
        conn.execute("alter table scratch add column at timestamptz")
        conn.execute("comment on table scratch is 'scratch'")
        conn.execute("create temporary view scratch_notes as select id, note from scratch")
        during = fingerprint()
    run(database, schema, "create table {s}.scratch (id int)")
    assert during == before != fingerprint()

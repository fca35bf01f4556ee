"""Reload reads (``introspect.reread_catalog``) of one test schema, each checked against a whole read."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg
from psycopg import sql

from restpg._core import SchemaCache
from restpg.db.pool import Pool, PoolOptions
from restpg.schema.catalog import Document
from restpg.schema.fingerprint import catalog_fingerprint
from restpg.schema.introspect import QUERIES, Reading, load_document, reread_catalog
from support.postgres import Database


def run(database: Database, schema: str, *statements: str) -> None:
    """Each statement with ``{s}`` as ``schema``'s quoted name (``{o}`` another schema's, not exposed),
    committed one by one."""
    names = {"s": sql.Identifier(schema), "o": sql.Identifier(schema + "_other")}
    with psycopg.connect(database.admin_dsn, autocommit=True) as conn:
        for statement in statements:
            conn.execute(sql.SQL(statement).format(**names))  # type: ignore[arg-type]


def reread(
    database: Database,
    schema: str,
    previous: Reading | None,
    unless: str | None = None,
    queries: Path = QUERIES,
) -> tuple[str, Document | None, Reading | None]:
    """A reload's read of ``schema``: its fingerprint must be the catalog's, and its document what a start
    would read now, every query run (a merged part in another order: the same cache)."""

    async def on_a_pool() -> tuple[str, Document | None, Reading | None]:
        pool = Pool(database.admin_dsn, PoolOptions(size=1))
        await pool.open()
        try:
            got = await reread_catalog(
                pool,
                schemas=[schema],
                extra_search_path=[],
                digest="d",
                previous=previous,
                unless=unless,
                queries=queries,
            )
            assert pool.idle == 1  # given back, its transaction ended
            return got
        finally:
            await pool.close()

    fingerprint, document, reading = asyncio.run(on_a_pool())
    assert fingerprint == asyncio.run(catalog_fingerprint(database.admin_dsn, "d"))
    if document is None:
        return fingerprint, None, reading
    full = asyncio.run(
        load_document(database.admin_dsn, schemas=[schema], extra_search_path=[], queries=queries)
    )
    assert list(document) == list(full)
    merged = frozenset() if reading is None else reading.merged
    assert {stem: document[stem] for stem in full if stem not in merged} == {
        stem: full[stem] for stem in full if stem not in merged
    }
    assert SchemaCache(document).to_json() == SchemaCache(full).to_json()
    return fingerprint, document, reading

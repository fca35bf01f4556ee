"""Introspection through psycopg: run the catalog queries (read-only, side by side) and build the core's
schema cache. The queries and the document they make are described in ``catalog.py``. This is not the hot
path, so psycopg's ordinary connection API is used.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql
from psycopg.adapt import Loader

from restpg import __version__
from restpg.schema.catalog import QUERIES, SchemaTooLarge, assemble_document, catalog_queries
from restpg.schema.fingerprint import FINGERPRINT_SQL

if TYPE_CHECKING:
    from pathlib import Path

    from restpg._core import SchemaCache

__all__ = ["QUERIES", "SchemaTooLarge", "build_cache", "load_document", "read_catalog"]


class _RawLoader(Loader):
    """Keep the column's text as bytes: the document is parsed once, in Rust."""

    def load(self, data: psycopg.abc.Buffer) -> bytes:
        return bytes(data)


async def load_document(
    conninfo: str,
    *,
    schemas: Sequence[str],
    extra_search_path: Sequence[str],
    queries: Path = QUERIES,
    max_bytes: int | None = None,
    parallel: bool = True,
) -> bytes:
    """Run every query in ``queries`` and return the introspection document (keys in file-name order).

    With ``parallel`` the queries run side by side, each on a connection of its own, so PostgreSQL runs
    them on as many backends and cores: at 1,000 tables the document takes the time of its slowest query,
    not the sum. That is for when nothing else waits (a start); a reload while requests are served runs them
    one after the other on one connection, leaving the other cores to the requests. Either way they read one
    state of the catalog: the first connection's read-only REPEATABLE READ transaction exports its snapshot
    and the others import it (what pg_dump does for a parallel dump).

    Raises ``SchemaTooLarge`` as soon as the parts read so far exceed ``max_bytes``, cancelling the queries
    still running, and before Rust parses anything (the parsed cache takes several times the document's size).
    """
    _, document = await _read(
        conninfo, schemas, extra_search_path, queries, max_bytes, parallel=parallel, fingerprint=False
    )
    return document


async def read_catalog(
    conninfo: str,
    *,
    schemas: Sequence[str],
    extra_search_path: Sequence[str],
    digest: str,
    queries: Path = QUERIES,
    max_bytes: int | None = None,
) -> tuple[str, bytes]:
    """``(fingerprint, document)`` read side by side in one snapshot, for a start (nothing else waits).

    The fingerprint (see ``fingerprint.py``) then describes exactly the catalog state the document was read
    in, and costs no connection of its own.
    """
    fingerprint, document = await _read(
        conninfo, schemas, extra_search_path, queries, max_bytes, parallel=True, fingerprint=True
    )
    return f"{fingerprint}-{digest}", document


async def _read(
    conninfo: str,
    schemas: Sequence[str],
    extra_search_path: Sequence[str],
    queries: Path,
    max_bytes: int | None,
    *,
    parallel: bool,
    fingerprint: bool,
) -> tuple[str, bytes]:
    files = catalog_queries(queries)
    params = {"schemas": list(schemas), "extra_search_path": list(extra_search_path)}
    # (name, sql, params); the fingerprint has no placeholders (and a literal % psycopg must not read).
    jobs: list[tuple[str, str, dict[str, list[str]] | None]] = [(q.stem, q.sql, params) for q in files]
    if fingerprint:
        jobs.insert(0, ("", FINGERPRINT_SQL, None))
    count = len(jobs) if parallel else 1
    async with _connections(conninfo, count) as connections:
        exported = await _begin(connections[0], snapshot=None)
        await asyncio.gather(*(_begin(conn, snapshot=exported) for conn in connections[1:]))
        # Queries given the same connection wait for each other (psycopg serializes a connection's use).
        tasks = [
            asyncio.ensure_future(_fetch_one(connections[index % count], name, query, job_params))
            for index, (name, query, job_params) in enumerate(jobs)
        ]
        parts: dict[str, bytes] = {}
        size = 0
        try:
            for finished in asyncio.as_completed(tasks):
                name, value = await finished
                parts[name] = value
                size += len(value)
                if max_bytes is not None and size > max_bytes:
                    raise SchemaTooLarge(size, max_bytes, name)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    return parts.get("", b"").decode(), assemble_document(files, parts)


@contextlib.asynccontextmanager
async def _connections(conninfo: str, count: int) -> AsyncIterator[list[psycopg.AsyncConnection[Any]]]:
    """``count`` connections opened side by side; all closed on the way out, also when one failed to open."""
    name = f"restpg {__version__}"
    opened = await asyncio.gather(
        *(psycopg.AsyncConnection.connect(conninfo, application_name=name) for _ in range(count)),
        return_exceptions=True,
    )
    connections = [conn for conn in opened if isinstance(conn, psycopg.AsyncConnection)]
    try:
        for outcome in opened:
            if isinstance(outcome, BaseException):
                raise outcome
        yield connections
    finally:
        await asyncio.gather(*(conn.close() for conn in connections), return_exceptions=True)


async def _begin(conn: psycopg.AsyncConnection[Any], *, snapshot: str | None) -> str:
    """Open the read-only transaction the catalog is read in; export its snapshot, or import ``snapshot``.

    An empty search_path makes format_type qualify every type outside pg_catalog, so type names in the
    document are unambiguous whatever the role's own search_path is. JIT would spend longer compiling these
    large catalog queries than they take to run (about 1 s of 2 s at 10,000 tables).
    """
    for type_name in ("json", "jsonb", "text"):
        conn.adapters.register_loader(type_name, _RawLoader)
    await conn.set_isolation_level(psycopg.IsolationLevel.REPEATABLE_READ)
    await conn.set_read_only(True)
    settings = "set_config('search_path', '', true), set_config('jit', 'off', true)"
    if snapshot is not None:
        # Must come first in the transaction; the id is PostgreSQL's own, quoted as a literal.
        await conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(snapshot))
        await conn.execute(f"SELECT {settings}")
        return snapshot
    cursor = await conn.execute(f"SELECT pg_export_snapshot(), {settings}")
    row = await cursor.fetchone()
    assert row is not None
    return bytes(row[0]).decode()


async def _fetch_one(
    conn: psycopg.AsyncConnection[Any], name: str, query: str, params: dict[str, list[str]] | None
) -> tuple[str, bytes]:
    """One catalog query's single value (json, or the fingerprint's text): ``(name, value)``."""
    cursor = await conn.execute(query, params)
    row = await cursor.fetchone()
    return name, b"null" if row is None or row[0] is None else row[0]


def build_cache(document: bytes) -> SchemaCache:
    from restpg._core import SchemaCache

    return SchemaCache(document)

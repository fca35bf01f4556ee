"""Introspection on the core's connections: run the catalog queries (read-only, side by side) and build the
core's schema cache. The queries and the document they make are described in ``catalog.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING

from restpg.db.execute import fetch_rows
from restpg.db.pool import Connection, connection_params, open_connection
from restpg.schema.catalog import (
    BEGIN_READ,
    QUERIES,
    READ_SETTINGS,
    CatalogJob,
    SchemaTooLarge,
    assemble_document,
    catalog_jobs,
    catalog_queries,
    import_snapshot,
    reading_groups,
)
from restpg.schema.fingerprint import FINGERPRINT_SQL

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["QUERIES", "SchemaTooLarge", "load_document", "read_catalog"]


async def load_document(
    conninfo: str,
    *,
    schemas: Sequence[str],
    extra_search_path: Sequence[str],
    queries: Path = QUERIES,
    max_bytes: int | None = None,
    parallel: bool = True,
) -> list[bytes]:
    """Run every query in ``queries`` and return the introspection document (keys in file-name order), in
    the pieces ``catalog.assemble_document`` makes.

    With ``parallel`` the queries run side by side on two connections (the largest alone on one, see
    ``catalog.READS_ALONE``), so PostgreSQL runs them on two backends and cores: at 1,000 tables the
    document takes about the time of its slowest query, not the sum. That is for when nothing else waits
    (a start); a reload while requests are served runs them one after the other on one connection,
    leaving the other cores to the requests. Either way they read one state of the catalog: the first
    connection's read-only REPEATABLE READ transaction exports its snapshot and the others import it (what
    pg_dump does for a parallel dump).

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
) -> tuple[str, list[bytes]]:
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
) -> tuple[str, list[bytes]]:
    files = catalog_queries(queries)
    jobs = catalog_jobs(files, schemas, extra_search_path)
    if fingerprint:
        jobs.insert(0, ("", FINGERPRINT_SQL.encode(), []))
    groups = reading_groups(jobs) if parallel else [jobs]
    parts: dict[str, bytes] = {}
    size = 0

    async def run(connection: Connection, assigned: list[CatalogJob]) -> None:
        # A connection runs one round trip at a time: its queries one after the other.
        nonlocal size
        for name, query, params in assigned:
            rows = await fetch_rows(connection, query, params)
            value = rows[0][0] if rows and rows[0][0] is not None else b"null"
            parts[name] = value
            size += len(value)
            if max_bytes is not None and size > max_bytes:
                raise SchemaTooLarge(size, max_bytes, name)

    async with _connections(conninfo, len(groups)) as connections:
        exported = await _begin(connections[0], snapshot=None)
        await asyncio.gather(*(_begin(conn, snapshot=exported) for conn in connections[1:]))
        tasks = [
            asyncio.ensure_future(run(connection, group))
            for connection, group in zip(connections, groups, strict=True)
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    return parts.get("", b"").decode(), assemble_document(files, parts)


@contextlib.asynccontextmanager
async def _connections(conninfo: str, count: int) -> AsyncIterator[list[Connection]]:
    """``count`` connections opened side by side; all closed on the way out, also when one failed to open.
    Closing them ends their read-only transactions."""
    params = connection_params(conninfo)
    opened = await asyncio.gather(*(open_connection(params) for _ in range(count)), return_exceptions=True)
    connections = [outcome for outcome in opened if isinstance(outcome, Connection)]
    try:
        for outcome in opened:
            if isinstance(outcome, BaseException):
                raise outcome
        yield connections
    finally:
        for connection in connections:
            connection.close()


async def _begin(connection: Connection, *, snapshot: str | None) -> str:
    """Open the read-only transaction the catalog is read in; export its snapshot, or import ``snapshot``."""
    if snapshot is not None:
        await fetch_rows(connection, READ_SETTINGS, before=(BEGIN_READ, import_snapshot(snapshot)))
        return snapshot
    rows = await fetch_rows(connection, b"SELECT pg_export_snapshot()", before=(BEGIN_READ, READ_SETTINGS))
    exported = rows[0][0]
    assert exported is not None
    return exported.decode()

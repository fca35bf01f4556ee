"""Introspection on the core's connections: run the catalog queries (read-only, side by side) and build the
core's schema cache. The queries and the document they make are described in ``catalog.py``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import sys
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from restpg._core import merge_changed
from restpg.db.execute import StatementError, fetch_rows
from restpg.db.pool import Connection, Pool, connection_params, open_connection
from restpg.schema.catalog import (
    BEGIN_READ,
    HORIZON_AGE,
    QUERIES,
    READ_SETTINGS,
    READERS,
    STATES_KEY,
    CatalogQuery,
    Document,
    SchemaTooLarge,
    catalog_jobs,
    catalog_queries,
    change_jobs,
    document_of,
    import_snapshot,
    reading_order,
)
from restpg.schema.fingerprint import (
    CATALOG_STATES_AND_HORIZON_SQL,
    CATALOG_STATES_SQL,
    fingerprint_of,
    parse_states,
)

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["QUERIES", "Reading", "SchemaTooLarge", "load_document", "read_catalog", "reread_catalog"]

# Parts every result depends on: another database of the same name is another catalog.
_ALWAYS = frozenset({"database"})


async def load_document(
    conninfo: str,
    *,
    schemas: Sequence[str],
    extra_search_path: Sequence[str],
    queries: Path = QUERIES,
    max_bytes: int | None = None,
    parallel: bool = True,
) -> Document:
    """Run every query in ``queries`` and return the introspection document (``catalog.Document``).

    With ``parallel`` the queries run side by side on two connections (``catalog.READERS``), each taking
    the next (largest first, ``catalog.reading_order``) when done with its last, so PostgreSQL runs them on
    two backends and cores: at 1,000 tables the document takes about the time of its slowest query, not
    the sum. That is for when nothing else waits
    (a start); a reload while requests are served runs them one after the other on one connection
    (``reread_catalog``), leaving the other cores to the requests. Either way they read one state of the
    catalog: the first connection's read-only REPEATABLE READ transaction exports its snapshot and the
    others import it (what pg_dump does for a parallel dump).

    Raises ``SchemaTooLarge`` as soon as the parts read so far exceed ``max_bytes``, cancelling the queries
    still running, and before Rust parses anything (the parsed cache takes several times the document's size).
    """
    files, parts = await _read(
        conninfo, schemas, extra_search_path, queries, max_bytes, parallel=parallel, states=False
    )
    return document_of(files, parts)


@dataclass(frozen=True, slots=True)
class Reading:
    """What a read saw, for the next read to reuse: the state of each part of the catalog
    (``fingerprint.CATALOG_STATES_SQL``) and each query's result, both from one snapshot."""

    states: Mapping[str, str | None]
    results: Mapping[str, bytes]
    #: The queries this read ran whole; the others' results it took from the read before, or merged.
    ran: frozenset[str]
    #: The queries it read for the relations that changed alone, merged into the read before's results.
    merged: frozenset[str]
    #: The oldest transaction running when its snapshot was taken (with its epoch): the rows the next read's
    #: change queries take as new are those written by it or later.
    horizon: int
    #: When the server it read from started. Transaction ids count on in one server's history only: a
    #: failover's new primary goes on from what it had replayed, reusing the ids of the transactions it
    #: never saw, and a restore to an earlier point rewinds them. Either is a server started at another
    #: time, and the next read then reads everything whole.
    server_start: bytes

    def result_for(self, query: CatalogQuery, states: Mapping[str, str | None]) -> bytes | None:
        """This read's result of ``query`` if it still holds in ``states``: none of the parts of the catalog
        the query reads changed (nor the database)."""
        result = self.results.get(query.stem)
        if result is None or any(self.states.get(c) != states.get(c) for c in query.catalogs | _ALWAYS):
            return None
        return result


async def reread_catalog(
    pool: Pool,
    *,
    schemas: Sequence[str],
    extra_search_path: Sequence[str],
    digest: str,
    previous: Reading | None,
    unless: str | None,
    checked: Callable[[str], None] | None = None,
    queries: Path = QUERIES,
    max_bytes: int | None = None,
) -> tuple[str, Document | None, Reading | None]:
    """``(fingerprint, document, reading)`` for a reload while requests are served: the catalog's
    fingerprint and, unless it is ``unless`` (the cache served is current: ``(fingerprint, None, None)``),
    the document and what this read saw, for the next one. ``checked`` gets the fingerprint as soon as it
    is known.

    All in one read-only transaction on one of ``pool``'s connections, so the fingerprint describes exactly
    the state the document was read in, one query after the other (the other cores stay with the requests).
    A query whose catalogs (its ``-- catalogs:`` lines) are in the state ``previous`` saw is not run again:
    its result would be the same. A ``COMMENT ON TABLE`` re-runs ``descriptions.sql`` alone, a ``CREATE
    FUNCTION`` ``routines.sql``. A query with a change query (``catalog.ChangeQuery``) that follows every
    part that changed is run for the relations it names alone, and the core merges that into the earlier
    result (``_read_changed``): after a ``CREATE TABLE`` the columns of that table, not of all of them.
    ``SchemaTooLarge`` as in ``load_document``.
    """
    files = catalog_queries(queries)
    jobs = catalog_jobs(files, schemas, extra_search_path)
    async with _pooled(pool) as connection:
        rows = await fetch_rows(
            connection, CATALOG_STATES_AND_HORIZON_SQL.encode(), before=(BEGIN_READ, READ_SETTINGS)
        )
        raw = _value(rows)
        fingerprint = fingerprint_of(raw, digest)
        if checked is not None:
            checked(fingerprint)
        if fingerprint == unless:
            return fingerprint, None, None
        states = parse_states(raw)
        horizon, server_start = rows[0][1], rows[0][2]
        assert horizon is not None and server_start is not None  # (never null)
        look_back = None  # how far back the change queries look: None, everything is read whole
        if previous is not None and previous.server_start == server_start:
            since = [str(previous.horizon).encode()]
            look_back = int(_value(await fetch_rows(connection, HORIZON_AGE, since)))
        parts: dict[str, bytes] = {}
        ran: set[str] = set()
        merged: set[str] = set()
        for query, (stem, sql, params) in zip(files, jobs, strict=True):
            value = None if previous is None else previous.result_for(query, states)
            if value is None and previous is not None and look_back is not None:
                value = await _read_changed(
                    connection, query, previous, states, look_back, schemas, extra_search_path
                )
                if value is not None:
                    merged.add(stem)
            if value is None:
                value = _value(await fetch_rows(connection, sql, params))
                ran.add(stem)
            parts[stem] = value
            _check_size(parts, max_bytes, stem)
    reading = Reading(states, parts, frozenset(ran), frozenset(merged), int(horizon), server_start)
    return fingerprint, document_of(files, parts), reading


async def _read_changed(
    connection: Connection,
    query: CatalogQuery,
    previous: Reading,
    states: Mapping[str, str | None],
    look_back: int,
    schemas: Sequence[str],
    extra_search_path: Sequence[str],
) -> bytes | None:
    """``query``'s result from ``previous``'s and a read of the objects that changed since (written up to
    ``look_back`` transactions back), or None when it must be read whole: no change query, or one that
    does not follow a part that changed (a schema renamed), or nothing to merge into."""
    earlier = previous.results.get(query.stem)
    if query.changes is None or earlier is None:
        return None
    moved = {part for part in query.catalogs | _ALWAYS if previous.states.get(part) != states.get(part)}
    if not moved <= query.changes.follows:
        return None
    (_, changes_sql, changes_params), only = change_jobs(query, schemas, extra_search_path, look_back, moved)
    try:
        # Behind a savepoint: a query that fails (a server that lacks what it reads) leaves the read's
        # transaction usable, and the file is read whole, as without a change query.
        rows = await fetch_rows(connection, changes_sql, changes_params, before=(_SAVEPOINT,))
        changes, oids = rows[0]
        assert changes is not None and oids is not None
        if oids == b"{}" and not moved & query.changes.members:
            return earlier  # none changed, none came or went (the columns after a CREATE FUNCTION)
        fresh = b"null"
        if oids != b"{}":
            _, sql, params = only(oids)
            fresh = _value(await fetch_rows(connection, sql, params))
    except StatementError as exc:
        await fetch_rows(connection, _BACK_TO_SAVEPOINT)
        print(f"restpg: reading {query.stem}.sql whole: {exc}", file=sys.stderr)
        return None
    try:
        # Tens of kilobytes to megabytes of JSON: in the core, without the GIL, behind the requests.
        return await asyncio.to_thread(merge_changed, earlier, fresh, changes, background=True)
    except ValueError as exc:  # not the lists the change query was written for: read it whole
        print(f"restpg: reading {query.stem}.sql whole: {exc}", file=sys.stderr)
        return None


async def read_catalog(
    conninfo: str,
    *,
    schemas: Sequence[str],
    extra_search_path: Sequence[str],
    digest: str,
    queries: Path = QUERIES,
    max_bytes: int | None = None,
) -> tuple[str, Document]:
    """``(fingerprint, document)`` read side by side in one snapshot, for a start (nothing else waits).

    The fingerprint (see ``fingerprint.py``) then describes exactly the catalog state the document was read
    in, and costs no connection of its own.
    """
    files, parts = await _read(
        conninfo, schemas, extra_search_path, queries, max_bytes, parallel=True, states=True
    )
    return fingerprint_of(parts.pop(STATES_KEY), digest), document_of(files, parts)


async def _read(
    conninfo: str,
    schemas: Sequence[str],
    extra_search_path: Sequence[str],
    queries: Path,
    max_bytes: int | None,
    *,
    parallel: bool,
    states: bool,
) -> tuple[list[CatalogQuery], dict[str, bytes]]:
    """Each query's result by stem (the catalog states under ``STATES_KEY`` with ``states``)."""
    files = catalog_queries(queries)
    jobs = catalog_jobs(files, schemas, extra_search_path)
    if states:
        jobs.insert(0, (STATES_KEY, CATALOG_STATES_SQL.encode(), []))
    queue = collections.deque(reading_order(jobs))
    parts: dict[str, bytes] = {}

    async def run(connection: Connection) -> None:
        # A connection runs one round trip at a time: the next query when done with its last.
        while queue:
            name, query, params = queue.popleft()
            parts[name] = _value(await fetch_rows(connection, query, params))
            _check_size(parts, max_bytes, name)

    async with _connections(conninfo, max(1, min(READERS, len(jobs))) if parallel else 1) as connections:
        exported = await _begin(connections[0], snapshot=None)
        await asyncio.gather(*(_begin(conn, snapshot=exported) for conn in connections[1:]))
        tasks = [asyncio.ensure_future(run(connection)) for connection in connections]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    return files, parts


_SAVEPOINT = b"SAVEPOINT changes"
_BACK_TO_SAVEPOINT = b"ROLLBACK TO SAVEPOINT changes"


def _value(rows: list[tuple[bytes | None, ...]]) -> bytes:
    """A catalog query's one json value (``null`` for none)."""
    return rows[0][0] if rows and rows[0][0] is not None else b"null"


def _check_size(parts: Mapping[str, bytes], max_bytes: int | None, last: str) -> None:
    if max_bytes is not None:
        size = sum(len(part) for part in parts.values())
        if size > max_bytes:
            raise SchemaTooLarge(size, max_bytes, last)


@contextlib.asynccontextmanager
async def _pooled(pool: Pool) -> AsyncIterator[Connection]:
    """One of ``pool``'s connections for a read: its transaction ended when given back; dropped when the
    read failed or was cancelled (mid-transaction, or mid-query)."""
    connection = await pool.acquire()
    try:
        yield connection
        await fetch_rows(connection, b"ROLLBACK")  # read only: nothing to keep
    except BaseException:
        pool.discard(connection)
        raise
    pool.release(connection)


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

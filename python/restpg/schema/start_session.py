"""A cold start's catalog read, on the core's blocking connections, while the supervisor imports the app.

``restpg serve`` without a persisted snapshot must read the catalog (about 150 ms of queries at 1,000
tables) before its workers can serve, and must import the app and Granian meanwhile. The two overlap only if
the read starts early and never waits for the GIL the imports hold. The core's ``BlockingSession`` connects
and runs each statement without the GIL, and runs the read's queries side by side in native threads, on two
connections (see ``catalog.READERS``): one call for the whole read. (Driven from Python, every connect
and statement of the read waited for the GIL once more: with the main thread busy, the read took twice as
long as with it idle, 480 ms instead of 225 at 1,000 tables.)

The same queries, the same transaction (read only, repeatable read, empty search_path, no JIT, one exported
snapshot for the queries side by side) and the same bytes as ``introspect.py``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from restpg._core import BlockingSession
from restpg.db.pipeline import connection_params, ensure_libpq
from restpg.schema.catalog import (
    BEGIN_READ,
    QUERIES,
    READ_SETTINGS,
    READERS,
    STATES_KEY,
    Document,
    SchemaTooLarge,
    catalog_jobs,
    catalog_queries,
    document_of,
    import_snapshot,
    reading_order,
)
from restpg.schema.fingerprint import CATALOG_STATES_SQL, fingerprint_of

__all__ = ["ConnectFailed", "Session", "TimedOut"]

_Statement = tuple[bytes, list[bytes | None]]


class ConnectFailed(Exception):
    """libpq could not connect; the message is libpq's first line."""


class TimedOut(Exception):
    """The read outlasted its budget (statement_timeout): a schema for the workers to load."""


class Session:
    """One open connection (blocking calls that release the GIL); ``close`` it.

    ``LibpqNotFound`` when there is no libpq to connect with, ``ConnectFailed`` when it cannot connect
    within ``connect_timeout`` seconds (unless ``conninfo`` sets its own).
    """

    def __init__(self, conninfo: str, connect_timeout: int) -> None:
        ensure_libpq()
        try:
            self._session = BlockingSession(
                connection_params(conninfo, {"connect_timeout": str(connect_timeout)})
            )
        except ConnectionError as exc:  # the core reports every failure to connect as one
            raise ConnectFailed(str(exc) or "connection failed") from None

    def value(self, sql: bytes, params: Sequence[bytes | None] = ()) -> bytes | None:
        """The first column of the first row (text), None when NULL or no row; raises on an error."""
        rows = self.rows(sql, params)
        return rows[0][0] if rows and rows[0] else None

    def rows(self, sql: bytes, params: Sequence[bytes | None] = ()) -> list[tuple[bytes | None, ...]]:
        """The rows (text values, None for NULL); ``RuntimeError`` with PostgreSQL's message on an error."""
        return self._session.rows(sql, list(params))

    def close(self) -> None:
        self._session.close()

    def read_catalog(
        self,
        *,
        schemas: Sequence[str],
        extra_search_path: Sequence[str],
        digest: str,
        budget: float,
        queries: Path = QUERIES,
        max_bytes: int | None = None,
    ) -> tuple[str, Document]:
        """``(fingerprint, document)`` as ``introspect.read_catalog`` returns them, read in one snapshot.

        The fingerprint and the queries run on this session and ``READERS - 1`` connections of their own at
        the same time, each taking the next (``reading_order``) when done with its last, in the snapshot
        this session's transaction exports (as ``introspect.py``). ``TimedOut`` when a query outlasts
        ``budget`` seconds from now; ``SchemaTooLarge`` when the parts exceed ``max_bytes`` (checked once
        all are read, before anything parses them).
        """
        files = catalog_queries(queries)
        deadline = time.monotonic() + budget
        self.value(BEGIN_READ)
        snapshot = (self.value(b"SELECT pg_export_snapshot()") or b"").decode()
        # Every connection may run for what is left of the budget (PostgreSQL cancels its statement after).
        left_ms = int((deadline - time.monotonic()) * 1000)
        if left_ms <= 0:
            raise TimedOut
        bound: _Statement = (b"SELECT set_config('statement_timeout', $1, true)", [str(left_ms).encode()])
        jobs = [
            (STATES_KEY, CATALOG_STATES_SQL.encode(), []),
            *catalog_jobs(files, schemas, extra_search_path),
        ]
        ordered = reading_order(jobs)
        # This session's transaction exported the snapshot; the other connections read in it.
        openings: list[list[_Statement]] = [[(READ_SETTINGS, []), bound]] + [
            [(BEGIN_READ, []), (import_snapshot(snapshot), []), (READ_SETTINGS, []), bound]
            for _ in range(min(READERS, len(ordered)) - 1)  # (the first is this session)
        ]
        try:
            values = self._session.side_by_side(openings, [(sql, params) for _, sql, params in ordered])
        except TimeoutError:
            raise TimedOut from None
        read = {stem: value or b"null" for (stem, _, _), value in zip(ordered, values, strict=True)}
        states = read.pop(STATES_KEY)
        size = 0
        for query in files:  # the part at which the sum crosses the cap is named
            size += len(read[query.stem])
            if max_bytes is not None and size > max_bytes:
                raise SchemaTooLarge(size, max_bytes, query.stem)
        return fingerprint_of(states, digest), document_of(files, read)

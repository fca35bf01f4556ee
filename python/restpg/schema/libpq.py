"""A cold start's catalog read through libpq itself (ctypes), while the supervisor imports the app.

``restpg serve`` without a persisted snapshot must read the catalog (about 100 ms of queries at 1,000
tables) before its workers can serve, and must import the app and Granian meanwhile. The two overlap only if
the queries start early, before the core's module and the app are imported, and a thread cannot import
beside the main thread without serializing on the GIL. So the supervisor's first thread loads the libpq the
core will use (the copy in psycopg's binary wheel, or the system's) with ctypes (a few ms), connects and
reads while the main thread imports: every libpq call releases the GIL, so the wait for PostgreSQL costs the
imports nothing.

The same queries, the same transaction (read only, repeatable read, empty search_path, no JIT, one exported
snapshot for the queries side by side) and the same bytes as ``introspect.py``. Only what a start needs:
connect, run a statement, read its rows as text. Anything unexpected (no libpq found, a symbol missing)
makes ``load`` return None and the start falls back to psycopg.
"""

from __future__ import annotations

import ctypes
import importlib.util
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from restpg import __version__
from restpg.schema.catalog import (
    BEGIN_READ,
    QUERIES,
    READ_SETTINGS,
    SchemaTooLarge,
    assemble_document,
    catalog_jobs,
    catalog_queries,
    import_snapshot,
)
from restpg.schema.fingerprint import FINGERPRINT_SQL

__all__ = ["ConnectFailed", "Libpq", "Session", "TimedOut", "bundled_libpq", "connection_defaults", "load"]

_CONNECTION_OK = 0  # ConnStatusType
_COMMAND_OK, _TUPLES_OK = 1, 2  # ExecStatusType
_SQLSTATE_FIELD = ord("C")  # PG_DIAG_SQLSTATE
_QUERY_CANCELED = b"57014"  # what statement_timeout raises


class ConnectFailed(Exception):
    """libpq could not connect; the message is libpq's first line."""


class TimedOut(Exception):
    """The read outlasted its budget (statement_timeout): a schema for the workers to load."""


class Libpq:
    """The dozen libpq functions a catalog read needs, with their C signatures."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        conn, result, text, integer = ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
        strings = ctypes.POINTER(ctypes.c_char_p)
        self._lib = lib
        self.connectdb_params = self._declare("PQconnectdbParams", conn, [strings, strings, integer])
        self.status = self._declare("PQstatus", integer, [conn])
        self.error_message = self._declare("PQerrorMessage", text, [conn])
        self.finish = self._declare("PQfinish", None, [conn])
        self.exec_params = self._declare(
            "PQexecParams",
            result,
            [conn, text, integer, ctypes.c_void_p, strings, ctypes.c_void_p, ctypes.c_void_p, integer],
        )
        self.result_status = self._declare("PQresultStatus", integer, [result])
        self.result_error_message = self._declare("PQresultErrorMessage", text, [result])
        self.result_error_field = self._declare("PQresultErrorField", text, [result, integer])
        self.ntuples = self._declare("PQntuples", integer, [result])
        self.nfields = self._declare("PQnfields", integer, [result])
        self.getisnull = self._declare("PQgetisnull", integer, [result, integer, integer])
        self.getvalue = self._declare("PQgetvalue", ctypes.c_void_p, [result, integer, integer])
        self.getlength = self._declare("PQgetlength", integer, [result, integer, integer])
        self.clear = self._declare("PQclear", None, [result])

    def _declare(self, name: str, restype: object, argtypes: list[object]) -> Any:
        function = getattr(self._lib, name)  # AttributeError: not a libpq ``load`` can use
        function.restype = restype
        function.argtypes = argtypes
        return function

    def connect(self, conninfo: str, defaults: dict[str, str]) -> Session:
        """Connect blocking (without the GIL); ``defaults`` apply unless ``conninfo`` sets them."""
        # Keywords are applied in order and the last wins: the defaults first, then the expanded conninfo.
        keywords = [*defaults, "dbname"]
        values = [*defaults.values(), conninfo]
        handle = self.connectdb_params(
            _strings(keywords, terminated=True), _strings(values, terminated=True), 1
        )
        if not handle:
            raise MemoryError("libpq could not allocate a connection")
        if self.status(handle) != _CONNECTION_OK:
            message = (self.error_message(handle) or b"").decode(errors="replace").strip()
            self.finish(handle)
            raise ConnectFailed(message.splitlines()[0] if message else "connection failed")
        return Session(self, handle, conninfo, defaults)


class Session:
    """One open connection; ``close`` it."""

    def __init__(self, libpq: Libpq, handle: int, conninfo: str, defaults: dict[str, str]) -> None:
        self._pq = libpq
        self._handle: int | None = handle
        self._conninfo = conninfo  # to open the connections of a read side by side
        self._defaults = defaults

    def value(self, sql: str | bytes, params: Sequence[bytes | None] = ()) -> bytes | None:
        """The first column of the first row (text), None when NULL or no row; raises on an error."""
        rows = self.rows(sql, params, limit=1)
        return rows[0][0] if rows and rows[0] else None

    def rows(
        self, sql: str | bytes, params: Sequence[bytes | None] = (), *, limit: int | None = None
    ) -> list[tuple[bytes | None, ...]]:
        """The rows (text values, None for NULL; at most ``limit``); raises on an error."""
        pq = self._pq
        result = pq.exec_params(
            self._handle,
            sql.encode() if isinstance(sql, str) else sql,
            len(params),
            None,
            _strings(list(params), terminated=False),
            None,
            None,
            0,
        )
        if not result:
            raise RuntimeError("libpq returned no result (out of memory or the connection broke)")
        try:
            status = pq.result_status(result)
            if status not in (_COMMAND_OK, _TUPLES_OK):
                if pq.result_error_field(result, _SQLSTATE_FIELD) == _QUERY_CANCELED:
                    raise TimedOut
                message = (pq.result_error_message(result) or b"").decode(errors="replace").strip()
                raise RuntimeError(message.splitlines()[0] if message else "query failed")
            if status != _TUPLES_OK:
                return []
            count = pq.ntuples(result) if limit is None else min(limit, pq.ntuples(result))
            return [
                tuple(self._cell(result, row, col) for col in range(pq.nfields(result)))
                for row in range(count)
            ]
        finally:
            pq.clear(result)

    def _cell(self, result: int, row: int, col: int) -> bytes | None:
        pq = self._pq
        if pq.getisnull(result, row, col):
            return None
        return ctypes.string_at(pq.getvalue(result, row, col), pq.getlength(result, row, col))

    def close(self) -> None:
        if self._handle is not None:
            self._pq.finish(self._handle)
            self._handle = None

    def read_catalog(
        self,
        *,
        schemas: Sequence[str],
        extra_search_path: Sequence[str],
        digest: str,
        budget: float,
        queries: Path = QUERIES,
        max_bytes: int | None = None,
        parallel: bool = True,
    ) -> tuple[str, bytes]:
        """``(fingerprint, document)`` as ``introspect.read_catalog`` returns them, read in one snapshot.

        With ``parallel`` (as ``introspect.py``) each query but the first runs on a connection of its own,
        opened and driven by a thread of its own, in the snapshot this session's transaction exports: at
        10,000 tables the read then takes the time of its slowest query once the imports leave the second
        core free (one after the other it took 200 ms longer there; no difference at 1,000 tables).
        ``TimedOut`` when a query outlasts ``budget`` seconds from now; ``SchemaTooLarge`` when the parts
        exceed ``max_bytes`` (checked once all are read, before anything parses them).
        """
        files = catalog_queries(queries)
        jobs = [("", FINGERPRINT_SQL.encode(), []), *catalog_jobs(files, schemas, extra_search_path)]
        deadline = time.monotonic() + budget
        snapshot = self._begin(None)
        if parallel:
            parts = self._side_by_side(jobs, snapshot, deadline)
        else:
            parts = {name: self._fetch(sql, params, deadline) for name, sql, params in jobs}
        size = 0
        for query in files:  # the part at which the sum crosses the cap is named, as introspect.py does
            size += len(parts[query.stem])
            if max_bytes is not None and size > max_bytes:
                raise SchemaTooLarge(size, max_bytes, query.stem)
        return f"{parts[''].decode()}-{digest}", assemble_document(files, parts)

    def _side_by_side(
        self, jobs: list[tuple[str, bytes, list[bytes | None]]], snapshot: str, deadline: float
    ) -> dict[str, bytes]:
        def on_a_connection_of_its_own(sql: bytes, params: list[bytes | None]) -> bytes:
            session = self._pq.connect(self._conninfo, self._defaults)
            try:
                session._begin(snapshot)
                return session._fetch(sql, params, deadline)
            finally:
                session.close()

        (first, first_sql, first_params), *others = jobs
        with ThreadPoolExecutor(len(others) or 1) as executor:
            pending = {
                name: executor.submit(on_a_connection_of_its_own, sql, params) for name, sql, params in others
            }
            parts = {first: self._fetch(first_sql, first_params, deadline)}
            parts.update((name, future.result()) for name, future in pending.items())
        return parts

    def _begin(self, snapshot: str | None) -> str:
        """Open the read's transaction (as introspect.py's _begin): export its snapshot, or import ``snapshot``.
        The transaction ends with the session (read only: nothing to commit)."""
        self.value(BEGIN_READ)
        if snapshot is None:
            snapshot = (self.value("SELECT pg_export_snapshot()") or b"").decode()
        else:
            self.value(import_snapshot(snapshot))
        self.value(READ_SETTINGS)
        return snapshot

    def _fetch(self, sql: bytes, params: list[bytes | None], deadline: float) -> bytes:
        self._bound(deadline)
        return self.value(sql, params) or b"null"

    def _bound(self, deadline: float) -> None:
        """The next statement may run for what is left of the budget (PostgreSQL cancels it after)."""
        left_ms = int((deadline - time.monotonic()) * 1000)
        if left_ms <= 0:
            raise TimedOut
        self.value("SELECT set_config('statement_timeout', $1, true)", [str(left_ms).encode()])


def load() -> Libpq | None:
    """The libpq psycopg uses, loaded; None when there is none this module can find and bind."""
    path = bundled_libpq()
    candidates = [str(path)] if path is not None else []
    candidates += ["libpq.so.5", "libpq.dylib"]
    for candidate in candidates:
        try:
            return Libpq(ctypes.CDLL(candidate))
        except (OSError, AttributeError):
            continue
    return None


def bundled_libpq() -> Path | None:
    """The libpq of psycopg's binary wheel, found without importing psycopg: beside the package in
    ``psycopg_binary.libs`` (the Linux and Windows wheels, ``libpq-<hash>.so.5.x`` / ``.dll``), or inside it
    in ``.dylibs`` (the macOS wheels, ``libpq.5.dylib``)."""
    try:
        spec = importlib.util.find_spec("psycopg_binary")
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    package = Path(spec.origin).parent
    for folder, pattern in (
        (package.with_name("psycopg_binary.libs"), "libpq-*"),
        (package / ".dylibs", "libpq*.dylib"),
    ):
        found = sorted(folder.glob(pattern))
        if found:
            return found[0]
    return None


def connection_defaults(connect_timeout: int) -> dict[str, str]:
    """What restpg's own connections set unless db-uri does."""
    return {"connect_timeout": str(connect_timeout), "application_name": f"restpg {__version__}"}


def _strings(values: Sequence[str | bytes | None], *, terminated: bool) -> ctypes.Array[ctypes.c_char_p]:
    encoded = [value.encode() if isinstance(value, str) else value for value in values]
    if terminated:
        return (ctypes.c_char_p * (len(encoded) + 1))(*encoded, None)
    return (ctypes.c_char_p * max(1, len(encoded)))(*encoded)

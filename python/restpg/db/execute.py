"""The execute stage: one request, one network round trip, through a libpq pipeline.

For each request the pipeline carries, as prepared statements (prepared lazily in the same pipeline the
first time a connection sees a name)::

    BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY   -- or BEGIN for writes
    SELECT set_config('search_path', $1, true), set_config('role', $2, true), … request.* … app.settings.*
    SELECT <db-pre-request>()                        -- when configured
    EXPLAIN …                                        -- Prefer: count=planned|estimated
    <the main statement>                             -- one row: total, page_total, body, GUC headers/status
    COMMIT                                           -- or ROLLBACK

then a single ``pipeline_sync`` and one wait on the socket. The body column stays bytes from the socket to
Granian. On a PostgreSQL error the later statements come back aborted and the connection is left in a failed
transaction block, so it is rolled back (a second round trip, on the error path only) before reuse.

A write whose result decides whether it may commit (a singular write that matched 0 or several rows, a PUT
whose key does not match, ``max-affected``) carries that check inside its own statement, which raises when
the check fails: PostgreSQL then skips the queued COMMIT, so the decision costs no extra round trip.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec
import psycopg
from psycopg import pq

from restpg.db.pool import Connection, wait_socket
from restpg.errors import PgError

if TYPE_CHECKING:
    from restpg._core import Prepared

__all__ = [
    "ConnectionLost",
    "Executor",
    "Outcome",
    "RequestSettings",
    "StatementError",
    "cancel",
    "fetch_rows",
]

_Status = pq.ExecStatus
_Diag = pq.DiagnosticField
_Tx = pq.TransactionStatus
_POLL = pq.PollingStatus


class StatementError(Exception):
    """PostgreSQL rejected the request; ``error`` holds the client-visible fields."""

    def __init__(self, error: PgError) -> None:
        super().__init__(error.message)
        self.error = error


class ConnectionLost(Exception):
    """The connection failed mid-request (503 PGRST001); it has been marked broken."""


@dataclass(slots=True)  # not frozen: a frozen init costs a setattr call per field
class RequestSettings:
    """The transaction-local settings of one request, as text-format values."""

    search_path: bytes
    role: bytes
    claims: bytes
    method: bytes
    path: bytes
    headers: bytes  # JSON object of the lowercased request headers, without Cookie
    cookies: bytes  # JSON object
    timezone: bytes | None = None  # Prefer: timezone


@dataclass(slots=True)  # not frozen: a frozen init costs a setattr call per field
class Outcome:
    """The main statement's row (and the planner's estimate when one was asked for).

    Writes return two more columns: ``location`` (JSON ``[path, [[key, value], …]]`` for
    ``return=headers-only``) and ``inserted`` (rows an upsert inserted rather than updated).
    """

    total: int | None
    page_total: int
    body: bytes | None
    response_headers: bytes | None
    response_status: bytes | None
    planned_total: int | None = None
    location: bytes | None = None
    inserted: int | None = None


# Statement texts that do not depend on the request. Names are per connection and start with "restpg_" so
# they never collide with the core's hash-derived names.
_BEGIN_READ = (b"restpg_begin_ro", b"BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY")
_BEGIN_WRITE = (b"restpg_begin_rw", b"BEGIN")
_COMMIT = (b"restpg_commit", b"COMMIT")
_ROLLBACK = (b"restpg_rollback", b"ROLLBACK")
_SETTINGS = (
    "search_path",
    "role",
    "request.jwt.claims",
    "request.method",
    "request.path",
    "request.headers",
    "request.cookies",
)

_PREPARE, _BEGIN, _CONFIG, _PRE_REQUEST, _COUNT, _MAIN, _END = range(7)


class Executor:
    """Runs prepared requests on pooled connections; built once per worker from the configuration."""

    def __init__(
        self,
        *,
        app_settings: Mapping[str, str] | None = None,
        pre_request: str | None = None,
        prepared_statements: bool = True,
        hoisted_tx_settings: Collection[str] = (),
    ) -> None:
        self.prepared_statements = prepared_statements
        self._hoisted_names = frozenset(hoisted_tx_settings)
        app = sorted((app_settings or {}).items())
        # app.settings.* are constants from the config, bound like the request values (names included).
        self._app_params: list[bytes | None] = []
        for key, value in app:
            self._app_params += [f"app.settings.{key}".encode(), value.encode()]
        self._config = _config_statement(len(app), timezone=False)
        self._config_tz = _config_statement(len(app), timezone=True)
        self._role_config: dict[bytes, tuple[bytes, bytes, list[bytes | None]]] = {}
        self.role_settings_loaded = False
        # Named by its text: after a config reload, pooled connections still hold the old function's statement.
        call = None if pre_request is None else f"SELECT {_qualified(pre_request)}()"
        self._pre_request = None if call is None else (_name_for(call), call.encode())

    def set_role_settings(self, roles: Mapping[str, Sequence[tuple[str, str]]]) -> None:
        """Settings applied to each request of a role (``db-hoisted-tx-settings``), e.g. statement_timeout."""
        hoisted: dict[bytes, tuple[bytes, bytes, list[bytes | None]]] = {}
        for role, pairs in roles.items():
            if not pairs:
                continue
            calls = ", ".join(f"set_config(${2 * i + 1}, ${2 * i + 2}, true)" for i in range(len(pairs)))
            params: list[bytes | None] = [part.encode() for pair in pairs for part in pair]
            name = f"restpg_role_config_{len(pairs)}".encode()
            hoisted[role.encode()] = (name, f"SELECT {calls}".encode(), params)
        self._role_config = hoisted
        self.role_settings_loaded = True

    async def run(
        self,
        connection: Connection,
        prepared: Prepared,
        settings: RequestSettings,
    ) -> Outcome:
        """Execute ``prepared`` in one transaction; raises ``StatementError`` or ``ConnectionLost``."""
        pg = connection.pgconn
        steps: list[tuple[int, bytes]] = []
        send = self._send
        try:
            send(connection, steps, _BEGIN, *(_BEGIN_READ if prepared.read_only else _BEGIN_WRITE), None)
            config_params: list[bytes | None] = [
                settings.search_path,
                settings.role,
                settings.claims,
                settings.method,
                settings.path,
                settings.headers,
                settings.cookies,
            ]
            config = self._config
            if settings.timezone is not None:
                config = self._config_tz
                config_params.append(settings.timezone)
            config_params += self._app_params
            # A called function's hoisted settings (db-hoisted-tx-settings): more name/value pairs.
            function_settings = prepared.function_settings
            hoisted: list[bytes | None] = []
            if function_settings:
                hoisted = [
                    part
                    for name, value in function_settings
                    if name in self._hoisted_names
                    for part in (name.encode(), value.encode())
                ]
            if hoisted:
                config = _config_statement(
                    len(self._app_params) // 2 + len(hoisted) // 2, timezone=settings.timezone is not None
                )
                config_params += hoisted
            # The role's own hoisted settings (e.g. its statement_timeout) are one more statement, sent first
            # so that a called function's settings of the same name win, as in PostgREST.
            role_config = self._role_config.get(settings.role)
            if role_config is not None:
                send(connection, steps, _CONFIG, *role_config)
            send(connection, steps, _CONFIG, *config, config_params)
            if self._pre_request is not None:
                send(connection, steps, _PRE_REQUEST, *self._pre_request, None)
            params = prepared.params
            count_sql = prepared.count_sql
            if count_sql is not None:
                count_name = prepared.count_name or _name_for(count_sql)
                send(connection, steps, _COUNT, count_name, count_sql, params)
            send(connection, steps, _MAIN, prepared.name, prepared.sql, params)
            send(connection, steps, _END, *(_ROLLBACK if prepared.rollback else _COMMIT), None)
            results = await _round_trip(connection)
        except (psycopg.OperationalError, OSError) as exc:
            raise _lost(connection, exc) from None
        except asyncio.CancelledError:
            # The client went away mid-pipeline: the connection's state is unknown, so it is not reused,
            # and the statement is cancelled on the server so it stops holding a backend and its locks.
            connection.broken = True
            cancel(pg)
            raise

        outcome, error = _collect(connection, steps, results)
        if error is not None or pg.transaction_status != _Tx.IDLE:
            await self._rollback(connection)
        if error is not None:
            raise StatementError(error)
        assert outcome is not None  # a pipeline without an error ran the main statement
        return outcome

    def _send(
        self,
        connection: Connection,
        steps: list[tuple[int, bytes]],
        step: int,
        name: bytes,
        sql: bytes | str,  # the core's statements come as str: encoded only when the text is sent
        params: Sequence[bytes | None] | None,
    ) -> None:
        pg = connection.pgconn
        if not self.prepared_statements:
            pg.send_query_params(_text(sql), params)
        else:
            if name not in connection.prepared:
                pg.send_prepare(name, _text(sql))
                steps.append((_PREPARE, name))
            pg.send_query_prepared(name, params)
        steps.append((step, name))

    async def _finish(self, connection: Connection, end: tuple[bytes, bytes]) -> PgError | None:
        steps: list[tuple[int, bytes]] = []
        try:
            self._send(connection, steps, _END, *end, None)
            results = await _round_trip(connection)
        except (psycopg.OperationalError, OSError) as exc:
            raise _lost(connection, exc) from None
        return _collect(connection, steps, results)[1]

    async def _rollback(self, connection: Connection) -> None:
        if connection.broken or connection.pgconn.transaction_status == _Tx.IDLE:
            return
        error = await self._finish(connection, _ROLLBACK)
        if error is not None:
            connection.broken = True


async def fetch_rows(connection: Connection, sql: bytes) -> list[tuple[bytes | None, ...]]:
    """One catalog read outside any request (start-up, reloads), as text rows, on a pooled connection: no
    connection of its own to open (a TLS handshake and a backend fork each) while a worker gets ready."""
    pg = connection.pgconn
    try:
        pg.send_query_params(sql, None)
        results = await _round_trip(connection)
    except (psycopg.OperationalError, OSError) as exc:
        raise _lost(connection, exc) from None
    (result,) = results
    if result.status != _Status.TUPLES_OK:
        raise StatementError(_pg_error(result))
    value = result.get_value
    return [tuple(value(row, col) for col in range(result.nfields)) for row in range(result.ntuples)]


def _lost(connection: Connection, exc: Exception) -> ConnectionLost:
    """The connection failed under a round trip: it is marked broken (never reused) and reported."""
    connection.broken = True
    return ConnectionLost(str(exc).strip() or "connection lost")


def _text(sql: bytes | str) -> bytes:
    return sql.encode() if isinstance(sql, str) else sql


_cancels: set[asyncio.Task[None]] = set()  # cancel requests in flight (a task needs a strong reference)


def cancel(pg: pq.abc.PGconn) -> None:
    """Ask the server to cancel what ``pg`` is running, without blocking the loop (libpq's cancel API)."""
    try:
        request = pg.cancel_conn()
        request.start()
    except (psycopg.OperationalError, psycopg.NotSupportedError):
        return  # the connection is already gone: nothing runs on it any more
    task = asyncio.get_running_loop().create_task(_send_cancel(request))
    _cancels.add(task)
    task.add_done_callback(_cancels.discard)


async def _send_cancel(request: pq.abc.PGcancelConn) -> None:
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(5.0):
            while True:
                status = request.poll()
                if status in (_POLL.OK, _POLL.FAILED):
                    return
                await wait_socket(loop, request.socket, writable=status == _POLL.WRITING)
    except (TimeoutError, psycopg.OperationalError, OSError):
        return  # best effort: the backend still ends when it next notices the closed connection
    finally:
        request.finish()


async def _round_trip(connection: Connection) -> list[pq.abc.PGresult]:
    """Sync the pipeline, flush it and collect every result up to the sync point."""
    pg = connection.pgconn
    pg.pipeline_sync()
    while pg.flush() != 0:  # a pipeline larger than the socket's buffer: rare, so no standing writer
        await wait_socket(asyncio.get_running_loop(), pg.socket, writable=True)
    results: list[pq.abc.PGresult] = []
    while True:
        while pg.is_busy():
            await connection.readable()
            pg.consume_input()
        result = pg.get_result()
        if result is None:  # the separator after each statement's results
            continue
        if result.status == _Status.PIPELINE_SYNC:
            return results
        results.append(result)


def _collect(
    connection: Connection, steps: list[tuple[int, bytes]], results: list[pq.abc.PGresult]
) -> tuple[Outcome | None, PgError | None]:
    error: PgError | None = None
    planned: int | None = None
    main: pq.abc.PGresult | None = None
    for (step, name), result in zip(steps, results, strict=True):
        status = result.status
        if status == _Status.FATAL_ERROR:
            if error is None:
                error = _pg_error(result)
            continue
        if status == _Status.PIPELINE_ABORTED:
            continue
        if step == _PREPARE:
            connection.prepared.add(name)
        elif step == _MAIN:
            main = result
        elif step == _COUNT:
            planned = _planned_rows(result.get_value(0, 0) if result.ntuples else None)
    if error is not None or main is None:
        return None, error
    return _outcome(main, planned), None


def _outcome(result: pq.abc.PGresult, planned: int | None) -> Outcome:
    if result.nfields == 1:
        # An EXPLAIN (``Prepared.explain``): its rows, each ended by a newline, are the body as they came.
        lines = [result.get_value(row, 0) or b"" for row in range(result.ntuples)]
        return Outcome(None, result.ntuples, b"\n".join(lines) + b"\n", None, None)
    if result.ntuples == 0:  # a main statement always returns one row; be defensive anyway
        return Outcome(None, 0, None, None, None, planned)
    value = result.get_value
    total = value(0, 0)
    page_total = value(0, 1)
    location: bytes | None = None
    inserted: bytes | None = None
    if result.nfields >= 7:  # a write's statement
        location = value(0, 5)
        inserted = value(0, 6)
    return Outcome(
        total=None if total is None else int(total),
        page_total=0 if page_total is None else int(page_total),
        body=value(0, 2),
        response_headers=value(0, 3),
        response_status=value(0, 4),
        planned_total=planned,
        location=location,
        inserted=None if inserted is None else int(inserted),
    )


class _PlanNode(msgspec.Struct):
    plan_rows: float = msgspec.field(name="Plan Rows")


class _ExplainEntry(msgspec.Struct):
    plan: _PlanNode = msgspec.field(name="Plan")


def _planned_rows(raw: bytes | None) -> int | None:
    """The top node's row estimate from ``EXPLAIN (FORMAT JSON)`` (or a bare number)."""
    if raw is None:
        return None
    text = raw.strip()
    if text.isdigit():
        return int(text)
    try:
        entries = msgspec.json.decode(text, type=list[_ExplainEntry])
    except msgspec.DecodeError:
        return None
    return int(entries[0].plan.plan_rows) if entries else None


def _pg_error(result: pq.abc.PGresult) -> PgError:
    def field(code: int) -> str | None:
        value = result.error_field(code)
        return None if value is None else value.decode("utf-8", "replace")

    return PgError(
        sqlstate=field(_Diag.SQLSTATE) or "XX000",
        message=field(_Diag.MESSAGE_PRIMARY) or "",
        details=field(_Diag.MESSAGE_DETAIL),
        hint=field(_Diag.MESSAGE_HINT),
    )


def _config_statement(app_settings: int, *, timezone: bool) -> tuple[bytes, bytes]:
    calls = [f"set_config('{name}', ${index}, true)" for index, name in enumerate(_SETTINGS, start=1)]
    next_param = len(_SETTINGS) + 1
    if timezone:
        calls.append(f"set_config('timezone', ${next_param}, true)")
        next_param += 1
    for _ in range(app_settings):
        calls.append(f"set_config(${next_param}, ${next_param + 1}, true)")
        next_param += 2
    name = f"restpg_config_{app_settings}{'_tz' if timezone else ''}"
    return name.encode(), ("SELECT " + ", ".join(calls)).encode()


def _name_for(sql: str) -> bytes:
    return b"restpg_" + hashlib.blake2b(sql.encode(), digest_size=12).hexdigest().encode()


def _qualified(name: str) -> str:
    """Quote ``schema.function`` from the configuration (``db-pre-request``) as an identifier."""
    return ".".join('"' + part.strip('"').replace('"', '""') + '"' for part in name.split(".", 1))

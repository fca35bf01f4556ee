"""The execute stage: one request, one network round trip, through a libpq pipeline.

For each request the pipeline carries, as prepared statements (prepared lazily in the same pipeline the
first time a connection sees a name)::

    BEGIN ISOLATION LEVEL … [READ ONLY]              -- not for a read at the session's isolation level
    SELECT set_config(…)                             -- the role's hoisted settings, when it has any
    SELECT set_config('search_path', $1, true), set_config('role', $2, true), … request.* … app.settings.*
    SELECT <db-pre-request>()                        -- when configured
    EXPLAIN …                                        -- Prefer: count=planned|estimated
    <the main statement>                             -- one row: total, page_total, body, GUC headers/status
    COMMIT                                           -- or ROLLBACK; not after a read without BEGIN

then a single ``pipeline_sync`` and one wait on the socket. The calls themselves (queue, sync, receive, the
``Outcome``) run in the core on its own connection (``restpg._core.Pipeline``, see ``db/pool.py``):
here they cost the interpreter a dozen calls instead of a hundred. The body column stays bytes from the
socket to Granian. On a PostgreSQL error the later statements come back aborted; a transaction opened with BEGIN is then
left failed, so it is rolled back (a second round trip, on the error path only) before reuse.

A read (GET, HEAD, a STABLE function) that runs at the connection's default isolation level — read committed
unless its role or function asks for another, as in PostgREST — sends neither BEGIN nor COMMIT: everything a
pipeline sends up to its sync is one implicit transaction, which PostgreSQL commits at the sync (or rolls back
on an error), and ``set_config('transaction_read_only', 'on', true)`` in the settings statement makes it read
only before anything else runs. Same transaction, two statements fewer for the server to bind and run.

A write whose result decides whether it may commit (a singular write that matched 0 or several rows, a PUT
whose key does not match, ``max-affected``) carries that check inside its own statement, which raises when
the check fails: PostgreSQL then skips the queued COMMIT, so the decision costs no extra round trip.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from restpg._core import Outcome
from restpg.db.pool import Connection, wait_socket
from restpg.errors import PgError

if TYPE_CHECKING:
    from restpg._core import Cancel, Pipeline, Prepared
    from restpg.db.role_settings import RoleSettings

__all__ = [
    "ISOLATION",
    "ConnectionLost",
    "Envelope",
    "Executor",
    "Outcome",
    "RequestSettings",
    "StatementError",
    "cancel",
    "config_statement",
    "envelope",
    "fetch_rows",
]


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


# Statement texts that do not depend on the request. Names are per connection and start with "restpg_" so
# they never collide with the core's hash-derived names.
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

# The setting that picks a transaction's isolation level when a role or a function has it (PostgREST reads it
# from both; a function's wins). Its values by how BEGIN spells them; PostgreSQL runs "read uncommitted" as
# read committed.
ISOLATION = "default_transaction_isolation"
_LEVELS = {
    b"read uncommitted": b"READ COMMITTED",
    b"read committed": b"READ COMMITTED",
    b"repeatable read": b"REPEATABLE READ",
    b"serializable": b"SERIALIZABLE",
}
READ_COMMITTED = b"READ COMMITTED"


def _level(value: str) -> bytes | None:
    """A ``default_transaction_isolation`` value (a role's or a function's) as BEGIN spells it."""
    return _LEVELS.get(value.strip().lower().encode())


@dataclass(frozen=True, slots=True)
class Envelope:
    """What a request's own statements are wrapped in: BEGIN and COMMIT/ROLLBACK, or nothing (``begin`` and
    ``end`` None) for a read at the session's level, whose settings statement then makes it read only."""

    begin: tuple[bytes, bytes] | None
    end: tuple[bytes, bytes] | None

    @property
    def implicit(self) -> bool:
        return self.begin is None


@functools.cache
def envelope(read_only: bool, rollback: bool, level: bytes, session_level: bytes) -> Envelope:
    """The envelope of a transaction at isolation ``level`` (as BEGIN spells it) on a connection whose
    ``default_transaction_isolation`` is ``session_level`` (as the server reports it)."""
    if read_only and not rollback and _LEVELS.get(session_level) == level:
        return Envelope(None, None)
    mode = b" READ ONLY" if read_only else b""
    name = b"restpg_begin_" + level.lower().replace(b" ", b"_") + (b"_ro" if read_only else b"_rw")
    return Envelope((name, b"BEGIN ISOLATION LEVEL " + level + mode), _ROLLBACK if rollback else _COMMIT)


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
        self._app_settings = len(app)
        self._role_config: dict[bytes, tuple[bytes, bytes, list[bytes | None]]] = {}
        self._role_levels: dict[bytes, bytes] = {}
        self.role_settings_loaded = False
        # Named by its text: after a config reload, pooled connections still hold the old function's statement.
        call = None if pre_request is None else f"SELECT {_qualified(pre_request)}()"
        self._pre_request = None if call is None else (_name_for(call), call.encode())

    def set_role_settings(self, roles: RoleSettings) -> None:
        """Settings applied to each request of a role: those in ``db-hoisted-tx-settings`` (e.g. its
        statement_timeout), and its isolation level."""
        hoisted: dict[bytes, tuple[bytes, bytes, list[bytes | None]]] = {}
        for role, pairs in roles.hoisted.items():
            if not pairs:
                continue
            calls = ", ".join(f"set_config(${2 * i + 1}, ${2 * i + 2}, true)" for i in range(len(pairs)))
            params: list[bytes | None] = [part.encode() for pair in pairs for part in pair]
            name = f"restpg_role_config_{len(pairs)}".encode()
            hoisted[role.encode()] = (name, f"SELECT {calls}".encode(), params)
        self._role_config = hoisted
        self._role_levels = {
            role.encode(): level
            for role, value in roles.isolation.items()
            if (level := _level(value)) is not None
        }
        self.role_settings_loaded = True

    def level(self, role: bytes, function_settings: Sequence[tuple[str, str]] | None) -> bytes:
        """The isolation level of a request's transaction, as BEGIN spells it: the called function's
        ``default_transaction_isolation``, else its role's, else read committed (PostgREST's order)."""
        level = self._role_levels.get(role, READ_COMMITTED)
        for name, value in function_settings or ():
            if name == ISOLATION:
                level = _level(value) or level
        return level

    async def run(
        self,
        connection: Connection,
        prepared: Prepared,
        settings: RequestSettings,
    ) -> Outcome:
        """Execute ``prepared`` in one transaction; raises ``StatementError`` or ``ConnectionLost``."""
        pipeline = connection.pipeline
        prepare = self.prepared_statements
        function_settings = prepared.function_settings
        wrap = envelope(
            prepared.read_only,
            prepared.rollback,
            self.level(settings.role, function_settings),
            connection.isolation,
        )
        try:
            if wrap.begin is not None:
                pipeline.queue(*wrap.begin, None, prepare)
            config_params: list[bytes | None] = [
                settings.search_path,
                settings.role,
                settings.claims,
                settings.method,
                settings.path,
                settings.headers,
                settings.cookies,
            ]
            if settings.timezone is not None:
                config_params.append(settings.timezone)
            config_params += self._app_params
            # A called function's hoisted settings (db-hoisted-tx-settings): more name/value pairs.
            pairs = self._app_settings
            if function_settings:
                for name, value in function_settings:
                    if name in self._hoisted_names:
                        config_params += (name.encode(), value.encode())
                        pairs += 1
            # The role's own hoisted settings (e.g. its statement_timeout) are one more statement, sent first
            # so that a called function's settings of the same name win, as in PostgREST.
            role_config = self._role_config.get(settings.role)
            if role_config is not None:
                pipeline.queue(*role_config, prepare)
            config = config_statement(pairs, settings.timezone is not None, wrap.implicit)
            pipeline.queue(*config, config_params, prepare)
            if self._pre_request is not None:
                pipeline.queue(*self._pre_request, None, prepare)
            pipeline.queue_request(prepared, prepare)
            if wrap.end is not None:
                pipeline.queue(*wrap.end, None, prepare)
            await connection.exchange()
        except OSError as exc:  # the core's ConnectionError, or the socket's wait
            raise _lost(connection, exc) from None
        except asyncio.CancelledError:
            # The client went away mid-pipeline: the connection's state is unknown, so it is not reused,
            # and the statement is cancelled on the server so it stops holding a backend and its locks.
            connection.broken = True
            cancel(connection.pipeline)
            raise

        error = pipeline.error
        outcome = pipeline.outcome() if error is None else None
        if error is not None or pipeline.in_transaction:
            await self._rollback(connection)
        if error is not None:
            raise StatementError(PgError(*error))
        assert outcome is not None  # a pipeline without an error ran the main statement
        return outcome

    async def _rollback(self, connection: Connection) -> None:
        pipeline = connection.pipeline
        if connection.broken or not pipeline.in_transaction:
            return
        try:
            pipeline.queue(*_ROLLBACK, None, self.prepared_statements)
            await connection.exchange()
        except OSError as exc:
            raise _lost(connection, exc) from None
        if pipeline.error is not None:
            connection.broken = True


async def fetch_rows(
    connection: Connection,
    sql: bytes,
    params: Sequence[bytes | None] = (),
    *,
    before: Sequence[bytes] = (),
) -> list[tuple[bytes | None, ...]]:
    """One catalog read outside any request (start-up, reloads), as text rows, on a pooled connection: no
    connection of its own to open (a TLS handshake and a backend fork each) while a worker gets ready.

    ``before`` runs first in the same implicit transaction (the pipeline up to its sync), for what the read
    depends on (``set_config(..., true)``); ``sql``'s parameters are text (``$n::type`` in ``sql``)."""
    pipeline = connection.pipeline
    try:
        for statement in before:
            pipeline.queue(b"", statement, None, False)
        pipeline.queue_read(sql, list(params) or None)
        await connection.exchange()
    except OSError as exc:
        raise _lost(connection, exc) from None
    error = pipeline.error
    if error is not None:
        raise StatementError(PgError(*error))
    rows: list[tuple[bytes | None, ...]] = pipeline.rows()
    return rows


def _lost(connection: Connection, exc: Exception) -> ConnectionLost:
    """The connection failed under a round trip: it is marked broken (never reused) and reported."""
    connection.broken = True
    return ConnectionLost(str(exc).strip() or "connection lost")


_cancels: set[asyncio.Task[None]] = set()  # cancel requests in flight (a task needs a strong reference)


def cancel(pipeline: Pipeline) -> None:
    """Ask the server to cancel what ``pipeline`` runs, without blocking the loop (libpq's cancel API)."""
    request = pipeline.cancel()
    if request is None:
        return  # the connection is already gone (nothing runs on it any more), or libpq is older than 17
    task = asyncio.get_running_loop().create_task(_send_cancel(request))
    _cancels.add(task)
    task.add_done_callback(_cancels.discard)


async def _send_cancel(request: Cancel) -> None:
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(5.0):
            while True:
                status = request.poll()
                if status in ("ok", "failed"):
                    return
                await wait_socket(loop, request.socket, writable=status == "writing")
    except (TimeoutError, OSError):
        return  # best effort: the backend still ends when it next notices the closed connection
    finally:
        request.close()


@functools.cache
def config_statement(pairs: int, timezone: bool, read_only: bool) -> tuple[bytes, bytes]:
    """The request's settings statement with ``pairs`` more name/value parameters (app.settings.*, hoisted
    function settings); ``read_only`` makes the transaction read only (a read sent without BEGIN)."""
    calls = ["set_config('transaction_read_only', 'on', true)"] if read_only else []
    calls += [f"set_config('{name}', ${index}, true)" for index, name in enumerate(_SETTINGS, start=1)]
    next_param = len(_SETTINGS) + 1
    if timezone:
        calls.append(f"set_config('timezone', ${next_param}, true)")
        next_param += 1
    for _ in range(pairs):
        calls.append(f"set_config(${next_param}, ${next_param + 1}, true)")
        next_param += 2
    name = f"restpg_config_{pairs}{'_tz' if timezone else ''}{'_ro' if read_only else ''}"
    return name.encode(), ("SELECT " + ", ".join(calls)).encode()


def _name_for(sql: str) -> bytes:
    return b"restpg_" + hashlib.blake2b(sql.encode(), digest_size=12).hexdigest().encode()


def _qualified(name: str) -> str:
    """Quote ``schema.function`` from the configuration (``db-pre-request``) as an identifier."""
    return ".".join('"' + part.strip('"').replace('"', '""') + '"' for part in name.split(".", 1))

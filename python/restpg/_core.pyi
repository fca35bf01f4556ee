"""The Rust core (``restpg._core``): parse → plan → SQL for one request, and the libpq calls that run it.

Hand-written stubs, checked against the compiled module with ``mypy.stubtest``. The schema cache crosses
into Rust once per load; per request Python passes a few ``str``/``bytes`` and gets back one frozen
``Prepared`` (or an ``ApiError``), then queues it on the connection's ``Pipeline`` and gets an ``Outcome``.
"""

from typing import Final, Literal, Protocol, Self, TypeAlias, final

__all__ = [
    "ApiError",
    "BlockingSession",
    "Cancel",
    "Engine",
    "Outcome",
    "Pipeline",
    "Prepared",
    "SchemaCache",
    "Settings",
    "load_libpq",
    "merge_changed",
    "parse_conninfo",
    "watch_supervisor",
]

__version__: Final[str]

@final
class ApiError(Exception):
    """A PostgREST-shaped error: ``status`` plus the four body keys."""

    status: int
    code: str
    message: str
    details: object
    hint: object
    def body(self) -> bytes:
        """The JSON body ``{"code","message","details","hint"}`` as PostgREST sends it."""

@final
class SchemaCache:
    """An immutable, shareable schema cache built from the introspection document."""

    def __new__(cls, document: bytes | dict[str, bytes], *, background: bool = False) -> Self:
        """``document`` is the JSON object built by the introspection queries (see docs/schema-cache.md),
        whole, or as its parts: each query's result by the query's stem (parsed apart, without the GIL).

        With ``background`` (a reload while requests are served) the work runs on a thread of low CPU
        priority, as with ``to_snapshot`` and ``from_snapshot``.

        Raises ``ValueError`` when the document is malformed.
        """
    @property
    def table_count(self) -> int: ...
    @property
    def relationship_count(self) -> int: ...
    @property
    def routine_count(self) -> int: ...
    def to_json(self) -> str:
        """The cache as JSON, for the admin ``/schema_cache`` endpoint."""
    def to_snapshot(self, fingerprint: str, *, background: bool = False) -> bytes:
        """A compact binary snapshot of the built cache, tagged with the catalog ``fingerprint``."""
    @staticmethod
    def from_snapshot(data: bytes, *, background: bool = False) -> tuple[SchemaCache, str]:
        """Load a snapshot written by ``to_snapshot``: ``(cache, fingerprint)``.

        Raises ``ValueError`` when it is truncated, corrupt, or written by another version of restpg.
        """

def merge_changed(previous: bytes, fresh: bytes, changes: bytes, *, background: bool = False) -> bytes:
    """A catalog query's earlier result without the items of the relations or functions that changed or
    are gone, plus ``fresh``'s: what a whole read would give, in another order. The results are arrays by
    field with ``rel``, or arrays of objects with ``oid``; ``changes`` is ``{"present": [...], "changed":
    [...]}`` (``queries/changes/``). ``ValueError`` when the results cannot be merged exactly. Without the
    GIL; at a low CPU priority with ``background``."""

@final
class Settings:
    """The configuration the core needs, fixed for the life of an ``Engine``."""

    def __new__(
        cls,
        *,
        db_schemas: list[str],
        db_extra_search_path: list[str],
        db_max_rows: int | None = None,
        db_aggregates_enabled: bool = False,
        db_plan_enabled: bool = False,
        db_tx_end: str = "commit",
        db_pre_request: str | None = None,
        url_use_legacy_target_names: bool = True,
    ) -> Self: ...

@final
class Prepared:
    """Everything the execute and response stages need for one request.

    The main statement returns exactly one row whose first five columns are
    ``total_result_set bigint, page_total bigint, body text, response_headers text, response_status text``.
    A write's statement (``kind`` create/update/upsert/delete) adds ``pgrst_location text`` (JSON
    ``[path, [[key, value], …]]``), ``pgrst_inserted bigint`` and ``pgrst_check`` (raises when a check fails).
    """

    @property
    def sql(self) -> str: ...
    @property
    def params(self) -> list[bytes | None]:
        """Text-format parameter values, in ``$n`` order."""
    @property
    def name(self) -> bytes:
        """A stable prepared-statement name derived from the SQL text."""
    @property
    def count_sql(self) -> str | None:
        """For ``Prefer: count=planned|estimated``: an EXPLAIN statement taking the same ``params``."""
    @property
    def count_name(self) -> bytes | None: ...
    @property
    def read_only(self) -> bool: ...
    @property
    def schema(self) -> str:
        """The schema the request targets (from ``Accept-Profile``/``Content-Profile``)."""
    @property
    def search_path(self) -> str:
        """The quoted value for ``set_config('search_path', …)``."""
    @property
    def content_type(self) -> str | None:
        """The response ``Content-Type``, or None for bodiless responses."""
    @property
    def status(self) -> int:
        """The success status before range rules (200, 201, 204, …)."""
    @property
    def headers(self) -> list[tuple[str, str]]:
        """Response headers known before execution (Content-Location, Preference-Applied, …): lowercase
        names, values as wire bytes in latin-1 characters (``restpg.http.wire``)."""
    @property
    def offset(self) -> int:
        """Row offset of the page, for ``Content-Range``."""
    @property
    def has_limit(self) -> bool:
        """True when ``limit``/``Range`` or ``db-max-rows`` bounded the page (206/416 rules)."""
    @property
    def count(self) -> str | None:
        """``exact``, ``planned``, ``estimated`` or None."""
    @property
    def singular(self) -> bool:
        """``vnd.pgrst.object``: exactly one row or 406 PGRST116."""
    @property
    def head(self) -> bool:
        """HEAD: headers only."""
    @property
    def kind(self) -> str:
        """``read``, ``create``, ``update``, ``upsert``, ``delete``, ``call``, ``root`` or ``options``."""
    @property
    def rollback(self) -> bool:
        """End the transaction with ROLLBACK (``db-tx-end`` / ``Prefer: tx=rollback``)."""
    @property
    def function_settings(self) -> list[tuple[str, str]]:
        """A call's function ``SET`` clauses as ``(name, value)``; those ``db-hoisted-tx-settings`` lists
        become transaction-local settings."""
    @property
    def explain(self) -> bool:
        """``sql`` is an EXPLAIN (``Accept: application/vnd.pgrst.plan``): its rows, one per line of the
        plan (one row in all for ``+json``), are the response body."""
    @property
    def timezone(self) -> str | None:
        """``Prefer: timezone=…``, set transaction-locally; PostgreSQL rejects an unknown zone."""

@final
class Engine:
    """A schema cache plus settings: the unit that is swapped atomically on reload."""

    def __new__(cls, cache: SchemaCache, settings: Settings) -> Self: ...
    @property
    def cache(self) -> SchemaCache: ...
    def prepare(
        self,
        method: str,
        path: str,
        query: str,
        body: bytes,
        accept: str | None = None,
        prefer: str | None = None,
        range: str | None = None,
        content_type: str | None = None,
        accept_profile: str | None = None,
        content_profile: str | None = None,
    ) -> Prepared:
        """Parse, plan and build the SQL for one request, or raise ``ApiError``.

        ``path`` is percent-encoded as received (without the base path); ``query`` is the raw query
        string. Multiple ``Prefer`` headers are joined with ``,`` by the caller.

        GET, HEAD and DELETE requests are prepared once per shape (the request with its filter values
        taken out): the next request of that shape gets the cached statements with its own values. A
        request without such values gets the same ``Prepared`` object every time.
        """
    def openapi(
        self,
        accessible: bytes,
        *,
        schema: str,
        mode: str,
        version: str = "2.0",
        server_host: str = "!4",
        server_port: int = 3000,
        base_path: str = "",
        proxy_uri: str | None = None,
        security_active: bool = False,
    ) -> bytes:
        """The root endpoint's document as JSON: Swagger 2.0 (``version="2.0"``) or OpenAPI 3.1 (``"3.1"``).

        ``accessible`` is the body of the root statement (``Prepared.sql`` for ``kind == "root"``): the
        schema's description and the tables and functions the role may use, which ``mode`` =
        ``follow-privileges`` keeps (``ignore-privileges`` lists every one). ``mode`` = ``disabled`` raises
        ``ApiError`` 404 PGRST126.
        """

class _Statements(Protocol):
    """What ``Pipeline.queue_request`` reads from an object that is not a ``Prepared`` (tests)."""

    @property
    def sql(self) -> str: ...
    @property
    def params(self) -> list[bytes | None] | None: ...
    @property
    def name(self) -> bytes: ...
    @property
    def count_sql(self) -> str | None: ...
    @property
    def count_name(self) -> bytes | None: ...

def load_libpq(path: str) -> None:
    """Load the libpq at ``path`` (a path or a library name) for every ``Pipeline`` of the process.

    ``OSError`` when it cannot be loaded, lacks a function the core calls, or another library is bound.
    """

def parse_conninfo(conninfo: str) -> list[tuple[str, str]]:
    """The keywords and values libpq reads from ``conninfo`` (a URI or key=value pairs); ``ValueError`` with
    libpq's message when it is malformed, ``RuntimeError`` before ``load_libpq``."""

_Poll: TypeAlias = Literal["reading", "writing", "ok", "failed"]

@final
class Cancel:
    """A cancel request in flight (libpq's non-blocking cancel API): ``poll`` until ok or failed, waiting
    for ``socket`` as it asks, then ``close``."""

    def poll(self) -> _Poll: ...
    @property
    def socket(self) -> int: ...
    def close(self) -> None: ...

@final
class BlockingSession:
    """A connection whose calls block without the GIL: a cold start's catalog read in the supervisor (see
    ``schema/start_session.py``). Requires ``load_libpq``.

    ``ConnectionError`` with libpq's first line when it cannot connect or the connection broke,
    ``TimeoutError`` for a statement cancelled by ``statement_timeout``, ``RuntimeError`` with PostgreSQL's
    message for any other refused statement.
    """

    def __new__(cls, params: list[tuple[str, str]]) -> Self:
        """Connect with libpq's keywords and values (as ``Pipeline.connect_start`` takes them)."""

    def rows(self, sql: bytes, params: list[bytes | None] = ...) -> list[tuple[bytes | None, ...]]:
        """One statement's rows, text values (None for NULL)."""

    def side_by_side(
        self,
        openings: list[list[tuple[bytes, list[bytes | None]]]],
        queue: list[tuple[bytes, list[bytes | None]]],
    ) -> list[bytes | None]:
        """Read on ``len(openings)`` connections at once: the first opening runs on this session, each other
        on a connection of its own (closed after); then each connection takes the next statement of
        ``queue`` whenever it is done with its last. Each queued statement's first value (None without
        one), in ``queue`` order. Raises the first failure in ``openings`` order, once all have stopped (a
        failure stops the others from taking more)."""

    def close(self) -> None:
        """Close the connection (idempotent)."""

@final
class Pipeline:
    """A connection the core opens and owns, and the execute stage's libpq calls on it in pipeline mode (see
    ``db/pool.py`` and ``db/execute.py``).

    Not thread-safe. A call that finds the connection failed raises ``ConnectionError`` with libpq's
    message; the connection must not be reused.
    """

    @staticmethod
    def connect_start(params: list[tuple[str, str]]) -> Pipeline:
        """Start connecting with libpq's keywords and values (the first ``dbname`` may be a whole connection
        string, which earlier pairs yield to and later ones override); ``RuntimeError`` before
        ``load_libpq``. Then ``connect_poll`` until ok or failed, waiting for ``socket`` as it asks."""
    def connect_poll(self) -> _Poll: ...
    def enter_pipeline_mode(self) -> None:
        """Once connected: non-blocking sends and pipeline mode."""
    @property
    def socket(self) -> int:
        """The connection's socket, -1 once closed."""
    @property
    def backend_pid(self) -> int:
        """The server process's pid, 0 once closed."""
    @property
    def ok(self) -> bool:
        """Connected and not failed."""
    @property
    def error_message(self) -> str:
        """libpq's last message about the connection, trimmed."""
    def consume(self) -> None:
        """Read what the server sent unasked; ``ConnectionError`` when the connection ended."""
    def notifies(self) -> list[tuple[str, str]]:
        """The notifications read so far, as ``(channel, payload)``."""
    def cancel(self) -> Cancel | None:
        """Start cancelling what the connection runs; None when it is gone or libpq is older than 17."""
    @property
    def prepared_count(self) -> int:
        """How many statements this connection has prepared."""
    def prepared_names(self) -> set[bytes]: ...
    @property
    def in_transaction(self) -> bool:
        """A transaction is open (or the state is unknown): it must be ended before reuse."""
    def queue(self, name: bytes, sql: bytes, params: list[bytes | None] | None, prepare: bool) -> None:
        """Queue a statement whose result matters only if it fails; prepared under ``name`` the first time
        this connection sees it (``prepare``), else sent unnamed."""
    def queue_request(self, prepared: Prepared | _Statements, prepare: bool) -> None:
        """Queue the request's count statement (when it has one) and its main statement."""
    def queue_read(self, sql: bytes, params: list[bytes | None] | None) -> None:
        """Queue a statement (unnamed) whose rows ``rows`` returns after the round trip."""
    def rows(self) -> list[tuple[bytes | None, ...]]:
        """The last round trip's ``queue_read`` rows as text; ``RuntimeError`` when it read none (failed)."""
    def sync(self) -> bool:
        """End the round trip and send it: False when the socket's buffer filled (wait writable, ``flush``)."""
    def flush(self) -> bool: ...
    def receive(self, consume: bool) -> bool:
        """Take the results that arrived (reading the socket first when ``consume``): True once all did."""
    @property
    def error(self) -> tuple[str, str, str | None, str | None] | None:
        """``(sqlstate, message, details, hint)`` of the last round trip's first error."""
    def outcome(self) -> Outcome:
        """The last round trip's main row; ``RuntimeError`` when it ran none (it failed)."""
    def close(self) -> None:
        """Close the connection; later calls raise ``ConnectionError``."""

@final
class Outcome:
    """The main statement's row (and the planner's estimate when one was asked for).

    Writes return two more columns: ``location`` (JSON ``[path, [[key, value], …]]`` for
    ``return=headers-only``) and ``inserted`` (rows an upsert inserted rather than updated). An EXPLAIN's
    rows are ``body``, each line ended by a newline, with ``page_total`` their count.
    """

    def __new__(
        cls,
        total: int | None,
        page_total: int,
        body: bytes | None,
        response_headers: bytes | None,
        response_status: bytes | None,
        planned_total: int | None = None,
        location: bytes | None = None,
        inserted: int | None = None,
    ) -> Self: ...
    @property
    def total(self) -> int | None: ...
    @property
    def page_total(self) -> int: ...
    @property
    def body(self) -> bytes | None: ...
    @property
    def response_headers(self) -> bytes | None: ...
    @property
    def response_status(self) -> bytes | None: ...
    @property
    def planned_total(self) -> int | None: ...
    @property
    def location(self) -> bytes | None: ...
    @property
    def inserted(self) -> int | None: ...
    def with_body(self, body: bytes) -> Outcome:
        """This outcome with another body."""

def watch_supervisor(supervisor: int, grace_seconds: float) -> None:
    """End this process (exit code 1) ``grace_seconds`` after its parent stops being ``supervisor``.

    A native thread without the GIL: it still acts when a graceful stop is stuck holding the GIL. Only the
    first call of a process starts a watch; ``ValueError`` for a negative or non-finite grace.
    """

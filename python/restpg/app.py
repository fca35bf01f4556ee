"""The application, served through ASGI or Granian's RSGI: one request in, one pipeline out.

Both interfaces are thin adapters around ``App.handle``. Per request the Python work is kept to reading a few
headers, one call into the core (``Engine.prepare``), one authentication call (cached), one pipeline on a
pooled connection and the response assembly, plus two counter increments for the metrics; at the default
``log-level`` nothing is logged on the hot path. The ``Engine`` (schema cache + settings) is an immutable object
held in ``self.engine`` and replaced wholesale by ``reload``: requests in flight keep the one they started with.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine, Mapping, MutableMapping
from functools import lru_cache, partial
from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import msgspec

from restpg import admin, cors, errors, metrics, openapi, response
from restpg.auth import Authenticator, AuthError
from restpg.config import Config, load
from restpg.db.execute import ConnectionLost, Executor, RequestSettings, StatementError
from restpg.db.pool import ConnectError, Pool, PoolOptions, PoolTimeout
from restpg.db.role_settings import RoleSettings, load_role_settings
from restpg.dbconfig import load_config, reloaded
from restpg.disconnect import CLIENT_CLOSED, RunningReads, asgi_disconnected
from restpg.http import Response, wire
from restpg.limits import BodyTooLarge, Limits, read_asgi_body, read_rsgi_body
from restpg.log import AccessLog
from restpg.schema.catalog import Document
from restpg.schema.fingerprint import pooled_fingerprint, queries_digest
from restpg.schema.introspect import QUERIES, Reading, load_document, reread_catalog
from restpg.schema.listener import CONFIG, SCHEMA, Listener
from restpg.schema.reloader import CoreCodec, SchemaReloader
from restpg.schema.snapshot import store_for
from restpg.timing import Timing

if TYPE_CHECKING:
    from restpg._core import ApiError, Engine, Prepared, SchemaCache, Settings

__all__ = ["CONFIG_FILE_ENV", "RUNTIME_DIR_ENV", "App", "create_app"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

CONFIG_FILE_ENV = "RESTPG_CONFIG_FILE"  # set by the server for its workers
RUNTIME_DIR_ENV = "RESTPG_RUNTIME_DIR"  # where workers publish readiness for the admin server
SUPERVISOR_ENV = "RESTPG_SUPERVISOR_PID"  # the `restpg serve` process its workers end with

_SCHEMA_CACHE_NOT_READY = "Could not query the database for the schema cache. Retrying."
_POOL_TIMEOUT = "Timed out acquiring connection from connection pool."
_CONNECTION_ERROR = "Database connection error. Retrying the connection."
_CLIENT_ERROR = "Database client error. Retrying the connection."
_WANTED = frozenset(
    (
        "accept",
        "prefer",
        "range",
        "content-type",
        "accept-profile",
        "content-profile",
        "authorization",
        "origin",
        "cookie",
        "access-control-request-method",
        "access-control-request-headers",
        "content-length",
    )
)
# PostgREST ignores the body of these: no await on the client for them.
_NO_BODY = frozenset(("GET", "HEAD"))
_PATH_SAFE = "/:@!$&'()*+,;=-._~"  # RFC 3986 pchar and "/": what a path may hold unencoded
# How long a worker serving a snapshot waits for its listener before it revalidates the snapshot anyway.
LISTEN_WAIT = 1.0
_encode_json = msgspec.json.Encoder().encode


def create_app(config: Config | None = None) -> App:
    """The factory Granian calls in each worker; without ``config`` it reads the server's configuration."""
    supervisor = os.environ.get(SUPERVISOR_ENV)
    if supervisor:
        from restpg.server import end_with_supervisor

        end_with_supervisor(int(supervisor))
    path = os.environ.get(CONFIG_FILE_ENV) or None
    if config is None:
        config = load(path, os.environ)
    if supervisor:
        from restpg._core import watch_supervisor

        # The graceful stop that follows the supervisor's end gets the grace a supervised stop gets.
        watch_supervisor(int(supervisor), config.restpg_shutdown_grace)
    return App(config, config_path=path)


class App:
    def __init__(self, config: Config, *, config_path: str | None = None) -> None:
        """``config_path`` is the file ``config`` came from: a config reload reads it again."""
        from restpg._core import ApiError

        self.config_path = config_path

        self._api_error: type[ApiError] = ApiError  # imported here: the module loads without the core
        self.engine: Engine | None = None
        self.pool = Pool(
            config.db_uri,
            PoolOptions(
                size=config.db_pool,
                acquisition_timeout=config.db_pool_acquisition_timeout,
                max_lifetime=config.db_pool_max_lifetime,
                max_idletime=config.db_pool_max_idletime,
            ),
        )
        self.authenticator = authenticator_for(config)
        self.base_path = config.restpg_base_path
        self.limits = Limits(
            max_url_bytes=config.restpg_max_url_bytes,
            max_header_bytes=config.restpg_max_header_bytes,
            max_body_bytes=config.restpg_max_body_bytes,
        )
        self.metrics = metrics.Metrics()
        self._background: set[asyncio.Task[None]] = set()
        self.cache: SchemaCache | None = None
        self._role_settings: RoleSettings | None = None
        # With db-config the engine is published only once the in-database settings are read: a persisted
        # snapshot must not be served under the file's settings when the database overrides them.
        self._config_final = not config.db_config
        self._reloading = asyncio.Lock()
        # Not configuration: a config reload must not orphan the reads in flight or forget the loop.
        self._reads = RunningReads()
        self._loop: asyncio.AbstractEventLoop | None = None  # the serving loop, once started
        self._became_ready = asyncio.Event()  # wakes the heartbeat: /ready turns 200 without waiting a beat
        self._configure(config)

    def _configure(self, config: Config) -> None:
        """Build what depends on the reloadable configuration (the pool and the sockets do not)."""
        previous: Config | None = getattr(self, "config", None)
        self.config = config
        self.executor = Executor(
            app_settings=config.app_settings,
            pre_request=config.db_pre_request,
            prepared_statements=config.db_prepared_statements,
            hoisted_tx_settings=config.db_hoisted_tx_settings,
        )
        if self._role_settings is not None:
            # Keep the roles' settings until the reload that follows re-reads them: no request runs without.
            self.executor.set_role_settings(self._role_settings)
        # With a JWKS URL, a token with an unknown `kid` waits for the key-set refetch instead of failing.
        self.wait_for_keys = config.jwt_jwks_url is not None
        self.many_schemas = len(config.db_schemas) > 1
        self.access_log = AccessLog(config.log_level, config.restpg_log_format)
        self.server_timing = config.server_timing_enabled
        scope = (config.db_schemas, config.db_extra_search_path)
        if previous is not None and scope == (previous.db_schemas, previous.db_extra_search_path):
            return
        # Other schemas make another cache: its own snapshot file and fingerprint.
        self.reloader: SchemaReloader[SchemaCache] = SchemaReloader(
            store=store_for(config),
            codec=CoreCodec(),
            load_document=self._load_document,
            fingerprint=self._fingerprint,
            publish=self._publish,
            reread=self._reread,
        )
        self._digest = queries_digest(QUERIES, config.db_schemas, config.db_extra_search_path)
        # What the last reload read (another scope reads other results).
        self._reading: Reading | None = None
        if previous is not None:
            self.cache = None

    # --- lifecycle -------------------------------------------------------------------------------------

    async def startup(self) -> None:
        """Start loading the schema cache; requests get 503 PGRST002 until it is loaded.

        A persisted snapshot is served at once and revalidated in the background.
        """
        self._loop = asyncio.get_running_loop()
        await self.authenticator.start()
        # The snapshot is read and decoded in a thread while the connections readiness needs are opened.
        snapshot = asyncio.ensure_future(self._adopt_snapshot())
        self._spawn(self._load_until_ready(snapshot))
        runtime_dir = os.environ.get(RUNTIME_DIR_ENV)
        if runtime_dir:
            self._spawn(
                admin.heartbeat(
                    Path(runtime_dir), lambda: self.ready, self._snapshot_path, self._became_ready
                )
            )
            self._spawn(metrics.publish_loop(Path(runtime_dir), self.metrics_snapshot))
        # PostgREST's signals, also what the admin server's POST /reload sends to every worker.
        loop = asyncio.get_running_loop()
        for signum, kinds in ((signal.SIGUSR1, {SCHEMA}), (signal.SIGUSR2, {SCHEMA, CONFIG})):
            try:
                loop.add_signal_handler(signum, self._on_signal, frozenset(kinds))
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread (embedded use)
                break
        await snapshot  # the first request is served from it
        if os.environ.get(SUPERVISOR_ENV):
            # What a worker built to serve lives as long as it does: out of the cyclic collector's way, a full
            # collection walks only what requests leave behind (a pause of 19 ms under load became ~1 ms).
            gc.freeze()

    async def _adopt_snapshot(self) -> None:
        try:
            await self.reloader.adopt_persisted()
        except OSError as exc:
            print(f"restpg: cannot read the schema cache snapshot ({_first_line(exc)})", file=sys.stderr)

    def _on_signal(self, kinds: frozenset[str]) -> None:
        self._spawn(self._on_notify(kinds))

    def _snapshot_path(self) -> str:
        return str(self.reloader.store.path)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def shutdown(self) -> None:
        for task in list(self._background):
            task.cancel()
        await self.authenticator.close()
        await self.pool.close()

    async def reload(self, since: float | None = None) -> None:
        """Bring the schema cache up to date (shared with the other workers through the snapshot); after a
        notification, as of its arrival ``since`` (see ``SchemaReloader.refresh``).

        The roles' settings load beside it: a follower may wait on the snapshot leader for a while, and
        readiness needs both."""
        await asyncio.gather(self.reloader.refresh(since), self._load_role_settings())

    async def _load_role_settings(self) -> None:
        config = self.config
        self._role_settings = await load_role_settings(self.pool, config.db_hoisted_tx_settings)
        self.executor.set_role_settings(self._role_settings)

    async def load_once(self) -> None:
        """What a worker does before it serves, once and without retrying: the in-database settings (when
        ``db-config`` asks for them), then the schema cache (for ``restpg sql`` and other one-shot uses)."""
        if not self._config_final:
            async with self._reloading:
                await self._reload_config()
        await self.reload()

    async def _load_document(self) -> Document:
        """The whole document (a start, or a follower that waited too long for the leader's snapshot)."""
        config = self.config
        started = perf_counter()
        try:
            document = await load_document(
                config.db_uri,
                schemas=config.db_schemas,
                extra_search_path=config.db_extra_search_path,
                max_bytes=config.restpg_max_schema_bytes,
                # Side by side only while nothing is served: a reload leaves the cores to the requests.
                parallel=self.engine is None,
            )
        except Exception:
            self.metrics.schema_failed()
            raise
        self.metrics.schema_loaded(perf_counter() - started)
        return document

    async def _reread(
        self, published: str | None, checked: Callable[[str], None]
    ) -> tuple[str, Document | None]:
        """The leader's reload: the fingerprint, and the document unless it is ``published``, in one read
        on a pooled connection that runs only the queries whose catalogs changed since its last read."""
        config = self.config
        started = perf_counter()
        try:
            fingerprint, document, reading = await reread_catalog(
                self.pool,
                schemas=config.db_schemas,
                extra_search_path=config.db_extra_search_path,
                digest=self._digest,
                previous=self._reading,
                unless=published,
                checked=checked,
                max_bytes=config.restpg_max_schema_bytes,
            )
        except Exception:
            self.metrics.schema_failed()
            raise
        if reading is not None:  # a load, not only a check
            self._reading = reading
            self.metrics.schema_loaded(perf_counter() - started)
        return fingerprint, document

    async def _fingerprint(self) -> str:
        return await pooled_fingerprint(self.pool, self._digest)

    def _publish(self, cache: SchemaCache) -> None:
        """Swap in a new engine: one assignment, so requests in flight keep the one they started with."""
        from restpg._core import Engine

        self.cache = cache
        if self._config_final:
            engine = Engine(cache, _settings(self.config))
            self.engine = engine
            self.metrics.schema_adopted()

    async def _on_notify(self, kinds: frozenset[str], since: float | None = None) -> None:
        async with self._reloading:
            if CONFIG in kinds:
                try:
                    await self._reload_config()
                except Exception as exc:  # noqa: BLE001 - a bad new config keeps the running one
                    print(f"restpg: config not reloaded ({_first_line(exc)})", file=sys.stderr)
            # A config reload implies a schema reload, as PostgREST (db-schemas may have changed).
            await self.reload(since)

    async def _reload_config(self) -> None:
        """Re-read file, environment and in-database settings; apply the keys reloadable at run time."""
        await self._apply_config(await self._read_config())

    async def _read_config(self) -> Config:
        return reloaded(self.config, await load_config(self.pool, self.config_path))

    async def _apply_config(self, fresh: Config) -> None:
        previous: Authenticator | None = None
        if _auth_settings(fresh) != _auth_settings(self.config):
            # A new authenticator: new keys and an empty token cache (tokens verified with the old secret).
            # Made in a thread: a first key imports pyjwt, which the event loop should not wait for.
            authenticator = await asyncio.to_thread(authenticator_for, fresh)
            await authenticator.start()
            previous, self.authenticator = self.authenticator, authenticator
        self._configure(fresh)
        self._config_final = True
        if self.cache is not None:
            self._publish(self.cache)
        else:
            await self.reloader.adopt_persisted()
        if previous is not None:
            await previous.close()

    def metrics_snapshot(self) -> metrics.Snapshot:
        snap = self.metrics.snapshot()
        pool = self.pool
        snap.pool_max, snap.pool_size, snap.pool_available = pool.max_size, pool.size, pool.idle
        snap.pool_waiting, snap.pool_timeouts = pool.waiting, pool.timeouts
        stats = self.authenticator.cache_stats
        snap.jwt_hits, snap.jwt_misses, snap.jwt_evictions = stats.hits, stats.misses, stats.evictions
        return snap

    @property
    def ready(self) -> bool:
        # A snapshot can serve before the catalog answers; readiness also waits for the role settings.
        return self.engine is not None and self.executor.role_settings_loaded and self.pool.healthy

    async def _open_pool(self) -> None:
        """The pool's first connection, then the roles' settings read on it: one connection, not two."""
        if self.pool.size == 0:  # not again when only the settings failed
            await self.pool.open()
        await self._load_role_settings()

    async def _open_pool_and_read_config(self) -> Config:
        # One after the other: read beside the pool's opening, the settings would open a connection of their own.
        await self._open_pool()
        return await self._read_config()

    async def _load_until_ready(self, snapshot: Awaitable[None]) -> None:
        await _retrying(partial(self._get_ready, snapshot))
        self._became_ready.set()
        # The listener's connection opens only now: readiness does not wait for it.
        listening = None
        if self.config.db_channel_enabled:
            listener = Listener(self.config.db_uri, self.config.db_channel, self._on_notify)
            self._spawn(listener.run())
            listening = listener.listening
            if self.engine is not None:
                # A snapshot serves meanwhile, so its revalidation can wait for the LISTEN (briefly): one
                # catalog check then covers both the time before the snapshot and until the listener.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(listening.wait(), LISTEN_WAIT)
        # Without a snapshot this is the first load (readiness waits for it), with one its revalidation.
        await _retrying(self.reloader.refresh)
        self._became_ready.set()
        if listening is not None and not listening.is_set():
            # The catalog was read before the listener listened: a change in between would be missed.
            await listening.wait()
            await _retrying(self.reloader.refresh)

    async def _get_ready(self, snapshot: Awaitable[None]) -> None:
        """What readiness waits for, side by side: the snapshot (decoded in a thread), and the pool's first
        connection with the roles' settings and (with db-config) the in-database settings read on it."""
        if self._config_final:
            await asyncio.gather(snapshot, self._open_pool())
            return
        async with self._reloading:
            hoisted = self.config.db_hoisted_tx_settings
            _, fresh = await asyncio.gather(snapshot, self._open_pool_and_read_config())
            # Applied once the snapshot is in: a change of db-schemas then swaps its cache.
            await self._apply_config(fresh)
            if self.config.db_hoisted_tx_settings != hoisted:  # the database changed the list
                await self._load_role_settings()

    # --- ASGI ------------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            started = perf_counter()
            method: str = scope["method"]
            found: dict[str, str] = {}
            request_headers: dict[str, str] = {}
            header_bytes = 0
            for raw_name, raw_value in scope["headers"]:
                header_bytes += len(raw_name) + len(raw_value)
                _add_header(found, request_headers, raw_name.decode("latin-1"), raw_value.decode("latin-1"))
            raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
            query: str = scope["query_string"].decode("latin-1")
            result = await self.handle(
                method,
                raw_path.decode("latin-1"),
                scope["path"],
                query,
                found,
                request_headers,
                None if method in _NO_BODY else partial(read_asgi_body, receive, self.limits.max_body_bytes),
                header_bytes=header_bytes,
                disconnected=partial(asgi_disconnected, receive),
            )
            status = result.status
            if status != CLIENT_CLOSED:
                headers = [
                    (name.encode("latin-1"), value.encode("latin-1")) for name, value in result.headers
                ]
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": result.body})
            elapsed = perf_counter() - started
            self.metrics.observe(method, status, elapsed)
            if self.access_log.wants(status):
                client = scope.get("client")
                self.access_log.write(
                    client[0] if client else "-",
                    method,
                    scope["path"],
                    query,
                    scope.get("http_version", "1.1"),
                    request_headers,
                    status,
                    len(result.body),
                    elapsed,
                )
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:  # noqa: BLE001 - reported to the server, which exits
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # --- RSGI (Granian's native interface: one call per response, no message dicts) ----------------------

    async def __rsgi__(self, scope: Any, protocol: Any) -> None:
        if scope.proto != "http":
            return
        started = perf_counter()
        method: str = scope.method
        found: dict[str, str] = {}
        request_headers: dict[str, str] = {}
        header_bytes = 0
        for name, value in scope.headers.items():
            header_bytes += len(name) + len(value)
            _add_header(found, request_headers, name, value)
        # RSGI's path is already percent-decoded; the parser takes it encoded (as ASGI's raw_path), so
        # it is quoted again. Only a name with an encoded "/" (%2F) differs: it reads as two segments.
        path: str = scope.path
        query: str = scope.query_string
        result = await self.handle(
            method,
            _quoted_path(path),
            path,
            query,
            found,
            request_headers,
            None
            if method in _NO_BODY
            else partial(read_rsgi_body, protocol, self.limits.max_body_bytes, found.get("content-length")),
            header_bytes=header_bytes,
            disconnected=protocol.client_disconnect,
        )
        status = result.status
        # A CLIENT_CLOSED answer goes nowhere (the client is gone); it only completes the protocol.
        protocol.response_bytes(status, result.headers, result.body)
        elapsed = perf_counter() - started
        self.metrics.observe(method, status, elapsed)
        if self.access_log.wants(status):
            self.access_log.write(
                scope.client.rsplit(":", 1)[0],
                method,
                path,
                query,
                scope.http_version,
                request_headers,
                status,
                len(result.body),
                elapsed,
            )

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        # Called before the worker's loop runs: the same startup as the ASGI lifespan.
        loop.run_until_complete(self.startup())

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.run_until_complete(self.shutdown())

    # --- the request, whatever the interface -------------------------------------------------------------

    async def handle(
        self,
        method: str,
        raw_path: str,
        path: str,
        query: str,
        found: dict[str, str],
        request_headers: dict[str, str],
        read_body: Callable[[], Awaitable[bytes | None]] | None,
        *,
        header_bytes: int = 0,
        disconnected: Callable[[], Awaitable[Any]] | None = None,
    ) -> Response:
        """``raw_path`` as sent (the parser decodes it), ``path`` decoded (for ``request.path``); ``found``
        holds the headers restpg reads, ``request_headers`` all but Cookie; ``read_body`` is None for methods
        whose body PostgREST ignores (GET, HEAD), which then never wait on the client (it raises
        ``BodyTooLarge`` past ``restpg-max-body-bytes``). ``header_bytes`` is the headers' names and values
        added up; ``disconnected`` resolves when the client goes away (a slow read is then cancelled)."""
        timing = Timing() if self.server_timing else None
        limits = self.limits
        result = (
            limits.check_url(raw_path, query)
            or limits.check_header_bytes(header_bytes)
            or limits.check_content_length(found.get("content-length"))
            or await self._respond(
                method, raw_path, path, query, found, request_headers, read_body, disconnected, timing
            )
        )
        origin = found.get("origin")
        # a preflight answer already carries its own CORS headers
        if origin is not None and not any(
            name == "access-control-allow-origin" for name, _ in result.headers
        ):
            result.headers.extend(cors.response_headers(origin, self.config.server_cors_allowed_origins))
        if timing is not None:
            timing.mark("response")
            result.headers.append(timing.header())
        return result

    async def _respond(
        self,
        method: str,
        raw_path: str,
        path: str,
        query: str,
        found: dict[str, str],
        request_headers: dict[str, str],
        read_body: Callable[[], Awaitable[bytes | None]] | None,
        disconnected: Callable[[], Awaitable[Any]] | None,
        timing: Timing | None,
    ) -> Response:
        if method == "OPTIONS":
            origin = found.get("origin")
            requested = found.get("access-control-request-method")
            if origin is not None and requested is not None:
                preflight = cors.preflight_headers(
                    origin,
                    requested,
                    found.get("access-control-request-headers"),
                    self.config.server_cors_allowed_origins,
                )
                if preflight is not None:
                    return Response(200, preflight)

        engine = self.engine
        if engine is None:
            return errors.pgrst(503, "PGRST002", _SCHEMA_CACHE_NOT_READY)

        if self.base_path and raw_path.startswith(self.base_path):
            raw_path = raw_path[len(self.base_path) :] or "/"
        raw_path, openapi_version = openapi.route(raw_path)
        try:
            body = b"" if read_body is None else await read_body()
        except BodyTooLarge:
            return self.limits.body_too_large()
        if body is None:
            # The client went away before its body was complete: nothing of it may run. The response is
            # never delivered; it only ends the request.
            return errors.pgrst(400, "PGRST102", "Empty or invalid json")
        if timing is not None:
            timing.mark("parse")
        try:
            prepared = prepare(engine, method, raw_path, query, body, found)
        except self._api_error as exc:
            return errors.from_api_error(exc)
        if timing is not None:
            timing.mark("plan")
        if prepared.kind == "options":
            return Response(prepared.status, list(prepared.headers))
        if prepared.kind == "root" and self.config.openapi_mode == "disabled":
            return errors.pgrst(404, "PGRST126", openapi.DISABLED_MESSAGE)

        authorization = found.get("authorization")
        try:
            if self.wait_for_keys:
                auth = await self.authenticator.authenticate_async(authorization)
            else:
                auth = self.authenticator.authenticate(authorization)
        except AuthError as exc:
            return errors.from_auth_error(exc)
        if timing is not None:
            timing.mark("jwt")

        cookie = found.get("cookie")
        settings = RequestSettings(
            search_path=prepared.search_path.encode(),
            role=auth.role.encode(),
            claims=auth.claims,
            method=method.encode(),
            path=path.encode(),
            headers=_encode_json(request_headers),
            cookies=_encode_json(_cookies(cookie)) if cookie else b"{}",
            timezone=None if prepared.timezone is None else prepared.timezone.encode(),
        )
        return await self._execute(
            prepared,
            settings,
            timing,
            authenticated=authorization is not None,
            openapi_version=openapi_version,
            # A write runs to its end even when its client leaves: cutting it off would turn a request
            # the client may have meant to complete into a guess about whether it committed.
            disconnected=disconnected if prepared.read_only else None,
        )

    async def _execute(
        self,
        prepared: Prepared,
        settings: RequestSettings,
        timing: Timing | None,
        *,
        authenticated: bool,
        openapi_version: str,
        disconnected: Callable[[], Awaitable[Any]] | None = None,
    ) -> Response:
        pool = self.pool
        # A read-only transaction is retried once on a fresh connection when its connection turns out to
        # be broken (the database restarted since it was opened); a write is never replayed.
        attempts = 2 if prepared.read_only else 1
        while True:
            attempts -= 1
            try:
                connection = await pool.acquire()
            except PoolTimeout:
                return errors.pgrst(504, "PGRST003", _POOL_TIMEOUT)
            except ConnectError as exc:
                return _unavailable("PGRST000", _CONNECTION_ERROR, str(exc), pool.retry_after())
            # A running read is watched for its client leaving (only from here: a request queued for a
            # connection is not holding one, and a thousand queued clients would each need a watcher).
            watch = None
            if disconnected is not None:
                watch = self._reads.track(self._loop or asyncio.get_running_loop(), disconnected)
            try:
                outcome = await self.executor.run(connection, prepared, settings)
            except StatementError as exc:
                applied = next((v for k, v in prepared.headers if k == "preference-applied"), None)
                return errors.from_pg_error(exc.error, authenticated=authenticated, applied=applied)
            except ConnectionLost as exc:
                pool.purge()
                if attempts:
                    continue
                return _unavailable("PGRST001", _CLIENT_ERROR, str(exc), pool.retry_after())
            except asyncio.CancelledError:
                if watch is None or not watch.disconnected:
                    raise
                # Our own cancellation: the client is gone and the query was cancelled on the server.
                asyncio.current_task().uncancel()  # type: ignore[union-attr]
                return Response(CLIENT_CLOSED)
            finally:
                if watch is not None:
                    self._reads.done(watch)
                pool.release(connection)
            break
        if timing is not None:
            timing.mark("transaction")
        if prepared.kind == "root" and self.engine is not None:
            outcome = openapi.describe(self.engine, self.config, prepared, outcome, openapi_version)
        profile = None
        if self.many_schemas and not any(name == "content-profile" for name, _ in prepared.headers):
            profile = wire(prepared.schema)
        return response.build(prepared, outcome, content_profile=profile)


def prepare(
    engine: Engine, method: str, raw_path: str, query: str, body: bytes, headers: Mapping[str, str]
) -> Prepared:
    """The core's parse → plan → SQL for one request; ``headers`` by lowercase name (Prefer already merged).
    The engine keeps the request's shape (its filter values taken out): the next request of that shape,
    whatever its values, skips the parse and the plan."""
    # Positional: PyO3 parses positional arguments faster than keywords, and this runs per request.
    return engine.prepare(method, raw_path, query, body, *_core_headers(headers))


def _core_headers(headers: Mapping[str, str]) -> tuple[str | None, ...]:
    """The headers the core reads, in ``Engine.prepare``'s order."""
    get = headers.get
    return (
        get("accept"),
        get("prefer"),
        get("range"),
        get("content-type"),
        get("accept-profile"),
        get("content-profile"),
    )


def _auth_settings(config: Config) -> tuple[object, ...]:
    """What ``authenticator_for`` reads: a reload that leaves these alone keeps the token cache and keys."""
    return (
        config.jwt_secret,
        config.jwt_secret_is_base64,
        config.jwt_aud,
        config.jwt_role_claim_key,
        config.db_anon_role,
        config.jwt_cache_max_entries,
        config.jwt_jwks_url,
    )


def authenticator_for(config: Config) -> Authenticator:
    """The JWT authenticator for ``config``; raises ``ValueError`` for an unusable key configuration."""
    return Authenticator(
        secret=config.jwt_secret,
        secret_is_base64=config.jwt_secret_is_base64,
        audience=config.jwt_aud,
        role_claim_key=config.jwt_role_claim_key,
        anon_role=config.db_anon_role,
        cache_max_entries=config.jwt_cache_max_entries,
        jwks_url=config.jwt_jwks_url,
    )


def _unavailable(code: str, message: str, details: str, retry_after: int) -> Response:
    """503 while the database is unreachable, with PostgREST's ``Retry-After``."""
    result = errors.pgrst(503, code, message, details)
    result.headers.append(("retry-after", str(retry_after)))
    return result


def _settings(config: Config) -> Settings:
    from restpg._core import Settings

    return Settings(
        db_schemas=list(config.db_schemas),
        db_extra_search_path=list(config.db_extra_search_path),
        db_max_rows=config.db_max_rows,
        db_aggregates_enabled=config.db_aggregates_enabled,
        db_plan_enabled=config.db_plan_enabled,
        db_tx_end=config.db_tx_end,
        db_pre_request=config.db_pre_request,
        url_use_legacy_target_names=config.url_use_legacy_target_names,
    )


def _add_header(found: dict[str, str], request_headers: dict[str, str], name: str, value: str) -> None:
    """Collect one request header (name lowercased by the server) into the two views ``handle`` takes."""
    if name in _WANTED:
        if name == "prefer" and name in found:
            found[name] += "," + value  # repeated Prefer headers merge
        else:
            found[name] = value
    if name != "cookie":
        request_headers[name] = value


@lru_cache(maxsize=1024)
def _quoted_path(path: str) -> str:
    """RSGI's decoded path quoted again for the parser (paths repeat: a table's name, an /rpc name)."""
    return quote(path, safe=_PATH_SAFE)


def _cookies(header: str) -> dict[str, str]:
    cookies: dict[str, str] = {}
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name:
            cookies[name] = value
    return cookies


async def _retrying(work: Callable[[], Awaitable[object]]) -> None:
    """Run ``work`` until it succeeds, backing off: the database may come up later."""
    delay = 0.1
    while True:
        try:
            await work()
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure is retried
            print(f"restpg: schema cache not loaded yet ({_first_line(exc)}); retrying", file=sys.stderr)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 32.0)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

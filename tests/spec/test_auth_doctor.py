"""`restpg doctor`'s report on the admin server (`GET /doctor`), over the walk-through's database."""

from __future__ import annotations

import httpx
import psycopg

from support import rls
from support.postgres import ANON_ROLE, Database


def doctor(database: Database) -> dict[str, object]:
    with rls.serving(database, rls.rls_config(database)) as (server, _):
        response = httpx.get(f"{server.admin_url}/doctor", timeout=10.0)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    report: dict[str, object] = response.json()
    return report


def test_doctor_reports_the_walkthrough(database: Database) -> None:
    report = doctor(database)
    assert report["schemas"] == ["rls"]
    assert report["roles"] == [ANON_ROLE, "authenticated"]
    relations = {relation["name"]: relation for relation in report["relations"]}  # type: ignore[attr-defined]
    todos = relations["todos"]
    assert (todos["rls_enabled"], todos["policies"]) == (True, 1)
    assert todos["access"] == {
        ANON_ROLE: ["select"],
        "authenticated": ["select", "insert", "update", "delete"],
    }
    assert relations["secrets"]["access"] == {}
    findings = {(finding["kind"], finding["object"]) for finding in report["findings"]}  # type: ignore[attr-defined]
    # the policy as Neon's docs first write it calls auth.user_id() per row; notes' (select ...) form does not
    assert findings == {("per_row_policy", "rls.todos.own_todos")}
    assert report["ok"] is True


def test_doctor_flags_a_table_readable_without_rls(database: Database) -> None:
    rls.prepare(database)
    with psycopg.connect(database.admin_dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE rls.open_book (id int)"
        )  # enable's default privileges grant SELECT to anon
        try:
            report = doctor(database)
        finally:
            conn.execute("DROP TABLE rls.open_book")
    errors = [finding for finding in report["findings"] if finding["severity"] == "error"]  # type: ignore[attr-defined]
    assert [(finding["kind"], finding["object"]) for finding in errors] == [("no_rls", "rls.open_book")]
    assert report["ok"] is False

"""The Neon Data API walk-through, end to end through `restpg serve`: `restpg enable`, a table whose
`user_id` defaults to `auth.user_id()`, RLS with `USING (auth.user_id() = user_id)`, and tokens per user."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import psycopg
import pytest

from support import rls
from support.postgres import Database
from support.tokens import bearer, user

ALICE, BOB = bearer(user("alice")), bearer(user("bob"))
COMMIT = {"Prefer": "tx=commit"}


@pytest.fixture(scope="module")
def api(database: Database) -> Iterator[httpx.Client]:
    with rls.serving(database, rls.rls_config(database)) as (_, http):
        yield http


def tasks(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.status_code == 200, response.text
    return sorted((row["user_id"], row["task"]) for row in response.json())


def test_enable_installed_what_the_walkthrough_needs(database: Database) -> None:
    said = rls.prepare(database)
    assert any(line.startswith("auth functions:") for line in said), said
    assert any(
        line.startswith("schema rls: USAGE granted to restpg_test_anon, authenticated") for line in said
    )


def test_without_a_token_the_table_is_empty(api: httpx.Client) -> None:
    response = api.get("/todos")
    assert response.status_code == 200
    assert response.json() == []


def test_each_user_sees_only_their_rows(api: httpx.Client) -> None:
    assert tasks(api.get("/todos", headers=ALICE)) == [("alice", "file taxes"), ("alice", "water the plants")]
    assert tasks(api.get("/todos", headers=BOB)) == [("bob", "fix the bike")]
    # a filter cannot widen what the policy allows
    assert api.get("/todos?user_id=eq.alice", headers=BOB).json() == []


def test_a_user_cannot_change_or_delete_another_users_rows(api: httpx.Client) -> None:
    representation = {"Prefer": "return=representation,tx=commit"}
    changed = api.patch("/todos?user_id=eq.alice", json={"done": True}, headers={**BOB, **representation})
    assert changed.status_code == 200 and changed.json() == []
    deleted = api.delete("/todos?user_id=eq.alice", headers={**BOB, **representation})
    assert deleted.status_code == 200 and deleted.json() == []
    assert len(api.get("/todos", headers=ALICE).json()) == 2


def test_a_user_cannot_write_a_row_for_another_user(api: httpx.Client) -> None:
    response = api.post("/todos", json={"task": "sneaky", "user_id": "alice"}, headers=BOB)
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "42501"
    assert "row-level security" in response.json()["message"]


def test_anonymous_cannot_write(api: httpx.Client) -> None:
    response = api.post("/todos", json={"task": "anonymous"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["code"] == "42501"


def test_a_posted_row_belongs_to_its_author_and_only_to_them(api: httpx.Client, database: Database) -> None:
    created = api.post(
        "/todos", json={"task": "buy milk"}, headers={**ALICE, "Prefer": "return=representation,tx=commit"}
    )
    assert created.status_code == 201, created.text
    [row] = created.json()
    assert row["user_id"] == "alice"  # filled in by the column default, auth.user_id()
    target = f"/todos?id=eq.{row['id']}"
    try:
        assert [r["task"] for r in api.get(target, headers=ALICE).json()] == ["buy milk"]
        assert api.get(target, headers=BOB).json() == []
        assert api.get(target).json() == []
        patched = api.patch(target, json={"task": "bob was here"}, headers={**BOB, **COMMIT})
        assert patched.status_code == 204 and patched.headers["content-range"] == "*/*"
        deleted = api.delete(target, headers={**BOB, **COMMIT})
        assert deleted.status_code == 204 and deleted.headers["content-range"] == "*/*"
        with psycopg.connect(database.admin_dsn) as conn:
            stored = conn.execute(
                "SELECT user_id, task FROM rls.todos WHERE id = %s", (row["id"],)
            ).fetchall()
        assert stored == [("alice", "buy milk")]
        # and its author may change it
        mine = api.patch(target, json={"done": True}, headers={**ALICE, "Prefer": "return=representation"})
        assert mine.status_code == 200 and mine.json()[0]["done"] is True
    finally:
        with psycopg.connect(database.admin_dsn) as conn:
            conn.execute("DELETE FROM rls.todos WHERE id = %s", (row["id"],))

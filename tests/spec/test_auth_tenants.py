"""Many users, many rows, concurrent requests against two workers: nobody ever sees or changes a row
that is not theirs. The seed is printed on failure (pytest shows the parametrized id) for a replay."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
import pytest

from support import rls
from support.postgres import Database
from support.tokens import bearer, user

USERS = 24
ROWS_PER_USER = (1, 12)
REQUESTS = 600
SEED = random.randrange(2**32)


@pytest.fixture(scope="module")
def tenants(database: Database) -> Iterator[dict[str, set[str]]]:
    """`user -> bodies of their notes`, committed (the requests below run and roll back concurrently)."""
    rls.prepare(database)
    rng = random.Random(SEED)
    owned: dict[str, set[str]] = {}
    with psycopg.connect(database.admin_dsn) as conn:
        for index in range(USERS):
            name = f"tenant-{index}"
            owned[name] = {f"{name}/{n}" for n in range(rng.randint(*ROWS_PER_USER))}
            for body in owned[name]:
                conn.execute("INSERT INTO rls.notes (user_id, body) VALUES (%s, %s)", (name, body))
    try:
        yield owned
    finally:
        with psycopg.connect(database.admin_dsn) as conn:
            conn.execute("DELETE FROM rls.notes WHERE user_id LIKE 'tenant-%'")


@pytest.mark.parametrize("seed", [SEED])
def test_concurrent_tenants_stay_isolated(
    database: Database, tenants: dict[str, set[str]], seed: int
) -> None:
    rng = random.Random(seed)
    tokens = {name: bearer(user(name)) for name in tenants}
    names = sorted(tenants)
    plan = [
        (rng.choice(names), rng.choice(names), rng.choice(("list", "filter", "patch", "delete")))
        for _ in range(REQUESTS)
    ]
    violations: list[str] = []
    lock = threading.Lock()

    with rls.serving(database, {**rls.rls_config(database), "db-pool": 3}, workers=2) as (server, _):
        local = threading.local()
        clients: list[httpx.Client] = []

        def http() -> httpx.Client:
            if not hasattr(local, "client"):
                local.client = httpx.Client(base_url=server.url, timeout=20.0)
                with lock:
                    clients.append(local.client)
            client: httpx.Client = local.client
            return client

        def run(step: tuple[str, str, str]) -> None:
            actor, victim, action = step
            headers = tokens[actor]
            if action == "list":
                response = http().get("/notes?select=user_id,body", headers=headers)
            elif action == "filter":
                response = http().get(f"/notes?select=user_id,body&user_id=eq.{victim}", headers=headers)
            elif action == "patch":
                # rolled back (db-tx-end rollback-allow-override): the representation shows what it touched
                response = http().patch(
                    f"/notes?user_id=eq.{victim}&select=user_id,body",
                    json={"body": f"{actor} was here"},
                    headers={**headers, "Prefer": "return=representation"},
                )
            else:
                response = http().delete(
                    f"/notes?user_id=eq.{victim}&select=user_id,body",
                    headers={**headers, "Prefer": "return=representation"},
                )
            problem = check(actor, victim, action, response, tenants)
            if problem:
                with lock:
                    violations.append(problem)

        try:
            with ThreadPoolExecutor(max_workers=12) as pool:
                list(pool.map(run, plan))
        finally:
            for client in clients:
                client.close()
    assert violations == [], violations[:5]
    # nothing was committed
    with psycopg.connect(database.admin_dsn) as conn:
        rows = conn.execute("SELECT user_id, body FROM rls.notes WHERE user_id LIKE 'tenant-%'").fetchall()
    assert {name: {body for owner, body in rows if owner == name} for name in tenants} == tenants


def check(
    actor: str, victim: str, action: str, response: httpx.Response, tenants: dict[str, set[str]]
) -> str | None:
    if response.status_code != 200:
        return f"{actor} {action} {victim}: {response.status_code} {response.text}"
    rows = response.json()
    if any(row["user_id"] != actor for row in rows):
        return f"{actor} {action} {victim}: saw {rows}"
    bodies = {row["body"] for row in rows}
    if action == "list" and bodies != tenants[actor]:
        return f"{actor} list: {sorted(bodies)} != {sorted(tenants[actor])}"
    if action in ("filter", "delete"):
        expected = tenants[actor] if victim == actor else set()
        if bodies != expected:
            return f"{actor} {action} {victim}: {sorted(bodies)}"
    if action == "patch" and len(rows) != (len(tenants[actor]) if victim == actor else 0):
        return f"{actor} patch {victim}: touched {len(rows)} rows"
    return None

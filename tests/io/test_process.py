"""``restpg serve`` as a process: workers, admin endpoints, and clean failures on bad configuration."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil
import psycopg
import pytest

from support.fix_server import ServerFactory, base_config
from support.postgres import Database
from support.server import ConfigValue, free_port, free_ports, render_config, restpg_command, start_server

EXIT_TIMEOUT = 30


def test_two_workers_answer(restpg_server: ServerFactory) -> None:
    server = restpg_server(workers=2)
    # Granian workers are separate processes; 40 fresh connections spread over both of them.
    roles = set()
    for _ in range(40):
        with httpx.Client(base_url=server.url, timeout=10.0) as http:
            response = http.get("/items?id=eq.1")
            assert response.status_code == 200
            assert response.json() == [{"id": 1}]
            roles.add(http.get("/request_info").json()[0]["role"])
    assert roles == {"restpg_test_anon"}
    children = psutil.Process(server.process.pid).children(recursive=True)
    assert len(children) >= 2, f"expected two worker processes under {server.process.pid}: {children}"


def test_live_and_ready(restpg_server: ServerFactory) -> None:
    server = restpg_server()
    assert httpx.get(f"{server.admin_url}/live").status_code == 200
    assert httpx.get(f"{server.admin_url}/ready").status_code == 200
    assert httpx.get(f"{server.admin_url}/nope").status_code == 404


def test_workers_end_with_a_killed_supervisor(database: Database) -> None:
    # No orphan may keep serving (nor hold the admin port, where connections would wait unanswered). A
    # short grace: should the graceful stop get stuck (it can, inside Granian), the watch ends the worker.
    server = start_server({**base_config(database), "restpg-shutdown-grace": 3}, workers=2)
    try:
        workers = psutil.Process(server.process.pid).children(recursive=True)
        assert len(workers) >= 2
        server.process.kill()
        server.process.wait(EXIT_TIMEOUT)
        _, alive = psutil.wait_procs(workers, timeout=EXIT_TIMEOUT)
        assert alive == []
        for url in (f"{server.admin_url}/live", f"{server.url}/items"):
            try:
                httpx.get(url, timeout=5.0)
            except httpx.ConnectError:
                continue  # refused at once: nothing listens
            raise AssertionError(f"{url} still answers after the supervisor was killed")
    finally:
        server.stop()


def test_a_worker_that_cannot_stop_ends_after_the_grace(
    database: Database, db_conn: psycopg.Connection[tuple[object, ...]]
) -> None:
    # A request that outlasts the grace holds the worker's graceful stop: once the grace has passed since
    # the supervisor ended, the worker ends anyway (as a stop stuck inside Granian would, which holds the GIL).
    server = start_server({**base_config(database), "restpg-shutdown-grace": 1}, workers=1)
    try:
        workers = psutil.Process(server.process.pid).children(recursive=True)
        with ThreadPoolExecutor(1) as pool:
            slow = pool.submit(httpx.get, f"{server.url}/slow?ms=eq.30000", timeout=EXIT_TIMEOUT)
            wait_until_running(db_conn, database, '%"slow"%')
            server.process.kill()
            server.process.wait(EXIT_TIMEOUT)
            started = time.monotonic()
            _, alive = psutil.wait_procs(workers, timeout=EXIT_TIMEOUT)
            assert alive == []
            assert 1 <= time.monotonic() - started < 10
            with pytest.raises(httpx.TransportError):
                slow.result()
    finally:
        server.stop()


def wait_until_running(conn: psycopg.Connection[tuple[object, ...]], database: Database, like: str) -> None:
    deadline = time.monotonic() + EXIT_TIMEOUT
    query = "SELECT 1 FROM pg_stat_activity WHERE datname = %s AND state = 'active' AND query LIKE %s"
    while not conn.execute(query, (database.name, like)).fetchone():
        assert time.monotonic() < deadline, f"no query like {like} started"
        time.sleep(0.02)


# A supervisor whose SIGTERM handler only sets a flag (as Granian's does) forks a worker that is still
# starting (sleeping) when the supervisor is killed: the worker inherits that handler.
_SUPERVISOR_WITH_A_STARTING_WORKER = """
import os, signal, sys, time
signal.signal(signal.SIGTERM, lambda *_: None)
supervisor = os.getpid()
worker = os.fork()
if worker == 0:
    from restpg.server import end_with_supervisor
    end_with_supervisor(supervisor)
    print(os.getpid(), flush=True)
    time.sleep(60)
    os._exit(0)
time.sleep(60)
"""


def test_a_worker_still_starting_ends_with_a_killed_supervisor() -> None:
    command = [sys.executable, "-c", _SUPERVISOR_WITH_A_STARTING_WORKER]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as supervisor:
        assert supervisor.stdout is not None
        worker = psutil.Process(int(supervisor.stdout.readline()))
        supervisor.kill()
        supervisor.wait(EXIT_TIMEOUT)
        _, alive = psutil.wait_procs([worker], timeout=10)
        for process in alive:
            process.kill()
        assert alive == [], "the worker kept running after its supervisor was killed"


def run_with_config(tmp_path: Path, values: dict[str, ConfigValue]) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "restpg.conf"
    config.write_text(render_config(values), encoding="utf-8")
    return subprocess.run(
        [*restpg_command(), "serve", str(config), "--workers", "1"],
        capture_output=True,
        text=True,
        timeout=EXIT_TIMEOUT,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def ports() -> dict[str, ConfigValue]:
    port, admin_port = free_ports(2)
    return {"server-host": "127.0.0.1", "server-port": port, "admin-server-port": admin_port}


def test_unknown_config_key_exits_1(tmp_path: Path, database: Database) -> None:
    result = run_with_config(tmp_path, {**base_config(database), **ports(), "db-shemas": "test"})
    assert result.returncode == 1, result
    output = result.stdout + result.stderr
    assert "db-shemas" in output
    assert "Traceback" not in output


def test_unreachable_database_exits_1(tmp_path: Path, database: Database) -> None:
    closed_port = free_port()
    values = {
        **base_config(database),
        **ports(),
        "db-uri": f"postgresql://nobody@127.0.0.1:{closed_port}/nothing?connect_timeout=2",
    }
    result = run_with_config(tmp_path, values)
    assert result.returncode == 1, result
    output = result.stdout + result.stderr
    assert "Cannot connect to the database" in output, "restpg must say why it stopped"
    assert len(output.strip().splitlines()) == 1, output
    assert "Traceback" not in output


def test_a_malformed_db_uri_exits_1_with_one_line(tmp_path: Path, database: Database) -> None:
    # `serve` checks db-uri after its catalog read has started (which fails on it too): one message only.
    result = run_with_config(tmp_path, {**base_config(database), **ports(), "db-uri": "host=x port"})
    assert result.returncode == 1, result
    output = (result.stdout + result.stderr).strip()
    assert "'db-uri' is not a valid PostgreSQL connection string" in output
    assert len(output.splitlines()) == 1, output


@pytest.mark.parametrize("key", ["server-port", "admin-server-port"])
def test_a_port_in_use_exits_1_with_one_line(tmp_path: Path, database: Database, key: str) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        values = {**base_config(database), **ports(), key: taken.getsockname()[1]}
        result = run_with_config(tmp_path, values)
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr and "backtrace" not in result.stderr
    assert f"({key}): Address already in use" in result.stderr.strip().splitlines()[-1]


def test_missing_config_file_exits_1(tmp_path: Path) -> None:
    result = subprocess.run(
        [*restpg_command(), "serve", str(tmp_path / "absent.conf")],
        capture_output=True,
        text=True,
        timeout=EXIT_TIMEOUT,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert result.returncode == 1, result
    assert "Traceback" not in result.stdout + result.stderr


def test_sql_prints_the_statement_for_a_request(tmp_path: Path, database: Database) -> None:
    # `restpg sql` loads the configuration as a worker does (in-database settings included) and prints the SQL.
    config = tmp_path / "restpg.conf"
    config.write_text(render_config(base_config(database)))
    result = subprocess.run(
        [*restpg_command(), "sql", str(config), "GET", "/items?id=eq.1"],
        capture_output=True,
        text=True,
        timeout=EXIT_TIMEOUT,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert result.returncode == 0, result
    assert '"test"."items"' in result.stdout
    assert "$1 = '1'" in result.stdout

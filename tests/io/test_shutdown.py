"""Process lifecycle: SIGTERM drains in-flight requests then exits; a SIGKILLed worker is replaced."""

from __future__ import annotations

import os
import signal
import threading
import time

import httpx
import psutil

from support.fix_server import ServerFactory, base_config
from support.postgres import Database
from support.server import start_server


def test_sigterm_finishes_in_flight_requests(database: Database) -> None:
    server = start_server({**base_config(database), "restpg-shutdown-grace": 10})
    results: list[int | str] = []

    def slow() -> None:
        try:
            results.append(httpx.get(f"{server.url}/slow?ms=eq.1000", timeout=10).status_code)
        except httpx.TransportError as exc:
            results.append(type(exc).__name__)

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.3)  # the request is now running its query
    server.process.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    refused = False
    try:
        httpx.get(f"{server.url}/items", timeout=2)
    except httpx.TransportError:
        refused = True
    thread.join(15)
    assert results == [200], results
    assert refused, "new connections must be refused once SIGTERM arrived"
    assert server.process.wait(15) == 0
    assert "Traceback" not in server.log()


def test_killed_worker_is_replaced(own_server: ServerFactory) -> None:
    server = own_server({"db-pool": 2}, workers=2)
    workers = psutil.Process(server.process.pid).children(recursive=True)
    assert len(workers) >= 2
    victim = workers[0].pid
    os.kill(victim, signal.SIGKILL)
    # The surviving worker keeps answering while Granian respawns the dead one.
    with httpx.Client(base_url=server.url, timeout=5.0) as http:
        deadline = time.monotonic() + 10
        statuses = []
        while time.monotonic() < deadline:
            try:
                statuses.append(http.get("/items?id=eq.1").status_code)
            except httpx.TransportError:
                statuses.append(0)
            pids = {p.pid for p in psutil.Process(server.process.pid).children(recursive=True)}
            if victim not in pids and len(pids) >= 2:
                break
            time.sleep(0.1)
    pids = {p.pid for p in psutil.Process(server.process.pid).children(recursive=True)}
    assert victim not in pids and len(pids) >= 2, pids
    assert statuses.count(200) >= len(statuses) - 1, statuses  # at most the request on the dying worker
    for _ in range(20):
        assert httpx.get(f"{server.url}/items?id=eq.1", timeout=5.0).status_code == 200
    # The new worker loads its schema cache, then readiness is back.
    deadline = time.monotonic() + 10
    while httpx.get(f"{server.admin_url}/ready").status_code != 200:
        assert time.monotonic() < deadline, "/ready stayed 503 after the worker was replaced"
        time.sleep(0.1)

"""Pool exhaustion: waiters give up after db-pool-acquisition-timeout with 504 PGRST003, and a thousand
concurrent slow requests neither hang nor grow the worker's memory without bound."""

from __future__ import annotations

import asyncio
import time

import httpx
import psutil

from support.fix_server import ServerFactory


def worker_rss(pid: int) -> int:
    children = psutil.Process(pid).children(recursive=True)
    return sum(child.memory_info().rss for child in children)


async def burst(url: str, count: int, timeout: float) -> list[int | str]:
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits) as http:

        async def one() -> int | str:
            try:
                return (await http.get("/slow?ms=eq.200")).status_code
            except httpx.TransportError as exc:
                return type(exc).__name__

        return await asyncio.gather(*(one() for _ in range(count)))


def test_acquisition_timeout_is_504(own_server: ServerFactory) -> None:
    server = own_server({"db-pool": 2, "db-pool-acquisition-timeout": 1})

    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.url, timeout=10.0) as http:
            return await asyncio.gather(*(http.get("/slow?ms=eq.2000") for _ in range(4)))

    started = time.monotonic()
    responses = asyncio.run(run())
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 200, 504, 504], [r.text for r in responses]
    timed_out = next(r for r in responses if r.status_code == 504)
    assert timed_out.json() == {
        "code": "PGRST003",
        "message": "Timed out acquiring connection from connection pool.",
        "details": None,
        "hint": None,
    }
    assert time.monotonic() - started < 5.0
    time.sleep(1.2)  # the next publish carries the timeouts
    metrics = httpx.get(f"{server.admin_url}/metrics").text
    assert "pgrst_db_pool_timeouts_total 2" in metrics, metrics


def test_thousand_concurrent_slow_requests(own_server: ServerFactory) -> None:
    server = own_server({"db-pool": 4, "db-pool-acquisition-timeout": 2})
    with httpx.Client(base_url=server.url) as http:
        for _ in range(20):
            assert http.get("/slow?ms=eq.50").status_code == 200
    before = worker_rss(server.process.pid)
    started = time.monotonic()
    results = asyncio.run(burst(server.url, 1000, timeout=30.0))
    elapsed = time.monotonic() - started
    after = worker_rss(server.process.pid)
    counts = {status: results.count(status) for status in set(results)}
    # Served at the pool's pace (4 connections x 200 ms), the rest answered 504 after the 2 s timeout:
    # nothing hangs, nothing else fails.
    assert set(counts) <= {200, 504}, counts
    assert counts.get(200, 0) >= 20, counts
    assert elapsed < 20.0, f"the burst took {elapsed:.1f}s"
    growth = (after - before) / 2**20
    print(
        f"1000 slow requests: {counts} in {elapsed:.1f}s, worker RSS {before / 2**20:.0f} -> {after / 2**20:.0f} MiB"
    )
    assert growth < 64, f"workers grew by {growth:.0f} MiB for 1000 waiting requests"
    with httpx.Client(base_url=server.url) as http:
        assert http.get("/items?id=eq.1").status_code == 200

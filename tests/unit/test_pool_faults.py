"""The pool under database faults: fail fast while unreachable, drop what the server closed, recover."""

from __future__ import annotations

import asyncio
import socket
import time

import psycopg
import pytest

from restpg.db.pool import (
    RECONNECT_MAX_DELAY,
    ConnectError,
    Pool,
    PoolOptions,
    connection_params,
    open_connection,
)
from support.server import free_port


def test_a_server_that_never_answers_times_out_a_connection_of_its_own() -> None:
    # The kernel completes the TCP handshake (backlog) but nothing ever answers libpq's first message.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        params = connection_params(f"host=127.0.0.1 port={port} user=nobody dbname=x sslmode=disable")
        started = time.monotonic()
        with pytest.raises(ConnectError, match="timeout expired"):
            asyncio.run(open_connection(params, timeout=0.5))
        assert time.monotonic() - started < 3


def test_unreachable_database_fails_fast_with_backoff() -> None:
    pool = Pool(f"host=127.0.0.1 port={free_port()} user=nobody dbname=x", PoolOptions(size=4))

    async def run() -> list[float]:
        durations = []
        for _ in range(20):
            started = time.monotonic()
            with pytest.raises(ConnectError):
                await pool.acquire()
            durations.append(time.monotonic() - started)
        return durations

    durations = asyncio.run(run())
    assert max(durations) < 0.5
    assert not pool.healthy and pool.size == 0
    assert 1 <= pool.retry_after() <= 1 + RECONNECT_MAX_DELAY


def test_check_drops_terminated_connections(dsn: str) -> None:
    async def run() -> None:
        pool = Pool(dsn, PoolOptions(size=3))
        await pool.open()
        held = [await pool.acquire() for _ in range(3)]
        pids = [c.pipeline.backend_pid for c in held]
        for connection in held:
            pool.release(connection)
        assert pool.idle == 3
        with psycopg.connect(dsn, autocommit=True) as admin:
            for pid in pids:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        await asyncio.sleep(0.2)  # the termination notices reach the idle sockets
        await pool.check()
        # All three were dropped; with none left, check() probed the database and kept that connection.
        assert pool.size == 1 and pool.healthy
        fresh = await pool.acquire()
        assert fresh.pipeline.backend_pid not in pids
        pool.release(fresh)
        await pool.close()

    asyncio.run(run())


def test_purge_closes_idle_connections(dsn: str) -> None:
    async def run() -> None:
        pool = Pool(dsn, PoolOptions(size=2))
        await pool.open()
        held = [await pool.acquire() for _ in range(2)]
        for connection in held:
            pool.release(connection)
        pool.purge()
        assert pool.size == 0 and not pool.healthy
        connection = await pool.acquire()  # reconnects at once: no failed attempt, so no back-off
        assert pool.healthy
        pool.release(connection)
        await pool.close()

    asyncio.run(run())

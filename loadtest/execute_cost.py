"""What the execute stage's Python costs per request, against the fewest libpq calls that do the same work.

    python -m loadtest.execute_cost [--db-uri URI] [--requests 10000] [--rounds 6]

In one process, on one connection, one request at a time (no HTTP, no other client): W1's request (one
artist by primary key, random ids) prepared by the core, then run in turns by

- ``restpg``: ``Executor.run``, as a worker runs it (envelope, settings statement, main statement, one
  sync, result checks, the ``Outcome``; the libpq calls made by the core's ``Pipeline``);
- ``pq-minimum``: the same two prepared statements with the same parameters sent through psycopg's
  ``pq`` with nothing around them (send, send, sync, flush, wait, read), as the design's prototype does,
  on a connection of psycopg's own (restpg's connections are the core's), its socket watched once.

Both send the same bytes and PostgreSQL does the same work, so the difference in this process's CPU time
per request is what restpg's execute stage costs above the libpq work itself (41.5 µs while it ran in
Python, none since the core runs it). Rounds alternate the order;
the report is each path's median over the rounds. A benchmark, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import time
from collections.abc import Awaitable, Callable

from psycopg import pq

from loadtest.bench import fixture_config_file
from loadtest.processes import add_database_arguments
from loadtest.workloads import WORKLOADS
from restpg.app import App, _core_headers
from restpg.config import load
from restpg.db.execute import RequestSettings, config_statement
from restpg.db.pool import connection_params, open_connection

_W1 = next(w for w in WORKLOADS if w.key == "W1")
_IDS = 1000  # distinct ids cycled through (each id's statement is prepared once, as in a warm worker)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    with fixture_config_file(args) as path:
        medians = asyncio.run(_measure(str(path), args.requests, args.rounds))
    for name, (cpu, wall) in medians.items():
        print(
            f"{name:>10}: {cpu:6.1f} µs CPU, {wall:6.1f} µs wall per request (medians of {args.rounds} rounds)"
        )
    (cpu, _), (floor, _) = medians["restpg"], medians["pq-minimum"]
    print(f"the execute stage's Python above the libpq work: {cpu - floor:.1f} µs per request")
    return 0


class _Readable:
    """A socket watched once for its whole life, as restpg's connections are (no reader added per wait)."""

    def __init__(self, fd: int) -> None:
        self._loop = asyncio.get_running_loop()
        self._fd = fd
        self._waiter: asyncio.Future[None] | None = None
        self._loop.add_reader(fd, self._ready)

    def wait(self) -> asyncio.Future[None]:
        self._waiter = self._loop.create_future()
        return self._waiter

    def _ready(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def close(self) -> None:
        self._loop.remove_reader(self._fd)


def _prepare(pgconn: pq.abc.PGconn, role: bytes, statements: list[tuple[bytes, bytes]]) -> None:
    """Prepare on psycopg's connection what restpg's path prepared on its own (blocking: before timing), as
    the request's role, which parsing the statements needs (restpg prepares them after its settings)."""
    pgconn.exec_(b"BEGIN")
    pgconn.exec_params(b"SELECT set_config('role', $1, true)", [role])
    for name, sql in dict(statements).items():
        result = pgconn.prepare(name, sql)
        if result.status != pq.ExecStatus.COMMAND_OK:
            raise RuntimeError((result.error_message or b"").decode(errors="replace"))
    pgconn.exec_(b"COMMIT")
    pgconn.nonblocking = 1
    pgconn.enter_pipeline_mode()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m loadtest.execute_cost", description=__doc__.split("\n\n")[0]
    )
    add_database_arguments(parser)
    parser.add_argument("--requests", type=int, default=10_000, help="requests per path and round")
    parser.add_argument("--rounds", type=int, default=6)
    return parser


async def _measure(config_path: str, requests: int, rounds: int) -> dict[str, tuple[float, float]]:
    config = load(config_path, os.environ)
    app = App(config, config_path=config_path)
    await app.load_once()
    engine = app.engine
    assert engine is not None
    headers = _core_headers({"accept": "*/*"})
    targets = [_W1.path_for(i).partition("?") for i in range(1, _IDS + 1)]
    prepared = [engine.prepare(_W1.method, path, query, b"", *headers) for path, _, query in targets]
    connection = await open_connection(connection_params(config.db_uri))
    pgconn = pq.PGconn.connect(config.db_uri.encode())
    readable = _Readable(pgconn.socket)
    role = (config.db_anon_role or "").encode()
    # The request's settings, in the settings statement's order: restpg's path takes them as RequestSettings,
    # the minimum as that statement's parameters.
    config_params: list[bytes] = [
        prepared[0].search_path.encode(),
        role,
        b'{"role":"' + role + b'"}',
        b"GET",
        b"/artist",
        b'{"accept":"*/*"}',
        b"{}",
    ]
    settings = RequestSettings(*config_params)
    executor = app.executor
    config_name, _ = config_statement(0, False, True)

    async def restpg(i: int) -> None:
        await executor.run(connection, prepared[i % _IDS], settings)

    async def pq_minimum(i: int) -> None:
        request = prepared[i % _IDS]
        pgconn.send_query_prepared(config_name, config_params)
        pgconn.send_query_prepared(request.name, request.params)
        pgconn.pipeline_sync()
        while pgconn.flush() != 0:
            pass
        while True:
            while pgconn.is_busy():
                await readable.wait()
                pgconn.consume_input()
            result = pgconn.get_result()
            if result is not None and result.status == pq.ExecStatus.PIPELINE_SYNC:
                return

    try:
        for i in range(_IDS):  # prepares every statement on the connection, through restpg's own path
            await restpg(i)
        statements = [(request.name, request.sql.encode()) for request in prepared]
        _prepare(pgconn, role, [config_statement(0, False, True), *statements])
        paths: list[tuple[str, Callable[[int], Awaitable[None]]]] = [
            ("restpg", restpg),
            ("pq-minimum", pq_minimum),
        ]
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in paths}
        for round_ in range(rounds):
            for name, path in paths[round_ % 2 :] + paths[: round_ % 2]:
                cpu, started = _cpu(), time.perf_counter()
                for i in range(requests):
                    await path(i)
                samples[name].append(
                    ((_cpu() - cpu) * 1e6 / requests, (time.perf_counter() - started) * 1e6 / requests)
                )
    finally:
        connection.close()
        readable.close()
        pgconn.finish()
        await app.shutdown()
    return {
        name: (statistics.median(c for c, _ in rows), statistics.median(w for _, w in rows))
        for name, rows in samples.items()
    }


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    sys.exit(main())

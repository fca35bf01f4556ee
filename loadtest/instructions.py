"""Instructions per request, counted by callgrind: a cost that other load on the machine cannot move.

    python -m loadtest.instructions [--db-uri URI] [--workloads W1,W3] [--variant NAME=DIR ...] \
        [--requests 1000] [--warmup 300]

Each count is one process under ``valgrind --tool=callgrind`` that builds the app in-process (its schema
cache from the real database, as a worker does), then sends the workload's requests through
``App.__rsgi__`` one at a time (a write workload's body with each), with uniformly random ids from a fixed
seed: the request's headers, the core's prepare, authentication, the execute stage on a real connection,
the response. Two counts per variant and workload, one with ``--requests`` more than the other, and the
difference divided by ``--requests`` is what one warm request costs in the interpreter, the core and
libpq. Granian's share is the same for every variant and not in it; PostgreSQL runs in its own processes.

Req/s on this shared two-core machine moves by ±20% between identical rounds; an instruction count of one
build moves by about 1%. A variant is a folder holding a ``restpg`` package (as for ``loadtest.ab``), put
first on ``PYTHONPATH``. A benchmark, not a test: nothing here asserts a count.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from loadtest.bench import fixture_config_file
from loadtest.processes import add_database_arguments
from loadtest.workloads import WORKLOADS, Workload

_SEED = 20261128
# What wrk sends with every request, besides the workload's own headers.
_HEADERS = {"host": "127.0.0.1:3000", "accept": "*/*"}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.child:
        asyncio.run(_serve(args.child, args.workloads, args.count))
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    variants = dict(v.split("=", 1) for v in args.variant) or {"current": ""}
    with fixture_config_file(args) as config:
        print("workload | variant | instructions per request | ratio to the first variant")
        for key in args.workloads.split(","):
            first: float | None = None
            for name, folder in variants.items():
                counts = [
                    _count(folder, str(config), key, n) for n in (args.warmup, args.warmup + args.requests)
                ]
                per_request = (counts[1] - counts[0]) / args.requests
                first = first or per_request
                print(f"{key} | {name} | {per_request:,.0f} | {per_request / first:.3f}", flush=True)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m loadtest.instructions", description=__doc__.split("\n\n")[0]
    )
    add_database_arguments(parser)
    parser.add_argument("--workloads", default="W1", help="comma-separated workloads (W1, W4, ...)")
    parser.add_argument("--variant", action="append", default=[], help="NAME=DIR holding a restpg package")
    parser.add_argument("--requests", type=int, default=1000, help="the difference between the two counts")
    parser.add_argument("--warmup", type=int, default=300, help="requests in the smaller count")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # config path: serve in this process
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    return parser


def _count(folder: str, config: str, workload: str, requests: int) -> int:
    """Total instructions of one child process sending ``requests`` requests."""
    out = Path(config).parent / f"callgrind.{requests}.out"
    env = dict(os.environ, PYTHONHASHSEED="0")
    if folder:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [folder, env.get("PYTHONPATH", "")]))
    command = [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={out}",
        sys.executable,
        "-m",
        "loadtest.instructions",
        "--child",
        config,
        "--workloads",
        workload,
        "--count",
        str(requests),
    ]
    subprocess.run(command, env=env, check=True, capture_output=True)
    match = re.search(r"^summary: (\d+)", out.read_text(encoding="utf-8"), re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no summary line in {out}")
    out.unlink()
    return int(match.group(1))


class _Headers:
    def __init__(self, pairs: dict[str, str]) -> None:
        self._pairs = list(pairs.items())

    def items(self) -> list[tuple[str, str]]:
        return self._pairs


class _Scope:
    """The attributes of Granian's RSGI scope that the app reads."""

    proto = "http"
    http_version = "1.1"
    client = "127.0.0.1:50000"

    def __init__(self, method: str, path: str, query: str, headers: dict[str, str]) -> None:
        self.method, self.path, self.query_string = method, path, query
        self.headers = _Headers(headers)


class _Protocol:
    def __init__(self, body: bytes) -> None:
        self.status = 0
        self._body = body

    async def __call__(self) -> bytes:
        return self._body

    async def client_disconnect(self) -> None:
        await asyncio.Event().wait()  # the client stays

    def response_bytes(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = status


async def _serve(config_path: str, key: str, count: int) -> None:
    from restpg.app import App
    from restpg.config import load

    workload: Workload = next(w for w in WORKLOADS if w.key == key)
    app = App(load(config_path, os.environ), config_path=config_path)
    try:
        await app.load_once()
        rng = random.Random(_SEED)
        headers = {**_HEADERS, **{k.lower(): v for k, v in workload.headers.items()}}
        if workload.body:
            headers["content-length"] = str(len(workload.body))
        protocol: Any = _Protocol(workload.body)
        for _ in range(count):
            value = rng.randint(*workload.ids) if workload.ids else None
            path, _, query = workload.path_for(value).partition("?")
            await app.__rsgi__(_Scope(workload.method, path, query, headers), protocol)
            if not 200 <= protocol.status < 300:
                raise SystemExit(f"{key}: status {protocol.status}")
    finally:
        await app.shutdown()


if __name__ == "__main__":
    sys.exit(main())

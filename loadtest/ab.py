"""A/B runs: one lever's effect as a ratio measured in the same minutes.

    python -m loadtest.ab --variant before=DIR --variant after=DIR [--env after:KEY=VALUE] \
        [--workloads W1] [--rounds 3] [--seconds 10]

Each variant is a folder holding a ``restpg`` package (a copy of ``python/restpg`` with its built
``_core``), put first on ``PYTHONPATH`` of its own ``restpg serve``; ``--env NAME:KEY=VALUE`` adds an
environment variable (a config override such as ``PGRST_DB_POOL``, or ``RESTPG_WORKERS``, which then wins
over ``--workers``) to one variant. All variants start
once and stay up (an idle server costs nothing); then, per workload and round, each variant gets a warm-up
and a measured wrk run in turn, the order rotating every round, so a noisy neighbour on the shared machine
hits every variant alike. The report is the median req/s and p99 per variant and each variant's median
ratio to the first one (per round, then the median of the rounds). With ``--rate N`` the measured run is
oha sending N requests per second (after the same wrk warm-up): the variants' p99 at a given load, the
number the p99 target is stated in.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

from loadtest import drivers, fixtures
from loadtest.bench import server_config, workload_keys
from loadtest.processes import RestpgServer, add_database_arguments, cluster, ensure_database
from loadtest.workloads import WORKLOADS


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    variants: dict[str, str] = dict(v.split("=", 1) for v in args.variant)
    extra: dict[str, dict[str, str]] = {name: {} for name in variants}
    for item in args.env:
        name, _, assignment = item.partition(":")
        key, _, value = assignment.partition("=")
        extra[name][key] = value
    workloads = [w for w in WORKLOADS if w.key in args.workloads]
    with cluster(args.db_uri) as (cluster_dsn, _):
        dsn = ensure_database(cluster_dsn, args.database)
        fixtures.ensure(dsn, args.scale)
        config = server_config(dsn, args.db_pool)
        servers: dict[str, RestpgServer] = {}
        with tempfile.TemporaryDirectory(prefix="restpg-ab-") as workdir:
            try:
                for name, folder in variants.items():
                    env = {**os.environ, "PYTHONPATH": os.path.abspath(folder), **extra[name]}
                    home = Path(workdir) / name
                    home.mkdir()
                    # A variant's own RESTPG_WORKERS (--env NAME:RESTPG_WORKERS=3) wins over --workers.
                    workers = None if "RESTPG_WORKERS" in extra[name] else args.workers
                    servers[name] = RestpgServer.start(config, workers, home, env=env)
                    servers[name].wait_for(f"{servers[name].admin_url}/ready")
                for workload in workloads:
                    _report(workload.key, _rounds(args, servers, workload))
            finally:
                for server in servers.values():
                    server.stop()
    return 0


def _rounds(
    args: argparse.Namespace, servers: dict[str, RestpgServer], workload: Any
) -> dict[str, list[Any]]:
    names = list(servers)
    connections = args.connections or workload.connections[0]
    measured: dict[str, list[Any]] = {name: [] for name in names}
    for round_ in range(args.rounds):
        order = names[round_ % len(names) :] + names[: round_ % len(names)]
        for name in order:
            url = servers[name].url
            drivers.wrk(url, workload, connections, args.warmup)
            meter = drivers.CpuMeter(servers[name].process.pid)
            meter.start()
            if args.rate:
                result = drivers.oha(url, workload, connections, args.rate, args.seconds)
            else:
                result = drivers.wrk(url, workload, connections, args.seconds)
            cpu = meter.stop() or {"cpu_s": 0.0}
            # CPU per request is the steadier number on a shared machine: a neighbour's load lowers req/s
            # but hardly changes what one request costs the server.
            result.raw["cpu_us_per_request"] = cpu["cpu_s"] * 1e6 / max(result.requests, 1)
            measured[name].append(result)
            print(
                f"  {workload.key} round {round_ + 1} {name}: {result.rate:,.0f} req/s, "
                f"p99 {result.latency_ms['p99']:.2f} ms, {result.raw['cpu_us_per_request']:.0f} us CPU/req, "
                f"errors {sum(result.errors.values())}",
                flush=True,
            )
    return measured


def _report(key: str, measured: dict[str, list[Any]]) -> None:
    names = list(measured)
    base = measured[names[0]]
    print(
        f"{key}: variant | median req/s | median p99 ms | req/s ratio to {names[0]} (median of rounds) | "
        f"restpg CPU us/request | CPU ratio to {names[0]}"
    )
    for name in names:
        runs = measured[name]
        ratios = [run.rate / ref.rate for run, ref in zip(runs, base, strict=True)]
        cpu = statistics.median(r.raw["cpu_us_per_request"] for r in runs)
        base_cpu = statistics.median(r.raw["cpu_us_per_request"] for r in base)
        print(
            f"{key}: {name} | {statistics.median(r.rate for r in runs):,.0f} | "
            f"{statistics.median(r.latency_ms['p99'] for r in runs):.2f} | {statistics.median(ratios):.3f} "
            f"(rounds: {', '.join(f'{r:.3f}' for r in ratios)}) | {cpu:.0f} | {cpu / base_cpu:.3f}",
            flush=True,
        )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m loadtest.ab", description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", action="append", required=True, help="NAME=DIR holding a restpg package")
    parser.add_argument("--env", action="append", default=[], help="NAME:KEY=VALUE for one variant")
    add_database_arguments(parser)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--db-pool", type=int, default=10)
    parser.add_argument("--workloads", default="W1", type=workload_keys)
    parser.add_argument("--connections", type=int)
    parser.add_argument(
        "--rate",
        type=float,
        help="measure at this fixed rate (oha, latency-corrected) instead of wrk's closed loop: p99 at a load",
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    return parser


if __name__ == "__main__":
    raise SystemExit(main())

"""``make bench``: restpg's throughput and latency per workload, next to the physical limit.

    python -m loadtest.bench [--db-uri URI] [--workers N] [--seconds 10] [--workloads W1,W3] [--connections 32]
        [--half-peak W1]

One run: a PostgreSQL (``--db-uri``, else ``RESTPG_TEST_DSN``, else an embedded server), the Chinook fixture
(loaded once per database and scale), ``restpg serve`` with N workers on loopback (its cold start is timed:
process start → ``/ready`` → first 200), then per workload: check that the server supports it (one request;
a 4xx/5xx skips it with the reason), warm up, drive it with wrk at fixed connections while sampling the CPU
and RSS of restpg, PostgreSQL and wrk, and run pgbench ``-M prepared`` on the exact transaction restpg sends
for the same request (captured with ``restpg sql``) with the same connections and duration. The ratio
restpg req/s ÷ pgbench TPS is the share of the database's ceiling that the server delivers. For the
workloads in ``--half-peak`` (W1 by default) a fixed-rate run follows the wrk run: oha sends half of the
req/s wrk reached, on the same connections, and records the latency percentiles at that load (the p99
target's measurement; skipped with a note when oha is not installed). Results go to
``loadtest/results/<date>-<commit>.{json,md}``.

Everything runs on one box: the generators take CPU from the server and the database, which is why the CPU
of every process is recorded, and why wrk (one C thread) drives the HTTP side.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import psycopg

from loadtest import drivers, fixtures, report
from loadtest.capture import CaptureError, capture, to_pgbench
from loadtest.processes import (
    RestpgServer,
    add_database_arguments,
    cluster,
    dsn_as,
    ensure_database,
    postmaster_pid,
    render_config,
    restpg_command,
)
from loadtest.workloads import COLD_START, WORKLOADS, Workload
from restpg.config import default_workers

RESULTS = Path(__file__).resolve().parent / "results"
# Only for runs on loopback: the bench never exposes the server. Override with LOADTEST_JWT_SECRET.
_BENCH_SECRET = "loadtest-bench-secret-at-least-32-characters"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    selected: set[str] | None = args.workloads or None  # none given (or an empty list): all of them
    workloads = [w for w in WORKLOADS if selected is None or w.key in selected]
    with cluster(args.db_uri) as (cluster_dsn, _):
        dsn = ensure_database(cluster_dsn, args.database)
        fixtures.ensure(dsn, args.scale)
        run = _run(args, dsn, workloads)
    json_path, md_path = report.write(run, Path(args.results_dir))
    print(md_path.read_text(encoding="utf-8"))
    print(f"wrote {json_path} and {md_path}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m loadtest.bench", description=__doc__.split("\n\n")[0])
    add_database_arguments(parser)
    parser.add_argument(
        "--workers", type=int, help="restpg (Granian) workers (default: restpg's own for the database's host)"
    )
    parser.add_argument("--db-pool", type=int, default=10, help="db-pool (connections per worker)")
    parser.add_argument("--seconds", type=float, default=10, help="duration of each measured run")
    parser.add_argument("--warmup", type=float, default=3, help="warm-up seconds before each workload")
    parser.add_argument(
        "--workloads", type=workload_keys, help="comma-separated keys (default: all), e.g. W1,W3"
    )
    parser.add_argument("--connections", type=int, help="override every workload's connection count")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads (1 keeps its CPU small)")
    parser.add_argument("--no-ceiling", action="store_true", help="skip the pgbench runs")
    parser.add_argument(
        "--half-peak",
        default="W1",
        type=workload_keys,
        help="GET workloads to also measure at half of their peak rate with oha (comma-separated; '' for none)",
    )
    parser.add_argument("--results-dir", default=str(RESULTS))
    return parser


@contextlib.contextmanager
def fixture_config_file(args: argparse.Namespace, db_pool: int = 1) -> Iterator[Path]:
    """A config file serving the fixture (loaded when needed) on the cluster of ``add_database_arguments``'
    options, in a temporary folder: for the tools that build the app in-process."""
    with cluster(args.db_uri) as (cluster_dsn, _):
        dsn = ensure_database(cluster_dsn, args.database)
        fixtures.ensure(dsn, args.scale)
        with tempfile.TemporaryDirectory(prefix="restpg-loadtest-") as workdir:
            path = Path(workdir) / "restpg.conf"
            path.write_text(render_config(server_config(dsn, db_pool)), encoding="utf-8")
            yield path


def server_config(dsn: str, db_pool: int) -> dict[str, str | int]:
    """The restpg configuration every benchmark serves the fixture with (`loadtest.ab` too)."""
    return {
        "db-uri": dsn_as(dsn, fixtures.AUTHENTICATOR),
        "db-schemas": fixtures.SCHEMA,
        "db-anon-role": fixtures.ANON_ROLE,
        "db-pool": db_pool,
        "db-tx-end": "commit-allow-override",
        "jwt-secret": os.environ.get("LOADTEST_JWT_SECRET", _BENCH_SECRET),
        "log-level": "crit",
    }


def _run(args: argparse.Namespace, dsn: str, workloads: list[Workload]) -> dict[str, Any]:
    restpg = restpg_command()
    config = server_config(dsn, args.db_pool)
    # Resolved here, not left to the server: the report and pgbench's client count need the number.
    args.workers = args.workers or default_workers(dsn)
    postgres_pid = postmaster_pid(dsn)
    environment = report.environment(dsn, restpg)
    method = {
        "workers": args.workers,
        "db_pool": args.db_pool,
        "seconds": args.seconds,
        "warmup_seconds": args.warmup,
        "http_generator": f"wrk -t{args.wrk_threads} (closed model, keep-alive)",
        "ceiling": "pgbench -n -M prepared, the transaction restpg sends (captured with `restpg sql`), same "
        f"duration, -j {os.cpu_count()}, clients = HTTP connections and = workers x db-pool; the higher TPS; "
        "statement by statement in one BEGIN … COMMIT (ratio), and as restpg sends it in one pipeline at the "
        "better client count (ratio_pipelined)",
        "fixture_scale": args.scale,
        "fixed_rate": f"oha {report.oha_version() or '(not installed)'}, half of the wrk req/s, same connections, "
        "same duration, --latency-correction",
    }
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="restpg-bench-") as workdir:
        server = RestpgServer.start(config, args.workers, Path(workdir))
        try:
            ready = server.wait_for(f"{server.admin_url}/ready")
            first = server.wait_for(server.url + WORKLOADS[0].sample_target)
            cold: dict[str, Any] = {
                "ready_ms": round(ready * 1000, 1),
                "first_200_ms": round(first * 1000, 1),
            }
            for workload in workloads:
                result = _workload(args, dsn, server, workload, results, postgres_pid, restpg)
                results.append(result)
                print(_one_line(result), flush=True)
        finally:
            server.stop()
    cold["workload"], cold["title"] = COLD_START
    return {"environment": environment, "method": method, "cold_start": cold, "results": results}


def _one_line(result: dict[str, Any]) -> str:
    if result.get("skipped"):
        return f"{result['workload']}: skipped ({result['skipped']})"
    ratio = result.get("ratio")
    return (
        f"{result['workload']}: {result['http']['rate']:,.0f} req/s, p99 {result['http']['latency_ms']['p99']:.2f} ms"
        + (f", ceiling {result['pgbench']['rate']:,.0f} TPS" if result.get("pgbench") else "")
        + (f", ratio {ratio:.2f}" if ratio is not None else "")
    )


def _probe(server: RestpgServer, workload: Workload) -> tuple[int, bytes]:
    request = urllib.request.Request(
        server.url + workload.sample_target,
        data=workload.body or None,
        method=workload.method,
        headers=workload.headers,
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _workload(
    args: argparse.Namespace,
    dsn: str,
    server: RestpgServer,
    workload: Workload,
    done: list[dict[str, Any]],
    postgres_pid: int | None,
    restpg: list[str],
) -> dict[str, Any]:
    connections = args.connections or workload.connections[0]
    result: dict[str, Any] = {
        "workload": workload.key,
        "title": workload.title,
        "connections": connections,
        "request": f"{workload.method} {workload.target}",
        "note": workload.note,
    }
    status, body = _probe(server, workload)
    if not 200 <= status < 300:
        result["skipped"] = f"the server answers {status}: {body[:160].decode(errors='replace')}"
        return result
    if workload.method != "GET":
        _reset_writes(dsn)
    # Warm-up: fills PostgreSQL's buffers and every worker's connections, prepared statements and caches.
    drivers.wrk(server.url, workload, connections, args.warmup, args.wrk_threads)

    restpg_cpu, pg_cpu = drivers.CpuMeter(server.process.pid), drivers.CpuMeter(postgres_pid)
    restpg_cpu.start()
    pg_cpu.start()
    with drivers.RssSampler(server.process.pid) as rss:
        http = drivers.wrk(server.url, workload, connections, args.seconds, args.wrk_threads)
    result["http"] = {
        "rate": round(http.rate, 1),
        "rows_per_s": round(http.rate * workload.rows_per_request, 1),
        "requests": http.requests,
        "latency_ms": {k: round(v, 3) for k, v in http.latency_ms.items()},
        "errors": http.errors,
        "generator_cores": round(http.generator_cpu_s / http.seconds, 2),
    }
    result["cpu"] = {"restpg": restpg_cpu.stop(), "postgres": pg_cpu.stop()}
    result["rss"] = {"restpg": rss.result()}
    if workload.method == "GET" and workload.key in args.half_peak:
        result["half_peak"] = _half_peak(server, workload, connections, http.rate, args.seconds)

    if workload.ceiling_from:
        peak = next((r for r in done if r["workload"] == workload.ceiling_from and r.get("http")), None)
        if peak:
            result["ratio"] = round(http.rate / peak["http"]["rate"], 3)
            result["ratio_of"] = f"{workload.ceiling_from} req/s"
        return result
    if args.no_ceiling:
        return result
    if workload.method != "GET":
        _reset_writes(dsn)
    port = server.url.rsplit(":", 1)[1]
    request_headers = {"host": f"127.0.0.1:{port}", **{k.lower(): v for k, v in workload.headers.items()}}
    if workload.body:
        request_headers["content-length"] = str(len(workload.body))
    try:
        tx = capture(
            restpg,
            str(server.config_path),
            workload,
            role=fixtures.ANON_ROLE,
            claims=msgspec.json.encode({"role": fixtures.ANON_ROLE}).decode(),
            headers_json=msgspec.json.encode(request_headers).decode(),
        )
    except CaptureError as exc:
        result["note"] = f"no ceiling: `restpg sql` failed: {exc}"
        return result
    script, defines = to_pgbench(tx, workload.ids)
    # The ceiling is the best the database does for this transaction: with as many clients as HTTP
    # connections (the rule) and with as many as restpg's pool holds (PostgREST's rule: on few
    # cores, fewer backends can be faster). Both are recorded; the ratio uses the higher.
    runs = [
        _ceiling(args, dsn, postgres_pid, workload, script, defines, clients)
        for clients in sorted({connections, args.workers * args.db_pool})
    ]
    best = max(runs, key=lambda run: run["rate"])
    result["pgbench"] = {**best, "runs": runs, "script": script}
    result["ratio"] = round(http.rate / best["rate"], 3) if best["rate"] else None
    # The same transaction as restpg sends it: one pipeline, one sync (what a client that pipelines can reach).
    # pgbench prepares a pipeline's statements before it runs any, so before set_config('role', …) has
    # switched to the API role: as the authenticator (USAGE on no API schema) the main statement would not
    # parse. It connects as the superuser instead; every statement still runs as the API role.
    script, defines = to_pgbench(tx, workload.ids, pipeline=True)
    piped = _ceiling(args, dsn, postgres_pid, workload, script, defines, best["clients"], login=dsn)
    result["pgbench_pipelined"] = {**piped, "script": script}
    result["ratio_pipelined"] = round(http.rate / piped["rate"], 3) if piped["rate"] else None
    half = result.get("half_peak")
    if half and not half.get("skipped"):
        # The latency of the database alone at the half-peak rate, restpg's transaction in one pipeline over
        # as many connections as restpg's pools hold: what the HTTP p99 cannot go below on this machine
        # (restpg's requests also cross HTTP, Granian and the app).
        alone = _ceiling(
            args,
            dsn,
            postgres_pid,
            workload,
            script,
            defines,
            args.workers * args.db_pool,
            login=dsn,
            rate=half["target_rate"],
        )
        half["database_alone"] = {"target_rate": half["target_rate"], **alone}
    return result


def workload_keys(listed: str) -> set[str]:
    """``"w1, W3"`` as ``{"W1", "W3"}`` (the command lines' workload lists)."""
    return {key.strip().upper() for key in listed.split(",") if key.strip()}


def _half_peak(
    server: RestpgServer, workload: Workload, connections: int, peak: float, seconds: float
) -> dict[str, Any]:
    """Latency at a fixed rate of half the closed-model peak (the load a p99 target is stated at)."""
    target = max(1.0, peak / 2)
    try:
        run = drivers.oha(server.url, workload, connections, target, seconds)
    except RuntimeError as exc:
        return {"skipped": str(exc)}
    return {
        "target_rate": round(target, 1),
        "rate": round(run.rate, 1),
        "latency_ms": run.latency_ms,
        "errors": run.errors,
        "generator_cores": round(run.generator_cpu_s / run.seconds, 2) if run.seconds else None,
    }


def _ceiling(
    args: argparse.Namespace,
    dsn: str,
    postgres_pid: int | None,
    workload: Workload,
    script: str,
    defines: dict[str, str],
    clients: int,
    *,
    login: str | None = None,
    rate: float | None = None,
) -> dict[str, Any]:
    """One pgbench run of a workload's transaction, with PostgreSQL's CPU over it; pgbench logs in as
    restpg does (the authenticator) unless ``login`` says otherwise. With ``rate``, on that schedule (the
    latency percentiles at a given load) instead of as fast as it can."""
    pg_cpu = drivers.CpuMeter(postgres_pid)
    pg_cpu.start()
    bench = drivers.pgbench(
        login or dsn_as(dsn, fixtures.AUTHENTICATOR),
        script,
        defines,
        clients,
        args.seconds,
        jobs=os.cpu_count() or 1,
        rate=rate,
    )
    run = {
        "clients": clients,
        "rate": round(bench.rate, 1),
        "latency_ms": bench.latency_ms,
        "errors": bench.errors,
        "generator_cores": round(bench.generator_cpu_s / args.seconds, 2),
        "postgres": pg_cpu.stop(),
    }
    if workload.method != "GET":
        _reset_writes(dsn)
    return run


def _reset_writes(dsn: str) -> None:
    """Empty the insert target so every write run starts from the same table size."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {fixtures.SCHEMA}.play RESTART IDENTITY")
        time.sleep(0.1)


if __name__ == "__main__":
    sys.exit(main())

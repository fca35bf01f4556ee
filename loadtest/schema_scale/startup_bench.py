"""Process start → ``/ready`` and → first 200 on an embed request, and RSS per worker, on a generated schema.

    python -m loadtest.schema_scale.startup_bench "host=127.0.0.1 user=postgres dbname=scale1000" \\
        [--workers 2] [--runs 5] [--variant NAME=DIR --variant NAME=DIR]

The database holds a schema made by ``generate.py`` (schema ``api``). Each run starts ``restpg serve`` on a
fresh config, polls the admin ``/ready`` and ``/t2?select=id,t1(id)`` every 2 ms, records both times and
the CPU spent until ``/ready`` answered (restpg's processes, and PostgreSQL's backends when the database runs
on this host: what two cores must share, so half their sum is the floor of a start), reads the RSS of every
Granian worker, then stops the server (SIGTERM). Two series:

- ``cold``: the snapshot folder is emptied before each run (introspection by the leader, adoption by the
  other workers);
- ``snapshot``: the folder keeps the snapshot a previous run wrote (adopted at once, revalidated in the
  background).

With ``--variant NAME=DIR`` (twice or more; as ``loadtest.ab``: DIR holds a ``restpg`` package, a copy of
``python/restpg`` with its built ``_core``, put first on ``PYTHONPATH``), every run starts each variant in
turn, the order alternating from run to run, each with its own snapshot folder: a machine whose speed
drifts within minutes then drifts for all of them alike, and the medians compare.

Prints each run and the medians. A benchmark, never a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import compileall
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from loadtest import processes
from loadtest.coldstart import stop, until_200
from loadtest.drivers import CpuMeter
from loadtest.processes import postmaster_pid

import restpg

EMBED = "/t2?select=id,t1(id)&limit=1"
TIMEOUT = 120.0  # seconds a start may take at 10,000 tables without a snapshot


def run_once(
    dsn: str,
    workers: int,
    snapshots: Path,
    workdir: Path,
    env: dict[str, str] | None = None,
    postgres: int | None = None,
) -> dict[str, float]:
    # Below the ephemeral range (32768+ on Linux): a client socket of another process cannot hold them.
    port, admin = 29_300, 29_301
    config = workdir / "restpg.conf"
    config.write_text(
        f'db-uri = "{dsn}"\ndb-schemas = "api"\ndb-anon-role = "postgres"\nserver-host = "127.0.0.1"\n'
        f'server-port = {port}\nadmin-server-port = {admin}\nrestpg-snapshot-dir = "{snapshots}"\n'
    )
    command = [str(Path(sys.executable).with_name("restpg")), "serve", str(config), "--workers", str(workers)]
    backends = CpuMeter(postgres)
    backends.start()
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    server = CpuMeter(process.pid)  # counted from zero: the process is new
    try:
        ready = until_200(process, f"http://127.0.0.1:{admin}/ready", started, TIMEOUT) * 1000
        cpu = {"restpg_cpu_ms": _cpu_ms(server), "postgres_cpu_ms": _cpu_ms(backends)}
        first = until_200(process, f"http://127.0.0.1:{port}{EMBED}", started, TIMEOUT) * 1000
        time.sleep(1.0)  # let the background revalidation finish before reading memory
        rss = [child.memory_info().rss for child in psutil.Process(process.pid).children(recursive=True)]
        measured = {"ready_ms": ready, "first_200_ms": first, "rss_mb_per_worker": max(rss) / 2**20}
        return measured | {key: value for key, value in cpu.items() if value is not None}
    finally:
        stop(process)


def _cpu_ms(meter: CpuMeter) -> float | None:
    used = meter.stop()
    return used["cpu_s"] * 1000 if used is not None else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dsn")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--variant", action="append", default=[], help="NAME=DIR holding a restpg package")
    args = parser.parse_args()
    variants = processes.variants(args.variant)
    # A deployed wheel has its bytecode compiled at install; an editable checkout may have none (or run
    # under PYTHONDONTWRITEBYTECODE), and compiling restpg's sources on every start is not what we measure.
    for folder in variants.values():
        compileall.compile_dir(Path(folder or Path(restpg.__file__).parent.parent) / "restpg", quiet=1)
    postgres = postmaster_pid(args.dsn)  # None when PostgreSQL runs elsewhere: its CPU is then not shown
    workdir = Path(tempfile.mkdtemp(prefix="restpg-startup-"))
    try:
        for series in ("cold", "snapshot"):
            results: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
            for run in range(1, args.runs + 1):
                order = list(variants) if run % 2 else list(reversed(variants))
                for name in order:
                    folder = variants[name]
                    env = processes.variant_env(folder)
                    snapshots = workdir / name / "snapshots"
                    if series == "cold":
                        shutil.rmtree(snapshots, ignore_errors=True)
                    result = run_once(args.dsn, args.workers, snapshots, workdir, env, postgres)
                    results[name].append(result)
                    shown = ", ".join(f"{k} {v:.0f}" for k, v in result.items())
                    print(f"{series} {name} run {run}: {shown}", flush=True)
            for name, runs in results.items():
                medians = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
                shown = ", ".join(f"{k} {v:.0f}" for k, v in medians.items())
                print(f"{series} {name} median: {shown}", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

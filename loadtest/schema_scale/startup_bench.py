"""Process start → ``/ready`` and → first 200 on an embed request, and RSS per worker, on a generated schema.

    python -m loadtest.schema_scale.startup_bench "host=127.0.0.1 user=postgres dbname=scale1000" \\
        [--workers 2] [--runs 5]

The database holds a schema made by ``generate.py`` (schema ``api``). Each run starts ``restpg serve`` on a
fresh config, polls the admin ``/ready`` and ``/t2?select=id,t1(id)`` every 2 ms, records both times, reads
the RSS of every Granian worker, then stops the server (SIGTERM). Two series:

- ``cold``: the snapshot folder is emptied before each run (introspection by the leader, adoption by the
  other workers);
- ``snapshot``: the folder keeps the snapshot a previous run wrote (adopted at once, revalidated in the
  background).

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
from loadtest.coldstart import stop, until_200

import restpg

EMBED = "/t2?select=id,t1(id)&limit=1"
TIMEOUT = 120.0  # seconds a start may take at 10,000 tables without a snapshot


def run_once(dsn: str, workers: int, snapshots: Path, workdir: Path) -> dict[str, float]:
    # Below the ephemeral range (32768+ on Linux): a client socket of another process cannot hold them.
    port, admin = 29_300, 29_301
    config = workdir / "restpg.conf"
    config.write_text(
        f'db-uri = "{dsn}"\ndb-schemas = "api"\ndb-anon-role = "postgres"\nserver-host = "127.0.0.1"\n'
        f'server-port = {port}\nadmin-server-port = {admin}\nrestpg-snapshot-dir = "{snapshots}"\n'
    )
    command = [str(Path(sys.executable).with_name("restpg")), "serve", str(config), "--workers", str(workers)]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ready = until_200(process, f"http://127.0.0.1:{admin}/ready", started, TIMEOUT) * 1000
        first = until_200(process, f"http://127.0.0.1:{port}{EMBED}", started, TIMEOUT) * 1000
        time.sleep(1.0)  # let the background revalidation finish before reading memory
        rss = [child.memory_info().rss for child in psutil.Process(process.pid).children(recursive=True)]
        return {"ready_ms": ready, "first_200_ms": first, "rss_mb_per_worker": max(rss) / 2**20}
    finally:
        stop(process)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dsn")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    # A deployed wheel has its bytecode compiled at install; an editable checkout may have none (or run
    # under PYTHONDONTWRITEBYTECODE), and compiling restpg's sources on every start is not what we measure.
    compileall.compile_dir(Path(restpg.__file__).parent, quiet=1)
    workdir = Path(tempfile.mkdtemp(prefix="restpg-startup-"))
    snapshots = workdir / "snapshots"
    try:
        for series in ("cold", "snapshot"):
            results = []
            for run in range(1, args.runs + 1):
                if series == "cold":
                    shutil.rmtree(snapshots, ignore_errors=True)
                result = run_once(args.dsn, args.workers, snapshots, workdir)
                results.append(result)
                print(f"{series} run {run}: " + ", ".join(f"{k} {v:.0f}" for k, v in result.items()))
            medians = {key: statistics.median(r[key] for r in results) for key in results[0]}
            print(f"{series} median: " + ", ".join(f"{k} {v:.0f}" for k, v in medians.items()), flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Schema reloads under steady load: errors and latency before, during and after.

    python loadtest/schema_scale/reload_bench.py "host=127.0.0.1 user=postgres dbname=scale10000" \\
        [--workers 2] [--seconds 10] [--connections 32]

Starts ``restpg serve`` on a schema made by ``generate.py`` and runs three back-to-back wrk phases of
``--seconds`` each on an embed request. During the middle one, every ``--every`` seconds, a ``COMMENT ON
TABLE`` changes the catalog and ``NOTIFY pgrst, 'reload schema'`` follows, so each notification is a real
reload (introspection, inference, a new snapshot the other workers adopt), not a no-op on an unchanged
fingerprint. Prints wrk's req/s, p50, p99 and non-2xx/socket errors per phase, and how many snapshots were
published. A benchmark, never a test.
"""

from __future__ import annotations

import argparse
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg
from startup_bench import EMBED, _until_200


def wrk(url: str, seconds: int, connections: int) -> dict[str, str]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = {
        "req/s": re.search(r"Requests/sec:\s+([\d.]+)", out),
        "p50": re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE),
        "p99": re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE),
        "non-2xx": re.search(r"Non-2xx or 3xx responses: (\d+)", out),
        "socket errors": re.search(r"Socket errors: (.*)", out),
    }
    result = {key: (m.group(1) if m else "0") for key, m in found.items()}
    return result


def reload_repeatedly(dsn: str, every: float, stop: threading.Event, count: list[int]) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        while not stop.wait(every):
            count[0] += 1
            conn.execute(f"comment on table api.t1 is 'reload {count[0]} at {time.time()}'")
            conn.execute("notify pgrst, 'reload schema'")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dsn")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--every", type=float, default=3.0)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="restpg-reload-"))
    port, admin = 39_310, 39_311
    config = workdir / "restpg.conf"
    config.write_text(
        f'db-uri = "{args.dsn}"\ndb-schemas = "api"\ndb-anon-role = "postgres"\nserver-host = "127.0.0.1"\n'
        f'server-port = {port}\nadmin-server-port = {admin}\nrestpg-snapshot-dir = "{workdir}"\n'
    )
    restpg = str(Path(sys.executable).with_name("restpg"))
    command = [restpg, "serve", str(config), "--workers", str(args.workers)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}{EMBED}"
    try:
        _until_200(process, url, time.perf_counter())
        time.sleep(2)  # background revalidation done
        wrk(url, 3, args.connections)  # warm up: connections, prepared statements
        before = wrk(url, args.seconds, args.connections)
        snapshot = next(workdir.glob("schema-*.snap"))
        written = snapshot.stat().st_mtime_ns
        stop, count = threading.Event(), [0]
        notifier = threading.Thread(target=reload_repeatedly, args=(args.dsn, args.every, stop, count))
        notifier.start()
        during = wrk(url, args.seconds, args.connections)
        stop.set()
        notifier.join()
        time.sleep(3)  # the last reload lands
        republished = snapshot.stat().st_mtime_ns != written
        after = wrk(url, args.seconds, args.connections)
        for name, phase in (("before", before), ("during", during), ("after", after)):
            print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in phase.items()))
        print(f"notifications: {count[0]}, snapshot republished: {republished}")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(15)
    return 0


if __name__ == "__main__":
    sys.exit(main())

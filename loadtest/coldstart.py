"""Cold start: how long from starting a server process until it answers a request with 200.

    python -m loadtest.coldstart --url 'http://127.0.0.1:3000/artist?artist_id=eq.1' \\
        [--ready http://127.0.0.1:3001/ready] [--runs 5] -- restpg serve restpg.conf --workers 2

Works for any command (``-- postgrest postgrest.conf`` too). Each run starts the command, polls every
2 ms, records the time to ``--ready`` (when given) and to the first 200 on ``--url``, then stops the
process (SIGTERM, then SIGKILL) before the next run. Prints each run and the median.
"""

from __future__ import annotations

import argparse
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request


def status(url: str) -> int:
    """The HTTP status of a GET, or 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return 0


def until_200(process: subprocess.Popen[bytes], url: str, started: float, timeout: float) -> float:
    """Seconds from ``started`` until ``url`` answers 200, polling every 2 ms; fails if ``process`` exits."""
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before {url} answered 200")
        if status(url) == 200:
            return time.perf_counter() - started
        time.sleep(0.002)
    raise RuntimeError(f"{url} did not answer 200 within {timeout:.0f}s")


def measure(command: list[str], url: str, ready: str | None, timeout: float = 60.0) -> dict[str, float]:
    if status(url) != 0:
        raise RuntimeError(f"something already answers on {url}: stop it first")
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        result = {}
        if ready:
            result["ready_ms"] = until_200(process, ready, started, timeout) * 1000
        result["first_200_ms"] = until_200(process, url, started, timeout) * 1000
        return result
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (a graceful drain), SIGKILL after 15 s, then a pause so the ports are free for the next run."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    time.sleep(0.3)


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loadtest.coldstart", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--url", required=True, help="a request that must answer 200")
    parser.add_argument("--ready", help="a readiness URL to time too (restpg/PostgREST: admin /ready)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- the server command line")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the server command after --")
    runs = []
    for run in range(1, args.runs + 1):
        result = measure(command, args.url, args.ready)
        runs.append(result)
        print(f"run {run}: " + ", ".join(f"{k} {v:.0f}" for k, v in result.items()))
    for key in runs[0]:
        print(f"median {key}: {statistics.median(r[key] for r in runs):.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Load generators and resource accounting: wrk for HTTP, pgbench for the ceiling, CPU/RSS per process.

wrk (Debian's package) is the HTTP generator: one C thread per core holds thousands of keep-alive
connections with a few percent of a core, where locust would need several cores to saturate the server.
Latencies come from wrk's own HDR histogram through a Lua ``done`` hook, as JSON.

wrk is a closed model (each connection waits for its answer before the next request), so its latencies
under saturation say how long the queue is, not how a server answers a given load. Latency at a fixed rate
comes from oha (crates.io: ``cargo install oha``), which sends on a schedule and, with latency correction,
counts a request that had to wait for its slot from when it was due.
"""

from __future__ import annotations

import json
import math
import re
import resource
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import psutil

from loadtest.workloads import Workload

__all__ = ["CpuMeter", "RssSampler", "oha", "pgbench", "wrk"]

_WRK_SCRIPT = """
local method, template, body = %(method)s, %(target)s, %(body)s
local lo, hi = %(lo)d, %(hi)d
%(headers)s
local counter = 0
setup = function(thread) thread:set("seed", counter); counter = counter + 1 end
init = function(args) math.randomseed(1000 + seed) end
request = function()
  local path = template
  if hi > 0 then path = (template:gsub("{id}", tostring(math.random(lo, hi)))) end
  return wrk.format(method, path, nil, body)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\nWRK_JSON {"requests":%%d,"duration_us":%%d,"bytes":%%d,' ..
    '"errors":{"connect":%%d,"read":%%d,"write":%%d,"status":%%d,"timeout":%%d},' ..
    '"latency_us":{"mean":%%.1f,"max":%%d,"p50":%%d,"p90":%%d,"p99":%%d,"p999":%%d}}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9)))
end
"""


def _lua(value: str | bytes | None) -> str:
    if value is None or value == b"":
        return "nil"
    text = value.decode() if isinstance(value, bytes) else value
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal for this content


def wrk_script(workload: Workload) -> str:
    headers = "\n".join(f"wrk.headers[{_lua(k)}] = {_lua(v)}" for k, v in workload.headers.items())
    lo, hi = workload.ids or (0, 0)
    return _WRK_SCRIPT % {
        "method": _lua(workload.method),
        "target": _lua(workload.target),
        "body": _lua(workload.body),
        "lo": lo,
        "hi": hi,
        "headers": headers,
    }


@dataclass
class LoadResult:
    requests: int
    seconds: float
    rate: float
    latency_ms: dict[str, float]
    errors: dict[str, int]
    generator_cpu_s: float
    raw: dict[str, object] = field(default_factory=dict)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wrk(url: str, workload: Workload, connections: int, seconds: float, threads: int = 1) -> LoadResult:
    """Closed-model load: ``connections`` keep-alive connections for ``seconds``."""
    binary = shutil.which("wrk")
    if binary is None:
        raise RuntimeError("wrk not found: install it (Debian: apt-get install wrk)")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(wrk_script(workload))
    threads = max(1, min(threads, connections))
    before = _children_cpu()
    done = subprocess.run(
        [
            binary,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "--timeout",
            "10s",
            "-s",
            script.name,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=False,
    )
    Path(script.name).unlink(missing_ok=True)
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    data = json.loads(line.removeprefix("WRK_JSON "))
    elapsed = data["duration_us"] / 1e6
    return LoadResult(
        requests=data["requests"],
        seconds=elapsed,
        rate=data["requests"] / elapsed,
        latency_ms={k: v / 1000 for k, v in data["latency_us"].items()},
        errors=data["errors"],
        generator_cpu_s=_children_cpu() - before,
        raw=data,
    )


def oha(url: str, workload: Workload, connections: int, rate: float, seconds: float) -> LoadResult:
    """Open-model load: ``rate`` requests per second over ``connections`` keep-alive connections for
    ``seconds``, each request's latency counted from when it was due (``--latency-correction``).

    The ids are spread as wrk spreads them: every request picks one of the workload's URLs (one per id)
    at random. Raises RuntimeError when oha is not installed or fails."""
    binary = shutil.which("oha")
    if binary is None:
        raise RuntimeError("oha not found: install it (cargo install oha)")
    ids = range(workload.ids[0], workload.ids[1] + 1) if workload.ids else [None]
    targets = [workload.path_for(value) for value in ids]
    with tempfile.NamedTemporaryFile("w", suffix=".urls", delete=False) as urls:
        urls.write("".join(f"{url}{target}\n" for target in targets))
    # -w: requests in flight at the deadline are answered, not counted as errors ("aborted due to deadline").
    command = [binary, "--no-tui", "--output-format", "json", "--latency-correction", "-w"]
    command += ["-z", f"{seconds:g}s", "-c", str(connections), "-q", f"{rate:.0f}", "-m", workload.method]
    for name, value in workload.headers.items():
        command += ["-H", f"{name}: {value}"]
    if workload.body:
        command += ["-d", workload.body.decode()]
    before = _children_cpu()
    done = subprocess.run(
        [*command, "--urls-from-file", urls.name],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=False,
    )
    Path(urls.name).unlink(missing_ok=True)
    try:
        data = json.loads(done.stdout)
    except json.JSONDecodeError:
        data = None
    if done.returncode != 0 or not isinstance(data, dict):
        raise RuntimeError(f"oha failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    summary, percentiles = data["summary"], data["latencyPercentiles"]
    statuses: dict[str, int] = data.get("statusCodeDistribution") or {}
    answered = sum(statuses.values())
    elapsed = float(summary["total"])
    # oha reports seconds; None for a percentile it could not compute (no answers at all).
    latency = {
        name: round(float(percentiles[key]) * 1000, 3)
        for name, key in (("p50", "p50"), ("p90", "p90"), ("p99", "p99"), ("p999", "p99.9"))
        if percentiles.get(key) is not None
    }
    return LoadResult(
        requests=answered,
        seconds=elapsed,
        rate=answered / elapsed if elapsed else 0.0,
        latency_ms=latency,
        errors={
            "status": sum(n for code, n in statuses.items() if not code.startswith("2")),
            "other": sum((data.get("errorDistribution") or {}).values()),
        },
        generator_cpu_s=_children_cpu() - before,
        raw=data,
    )


def pgbench(
    dsn: str,
    script: str,
    defines: dict[str, str],
    clients: int,
    seconds: float,
    jobs: int,
    rate: float | None = None,
) -> LoadResult:
    """``pgbench -n -M prepared`` with ``clients`` connections for ``seconds``.

    With ``rate``, an open model as oha's: ``-R`` schedules that many transactions per second and each one's
    latency counts from when it was due (pgbench's own rule under ``-R``); the percentiles come from its
    per-transaction log."""
    binary = shutil.which("pgbench")
    if binary is None:
        raise RuntimeError("pgbench not found (it ships with PostgreSQL's client tools)")
    with tempfile.TemporaryDirectory(prefix="restpg-pgbench-") as folder:
        script_path = Path(folder) / "transaction.sql"
        script_path.write_text(script)
        command = [binary, "-n", "-M", "prepared", "-c", str(clients), "-j", str(max(1, min(jobs, clients)))]
        command += ["-T", str(max(1, round(seconds))), "-f", str(script_path)]
        if rate is not None:
            command += ["-R", f"{rate:.0f}", "--log", f"--log-prefix={Path(folder) / 'tx'}"]
        for name, value in defines.items():
            command += ["-D", f"{name}={value}"]
        before = _children_cpu()
        done = subprocess.run(
            [*command, dsn], capture_output=True, text=True, timeout=seconds + 120, check=False
        )
        logged = _logged_latencies(Path(folder).glob("tx.*")) if rate is not None else []
    out = done.stdout
    tps = re.search(r"^tps = ([\d.]+)", out, re.MULTILINE)
    if done.returncode != 0 or tps is None:
        raise RuntimeError(f"pgbench failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    processed = re.search(r"number of transactions actually processed: (\d+)", out)
    failed = re.search(r"number of failed transactions: (\d+)", out)
    average = re.search(r"latency average = ([\d.]+) ms", out)
    latency = {"mean": float(average.group(1))} if average else {}
    if logged:
        latency |= percentiles_ms(logged)
    return LoadResult(
        requests=int(processed.group(1)) if processed else 0,
        seconds=seconds,
        rate=float(tps.group(1)),
        latency_ms=latency,
        errors={"failed": int(failed.group(1)) if failed else 0},
        generator_cpu_s=_children_cpu() - before,
    )


def _logged_latencies(logs: Iterable[Path]) -> list[float]:
    """Each transaction's latency in ms from pgbench's logs (``client transaction time_us script epoch us
    [lag]``); a transaction skipped or failed has no number there."""
    latencies: list[float] = []
    for log in logs:
        for line in log.read_text().splitlines():
            fields = line.split()
            if len(fields) > 2 and fields[2].isdigit():
                latencies.append(int(fields[2]) / 1000)
    return latencies


def percentiles_ms(values: list[float]) -> dict[str, float]:
    """p50, p90, p99 and p99.9 (the nearest rank) of latencies in ms, as oha's are reported."""
    ordered = sorted(values)
    last = len(ordered) - 1
    return {
        name: round(ordered[min(last, math.ceil(fraction * len(ordered)) - 1)], 3)
        for name, fraction in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p999", 0.999))
    }


class CpuMeter:
    """CPU seconds of a process tree over an interval, counting children that exited meanwhile.

    A PostgreSQL backend that ends during the run is reaped by the postmaster, whose ``children_*`` times
    then include it; live processes are summed directly. So (self + reaped + live) at the end minus the same
    at the start is the tree's CPU for the interval, whatever came and went.
    """

    def __init__(self, root_pid: int | None) -> None:
        self.root = psutil.Process(root_pid) if root_pid else None
        self.start_value = 0.0
        self.start_time = 0.0

    def _total(self) -> float:
        if self.root is None:
            return 0.0
        total = 0.0
        try:
            times = self.root.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
            for child in self.root.children(recursive=True):
                try:
                    t = child.cpu_times()
                    total += t.user + t.system
                except psutil.NoSuchProcess:
                    pass
        except psutil.NoSuchProcess:
            pass
        return total

    def start(self) -> None:
        self.start_value, self.start_time = self._total(), time.monotonic()

    def stop(self) -> dict[str, float] | None:
        if self.root is None:
            return None
        seconds = self._total() - self.start_value
        wall = time.monotonic() - self.start_time
        return {"cpu_s": round(seconds, 2), "cores": round(seconds / wall, 2) if wall else 0.0}


class RssSampler:
    """Peak resident memory of a process tree (sum and largest process), sampled twice a second."""

    def __init__(self, root_pid: int | None) -> None:
        self.root = psutil.Process(root_pid) if root_pid else None
        self.peak_sum = 0
        self.peak_process = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        if self.root is None:
            return
        try:
            processes = [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        sizes = []
        for process in processes:
            try:
                sizes.append(process.memory_info().rss)
            except psutil.NoSuchProcess:
                pass
        self.peak_sum = max(self.peak_sum, sum(sizes))
        self.peak_process = max(self.peak_process, max(sizes, default=0))

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self._sample()

    def __enter__(self) -> Self:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def result(self) -> dict[str, float] | None:
        if self.root is None:
            return None
        return {
            "rss_mb_sum": round(self.peak_sum / 2**20, 1),
            "rss_mb_max_process": round(self.peak_process / 2**20, 1),
        }

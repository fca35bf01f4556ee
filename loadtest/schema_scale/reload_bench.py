"""Schema reloads under steady load: errors and latency before, during and after.

    python -m loadtest.schema_scale.reload_bench "host=127.0.0.1 user=postgres dbname=scale10000" \\
        [--workers 2] [--seconds 10] [--connections 32] [--rate N] [--change KIND] [--without-notify]
        [--pairs N | --halves]
        [--variant NAME=DIR ... --rounds N]

Starts ``restpg serve`` on a schema made by ``generate.py`` and runs three back-to-back wrk phases of
``--seconds`` each on an embed request. During the middle one, every ``--every`` seconds, a change to the
catalog (``--change``: a ``COMMENT ON TABLE`` by default, see ``CHANGES``) is followed by ``NOTIFY pgrst,
'reload schema'``, so each notification is a real reload (introspection, inference, a new snapshot the
other workers adopt), not a no-op on an unchanged fingerprint; which introspection queries it runs again
depends on the change. ``--change none`` sends the notifications alone: what asking whether anything
changed costs. With ``--without-notify`` the change comes alone: what the change itself costs the
requests (it may invalidate their prepared plans). Each phase also reports the CPU seconds restpg and
PostgreSQL spent in it. Prints req/s, p50, p99 (and the slowest, with ``--rate``) and errors per phase,
and whether the snapshot was republished.

Without ``--rate`` the load is wrk's closed loop at full speed: p99 then measures the queue of a saturated
server. With ``--rate N`` it is ``oha`` (``cargo install oha``) sending N requests per second with latency
correction, an open loop whose p99 can be compared between phases: choose N well below the peak. At a low
N (500), where PostgreSQL's share of a reload leaves the requests room, the p99 and the slowest request
(``max``) show how long a worker's own part of a reload held its requests up.

With ``--rate N --halves`` there is one phase of ``--seconds`` (a minute or two), its changes ``--every``
seconds on average (each interval drawn between half and one and a half times that), and its requests
split by the half of the interval between two changes they were due in (see ``halves``): the p99 of the
first halves (the change and its reload) over that of the second halves (the quiet after it), the
median of the intervals' own ratios, and the ratio of the halves' mean latencies; ``--offsets`` adds the
latency by how long after a change the requests were due (``after_changes``). Phases minutes apart
(``--pairs``) differ by the machine's drift: on a shared 2-core machine, more than a reload's cost; halves
a second apart do not, and ``--change none --without-notify`` (nothing at all) measures what is left,
1.00-1.08.

With ``--variant NAME=DIR`` (as ``loadtest.ab``: DIR holds a ``restpg`` package with its built ``_core``,
put first on ``PYTHONPATH``) and ``--rounds N``, each variant serves N times, the order alternating from
round to round, and the medians of each phase's p99 are printed. A benchmark, never a test.
"""

from __future__ import annotations

import argparse
import bisect
import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
from loadtest import coldstart, drivers, processes
from loadtest.schema_scale.startup_bench import EMBED


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


_DEADLINE = "aborted due to deadline"


def oha(url: str, seconds: int, connections: int, rate: int) -> dict[str, str]:
    """A fixed-rate phase: ``rate`` requests per second, latency measured from when each was due."""
    report = json.loads(run_oha("json", url, seconds, connections, rate))
    percentiles = report["latencyPercentiles"]
    codes = report.get("statusCodeDistribution") or {}
    errors = report.get("errorDistribution") or {}
    return {
        "req/s": f"{report['summary']['requestsPerSec']:.0f}",
        "p50": f"{percentiles['p50'] * 1000:.2f}ms",
        "p99": f"{percentiles['p99'] * 1000:.2f}ms",
        # At a low rate, where PostgreSQL's share of a reload leaves requests room, the slowest request
        # shows the longest a worker's event loop was held up.
        "max": f"{report['summary']['slowest'] * 1000:.2f}ms",
        "non-2xx": str(sum(n for code, n in codes.items() if not code.startswith("2"))),
        # Requests still in flight when the phase's time is up are cut off by oha: not the server's errors.
        "errors": str(sum(n for kind, n in errors.items() if kind != _DEADLINE)),
        "cut at the end": str(errors.get(_DEADLINE, 0)),
    }


def run_oha(output: str, url: str, seconds: int, connections: int, rate: int) -> str:
    """What oha prints in ``output`` format after ``seconds`` at ``rate`` requests per second."""
    command = ["oha", "--no-tui", "--output-format", output, "--latency-correction", "-z", f"{seconds}s"]
    command += ["-c", str(connections), "-q", str(rate), url]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def oha_requests(url: str, seconds: int, connections: int, rate: int) -> list[tuple[float, float, int]]:
    """A fixed-rate run's answered requests, each as (when it was due, in seconds from the run's start; its
    latency from then; its status)."""
    # request-start,DNS,DNS+dialup,Response-delay,request-duration,bytes,status
    rows = run_oha("csv", url, seconds, connections, rate).splitlines()[1:]
    return [(float(row[0]), float(row[4]), int(row[6])) for row in (line.split(",") for line in rows)]


#: How long before a change a request may be due and still count in the change's first half (``halves``).
LEAD = 0.05


def halves(requests: list[tuple[float, float, int]], changed: list[float]) -> dict[str, str]:
    """The p99 of the requests due in the first half of each interval between two changes (the change, its
    reload) against the p99 of those due in its second half (both done), over the whole run, and the median
    of the intervals' own ratios: the halves alternate every second or two, so a drift of the machine
    weighs on both alike, and the median is not moved by the few intervals that held one of the machine's
    stalls. Also the ratio of the halves' mean latencies: what a change costs all requests together, which
    moves less between runs than a p99 does (the same build 1.01-1.04 where its p99 ratio gave 1.14-1.29).
    ``changed``: when each change began, in seconds from the run's start.

    A request due up to ``LEAD`` before a change is still in flight when it begins, and held up by it as
    much as one due after: it counts in that change's first half (without this, the stall a change causes
    at once fell partly in the previous interval's second half: the table's DDL alone measured 0.96, with
    it 1.15)."""
    first: list[float] = []
    second: list[float] = []
    per_interval: dict[int, tuple[list[float], list[float]]] = {}
    failed = 0
    for due, latency, status in requests:
        due += LEAD
        i = bisect.bisect_right(changed, due) - 1
        if i < 0 or i + 1 >= len(changed):  # before the first change, or in the last, unfinished interval
            continue
        failed += not 200 <= status < 300
        in_first = due < (changed[i] + changed[i + 1]) / 2
        (first if in_first else second).append(latency)
        per_interval.setdefault(i, ([], []))[0 if in_first else 1].append(latency)
    ratios = [p99(a) / p99(b) for a, b in per_interval.values() if len(a) > 1 and len(b) > 1]
    early, late = p99(first), p99(second)  # each a sort of ~400,000 latencies: once
    return {
        "requests": f"{len(first)} / {len(second)}",
        "p99 first half": f"{early * 1000:.2f}ms",
        "p99 second half": f"{late * 1000:.2f}ms",
        "ratio": f"{early / late:.3f}",
        "intervals": str(len(ratios)),
        "median interval ratio": f"{statistics.median(ratios):.3f}",
        "mean ratio": f"{statistics.fmean(first) / statistics.fmean(second):.3f}",
        "non-2xx": str(failed),
    }


def after_changes(
    requests: list[tuple[float, float, int]], changed: list[float], width: float = 0.01, span: float = 0.3
) -> list[tuple[float, int, float, float]]:
    """The requests due in the first ``span`` seconds after each change, by how long after it (buckets of
    ``width``): ``(bucket start, requests, mean latency, p99 latency)``, all changes together. Where in a
    reload the requests wait: the change itself at once, the reload ~0.1 s later (the listener's debounce)."""
    buckets: dict[int, list[float]] = {}
    for due, latency, _ in requests:
        i = bisect.bisect_right(changed, due) - 1
        if i >= 0 and (offset := due - changed[i]) < span:
            buckets.setdefault(int(offset / width), []).append(latency)
    return [
        (k * width, len(v), statistics.fmean(v), p99(v) if len(v) > 1 else v[0])
        for k, v in sorted(buckets.items())
    ]


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


# What changes before each notification, and which introspection queries a reload then runs again (the
# catalogs their `-- catalogs:` lines name): a comment on a table (descriptions.sql), a function replaced
# (routines.sql), a privilege granted or revoked on a table (pg_class: every query), a table created or
# dropped.
CHANGES = {
    "comment": "comment on table api.t1 is 'reload {n}'",
    "function": "create or replace function api.reload_bench_{parity}() returns int language sql as 'select {n}'",
    "grant": "{grant_or_revoke} select on api.t1 {to_or_from} public",
    # Nothing changes: each notification costs the fingerprint, and finds the cache current.
    "none": "",
    # A migration's usual step: a table comes (with a key to an existing one, so a new relationship) and
    # goes; every query but the functions'.
    "table": "{create_or_drop}",
}
_CREATE = "create table api.reload_bench (id int primary key, t1_id int references api.t1 (id))"
_DROP = "drop table api.reload_bench"


def change(kind: str, n: int) -> str:
    """The ``n``-th change of ``kind``: each a new catalog state, alternating where a change undoes."""
    odd = n % 2 == 1
    return CHANGES[kind].format(
        n=n,
        parity="odd" if odd else "even",
        grant_or_revoke="grant" if odd else "revoke",
        to_or_from="to" if odd else "from",
        create_or_drop=_CREATE if odd else _DROP,
    )


def reload_repeatedly(
    dsn: str,
    every: float,
    kind: str,
    notify: bool,
    stop: threading.Event,
    count: list[int],
    changed: list[float] | None = None,
) -> None:
    """Until ``stop``, every ``every`` seconds a change and (``notify``) a notification. With ``changed``
    (which gets the monotonic time each change began) each wait is drawn between half and one and a half
    times ``every``: intervals of one length would line up with the server's periodic work (its heartbeats
    each second, its pool's check each half second) and put it in the same half of each."""
    jitter = random.Random(1) if changed is not None else None
    with psycopg.connect(dsn, autocommit=True) as conn:
        while not stop.wait(every * jitter.uniform(0.5, 1.5) if jitter else every):
            if changed is not None:
                changed.append(time.monotonic())
            count[0] += 1
            statement = change(kind, count[0])
            if statement:
                conn.execute(statement)
            if notify:
                conn.execute("notify pgrst, 'reload schema'")


def run_once(
    args: argparse.Namespace,
    phase: Callable[[str, int], dict[str, str]],
    env: dict[str, str] | None = None,
) -> dict[str, dict[str, str]]:
    """One server (``env`` picks its restpg): the three phases, and the notifications sent."""
    with psycopg.connect(args.dsn, autocommit=True) as conn:
        conn.execute("drop table if exists api.reload_bench")  # left by an odd count of `--change table`
    workdir = Path(tempfile.mkdtemp(prefix="restpg-reload-"))
    port, admin = 29_310, 29_311  # below the ephemeral range: no client socket holds them
    config = workdir / "restpg.conf"
    config.write_text(
        f'db-uri = "{args.dsn}"\ndb-schemas = "api"\ndb-anon-role = "postgres"\nserver-host = "127.0.0.1"\n'
        f'server-port = {port}\nadmin-server-port = {admin}\nrestpg-snapshot-dir = "{workdir}"\n'
    )
    restpg = str(Path(sys.executable).with_name("restpg"))
    command = [restpg, "serve", str(config), "--workers", str(args.workers)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    url = f"http://127.0.0.1:{port}{EMBED}"
    postgres = processes.postmaster_pid(args.dsn)

    def measured(seconds: int) -> dict[str, str]:
        """A phase, with the CPU seconds restpg and PostgreSQL spent in it: the same load in each phase, so
        what ``during`` spends more is the reloads' (and the changes') cost."""
        meters = {"restpg": drivers.CpuMeter(process.pid), "postgres": drivers.CpuMeter(postgres)}
        for meter in meters.values():
            meter.start()
        result = phase(url, seconds)
        for name, meter in meters.items():
            spent = meter.stop()
            if spent is not None:
                result[f"cpu {name}"] = f"{spent['cpu_s']:.2f}s"
        return result

    count = [0]

    def reloading(
        seconds: int, run: Callable[[int], dict[str, str]] = measured, changed: list[float] | None = None
    ) -> dict[str, str]:
        """A phase with a change and a notification every ``--every`` seconds."""
        stop = threading.Event()
        notifier = threading.Thread(
            target=reload_repeatedly,
            args=(args.dsn, args.every, args.change, not args.without_notify, stop, count, changed),
        )
        notifier.start()
        try:
            return run(seconds)
        finally:
            stop.set()
            notifier.join()

    def by_halves(seconds: int) -> dict[str, str]:
        """One phase with changes, its requests split by the half of the interval between changes they
        were due in (``--halves``)."""
        changed: list[float] = []
        requests: list[tuple[float, float, int]] = []
        started: list[float] = []

        def run(seconds: int) -> dict[str, str]:
            started.append(time.monotonic())
            requests.extend(oha_requests(url, seconds, args.connections, args.rate))
            return {}

        reloading(seconds, run=run, changed=changed)
        since_start = [t - started[0] for t in changed]
        if args.offsets:
            for offset, count, mean, slow in after_changes(requests, since_start):
                latency = f"mean {mean * 1000:6.2f} ms, p99 {slow * 1000:6.2f} ms"
                print(f"  +{offset * 1000:3.0f} ms: {count:6d} requests, {latency}")
        return halves(requests, since_start)

    phases: dict[str, dict[str, str]] = {}
    try:
        coldstart.until_200(process, url, time.perf_counter(), 120.0)
        time.sleep(2)  # background revalidation done
        phase(url, 3)  # warm up: connections, prepared statements
        snapshot = next(workdir.glob("schema-*.snap"))
        written = snapshot.stat().st_mtime_ns
        if args.halves:
            phases["halves"] = by_halves(args.seconds)
        elif args.pairs:
            for pair in range(1, args.pairs + 1):
                # ABBA: a drift of the machine over the run weighs on both kinds alike.
                kinds = ("quiet", "reloading") if pair % 2 else ("reloading", "quiet")
                for kind in kinds:
                    if kind == "quiet":
                        time.sleep(1)  # the last reload lands
                        phases[f"quiet {pair}"] = measured(args.seconds)
                    else:
                        phases[f"reloading {pair}"] = reloading(args.seconds)
        else:
            phases["before"] = measured(args.seconds)
            phases["during"] = reloading(args.seconds)
            time.sleep(3)  # the last reload lands
            phases["after"] = measured(args.seconds)
        republished = snapshot.stat().st_mtime_ns != written
    finally:
        coldstart.stop(process)
        shutil.rmtree(workdir, ignore_errors=True)
    phases["sent"] = {"notifications": str(count[0]), "snapshot republished": str(republished)}
    return phases


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dsn")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--every", type=float, default=3.0)
    parser.add_argument(
        "--rate", type=int, help="fixed requests per second (oha) instead of wrk's full speed"
    )
    parser.add_argument(
        "--change", choices=sorted(CHANGES), default="comment", help="what changes before each notification"
    )
    parser.add_argument(
        "--without-notify",
        action="store_true",
        help="the COMMENT alone, no NOTIFY: what the change itself costs the requests (no reload)",
    )
    parser.add_argument(
        "--pairs",
        type=int,
        default=0,
        help="instead of before/during/after: N pairs of phases, one with reloads and one without, in "
        "ABBA order, and the median of each pair's p99 ratio",
    )
    parser.add_argument(
        "--halves",
        action="store_true",
        help="with --rate: one phase of --seconds with changes, the p99 of the requests due in the first "
        "half of each interval between changes (the change and its reload) over that of the second half",
    )
    parser.add_argument(
        "--offsets",
        action="store_true",
        help="with --halves: also the requests' mean and p99 latency by how long after a change they were "
        "due, in 10 ms steps over its first 0.3 s",
    )
    parser.add_argument("--variant", action="append", default=[], help="NAME=DIR holding a restpg package")
    parser.add_argument("--rounds", type=int, default=1, help="servers per variant, interleaved")
    args = parser.parse_args()
    if args.halves and (args.rate is None or args.pairs):
        parser.error("--halves splits one fixed-rate phase: give --rate N, not --pairs")
    if args.offsets and not args.halves:
        parser.error("--offsets reads the per-request data of --halves: give --halves too")
    if args.rate is not None and shutil.which("oha") is None:
        parser.error("--rate needs oha on PATH (cargo install oha)")

    def phase(url: str, seconds: int) -> dict[str, str]:
        if args.rate is None:
            return wrk(url, seconds, args.connections)
        return oha(url, seconds, args.connections, args.rate)

    variants = processes.variants(args.variant)
    p99s: dict[str, dict[str, list[float]]] = {name: {} for name in variants}
    ratios: dict[str, list[float]] = {name: [] for name in variants}
    for round_ in range(1, args.rounds + 1):
        for name in list(variants) if round_ % 2 else list(reversed(variants)):
            phases = run_once(args, phase, processes.variant_env(variants[name]))
            for label, measured in phases.items():
                print(f"{name} round {round_} {label}: " + ", ".join(f"{k} {v}" for k, v in measured.items()))
                if "p99" in measured:
                    kind = label.split()[0]  # "quiet 3" and "reloading 3" are pair 3 of their kinds
                    p99s[name].setdefault(kind, []).append(float(measured["p99"].removesuffix("ms")))
            ratios[name] += pair_ratios(phases)
            if "halves" in phases:
                ratios[name].append(float(phases["halves"]["ratio"]))
    if args.rounds > 1 or len(variants) > 1 or args.pairs:
        for name, by_phase in p99s.items():
            medians = ", ".join(f"{label} {statistics.median(v):.2f} ms" for label, v in by_phase.items())
            print(f"{name} median p99: {medians}")
            if ratios[name]:
                listed = ", ".join(f"{r:.2f}" for r in sorted(ratios[name]))
                print(
                    f"{name} p99 {'first / second half' if args.halves else 'reloading / quiet, per pair'}: "
                    f"median {statistics.median(ratios[name]):.2f}"
                    f" ({listed})"
                )
    return 0


def pair_ratios(phases: dict[str, dict[str, str]]) -> list[float]:
    """Each pair's p99 with reloads over its p99 without (``--pairs``)."""
    p99 = {label: float(m["p99"].removesuffix("ms")) for label, m in phases.items() if "p99" in m}
    return [p99[label] / p99[f"quiet {label.split()[1]}"] for label in p99 if label.startswith("reloading ")]


if __name__ == "__main__":
    sys.exit(main())

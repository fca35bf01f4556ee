"""Prometheus metrics: counted in each worker, published to the runtime folder, summed by the admin server.

Per request a worker does two dict/list increments (``Metrics.observe``: well under a microsecond); every
``PUBLISH_INTERVAL`` it writes ``metrics-<pid>.json`` atomically, beside the readiness heartbeat. The admin
server (``render``) sums the workers' files into one Prometheus text exposition:

- counters (requests, latency histogram, pool timeouts, schema loads, JWT cache) are summed over every
  file, including those of workers that have died, so a counter never goes backwards when Granian replaces
  a crashed worker (a file is removed only when the folder is, at shutdown);
- gauges (pool size, in use, waiting, schema cache age) are summed over live workers only.

Names follow PostgREST's (``pgrst_db_pool_*``, ``pgrst_schema_cache_*``, ``pgrst_jwt_cache_*``); the
request metrics PostgREST lacks use a ``restpg_`` prefix.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from bisect import bisect_left
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec

__all__ = ["BUCKETS", "Metrics", "Snapshot", "publish_loop", "render"]

# Latency histogram bounds in seconds (Prometheus ``le``), from sub-millisecond reads to slow writes.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))
PUBLISH_INTERVAL = 1.0
LIVE_WITHIN = 3.0  # a file older than this belongs to a worker that is gone


class Snapshot(msgspec.Struct):
    """One worker's metrics, as published."""

    requests: dict[str, int] = {}  # "METHOD STATUS" -> count
    latency_buckets: list[int] = []  # per bucket (not cumulative), plus one for +Inf
    latency_sum: float = 0.0
    pool_max: int = 0
    pool_size: int = 0
    pool_available: int = 0
    pool_waiting: int = 0
    pool_timeouts: int = 0
    schema_loads_success: int = 0
    schema_loads_error: int = 0
    schema_query_seconds: float = 0.0
    schema_loaded_at: float = 0.0  # wall clock, 0 while never loaded
    jwt_hits: int = 0
    jwt_misses: int = 0
    jwt_evictions: int = 0


class Metrics:
    """A worker's request counters; the rest of a ``Snapshot`` is read from the pool and caches on publish."""

    __slots__ = (
        "latency_buckets",
        "latency_sum",
        "requests",
        "schema_loaded_at",
        "schema_loads_error",
        "schema_loads_success",
        "schema_query_seconds",
    )

    def __init__(self) -> None:
        self.requests: dict[tuple[str, int], int] = {}
        self.latency_buckets = [0] * (len(BUCKETS) + 1)
        self.latency_sum = 0.0
        self.schema_loads_success = 0
        self.schema_loads_error = 0
        self.schema_query_seconds = 0.0
        self.schema_loaded_at = 0.0

    def observe(self, method: str, status: int, seconds: float) -> None:
        if method not in _METHODS:
            method = "OTHER"  # a client-chosen label would grow the series (and this dict) without bound
        key = (method, status)
        requests = self.requests
        requests[key] = requests.get(key, 0) + 1
        self.latency_buckets[bisect_left(BUCKETS, seconds)] += 1
        self.latency_sum += seconds

    def schema_loaded(self, seconds: float) -> None:
        """This worker queried the catalog (the others adopt its snapshot)."""
        self.schema_loads_success += 1
        self.schema_query_seconds = seconds

    def schema_adopted(self) -> None:
        """A schema cache went into service, loaded here or read from a snapshot."""
        self.schema_loaded_at = time.time()

    def schema_failed(self) -> None:
        self.schema_loads_error += 1

    def snapshot(self) -> Snapshot:
        return Snapshot(
            requests={f"{method} {status}": n for (method, status), n in self.requests.items()},
            latency_buckets=list(self.latency_buckets),
            latency_sum=self.latency_sum,
            schema_loads_success=self.schema_loads_success,
            schema_loads_error=self.schema_loads_error,
            schema_query_seconds=self.schema_query_seconds,
            schema_loaded_at=self.schema_loaded_at,
        )


def publish(runtime_dir: Path, snapshot: Snapshot) -> None:
    target = runtime_dir / f"metrics-{os.getpid()}.json"
    scratch = runtime_dir / f".metrics-{os.getpid()}.tmp"
    scratch.write_bytes(msgspec.json.encode(snapshot))
    os.replace(scratch, target)


async def publish_loop(runtime_dir: Path, take: Callable[[], Snapshot]) -> None:
    """Worker side: publish ``take()`` every ``PUBLISH_INTERVAL`` seconds."""
    while True:
        with contextlib.suppress(OSError):
            publish(runtime_dir, take())
        await asyncio.sleep(PUBLISH_INTERVAL)


def _snapshots(runtime_dir: Path, now: float) -> Iterator[tuple[bool, Snapshot]]:
    for path in runtime_dir.glob("metrics-*.json"):
        try:
            live = now - path.stat().st_mtime <= LIVE_WITHIN
            yield live, msgspec.json.decode(path.read_bytes(), type=Snapshot)
        except (OSError, msgspec.DecodeError):
            continue


def render(runtime_dir: Path, now: float | None = None) -> bytes:
    """The Prometheus text exposition (format 0.0.4) of every worker's metrics, summed."""
    now = time.time() if now is None else now
    requests: dict[str, int] = {}
    buckets = [0] * (len(BUCKETS) + 1)
    total = dict.fromkeys(
        (
            "latency_sum",
            "pool_timeouts",
            "schema_loads_success",
            "schema_loads_error",
            "jwt_hits",
            "jwt_misses",
            "jwt_evictions",
        ),
        0.0,
    )
    gauges = dict.fromkeys(("pool_max", "pool_size", "pool_available", "pool_waiting"), 0)
    query_seconds = 0.0
    loaded_at = 0.0
    for live, snap in _snapshots(runtime_dir, now):
        for key, count in snap.requests.items():
            requests[key] = requests.get(key, 0) + count
        for index, count in enumerate(snap.latency_buckets[: len(buckets)]):
            buckets[index] += count
        for name in total:
            total[name] += getattr(snap, name)
        if live:
            for name in gauges:
                gauges[name] += getattr(snap, name)
            loaded_at = max(loaded_at, snap.schema_loaded_at)
            if snap.schema_query_seconds:
                query_seconds = snap.schema_query_seconds

    out: list[str] = []

    def metric(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> None:
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} {kind}")
        out.extend(f"{name}{labels} {_number(value)}" for labels, value in samples)

    by_label: list[tuple[str, float]] = []
    for key in sorted(requests):
        method, status = key.split(" ", 1)
        by_label.append((f'{{method="{method}",status="{status}"}}', requests[key]))
    metric("restpg_http_requests_total", "counter", "HTTP requests answered, by method and status.", by_label)
    cumulative = 0
    samples: list[tuple[str, float]] = []
    for bound, count in zip((*map(_number, BUCKETS), "+Inf"), buckets, strict=True):
        cumulative += count
        samples.append((f'_bucket{{le="{bound}"}}', cumulative))
    samples += [("_sum", total["latency_sum"]), ("_count", cumulative)]
    out.append("# HELP restpg_http_request_duration_seconds Time from request to response, in seconds.")
    out.append("# TYPE restpg_http_request_duration_seconds histogram")
    out.extend(f"restpg_http_request_duration_seconds{suffix} {_number(v)}" for suffix, v in samples)
    metric("pgrst_db_pool_max", "gauge", "Maximum connections in the pools.", [("", gauges["pool_max"])])
    metric("pgrst_db_pool_size", "gauge", "Connections open or opening.", [("", gauges["pool_size"])])
    in_use = gauges["pool_size"] - gauges["pool_available"]
    metric("pgrst_db_pool_available", "gauge", "Idle connections.", [("", gauges["pool_available"])])
    metric("restpg_db_pool_in_use", "gauge", "Connections serving a request.", [("", in_use)])
    metric(
        "pgrst_db_pool_waiting", "gauge", "Requests waiting for a connection.", [("", gauges["pool_waiting"])]
    )
    metric(
        "pgrst_db_pool_timeouts_total",
        "counter",
        "Requests that timed out acquiring a connection.",
        [("", total["pool_timeouts"])],
    )
    metric(
        "pgrst_schema_cache_loads_total",
        "counter",
        "Schema cache loads, by outcome.",
        [
            ('{status="SUCCESS"}', total["schema_loads_success"]),
            ('{status="FAIL"}', total["schema_loads_error"]),
        ],
    )
    metric(
        "pgrst_schema_cache_query_time_seconds",
        "gauge",
        "Duration of the last schema cache load.",
        [("", query_seconds)],
    )
    age = now - loaded_at if loaded_at else 0.0
    metric("restpg_schema_cache_age_seconds", "gauge", "Age of the newest schema cache.", [("", age)])
    jwt = [("hits", "jwt_hits"), ("misses", "jwt_misses"), ("evictions", "jwt_evictions")]
    metric(
        "pgrst_jwt_cache_requests_total",
        "counter",
        "JWT cache lookups.",
        [("", total["jwt_hits"] + total["jwt_misses"])],
    )
    for label, name in jwt:
        metric(f"pgrst_jwt_cache_{label}_total", "counter", f"JWT cache {label}.", [("", total[name])])
    return ("\n".join(out) + "\n").encode()


def _number(value: float) -> str:
    if isinstance(value, float) and not value.is_integer():
        return repr(value)
    return str(int(value))

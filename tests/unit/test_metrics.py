"""Metrics summed over worker files, limits, timing and the access log's escaping (no server needed)."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

from restpg import metrics
from restpg.limits import Limits
from restpg.log import AccessLog
from restpg.timing import Timing


def write(runtime_dir: Path, name: str, snap: metrics.Snapshot, age: float = 0.0) -> None:
    path = runtime_dir / f"metrics-{name}.json"
    metrics.publish(runtime_dir, snap)
    os.replace(runtime_dir / f"metrics-{os.getpid()}.json", path)
    stamp = time.time() - age
    os.utime(path, (stamp, stamp))


def test_counters_sum_over_all_workers_gauges_over_live_ones(tmp_path: Path) -> None:
    live, dead = metrics.Metrics(), metrics.Metrics()
    for _ in range(3):
        live.observe("GET", 200, 0.002)
    dead.observe("GET", 200, 0.2)
    dead.observe("BREW", 418, 0.2)  # unknown methods share one label
    snap_live, snap_dead = live.snapshot(), dead.snapshot()
    snap_live.pool_size = snap_dead.pool_size = 4
    write(tmp_path, "1", snap_live)
    write(tmp_path, "2", snap_dead, age=60)
    text = metrics.render(tmp_path).decode()
    assert 'restpg_http_requests_total{method="GET",status="200"} 4' in text
    assert 'restpg_http_requests_total{method="OTHER",status="418"} 1' in text
    assert 'restpg_http_request_duration_seconds_bucket{le="0.0025"} 3' in text
    assert 'restpg_http_request_duration_seconds_bucket{le="+Inf"} 5' in text
    assert "pgrst_db_pool_size 4\n" in text  # the dead worker's pool is gone


def test_limits() -> None:
    limits = Limits(max_url_bytes=10, max_header_bytes=10, max_body_bytes=10)
    assert limits.check_url("/items", "id=eq.1") is not None
    assert limits.check_url("/items", "") is None
    assert limits.check_header_bytes(11) is not None
    assert limits.check_content_length("11") is not None
    assert limits.check_content_length("10") is None
    assert Limits(0, 0, 0).check_url("/x" * 10_000, "") is None


def test_timing_header_names_every_phase() -> None:
    timing = Timing()
    for phase in ("parse", "plan", "jwt", "transaction", "response"):
        timing.mark(phase)
    name, value = timing.header()
    assert name == "server-timing"
    assert [part.split(";")[0] for part in value.split(", ")] == [
        "jwt",
        "parse",
        "plan",
        "transaction",
        "response",
    ]


def test_access_log_levels_and_escaping() -> None:
    stream = io.BytesIO()
    log = AccessLog("warn", stream=stream)
    assert not log.wants(200) and log.wants(404) and log.wants(500)
    assert not AccessLog("error").wants(404) and AccessLog("info").wants(200)
    assert not AccessLog("crit").wants(500)
    log.write("127.0.0.1", "GET", "/x", "", "1.1", {"user-agent": 'a"\nb'}, 404, 10, 0.001)
    line = stream.getvalue().decode()
    assert line.count("\n") == 1 and '"a\\"\\nb"' in line

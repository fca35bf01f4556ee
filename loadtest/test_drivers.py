"""The fixed-rate driver's command line and its reading of oha's JSON, against a stand-in ``oha`` on PATH
that records how it was called and answers like oha (run: pytest loadtest)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from loadtest import drivers, report
from loadtest.workloads import Workload

# What `oha --output-format json` prints (times in seconds), trimmed to the fields the driver reads.
_ANSWER = {
    "summary": {"successRate": 1.0, "total": 2.0, "requestsPerSec": 99.5},
    "latencyPercentiles": {"p50": 0.0011, "p90": 0.0021, "p99": 0.0074, "p99.9": 0.0133},
    "statusCodeDistribution": {"200": 196, "503": 4},
    "errorDistribution": {"connection closed": 1},
}


def stand_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tool: str, body: str) -> Path:
    """``tool`` first on PATH: a shell script that records its arguments in ``<calls>/args``, then runs
    ``body`` (which may use ``$calls``); returns the calls folder, also the working directory."""
    calls = tmp_path / f"{tool}-calls"
    calls.mkdir()
    script = tmp_path / f"{tool}-bin" / tool
    script.parent.mkdir()
    script.write_text(f'#!/bin/sh\ncalls={calls}\nprintf "%s\\n" "$@" > "$calls/args"\n{body}')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{script.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.chdir(calls)  # where anything written without a folder would land
    return calls


@pytest.fixture
def fake_oha(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # Copies the URL file (the last argument) before the driver deletes it.
    return stand_in(
        tmp_path,
        monkeypatch,
        "oha",
        f'for last; do :; done; cp "$last" "$calls/urls"\ncat <<\'EOF\'\n{json.dumps(_ANSWER)}\nEOF\n',
    )


def test_oha_sends_at_the_rate_over_every_id_and_reads_the_percentiles(fake_oha: Path) -> None:
    workload = Workload(
        "WX", "one row", "GET", "/artist?artist_id=eq.{id}", ids=(3, 6), headers={"Prefer": "count=exact"}
    )

    run = drivers.oha("http://127.0.0.1:9", workload, connections=8, rate=250.4, seconds=2)

    args = (fake_oha / "args").read_text().splitlines()
    assert args[args.index("-q") + 1] == "250"
    assert args[args.index("-c") + 1] == "8"
    assert args[args.index("-z") + 1] == "2s"
    assert args[args.index("-H") + 1] == "Prefer: count=exact"
    assert "--latency-correction" in args
    assert "-w" in args  # requests in flight at the deadline are waited for, not errors
    assert (fake_oha / "urls").read_text().splitlines() == [
        f"http://127.0.0.1:9/artist?artist_id=eq.{i}" for i in range(3, 7)
    ]
    assert run.requests == 200
    assert run.rate == 100.0
    assert run.latency_ms == {"p50": 1.1, "p90": 2.1, "p99": 7.4, "p999": 13.3}
    assert run.errors == {"status": 4, "other": 1}


def test_oha_missing_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="cargo install oha"):
        drivers.oha("http://127.0.0.1:9", Workload("WX", "t", "GET", "/x"), 1, 10, 1)


def test_the_report_shows_latency_at_half_of_peak() -> None:
    run = {
        "environment": {
            "date": "2026-01-01T00:00:00+00:00",
            "git_commit": "0123456789abcdef",
            "git_dirty": False,
            "machine": {"cores": 2, "cpu": "x", "memory_gb": 1, "kernel": "k", "load_average_at_start": [0]},
            "versions": {},
        },
        "method": {
            "workers": 2,
            "db_pool": 10,
            "seconds": 10,
            "warmup_seconds": 3,
            "http_generator": "wrk",
            "ceiling": "pgbench",
            "fixed_rate": "oha 1.16.0",
        },
        "cold_start": {},
        "results": [
            {
                "workload": "W1",
                "title": "GET one row",
                "connections": 32,
                "http": {"rate": 5000, "latency_ms": {}, "errors": {}},
                "half_peak": {
                    "target_rate": 2500,
                    "rate": 2499.2,
                    "latency_ms": {"p50": 1.1, "p90": 2.1, "p99": 7.42, "p999": 13.3},
                    "errors": {"status": 0, "other": 0},
                    "generator_cores": 0.3,
                    "database_alone": {
                        "clients": 20,
                        "target_rate": 2500,
                        "rate": 2500.1,
                        "latency_ms": {"mean": 0.4, "p50": 0.31, "p90": 0.52, "p99": 1.94, "p999": 4.5},
                        "errors": {"failed": 0},
                        "generator_cores": 0.2,
                    },
                },
            },
            {
                "workload": "W2",
                "title": "t",
                "connections": 32,
                "http": {"rate": 1, "latency_ms": {}, "errors": {}},
            },
        ],
    }

    text = report.markdown(run)

    assert "Latency at half of peak (oha 1.16.0; below each, the database alone" in text
    assert "| W1 | 2,500 | 2,499 | 1.10 | 2.10 | 7.42 | 13.30 | 0 | 0.30 |" in text
    assert (
        "| W1, database alone (20 clients) | 2,500 | 2,500 | 0.31 | 0.52 | 1.94 | 4.50 | 0 | 0.20 |" in text
    )
    assert "| W2 | " not in text.split("Latency at half of peak")[1]


# What pgbench 15 prints and logs under -R (the log's third field is the latency in µs, counted from when the
# transaction was due; "skipped"/"failed" where it has none).
_PGBENCH_SUMMARY = """number of transactions actually processed: 5
number of failed transactions: 1 (16.667%)
latency average = 2.400 ms
tps = 50.000000 (without initial connection time)
"""
_PGBENCH_LOGS = {
    "tx.101": "0 0 1000 0 1700000000 1\n0 1 2000 0 1700000000 2 15\n0 2 failed 0 1700000000 3\n",
    "tx.101.1": "1 0 3000 0 1700000000 4\n1 1 4000 0 1700000000 5\n1 2 skipped 0 1700000000 6 900\n",
}


@pytest.fixture
def fake_pgbench(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # Writes the logs where --log-prefix says (only then), prints the summary.
    writes = "".join(
        f'[ -n "$prefix" ] && printf "%s" "{text}" > "$prefix{name[2:]}"\n'
        for name, text in _PGBENCH_LOGS.items()
    )
    return stand_in(
        tmp_path,
        monkeypatch,
        "pgbench",
        'for arg; do case "$arg" in --log-prefix=*) prefix="${arg#--log-prefix=}";; esac; done\n'
        + writes
        + f"cat <<'EOF'\n{_PGBENCH_SUMMARY}EOF\n",
    )


def test_pgbench_at_a_fixed_rate_reads_every_logged_latency(fake_pgbench: Path) -> None:
    run = drivers.pgbench("dbname=x", "SELECT 1;\n", {"id": "3"}, clients=20, seconds=2, jobs=2, rate=49.6)

    args = (fake_pgbench / "args").read_text().splitlines()
    assert args[args.index("-R") + 1] == "50"
    assert "--log" in args and args[args.index("-c") + 1] == "20"
    # 1, 2, 3 and 4 ms from both threads' logs: a failed or skipped transaction has no latency
    assert run.latency_ms == {"mean": 2.4, "p50": 2.0, "p90": 4.0, "p99": 4.0, "p999": 4.0}
    assert run.errors == {"failed": 1}


def test_pgbench_without_a_rate_keeps_no_log(fake_pgbench: Path) -> None:
    run = drivers.pgbench("dbname=x", "SELECT 1;\n", {}, clients=4, seconds=2, jobs=2)

    args = (fake_pgbench / "args").read_text().splitlines()
    assert "-R" not in args and "--log" not in args
    assert run.latency_ms == {"mean": 2.4}
    assert sorted(p.name for p in fake_pgbench.iterdir()) == ["args"]  # and it wrote no log


def test_percentiles_are_nearest_ranks() -> None:
    values = [float(v) for v in range(1, 1001)]
    assert drivers.percentiles_ms(values) == {"p50": 500.0, "p90": 900.0, "p99": 990.0, "p999": 999.0}
    assert drivers.percentiles_ms([7.0]) == {"p50": 7.0, "p90": 7.0, "p99": 7.0, "p999": 7.0}

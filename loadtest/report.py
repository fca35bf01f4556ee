"""A bench run's record: machine, versions, method and results as JSON, and the same as a markdown table."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import psycopg

__all__ = ["environment", "markdown", "oha_version", "write"]

ROOT = Path(__file__).resolve().parent.parent


def _output(command: list[str]) -> str | None:
    if shutil.which(command[0]) is None and not Path(command[0]).exists():
        return None
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if text else None


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def environment(dsn: str, restpg: list[str]) -> dict[str, Any]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        pg_version = conn.execute("SHOW server_version").fetchone()
        settings: dict[str, str] = dict(
            conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name IN "
                "('shared_buffers', 'max_connections', 'synchronous_commit', 'fsync', 'wal_level')"
            ).fetchall()
        )
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": _output(["git", "rev-parse", "HEAD"]),
        "git_dirty": bool(_output(["git", "status", "--porcelain", "--untracked-files=no"])),
        "machine": {
            "cores": os.cpu_count(),
            "cpu": _cpu_model(),
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "kernel": platform.release(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "versions": {
            "restpg": _strip(_output([*restpg, "--version"]), "restpg "),
            "postgresql": pg_version[0] if pg_version else None,
            "python": platform.python_version(),
            "granian": _package_version("granian"),
            "psycopg": _package_version("psycopg"),
            "wrk": _strip(_output(["wrk", "--version"]), "wrk ", " Copyright"),
            "pgbench": _strip(_output(["pgbench", "--version"]), "pgbench "),
            "oha": oha_version(),
        },
        "postgresql_settings": settings,
    }


def oha_version() -> str | None:
    return _strip(_output(["oha", "--version"]), "oha ")


def _strip(text: str | None, prefix: str, cut: str | None = None) -> str | None:
    """A version line without the program's name (and, for wrk, without its copyright)."""
    if text is None:
        return None
    text = text.removeprefix(prefix)
    return text.split(cut, 1)[0].strip() if cut else text


def _package_version(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _fmt(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def markdown(run: dict[str, Any]) -> str:
    env, method = run["environment"], run["method"]
    machine, versions = env["machine"], env["versions"]
    lines = [
        f"# restpg bench {env['date']}",
        "",
        (
            f"- commit `{(env['git_commit'] or '?')[:12]}`{' (dirty)' if env['git_dirty'] else ''}; "
            f"{machine['cores']} cores ({machine['cpu']}), {machine['memory_gb']} GB, kernel {machine['kernel']}, "
            f"load average at start {machine['load_average_at_start']}"
        ),
        "- " + ", ".join(f"{k} {v}" for k, v in versions.items() if v),
        (
            f"- {method['workers']} workers, db-pool {method['db_pool']} per worker, {method['seconds']} s per run "
            f"after {method['warmup_seconds']} s warm-up; HTTP load: {method['http_generator']}; ceiling: "
            f"{method['ceiling']}"
        ),
        (
            f"- cold start (process start → /ready → first 200): {_fmt(run['cold_start'].get('ready_ms'))} ms → "
            f"{_fmt(run['cold_start'].get('first_200_ms'))} ms"
        ),
        "",
        (
            "| workload | conns | req/s | p50 ms | p90 ms | p99 ms | errors | pgbench TPS (clients) | ratio "
            "| pgbench, pipelined | ratio | restpg CPU | PG CPU | wrk CPU | restpg RSS MB |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in run["results"]:
        if result.get("skipped"):
            lines.append(f"| {result['workload']} | | skipped: {result['skipped']} |||||||||||||")
            continue
        http, ceiling = result["http"], result.get("pgbench") or {}
        piped = result.get("pgbench_pipelined") or {}
        lat = http["latency_ms"]
        cpu = result.get("cpu", {})
        rss = (result.get("rss") or {}).get("restpg") or {}
        lines.append(
            f"| {result['workload']} {result['title']} | {result['connections']} | {_fmt(http['rate'])} "
            f"| {_fmt(lat.get('p50'), 2)} | {_fmt(lat.get('p90'), 2)} | {_fmt(lat.get('p99'), 2)} "
            f"| {sum(http['errors'].values())} | {_fmt(ceiling.get('rate'))}"
            f"{' (' + str(ceiling['clients']) + ')' if ceiling.get('clients') else ''} | {_fmt(result.get('ratio'), 2)} "
            f"| {_fmt(piped.get('rate'))} | {_fmt(result.get('ratio_pipelined'), 2)} "
            f"| {_fmt((cpu.get('restpg') or {}).get('cores'), 2)} | {_fmt((cpu.get('postgres') or {}).get('cores'), 2)} "
            f"| {_fmt(http.get('generator_cores'), 2)} | {_fmt(rss.get('rss_mb_sum'), 0)} |"
        )
    lines += _half_peak_lines(run)
    notes = [r for r in run["results"] if r.get("note")]
    if notes:
        lines += ["", *[f"- {r['workload']}: {r['note']}" for r in notes]]
    lines.append("")
    return "\n".join(lines)


def _half_peak_lines(run: dict[str, Any]) -> list[str]:
    measured = [r for r in run["results"] if r.get("half_peak")]
    if not measured:
        return []
    lines = [
        "",
        (
            f"Latency at half of peak ({run['method'].get('fixed_rate', 'fixed rate')}; below each, the "
            "database alone at the same rate: pgbench -R, restpg's transaction in one pipeline, as many "
            "clients as restpg's pools hold):"
        ),
        "",
        "| workload | target req/s | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | errors | generator CPU |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in measured:
        half = result["half_peak"]
        if half.get("skipped"):
            lines.append(f"| {result['workload']} | skipped: {half['skipped']} ||||||||")
            continue
        lines.append(_rate_line(result["workload"], half))
        if half.get("database_alone"):
            alone = half["database_alone"]
            lines.append(
                _rate_line(f"{result['workload']}, database alone ({alone['clients']} clients)", alone)
            )
    return lines


def _rate_line(label: str, run: dict[str, Any]) -> str:
    lat = run["latency_ms"]
    return (
        f"| {label} | {_fmt(run['target_rate'])} | {_fmt(run['rate'])} "
        f"| {_fmt(lat.get('p50'), 2)} | {_fmt(lat.get('p90'), 2)} | {_fmt(lat.get('p99'), 2)} "
        f"| {_fmt(lat.get('p999'), 2)} | {sum(run['errors'].values())} | {_fmt(run.get('generator_cores'), 2)} |"
    )


def write(run: dict[str, Any], directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = run["environment"]["date"].replace(":", "").replace("+0000", "Z")
    commit = (run["environment"]["git_commit"] or "nogit")[:8]
    base = directory / f"{stamp}-{commit}"
    json_path, md_path = base.with_suffix(".json"), base.with_suffix(".md")
    json_path.write_text(json.dumps(run, indent=2) + "\n", encoding="utf-8")
    md_path.write_text(markdown(run), encoding="utf-8")
    return json_path, md_path

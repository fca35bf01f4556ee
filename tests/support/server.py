"""Real ``restpg serve`` processes for the tests: config files, free ports, start, wait for ready, stop."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ConfigValue = str | int | bool
READY_TIMEOUT = 30.0


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports that were free a moment ago.

    Every socket stays bound until all are picked: closed one by one, the kernel may hand the same
    port out twice (it did, and a server refused to start with its admin port equal to its own).
    Another process may still take one before the server binds it; that race is rare.
    """
    with contextlib.ExitStack() as stack:
        sockets = [
            stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(count)
        ]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def free_port() -> int:
    """A TCP port that was free a moment ago."""
    return free_ports(1)[0]


def render_config(values: Mapping[str, ConfigValue]) -> str:
    """A PostgREST config file: ``key = "string"``, bare numbers and booleans, ``$$`` for a literal ``$``."""
    lines = []
    for key, value in values.items():
        if isinstance(value, bool):
            rendered = "true" if value else "false"
        elif isinstance(value, int):
            rendered = str(value)
        else:
            escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "$$")
            rendered = f'"{escaped}"'
        lines.append(f"{key} = {rendered}")
    return "\n".join(lines) + "\n"


def restpg_command() -> list[str]:
    """The ``restpg`` console script of the running interpreter's environment."""
    script = Path(sys.executable).with_name("restpg")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from restpg.cli import main; sys.exit(main())"]


@dataclass
class Server:
    """A running ``restpg serve``: ``url`` serves the API, ``admin_url`` the admin endpoints."""

    url: str
    admin_url: str
    process: subprocess.Popen[bytes]
    config_path: Path
    log_path: Path
    extra: dict[str, object] = field(default_factory=dict)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM (graceful shutdown), then SIGKILL after ``timeout``; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_server(
    config: Mapping[str, ConfigValue], *, workers: int = 1, workdir: Path | None = None
) -> Server:
    """Write ``config`` (plus free ports) to a file, run ``restpg serve`` on it and wait for ``/ready``."""
    if workdir is None:
        # Its log stays readable after the server stops (tests read it then); removed when pytest exits.
        workdir = Path(tempfile.mkdtemp(prefix="restpg-test-server-"))
        atexit.register(shutil.rmtree, workdir, True)
    port, admin_port = free_ports(2)
    values: dict[str, ConfigValue] = {
        "server-host": "127.0.0.1",
        "server-port": port,
        "admin-server-port": admin_port,
        # Not the user's default folder: each test database would leave a snapshot there.
        "restpg-snapshot-dir": str(workdir / "snapshots"),
        **config,
    }
    config_path = workdir / "restpg.conf"
    config_path.write_text(render_config(values), encoding="utf-8")
    log_path = workdir / "restpg.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*restpg_command(), "serve", str(config_path), "--workers", str(workers)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    server = Server(
        url=f"http://127.0.0.1:{values['server-port']}",
        admin_url=f"http://127.0.0.1:{values['admin-server-port']}",
        process=process,
        config_path=config_path,
        log_path=log_path,
    )
    try:
        wait_ready(server)
    except BaseException:
        server.stop()
        raise
    return server


def wait_ready(server: Server, timeout: float = READY_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"restpg serve exited with {server.process.returncode} before it was ready.\n"
                f"config:\n{server.config_path.read_text()}\noutput:\n{server.log()}"
            )
        try:
            response = httpx.get(f"{server.admin_url}/ready", timeout=1.0)
            if response.status_code == 200:
                return
            last_error = f"/ready answered {response.status_code}"
        except httpx.TransportError as exc:
            last_error = repr(exc)
        time.sleep(0.05)
    raise RuntimeError(
        f"restpg serve was not ready after {timeout:.0f}s ({last_error}).\noutput:\n{server.log()}"
    )

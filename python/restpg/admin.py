"""The admin server: ``GET /live`` and ``GET /ready`` on ``admin-server-port``, as PostgREST.

Granian runs several worker processes, but there must be one admin listener. It runs in the supervisor
process (the one that starts Granian), in a thread with its own small asyncio server, and learns about the
workers through a runtime folder:

- each worker publishes ``worker-<pid>.json`` (``{"ready": bool}``) once a second with an atomic
  write + rename (``publish``), so a reader never sees a half-written file;
- a file older than ``STALE_AFTER`` seconds belongs to a worker that died or hung and is ignored.

``/live`` is 200 while at least one worker is publishing (500 otherwise); ``/ready`` is 200 when every live
worker has its schema cache loaded and reaches the database (503 otherwise). ``/metrics`` is the workers'
metrics summed, in Prometheus text (see ``restpg.metrics``). ``/doctor`` (GET only) is ``restpg doctor
--json``'s report (200; 503 when the database cannot be inspected), when the server was given a way to make it.
Other paths are 404.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import msgspec

from restpg import metrics

__all__ = ["STALE_AFTER", "AdminServer", "publish", "status"]

STALE_AFTER = 3.0
HEARTBEAT = 1.0


class _State(msgspec.Struct):
    ready: bool


def publish(runtime_dir: Path, ready: bool) -> None:
    """Write this worker's state atomically."""
    target = runtime_dir / f"worker-{os.getpid()}.json"
    scratch = runtime_dir / f".worker-{os.getpid()}.tmp"
    scratch.write_bytes(msgspec.json.encode(_State(ready)))
    os.replace(scratch, target)


def status(runtime_dir: Path, now: float | None = None) -> tuple[bool, bool]:
    """``(live, ready)`` from the workers' published states."""
    now = time.time() if now is None else now
    states: list[bool] = []
    for path in runtime_dir.glob("worker-*.json"):
        try:
            if now - path.stat().st_mtime > STALE_AFTER:
                continue
            states.append(msgspec.json.decode(path.read_bytes(), type=_State).ready)
        except (OSError, msgspec.DecodeError):
            continue  # replaced or removed while reading: the next probe sees the new file
    return bool(states), bool(states) and all(states)


class AdminServer:
    """The admin listener, run in a daemon thread of the supervisor process."""

    def __init__(
        self, host: str, port: int, runtime_dir: Path, doctor: Callable[[], bytes] | None = None
    ) -> None:
        self.host = host
        self.port = port
        self.runtime_dir = runtime_dir
        self.doctor = doctor  # blocking (it queries the catalog): run in a thread
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None

    def start(self) -> None:
        """Start listening; raises ``OSError`` when the port cannot be bound."""
        self._thread = threading.Thread(target=self._run, name="restpg-admin", daemon=True)
        self._thread.start()
        self._started.wait()
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=2)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            server = loop.run_until_complete(asyncio.start_server(self._serve, self.host, self.port))
        except OSError as exc:
            self._error = exc
            self._started.set()
            loop.close()
            return
        self._started.set()
        try:
            loop.run_forever()
        finally:
            server.close()
            loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
            request_line = head.split(b"\r\n", 1)[0].split()
            method, target = [*request_line, b"", b""][:2]
            path = target.decode("latin-1").split("?", 1)[0]
            body, content_type = b"", ""
            if method in (b"GET", b"HEAD") and path == "/metrics":
                code, body = 200, metrics.render(self.runtime_dir)
                content_type = "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
            elif method == b"GET" and path == "/doctor" and self.doctor is not None:
                code, body = await self._doctor()
                content_type = "Content-Type: application/json\r\n"
            else:
                code = self.route(method.decode("latin-1"), path)
            reason = {200: "OK", 404: "Not Found", 500: "Internal Server Error", 503: "Service Unavailable"}
            writer.write(
                f"HTTP/1.1 {code} {reason[code]}\r\n{content_type}Content-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + (body if method == b"GET" else b"")
            )
            await writer.drain()
        writer.close()

    async def _doctor(self) -> tuple[int, bytes]:
        assert self.doctor is not None
        try:
            return 200, await asyncio.to_thread(self.doctor)
        except Exception as exc:  # noqa: BLE001 - any failure to inspect the database is the same answer
            return 503, msgspec.json.encode(
                {"error": str(exc).strip().splitlines()[0] if str(exc) else repr(exc)}
            )

    def route(self, method: str, path: str) -> int:
        if method not in ("GET", "HEAD") or path not in ("/live", "/ready"):
            return 404
        live, ready = status(self.runtime_dir)
        if path == "/live":
            return 200 if live else 500
        return 200 if ready else 503


async def heartbeat(runtime_dir: Path, is_ready: Callable[[], bool]) -> None:
    """Worker side: publish readiness every ``HEARTBEAT`` seconds."""
    while True:
        with contextlib.suppress(OSError):
            publish(runtime_dir, bool(is_ready()))
        await asyncio.sleep(HEARTBEAT)

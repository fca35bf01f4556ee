"""The admin server on ``admin-server-port``: ``GET /live``, ``GET /ready`` and ``GET /schema_cache`` as
PostgREST, and ``POST /reload`` (restpg's own: reload the schema cache and the configuration, as a bare
``NOTIFY pgrst`` does, but for this server only).

Granian runs several worker processes, but there must be one admin listener. It runs in the supervisor
process (the one that starts Granian), in a thread with its own small asyncio server, and learns about the
workers through a runtime folder:

- each worker publishes ``worker-<pid>.json`` (``{"ready": bool, "snapshot": path}``) once a second with an atomic
  write + rename (``publish``), so a reader never sees a half-written file;
- a file older than ``STALE_AFTER`` seconds belongs to a worker that died or hung and is ignored.

``/live`` is 200 while at least one worker is publishing (500 otherwise); ``/ready`` is 200 when every live
worker has its schema cache loaded and reaches the database (503 otherwise). ``/metrics`` is the workers'
metrics summed, in Prometheus text (see ``restpg.metrics``). ``/doctor`` (GET only) is ``restpg doctor
--json``'s report (200; 503 when the database cannot be inspected), when the server was given a way to make it.
``/schema_cache`` is the schema cache as JSON, read from the snapshot the workers share (503 while there is
none yet). ``POST /reload`` sends SIGUSR2 (PostgREST's "reload config", which implies the schema) to every
live worker and answers 202 at once: the workers reload in the background, as after a notification. Other
paths are 404.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import msgspec

from restpg import metrics

__all__ = ["STALE_AFTER", "AdminServer", "publish", "status"]

STALE_AFTER = 3.0
HEARTBEAT = 1.0
STARTING_HEARTBEAT = 0.01


class _State(msgspec.Struct):
    ready: bool
    snapshot: str | None = None


def publish(runtime_dir: Path, ready: bool, snapshot: str | None = None) -> None:
    """Write this worker's state atomically."""
    target = runtime_dir / f"worker-{os.getpid()}.json"
    scratch = runtime_dir / f".worker-{os.getpid()}.tmp"
    scratch.write_bytes(msgspec.json.encode(_State(ready, snapshot)))
    os.replace(scratch, target)


def _workers(runtime_dir: Path, now: float | None = None) -> dict[int, _State]:
    """The live workers' published states by process id."""
    now = time.time() if now is None else now
    states: dict[int, _State] = {}
    for path in runtime_dir.glob("worker-*.json"):
        try:
            if now - path.stat().st_mtime > STALE_AFTER:
                continue
            pid = int(path.stem.removeprefix("worker-"))
            states[pid] = msgspec.json.decode(path.read_bytes(), type=_State)
        except (OSError, ValueError, msgspec.DecodeError):
            continue  # replaced or removed while reading: the next probe sees the new file
    return states


def status(runtime_dir: Path, now: float | None = None) -> tuple[bool, bool]:
    """``(live, ready)`` from the workers' published states."""
    states = [state.ready for state in _workers(runtime_dir, now).values()]
    return bool(states), bool(states) and all(states)


def schema_cache_json(runtime_dir: Path) -> bytes | None:
    """The shared schema cache as JSON (``SchemaCache.to_json``), or None when no worker has one yet."""
    from restpg._core import SchemaCache

    paths = {state.snapshot for state in _workers(runtime_dir).values() if state.ready and state.snapshot}
    for path in sorted(paths):
        try:
            cache, _fingerprint = SchemaCache.from_snapshot(Path(path).read_bytes())
        except (OSError, ValueError):
            continue
        return cache.to_json().encode()
    return None


def request_reload(runtime_dir: Path) -> int:
    """Ask every live worker to reload its configuration and schema cache; returns how many were asked."""
    asked = 0
    for pid in _workers(runtime_dir):
        try:
            os.kill(pid, signal.SIGUSR2)
            asked += 1
        except OSError:
            continue  # exited since its last heartbeat
    return asked


def listening_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port``, IPv6 when ``host`` is an IPv6 address."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family)


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
            listener = listening_socket(self.host, self.port)
            server = loop.run_until_complete(asyncio.start_server(self._serve, sock=listener))
        except OSError as exc:
            self._error = exc
            self._started.set()
            loop.close()
            return
        # Granian forks the workers from this process: a worker's copy of the listening socket would keep
        # the port open after the supervisor is gone, queueing connections nobody accepts (a health check
        # would hang instead of being refused). Closing the object marks it closed in the child.
        os.register_at_fork(after_in_child=listener.close)
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
            elif method == b"GET" and path == "/schema_cache":
                # Decoding a large snapshot is CPU work: off this loop, so probes keep answering.
                cached = await asyncio.to_thread(schema_cache_json, self.runtime_dir)
                if cached is None:
                    code = 503
                else:
                    code, body, content_type = 200, cached, "Content-Type: application/json\r\n"
            else:
                code = self.route(method.decode("latin-1"), path)
            reason = {
                200: "OK",
                202: "Accepted",
                404: "Not Found",
                500: "Internal Server Error",
                503: "Service Unavailable",
            }
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
        if method == "POST" and path == "/reload":
            return 202 if request_reload(self.runtime_dir) else 503
        if method not in ("GET", "HEAD") or path not in ("/live", "/ready"):
            return 404
        live, ready = status(self.runtime_dir)
        if path == "/live":
            return 200 if live else 500
        return 200 if ready else 503


async def heartbeat(
    runtime_dir: Path,
    is_ready: Callable[[], bool],
    snapshot: Callable[[], str] | None = None,
    changed: asyncio.Event | None = None,
) -> None:
    """Worker side: publish readiness (and where its schema cache snapshot is) every ``HEARTBEAT`` seconds,
    and at once when ``changed`` is set (the worker just became ready: /ready need not wait for a beat)."""
    while True:
        ready = bool(is_ready())
        with contextlib.suppress(OSError):
            publish(runtime_dir, ready, snapshot() if snapshot is not None else None)
        # Until ready, publish often: /ready turns 200 as soon as the cache is in, not a heartbeat later.
        interval = HEARTBEAT if ready else STARTING_HEARTBEAT
        if changed is None:
            await asyncio.sleep(interval)
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), interval)
        changed.clear()

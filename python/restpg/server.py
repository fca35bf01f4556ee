"""Run Granian: N RSGI workers on uvloop, each building the app from the same configuration.

Workers are separate processes started by Granian; they rebuild the configuration from the same source
(``RESTPG_CONFIG_FILE`` plus the environment, where the command line's overrides are placed as ``PGRST_*``/
``RESTPG_*`` variables) rather than receiving a pickled object, so secrets read through ``@file`` are read
by each worker and never copied into the environment. Granian's supervisor handles SIGINT/SIGTERM: workers
finish their requests and run the ASGI lifespan shutdown (closing their pools).
"""

from __future__ import annotations

import ctypes
import gc
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from granian.constants import Interfaces, Loops
from granian.server import Server

from restpg.admin import AdminServer, listening_socket
from restpg.app import CONFIG_FILE_ENV, RUNTIME_DIR_ENV, SUPERVISOR_ENV
from restpg.config import Config

__all__ = ["ListenError", "bind_address", "end_with_supervisor", "serve"]

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class ListenError(Exception):
    """A port cannot be listened on (in use, not permitted): the user's to fix, in one line."""


def bind_address(host: str) -> str:
    """PostgREST's host specials: ``*``/``*4``/``!4`` any IPv4, ``*6``/``!6`` any IPv6."""
    return {"*": "0.0.0.0", "*4": "0.0.0.0", "!4": "0.0.0.0", "*6": "::", "!6": "::"}.get(host, host)


def _doctor_report(config: Config) -> bytes:
    from restpg.security.doctor import report_json  # only when GET /doctor asks: not for serving

    return report_json(config)


def end_with_supervisor(supervisor: int) -> None:
    """Worker side: receive SIGTERM (a graceful stop) when the supervisor ends, even by SIGKILL.

    Otherwise orphaned workers would go on serving the API port with no one to restart them, beside the
    workers of the next ``restpg serve`` (the port is shared), on a configuration that may be outdated.
    """
    if sys.platform != "linux":
        return
    # A forked worker inherits the supervisor's Python handlers, which only set a flag in the supervisor's
    # state (a copy here): a SIGTERM before Granian installs the worker's own handlers would be lost and the
    # worker would start serving with no supervisor. While it starts there is nothing to finish: just end.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, signal.SIG_DFL)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != supervisor:  # it ended before the request above took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _ensure_free(host: str, port: int, key: str) -> None:
    """Bind and release ``host:port`` once: Granian reports a port in use with a Rust backtrace."""
    try:
        with listening_socket(host, port):
            pass
    except OSError as exc:
        raise _cannot_listen(host, port, key, exc) from None


def _cannot_listen(host: str, port: int, key: str, exc: OSError) -> ListenError:
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    return ListenError(f"Cannot listen on {host}:{port} ({key}): {reason}")


def serve(config: Config, config_path: str | None) -> None:
    """Serve until interrupted. Blocks; ``ListenError`` when a port is taken."""
    _ensure_free(bind_address(config.server_host), config.server_port, "server-port")
    os.environ[CONFIG_FILE_ENV] = os.path.abspath(config_path) if config_path else ""
    os.environ[SUPERVISOR_ENV] = str(os.getpid())
    runtime_dir = Path(config.restpg_runtime_dir or tempfile.mkdtemp(prefix="restpg-"))
    runtime_dir.mkdir(parents=True, exist_ok=True)
    os.environ[RUNTIME_DIR_ENV] = str(runtime_dir)
    admin: AdminServer | None = None
    if config.admin_server_port is not None:
        admin = AdminServer(
            bind_address(config.admin_server_host or config.server_host),
            config.admin_server_port,
            runtime_dir,
            doctor=lambda: _doctor_report(config),
        )
        try:
            admin.start()
        except OSError as exc:
            if config.restpg_runtime_dir is None:
                shutil.rmtree(runtime_dir, ignore_errors=True)
            raise _cannot_listen(admin.host, admin.port, "admin-server-port", exc) from None
    # The workers share the supervisor's objects copy-on-write. The cyclic collector writes to each object it
    # scans: that would copy those pages into every worker, and every full collection would walk them all
    # (~25,000 objects after the imports: 11-16 ms here). Frozen, the collector leaves them alone.
    gc.freeze()
    try:
        Server(
            "restpg.app:create_app",
            address=bind_address(config.server_host),
            port=config.server_port,
            # RSGI: one call per response instead of two ASGI messages (the app serves ASGI too).
            interface=Interfaces.RSGI,
            workers=config.workers,
            loop=Loops.uvloop,
            factory=True,
            log_access=False,
            process_name="restpg",
            # A worker that crashes is replaced; on SIGTERM workers get the grace period to finish
            # their in-flight requests before they are killed.
            respawn_failed_workers=True,
            respawn_interval=0.5,
            workers_kill_timeout=max(1, round(config.restpg_shutdown_grace)),
        ).serve()
    finally:
        if admin is not None:
            admin.stop()
        if config.restpg_runtime_dir is None:
            shutil.rmtree(runtime_dir, ignore_errors=True)

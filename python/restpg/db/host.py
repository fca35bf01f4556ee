"""Whether ``db-uri`` reaches a PostgreSQL on this machine: through a Unix socket or a loopback address.

Then restpg's workers and PostgreSQL's backends take turns on the same cores, and the default number of
workers leaves PostgreSQL its share (``Config.workers``). When unsure the answer is no: a host name other
than ``localhost`` (even one that resolves to this machine) or a connection service file.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping

__all__ = ["on_this_host"]


def on_this_host(conninfo: str, env: Mapping[str, str] = os.environ) -> bool:
    """Whether every host ``conninfo`` may connect to is this machine (libpq's rules: ``hostaddr`` before
    ``host``, the ``PGHOSTADDR``/``PGHOST`` environment where the string sets neither, and the default Unix
    socket where nothing does). False when ``conninfo`` is malformed or no libpq is found to read it."""
    from restpg._core import parse_conninfo
    from restpg.db.pipeline import LibpqNotFound, ensure_libpq

    try:
        ensure_libpq()
        params = dict(parse_conninfo(conninfo))
    except (LibpqNotFound, ValueError):
        return False
    hosts = params.get("hostaddr") or params.get("host") or env.get("PGHOSTADDR") or env.get("PGHOST")
    if hosts is None:
        # Nothing names a host: a service file may, else libpq's default socket.
        return "service" not in params and "PGSERVICE" not in env
    return all(_local(host.strip()) for host in hosts.split(","))


def _local(host: str) -> bool:
    if host == "" or host.startswith(("/", "@")) or host == "localhost":
        return True  # libpq's default socket, a socket folder, an abstract socket, the loopback name
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name: wherever it resolves, it may be elsewhere tomorrow
        return False

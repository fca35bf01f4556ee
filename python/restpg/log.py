"""The access log, filtered by ``log-level`` as PostgREST does, in Apache's combined format or JSON.

``log-level`` decides which responses are logged: ``crit`` none, ``error`` (the default) the 5xx ones,
``warn`` 4xx and 5xx, ``info`` and ``debug`` every request. So at the default level a healthy server logs
nothing on the request path: the check is one integer comparison. ``restpg-log-format = "json"`` writes one
JSON object per line instead of the combined format, for log pipelines that parse fields.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import IO

import msgspec

__all__ = ["AccessLog"]

_THRESHOLDS = {"crit": 1000, "error": 500, "warn": 400, "info": 0, "debug": 0}


class AccessLog:
    __slots__ = ("json", "stream", "threshold")

    def __init__(self, level: str, fmt: str = "combined", stream: IO[bytes] | None = None) -> None:
        self.threshold = _THRESHOLDS[level]
        self.json = fmt == "json"
        self.stream = stream if stream is not None else sys.stdout.buffer

    def wants(self, status: int) -> bool:
        return status >= self.threshold

    def write(
        self,
        client: str,
        method: str,
        path: str,
        query: str,
        http_version: str,
        headers: Mapping[str, str],
        status: int,
        size: int,
        seconds: float,
    ) -> None:
        """One line for a finished request; ``path`` decoded, ``headers`` lowercased names (either interface)."""
        target = path + ("?" + query if query else "")
        referer = headers.get("referer", "")
        agent = headers.get("user-agent", "")
        if self.json:
            line = msgspec.json.encode(
                {
                    "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    "client": client,
                    "method": method,
                    "target": target,
                    "http_version": http_version,
                    "status": status,
                    "bytes": size,
                    "duration_ms": round(seconds * 1000, 3),
                    "referer": referer,
                    "user_agent": agent,
                }
            )
        else:
            stamp = time.strftime("%d/%b/%Y:%H:%M:%S %z")
            request = f"{method} {target} HTTP/{http_version}"
            line = (
                f'{client} - - [{stamp}] "{_escape(request)}" {status} {size or "-"} '
                f'"{_escape(referer)}" "{_escape(agent)}"'
            ).encode()
        self.stream.write(line + b"\n")
        self.stream.flush()


def _escape(text: str) -> str:
    """Quotes and control characters from the client must not forge log lines or fields."""
    return text.encode("unicode_escape").decode("ascii").replace('"', '\\"')

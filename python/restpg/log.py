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
from typing import IO, Any

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

    def write(self, scope: Mapping[str, Any], status: int, size: int, seconds: float) -> None:
        headers = {name: value for name, value in scope["headers"] if name in (b"referer", b"user-agent")}
        client = scope.get("client")
        address = client[0] if client else "-"
        target = scope["path"] + (
            "?" + scope["query_string"].decode("latin-1") if scope["query_string"] else ""
        )
        if self.json:
            line = msgspec.json.encode(
                {
                    "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    "client": address,
                    "method": scope["method"],
                    "target": target,
                    "http_version": scope.get("http_version", "1.1"),
                    "status": status,
                    "bytes": size,
                    "duration_ms": round(seconds * 1000, 3),
                    "referer": headers.get(b"referer", b"").decode("latin-1"),
                    "user_agent": headers.get(b"user-agent", b"").decode("latin-1"),
                }
            )
        else:
            stamp = time.strftime("%d/%b/%Y:%H:%M:%S %z")
            request = f"{scope['method']} {target} HTTP/{scope.get('http_version', '1.1')}"
            referer = headers.get(b"referer", b"").decode("latin-1")
            agent = headers.get(b"user-agent", b"").decode("latin-1")
            line = (
                f'{address} - - [{stamp}] "{_escape(request)}" {status} {size or "-"} '
                f'"{_escape(referer)}" "{_escape(agent)}"'
            ).encode()
        self.stream.write(line + b"\n")
        self.stream.flush()


def _escape(text: str) -> str:
    """Quotes and control characters from the client must not forge log lines or fields."""
    return text.encode("unicode_escape").decode("ascii").replace('"', '\\"')

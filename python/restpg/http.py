"""The response every stage hands back to the ASGI layer: a status, raw header pairs and body bytes."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["JSON_UTF8", "Headers", "Response"]

Headers = list[tuple[bytes, bytes]]

JSON_UTF8 = b"application/json; charset=utf-8"


@dataclass(slots=True)
class Response:
    status: int
    headers: Headers = field(default_factory=list)
    body: bytes = b""


def override(headers: Headers, extra: Headers) -> Headers:
    """``headers`` with every header named in ``extra`` replaced by ``extra``'s values (repeats kept)."""
    if not extra:
        return headers
    names = {name for name, _ in extra}
    return [pair for pair in headers if pair[0] not in names] + extra

"""The response every stage hands back to the interface layer: a status, header pairs and body bytes.

Header names are lowercase ``str`` and values ``str`` holding the wire bytes as latin-1 characters: what
Granian's RSGI takes as is, and what the ASGI adapter turns back into bytes with ``encode("latin-1")``. Values
that may hold other text (a Location path, a header set by a function) go through ``wire``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["JSON_UTF8", "Headers", "Response", "override", "wire"]

Headers = list[tuple[str, str]]

JSON_UTF8 = "application/json; charset=utf-8"


@dataclass(slots=True)
class Response:
    status: int
    headers: Headers = field(default_factory=list)
    body: bytes = b""


def wire(text: str) -> str:
    """``text`` as a header value: its UTF-8 bytes, one latin-1 character each (ASCII stays as it is)."""
    return text if text.isascii() else text.encode().decode("latin-1")


def override(headers: Headers, extra: Headers) -> Headers:
    """``headers`` with every header named in ``extra`` replaced by ``extra``'s values (repeats kept)."""
    if not extra:
        return headers
    names = {name for name, _ in extra}
    return [pair for pair in headers if pair[0] not in names] + extra

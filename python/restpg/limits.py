"""Request size limits, checked before any parsing: clear 4xx errors instead of unbounded work or memory.

PostgREST leaves these to the reverse proxy in front of it; restpg checks them itself so that a server
reachable without one still bounds what a single request can cost. Each limit is a restpg config key:

=========================  =======  ======================================================================
key                        default  error
=========================  =======  ======================================================================
``restpg-max-url-bytes``    32 KiB  414 ``RESTPG414``: path plus query string (long ``in.(…)`` lists fit)
``restpg-max-header-bytes`` 64 KiB  431 ``RESTPG431``: the request headers, names and values together
``restpg-max-body-bytes``   64 MiB  413 ``RESTPG413``: the body, by ``Content-Length`` or as it streams in
=========================  =======  ======================================================================

A limit of 0 turns the check off. The codes are restpg's own (PostgREST has no equivalent); the body has
PostgREST's error shape so clients handle it like any other error. Nesting depth (``select`` embeds, logic
trees, JSON bodies) is bounded by the core's parser, which answers 400 ``PGRST100``/``PGRST102``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from restpg import errors
from restpg.http import Response

__all__ = ["BodyTooLarge", "Limits", "read_asgi_body", "read_rsgi_body"]

Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]

DEFAULT_MAX_URL_BYTES = 32 * 1024
DEFAULT_MAX_HEADER_BYTES = 64 * 1024
DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024


class BodyTooLarge(Exception):
    """The body grew past ``restpg-max-body-bytes`` while it was being read."""


@dataclass(frozen=True, slots=True)
class Limits:
    max_url_bytes: int = DEFAULT_MAX_URL_BYTES
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    def check_url(self, path: str, query_string: str) -> Response | None:
        """``path`` percent-encoded as sent: one character per byte."""
        limit = self.max_url_bytes
        if limit and len(path) + len(query_string) > limit:
            return errors.pgrst(
                414,
                "RESTPG414",
                "URI Too Long",
                f"The request URL is longer than {limit} bytes.",
                "Send fewer filters, or raise restpg-max-url-bytes.",
            )
        return None

    def check_header_bytes(self, size: int) -> Response | None:
        """``size``: the headers' names and values added up (the caller already walks them once)."""
        limit = self.max_header_bytes
        if limit and size > limit:
            return errors.pgrst(
                431,
                "RESTPG431",
                "Request Header Fields Too Large",
                f"The request headers are longer than {limit} bytes in total.",
                "Send smaller headers, or raise restpg-max-header-bytes.",
            )
        return None

    def check_content_length(self, content_length: str | None) -> Response | None:
        """Refuse a declared oversized body before reading any of it."""
        limit = self.max_body_bytes
        if limit and content_length is not None and content_length.isdigit() and int(content_length) > limit:
            return self.body_too_large()
        return None

    def body_too_large(self) -> Response:
        return errors.pgrst(
            413,
            "RESTPG413",
            "Payload Too Large",
            f"The request body is larger than {self.max_body_bytes} bytes.",
            "Send the rows in smaller batches, or raise restpg-max-body-bytes.",
        )


async def read_asgi_body(receive: Receive, limit: int) -> bytes | None:
    """The whole ASGI request body, or None when the client disconnected before sending all of it; raises
    ``BodyTooLarge`` as soon as it exceeds ``limit`` (0: no limit)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if limit and size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body"):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def read_rsgi_body(protocol: Any, limit: int, content_length: str | None) -> bytes | None:
    """The whole RSGI request body, or None when the client disconnected before sending all of it; raises
    ``BodyTooLarge`` as soon as it exceeds ``limit`` (0: no limit).

    A body with a ``Content-Length`` (already checked against the limit) is read in one call: the server
    never delivers more than the declared length. Only a chunked body is counted as it streams in."""
    try:
        if not limit or content_length is not None:
            body: bytes = await protocol()
            return body
        chunks: list[bytes] = []
        size = 0
        async for chunk in protocol:
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge
            chunks.append(chunk)
        return b"".join(chunks)
    except RuntimeError:  # RSGIProtocolClosed / RSGIProtocolError: the client is gone
        return None

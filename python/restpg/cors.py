"""CORS, as PostgREST answers it (its CorsSpec), with the Neon Data API's origin allowlist.

Only requests carrying `Origin` get CORS headers. A preflight is answered without a token and
without touching the database. `allowed_origins` empty or None means any origin (`*`); otherwise an
origin is echoed only on an exact match, and a foreign origin gets no CORS header at all, which is
how a browser learns it is refused.

Requested headers are echoed back, so whatever a client library adds (`apikey` and `x-client-info`
from supabase-js, `X-Neon-Client-Info` from neon-js, `Prefer`, `Range`, ...) is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from restpg.http import Headers

ALLOW_METHODS = "GET, POST, PATCH, PUT, DELETE, OPTIONS, HEAD"
MAX_AGE = "86400"
EXPOSE_HEADERS = (
    "Content-Encoding, Content-Location, Content-Range, Content-Type, "
    "Date, Location, Server, Transfer-Encoding, Range-Unit"
)
_ALWAYS_ALLOWED_FIRST = ("Authorization",)
_ALWAYS_ALLOWED_LAST = ("Accept", "Accept-Language", "Content-Language")
# RFC 9110 field-name token: anything else is dropped rather than reflected into a response header
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def allow_origin(origin: str, allowed_origins: Sequence[str] | None) -> str | None:
    """The `Access-Control-Allow-Origin` value for `origin`, or None when it is not allowed."""
    if not allowed_origins:
        return "*"
    if origin in allowed_origins:
        return origin  # as it arrived: a header value already
    return None


def preflight_headers(
    origin: str,
    request_method: str | None,
    request_headers: str | None,
    allowed_origins: Sequence[str] | None,
) -> Headers | None:
    """Headers for an `OPTIONS` preflight; None when this is not one (no
    `Access-Control-Request-Method`): then it is a plain OPTIONS and gets `response_headers`.
    An origin that is not allowed gets an empty list."""
    if request_method is None:
        return None
    value = allow_origin(origin, allowed_origins)
    if value is None:
        return []
    headers = [
        ("access-control-allow-origin", value),
        ("access-control-allow-credentials", "true"),
        ("access-control-allow-methods", ALLOW_METHODS),
        ("access-control-allow-headers", _allow_headers(request_headers)),
        ("access-control-max-age", MAX_AGE),
    ]
    if value != "*":
        headers.append(("vary", "Origin"))
    return headers


def response_headers(origin: str, allowed_origins: Sequence[str] | None) -> Headers:
    """Headers for any other response to a request with `Origin`."""
    value = allow_origin(origin, allowed_origins)
    if value is None:
        return []
    headers = [
        ("access-control-allow-origin", value),
        ("access-control-expose-headers", EXPOSE_HEADERS),
    ]
    if value != "*":
        headers.append(("vary", "Origin"))
    return headers


def _allow_headers(request_headers: str | None) -> str:
    names = list(_ALWAYS_ALLOWED_FIRST)
    seen = {name.lower() for name in (*_ALWAYS_ALLOWED_FIRST, *_ALWAYS_ALLOWED_LAST)}
    for item in (request_headers or "").split(","):
        name = item.strip()
        if name and _TOKEN.fullmatch(name) and name.lower() not in seen:
            seen.add(name.lower())
            names.append(name)
    names.extend(_ALWAYS_ALLOWED_LAST)
    return ", ".join(names)

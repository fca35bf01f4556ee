"""The response stage: status, ``Content-Range`` and headers from the prepared request and its result row.

The body bytes PostgreSQL built are passed through untouched. What may still change here is decided by the
numbers in the row (page size, total) and by the ``response.headers``/``response.status`` GUCs a function,
trigger or pre-request hook set during the transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

import msgspec

from restpg import errors
from restpg.db.execute import Outcome
from restpg.http import Headers, Response, override, wire

if TYPE_CHECKING:
    from restpg._core import Prepared

__all__ = ["build"]

_GUC_HEADERS_MESSAGE = (
    "response.headers guc must be a JSON array composed of objects with a single key and a string value"
)
_GUC_STATUS_MESSAGE = "response.status guc must be a valid status code"
_RANGED = frozenset(("read", "call"))
_NO_CONTENT_RANGE = frozenset(("root", "options", "upsert"))
_VARY = "Accept, Prefer, Range"


def build(prepared: Prepared, outcome: Outcome, *, content_profile: str | None = None) -> Response:
    """The HTTP response for a request whose transaction succeeded."""
    if prepared.explain:
        return plan(prepared, outcome, content_profile)
    total = outcome.total if outcome.total is not None else outcome.planned_total
    if prepared.singular and outcome.page_total != 1:
        return singular_error(outcome.page_total)

    status = write_status(prepared, outcome)
    if prepared.kind in _RANGED:
        first = prepared.offset
        last = first + outcome.page_total - 1
        if total is not None and first > total:
            error = errors.pgrst(
                416,
                "PGRST103",
                "Requested range not satisfiable",
                f"An offset of {first} was requested, but there are only {total} rows.",
            )
            error.headers.append(("content-range", f"*/{total}"))
            return error
        if status == 200 and total is not None and outcome.page_total < total:
            status = 206
    elif prepared.kind == "update":
        first, last = 0, outcome.page_total - 1
    else:  # create, upsert and delete report only the total
        first, last = 1, 0

    headers: Headers = []
    if prepared.content_type is not None and status != 204:
        headers.append(("content-type", prepared.content_type))
    # PostgREST sends no Content-Range for PUT.
    if prepared.kind not in _NO_CONTENT_RANGE:
        headers.append(("content-range", content_range(first, last, total)))
    if outcome.location is not None:
        location = location_header(outcome.location)
        if location is not None:
            headers.append(("location", location))
    if prepared.headers:  # the core's own (Preference-Applied, Content-Location, a Vary of its own, ...)
        headers += prepared.headers
    if not any(name == "vary" for name, _ in prepared.headers):
        headers.append(("vary", _VARY))
    if content_profile is not None:
        headers.append(("content-profile", content_profile))

    if outcome.response_headers is not None:
        extra = guc_headers(outcome.response_headers)
        if extra is None:
            return errors.pgrst(500, "PGRST111", _GUC_HEADERS_MESSAGE)
        headers = override(headers, extra)
    if outcome.response_status is not None:
        guc_status = guc_status_code(outcome.response_status)
        if guc_status is None:
            return errors.pgrst(500, "PGRST112", _GUC_STATUS_MESSAGE)
        status = guc_status

    body = b"" if prepared.head or outcome.body is None else outcome.body
    return Response(status, headers, body)


def plan(prepared: Prepared, outcome: Outcome, content_profile: str | None) -> Response:
    """A plan request's answer, as PostgREST gives it: 200, the EXPLAIN output untouched, and only the
    content headers (no range, no preferences, no ``response.*`` GUCs: nothing of the action ran for it)."""
    headers: Headers = [("content-type", prepared.content_type or ""), *prepared.headers, ("vary", _VARY)]
    if content_profile is not None:
        headers.append(("content-profile", content_profile))
    return Response(200, headers, b"" if prepared.head else outcome.body or b"")


def write_status(prepared: Prepared, outcome: Outcome) -> int:
    """The status once the result is known: an upsert that inserted nothing is 200 (POST with
    ``merge-duplicates``); a PUT with a representation is 201 when it inserted."""
    status = prepared.status
    if outcome.inserted is None:
        return status
    if prepared.kind == "create" and outcome.inserted == 0:
        return 200
    if prepared.kind == "upsert" and status == 200 and outcome.inserted > 0:
        return 201
    return status


def location_header(raw: bytes) -> str | None:
    """``/table?k1=eq.v1&k2=is.null`` from the statement's ``[path, [[key, value], …]]``; keys and values
    encoded as in a query string (space as ``+``), the path as PostgREST sends it."""
    try:
        path, pairs = msgspec.json.decode(raw, type=tuple[str, list[tuple[str, str | None]] | None])
    except msgspec.DecodeError:
        return None
    query = "&".join(
        _query_text(key) + "=" + ("is.null" if value is None else _query_text("eq." + value))
        for key, value in pairs or []
    )
    return wire(path + ("?" + query if query else ""))


def _query_text(text: str) -> str:
    return quote(text, safe="-_.~").replace("%20", "+")


def singular_error(page_total: int) -> Response:
    return errors.pgrst(
        406,
        "PGRST116",
        "Cannot coerce the result to a single JSON object",
        f"The result contains {page_total} rows",
    )


def content_range(first: int, last: int, total: int | None) -> str:
    """``first-last/total``; ``*`` for an empty range (or a zero total), ``*`` for an unknown total."""
    shown = "*" if total == 0 or first > last else f"{first}-{last}"
    return f"{shown}/{'*' if total is None else total}"


def guc_headers(raw: bytes) -> Headers | None:
    """Parse ``response.headers``: a JSON array of single-key objects with string values; None when invalid."""
    try:
        items = msgspec.json.decode(raw, type=list[dict[str, str]])
    except msgspec.DecodeError:
        return None
    headers: Headers = []
    for item in items:
        if len(item) != 1:
            return None
        ((name, value),) = item.items()
        headers.append((wire(name.lower()), wire(value)))
    return headers


def guc_status_code(raw: bytes) -> int | None:
    """Parse ``response.status``: an integer HTTP status; None when invalid."""
    text = raw.strip()
    if not text.isdigit():
        return None
    status = int(text)
    return status if 100 <= status <= 599 else None

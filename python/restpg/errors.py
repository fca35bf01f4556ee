"""Error responses in PostgREST's shape, from every source of failure.

Every error body is ``{"code","message","details","hint"}`` with all four keys present, sent with
``Content-Type: application/json; charset=utf-8`` and ``Proxy-Status: PostgREST; error=<code>`` (the exact value clients of PostgREST see); a 401 carries
``WWW-Authenticate``. Only what PostgreSQL reports in the error's code/message/detail/hint fields reaches the
client, never connection strings, SQL text or Python internals.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import msgspec

from restpg.db.sqlstate import http_status
from restpg.http import JSON_UTF8, Headers, Response, override, wire

__all__ = [
    "PgError",
    "from_api_error",
    "from_auth_error",
    "from_pg_error",
    "pgrst",
]


class _CoreError(Protocol):
    """What ``_core.ApiError`` offers (kept structural so this module imports without the compiled core)."""

    @property
    def status(self) -> int: ...
    @property
    def code(self) -> str: ...
    def body(self) -> bytes: ...


class _AuthError(Protocol):
    """What ``restpg.auth.AuthError`` offers."""

    @property
    def status(self) -> int: ...
    @property
    def code(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def details(self) -> object: ...
    @property
    def hint(self) -> object: ...
    @property
    def headers(self) -> list[tuple[str, str]]: ...


@dataclass(frozen=True, slots=True)
class PgError:
    """The client-visible fields of a PostgreSQL error result."""

    sqlstate: str
    message: str
    details: str | None = None
    hint: str | None = None


def _encode(code: str, message: str, details: object, hint: object) -> bytes:
    return msgspec.json.encode({"code": code, "message": message, "details": details, "hint": hint})


def _headers(code: str, status: int) -> Headers:
    headers = [("content-type", JSON_UTF8), ("proxy-status", "PostgREST; error=" + wire(code))]
    if status == 401:
        headers.append(("www-authenticate", "Bearer"))
    return headers


def pgrst(status: int, code: str, message: str, details: object = None, hint: object = None) -> Response:
    """An error restpg raises itself (PGRST000, PGRST003, PGRST103, PGRST111, …)."""
    return Response(status, _headers(code, status), _encode(code, message, details, hint))


def from_api_error(error: _CoreError) -> Response:
    """A parse/plan error from the core: its body is already encoded."""
    return Response(error.status, _headers(error.code, error.status), error.body())


def from_auth_error(error: _AuthError) -> Response:
    """A JWT error: the authenticator supplies the exact ``WWW-Authenticate`` challenge when there is one."""
    headers = [("content-type", JSON_UTF8), ("proxy-status", "PostgREST; error=" + wire(error.code))]
    extra = [(name.lower(), wire(value)) for name, value in error.headers]
    if error.status == 401 and not any(name == "www-authenticate" for name, _ in extra):
        extra.append(("www-authenticate", "Bearer"))
    body = _encode(error.code, error.message, error.details, error.hint)
    return Response(error.status, headers + extra, body)


def from_pg_error(error: PgError, *, authenticated: bool, applied: str | None = None) -> Response:
    """A PostgreSQL error, mapped by SQLSTATE; ``RAISE SQLSTATE 'PGRST'`` gives the function full control.

    ``applied`` is the request's ``Preference-Applied``: a failed check (singular, ``max-affected``) is
    the answer to those preferences and reports them, as PostgREST does; other errors do not."""
    if error.sqlstate == "PGRST":
        return _raised(error)
    if error.sqlstate == _CHECK_SQLSTATE:
        failed = _failed_check(error.message)
        if failed is not None:
            if applied:
                failed.headers.append(("preference-applied", applied))
            return failed
    status = http_status(error.sqlstate, error.message, authenticated=authenticated)
    body = _encode(error.sqlstate, error.message, error.details, error.hint)
    return Response(status, _headers(error.sqlstate, status), body)


# A write checks its own result inside its statement and, when the check fails, casts a marker text
# `restpg-check:<code>:<rows>` to integer (see the Rust core's `query::mutate`): the statement fails, PostgreSQL
# skips the COMMIT queued behind it, and the marker is turned back into PostgREST's error here. The marker
# sits in the quoted part of the message, which PostgreSQL does not translate.
_CHECK_SQLSTATE = "22P02"
_CHECK_MARKER = re.compile(r'"restpg-check:(PGRST1\d\d):(\d+)"')


def _failed_check(message: str) -> Response | None:
    match = _CHECK_MARKER.search(message)
    if match is None:
        return None
    code, rows = match.group(1), match.group(2)
    if code == "PGRST116":
        return pgrst(
            406, code, "Cannot coerce the result to a single JSON object", f"The result contains {rows} rows"
        )
    if code == "PGRST124":
        return pgrst(
            400,
            code,
            "Query result exceeds max-affected preference constraint",
            f"The query affects {rows} rows",
        )
    if code == "PGRST115":
        return pgrst(400, code, "Payload values do not match URL in primary key column(s)")
    return None


_MESSAGE_HINT = "MESSAGE must be a JSON object with obligatory keys: 'code', 'message' and optional keys: 'details', 'hint'."
_DETAIL_HINT = (
    "DETAIL must be a JSON object with obligatory keys: 'status', 'headers' and optional key: 'status_text'."
)
_RAISE_PARSE = "Could not parse JSON in the \"RAISE SQLSTATE 'PGRST'\" error"


class _RaisedBody(msgspec.Struct, forbid_unknown_fields=False):
    code: str
    message: str
    details: str | None = None
    hint: str | None = None


class _RaisedEnvelope(msgspec.Struct, forbid_unknown_fields=False):
    status: int
    headers: dict[str, str]
    status_text: str | None = None


def _raised(error: PgError) -> Response:
    """``RAISE SQLSTATE 'PGRST' USING MESSAGE = '<body json>', DETAIL = '<status/headers json>'``."""
    try:
        body = msgspec.json.decode(error.message, type=_RaisedBody)
    except msgspec.DecodeError:
        details = f"Invalid JSON value for MESSAGE: '{error.message}'"
        return pgrst(500, "PGRST121", _RAISE_PARSE, details, _MESSAGE_HINT)
    if error.details is None:
        return pgrst(500, "PGRST121", _RAISE_PARSE, "DETAIL is missing in the RAISE statement", _DETAIL_HINT)
    try:
        envelope = msgspec.json.decode(error.details, type=_RaisedEnvelope)
    except msgspec.DecodeError:
        details = f"Invalid JSON value for DETAIL: '{error.details}'"
        return pgrst(500, "PGRST121", _RAISE_PARSE, details, _DETAIL_HINT)
    # A reason phrase (status_text) cannot travel over ASGI; the status code does.
    headers = override(_headers(body.code, 0), _header_pairs(envelope.headers))
    return Response(envelope.status, headers, _encode(body.code, body.message, body.details, body.hint))


def _header_pairs(headers: Mapping[str, str]) -> Headers:
    return [(wire(name.lower()), wire(value)) for name, value in headers.items()]

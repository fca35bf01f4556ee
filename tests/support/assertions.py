"""Assertions shaped like PostgREST's wire contract."""

from __future__ import annotations

from typing import Any

import httpx

JSON_CT = "application/json; charset=utf-8"


def assert_json(response: httpx.Response, expected: Any, *, status: int = 200) -> None:
    """Status, JSON content type and body (parsed: key order ignored, array order significant)."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"] == JSON_CT
    assert response.json() == expected


def ids(response: httpx.Response, *, status: int = 200) -> list[int]:
    """The ``id`` of each row, in response order."""
    assert response.status_code == status, (response.status_code, response.text)
    return [row["id"] for row in response.json()]


def assert_error(
    response: httpx.Response,
    *,
    status: int,
    code: str,
    message: str | None = None,
    details: Any = None,
    hint: Any = None,
    exact: bool = True,
) -> None:
    """A PostgREST error: status, the four body keys, JSON content type and ``Proxy-Status``.

    With ``exact=False`` only status and code are checked (and that all four keys are present): for errors
    whose message text comes from PostgreSQL and depends on the SQL restpg generates.
    """
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"] == JSON_CT
    assert response.headers.get("proxy-status") == f"PostgREST; error={code}"
    body = response.json()
    assert set(body) == {"code", "message", "details", "hint"}, body
    assert body["code"] == code, body
    if exact:
        assert body == {"code": code, "message": message, "details": details, "hint": hint}
    elif message is not None:
        assert message in body["message"], body


def assert_not_singular(response: httpx.Response, rows: int) -> None:
    """406 PGRST116: singular media (``application/vnd.pgrst.object+json``) for a result of ``rows`` rows."""
    assert_error(
        response,
        status=406,
        code="PGRST116",
        message="Cannot coerce the result to a single JSON object",
        details=f"The result contains {rows} rows",
    )

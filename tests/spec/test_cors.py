"""CORS through the server, as PostgREST's CorsSpec expects, with an origin allowlist
(`server-cors-allowed-origins`) and the headers browser clients of the Data API send."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from support import rls
from support.postgres import Database
from support.tokens import bearer, user

ALLOW_METHODS = "GET, POST, PATCH, PUT, DELETE, OPTIONS, HEAD"
EXPOSE = (
    "Content-Encoding, Content-Location, Content-Range, Content-Type, Date, Location, Server, "
    "Transfer-Encoding, Range-Unit"
)
APP = "https://app.example.com"


@pytest.fixture(scope="module")
def any_origin(database: Database) -> Iterator[httpx.Client]:
    with rls.serving(database, rls.rls_config(database)) as (_, http):
        yield http


@pytest.fixture(scope="module")
def allowlist(database: Database) -> Iterator[httpx.Client]:
    origins = f"{APP}, http://localhost:5173"
    with rls.serving(database, rls.rls_config(database, server_cors_allowed_origins=origins)) as (_, http):
        yield http


def preflight(api: httpx.Client, origin: str, headers: str) -> httpx.Response:
    return api.options(
        "/todos",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": headers,
        },
    )


def test_preflight_needs_no_token_and_echoes_the_requested_headers(any_origin: httpx.Client) -> None:
    response = preflight(any_origin, "http://example.com", "Authorization, Content-Type, Prefer, Range")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["access-control-allow-methods"] == ALLOW_METHODS
    assert response.headers["access-control-allow-headers"] == (
        "Authorization, Content-Type, Prefer, Range, Accept, Accept-Language, Content-Language"
    )
    assert response.headers["access-control-max-age"] == "86400"
    assert response.content == b""


def test_preflight_allows_the_client_libraries_headers(any_origin: httpx.Client) -> None:
    sent = "apikey, x-client-info, X-Neon-Client-Info, content-profile"
    response = preflight(any_origin, "http://example.com", sent)
    assert response.status_code == 200
    allowed = [name.strip().lower() for name in response.headers["access-control-allow-headers"].split(",")]
    for name in ("authorization", "apikey", "x-client-info", "x-neon-client-info", "content-profile"):
        assert name in allowed


def test_a_preflight_with_a_bad_token_still_succeeds(any_origin: httpx.Client) -> None:
    response = any_origin.options(
        "/todos",
        headers={
            "Origin": "http://example.com",
            "Access-Control-Request-Method": "GET",
            "Authorization": "Bearer not-a-token",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"


def test_simple_requests_expose_the_response_headers(any_origin: httpx.Client) -> None:
    response = any_origin.get("/todos", headers={"Origin": "http://example.com", **bearer(user("alice"))})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-expose-headers"] == EXPOSE
    assert len(response.json()) == 2


def test_errors_carry_cors_headers_too(any_origin: httpx.Client) -> None:
    """A browser can only read a 401's body when the error has CORS headers as well."""
    response = any_origin.get(
        "/todos", headers={"Origin": "http://example.com", "Authorization": "Bearer x.y.z"}
    )
    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == "*"


def test_no_origin_no_cors_headers(any_origin: httpx.Client) -> None:
    response = any_origin.get("/todos")
    assert not [name for name in response.headers if name.startswith("access-control-")]


def test_an_allowed_origin_is_echoed(allowlist: httpx.Client) -> None:
    response = preflight(allowlist, APP, "Authorization")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == APP
    assert "Origin" in response.headers["vary"]
    simple = allowlist.get("/todos", headers={"Origin": "http://localhost:5173"})
    assert simple.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert simple.headers["access-control-expose-headers"] == EXPOSE


def test_an_origin_not_in_the_list_gets_no_cors_headers(allowlist: httpx.Client) -> None:
    response = preflight(allowlist, "https://evil.example.net", "Authorization")
    assert "access-control-allow-origin" not in response.headers
    simple = allowlist.get("/todos", headers={"Origin": "https://evil.example.net"})
    assert simple.status_code == 200  # CORS is the browser's rule; the server still answers
    assert "access-control-allow-origin" not in simple.headers

"""OPTIONS: the ``Allow`` header from the schema cache (not from grants), as PostgREST sends it, with no
transaction; also under a Supabase-style base path."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from support.assertions import assert_error


@pytest.mark.parametrize(
    ("path", "allow"),
    [
        ("/", "OPTIONS,GET,HEAD"),
        ("/people", "OPTIONS,GET,HEAD,POST,PUT,PATCH,DELETE"),
        # An auto-updatable view whose key is inferred from its base table.
        ("/adults", "OPTIONS,GET,HEAD,POST,PUT,PATCH,DELETE"),
        # A view without a FROM clause takes no writes.
        ("/request_info", "OPTIONS,GET,HEAD"),
        ("/rpc/add", "OPTIONS,GET,HEAD,POST"),
        ("/rpc/set_response", "OPTIONS,POST"),  # VOLATILE: POST only
    ],
)
def test_allow(client: httpx.Client, path: str, allow: str) -> None:
    response = client.options(path)
    assert response.status_code == 200, response.text
    assert response.headers["allow"] == allow
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.content == b""


def test_unknown_table(client: httpx.Client) -> None:
    assert_error(
        client.options("/nope"),
        status=404,
        code="PGRST205",
        message="Could not find the table 'test.nope' in the schema cache",
        hint="Perhaps you meant the table 'test.people'",
    )


def test_unknown_function(client: httpx.Client) -> None:
    assert_error(client.options("/rpc/nope"), status=404, code="PGRST202", exact=False)


def test_profile(client: httpx.Client) -> None:
    response = client.options("/only_in_v2", headers={"Accept-Profile": "v2"})
    assert response.headers["allow"].startswith("OPTIONS,GET,HEAD")


def test_needs_no_valid_token(client: httpx.Client) -> None:
    # PostgREST answers OPTIONS from the schema cache, before authentication.
    response = client.options("/people", headers={"Authorization": "Bearer not.a.token"})
    assert response.status_code == 200


def test_under_the_base_path(restpg_server: Any) -> None:
    server = restpg_server({"restpg-base-path": "/rest/v1"})
    with httpx.Client(base_url=server.url, timeout=10.0) as http:
        assert http.options("/rest/v1/people").headers["allow"] == "OPTIONS,GET,HEAD,POST,PUT,PATCH,DELETE"
        assert http.options("/rest/v1/").headers["allow"] == "OPTIONS,GET,HEAD"
        assert http.get("/rest/v1/items", params={"id": "eq.3"}).json() == [{"id": 3}]

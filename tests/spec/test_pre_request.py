"""db-pre-request: runs inside the request's transaction, before the main statement."""

from collections.abc import Iterator

import httpx
import pytest

from support.assertions import assert_error, assert_json
from support.fix_server import ServerFactory


@pytest.fixture(scope="module")
def pre_client(restpg_server: ServerFactory) -> Iterator[httpx.Client]:
    server = restpg_server({"db-pre-request": "test.check_request"})
    with httpx.Client(base_url=server.url, timeout=10.0) as http:
        yield http


def test_pre_request_sets_response_headers_on_reads(pre_client: httpx.Client) -> None:
    response = pre_client.get("/items?id=eq.1")
    assert_json(response, [{"id": 1}])
    assert response.headers["x-pre-request"] == "ran"


def test_pre_request_sets_response_headers_on_calls(pre_client: httpx.Client) -> None:
    response = pre_client.post("/rpc/add", json={"a": 1})
    assert_json(response, 11)
    assert response.headers["x-pre-request"] == "ran"


def test_a_function_may_override_the_pre_request_headers(pre_client: httpx.Client) -> None:
    # Both set `response.headers`; the function runs later, so its value is the one read.
    response = pre_client.post("/rpc/accepted")
    assert response.status_code == 202
    assert response.headers["x-queue"] == "low"


def test_pre_request_that_raises_rejects_the_request(pre_client: httpx.Client) -> None:
    assert_error(
        pre_client.get("/items", headers={"X-Block": "1"}),
        status=401,
        code="PT401",
        message="Blocked by the pre-request",
    )


def test_pre_request_rejection_stops_the_call(pre_client: httpx.Client) -> None:
    # A volatile write would have succeeded; the pre-request error comes first and nothing runs.
    response = pre_client.post("/rpc/add_item", json={"new_id": 200}, headers={"X-Block": "1"})
    assert response.status_code == 401
    assert response.json()["code"] == "PT401"


def test_pre_request_is_not_configured_by_default(client: httpx.Client) -> None:
    response = client.get("/items?id=eq.1")
    assert "x-pre-request" not in response.headers

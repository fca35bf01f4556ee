"""The request's transaction: its isolation level (read committed, else the role's, else the called
function's, as PostgREST) and its access mode, whether restpg sends it with BEGIN or, for a read at the
connection's default level, as one implicit transaction up to the pipeline's sync."""

from collections.abc import Iterator

import httpx
import pytest

from support.assertions import assert_json
from support.fix_server import ServerFactory
from support.tokens import SECRET, bearer, hs256


@pytest.fixture(scope="module")
def http(restpg_server: ServerFactory) -> Iterator[httpx.Client]:
    server = restpg_server({"jwt-secret": SECRET})
    with httpx.Client(base_url=server.url, timeout=10.0) as client:
        yield client


CAREFUL = bearer(hs256({"role": "restpg_test_careful"}))


def test_a_read_is_one_read_only_transaction_at_read_committed(http: httpx.Client) -> None:
    response = http.get("/rpc/iso_report")
    # request.method was set by the statement before the call: both ran in the same transaction.
    assert_json(response, {"isolation": "read committed", "read_only": "on", "method": "GET"})


def test_a_write_is_read_write_at_read_committed(http: httpx.Client) -> None:
    response = http.post("/rpc/iso_report_write", json={})
    assert_json(response, {"isolation": "read committed", "read_only": "off", "method": "POST"})


def test_a_stable_function_called_by_post_is_read_only(http: httpx.Client) -> None:
    response = http.post("/rpc/iso_report", json={})
    assert_json(response, {"isolation": "read committed", "read_only": "on", "method": "POST"})


def test_the_role_setting_picks_the_level(http: httpx.Client) -> None:
    response = http.get("/rpc/iso_report", headers=CAREFUL)
    assert_json(response, {"isolation": "repeatable read", "read_only": "on", "method": "GET"})
    response = http.post("/rpc/iso_report_write", json={}, headers=CAREFUL)
    assert_json(response, {"isolation": "repeatable read", "read_only": "off", "method": "POST"})


def test_the_function_setting_wins_over_the_role(http: httpx.Client) -> None:
    for headers in ({}, CAREFUL):
        response = http.get("/rpc/iso_report_serializable", headers=headers)
        assert_json(response, {"isolation": "serializable", "read_only": "on", "method": "GET"})


def test_a_read_cannot_write_and_leaves_the_connection_clean(http: httpx.Client) -> None:
    response = http.get("/rpc/iso_count")
    assert response.status_code == 405, response.text
    assert response.json()["code"] == "25006"
    assert_json(http.post("/rpc/iso_count", json={}), 1)
    # The default server has a pool of a few connections: each serves the next reads as before.
    for _ in range(8):
        report = http.get("/rpc/iso_report")
        assert_json(report, {"isolation": "read committed", "read_only": "on", "method": "GET"})
        assert http.get("/items?id=eq.1&select=id").json() == [{"id": 1}]


def test_a_rolled_back_read_still_answers(http: httpx.Client) -> None:
    response = http.get("/rpc/iso_report", headers={"Prefer": "tx=rollback"})
    assert_json(response, {"isolation": "read committed", "read_only": "on", "method": "GET"})

"""RPC: computed relationships on table rows a function returns, repeated form keys for VARIADIC
parameters, hoisted function settings."""

from collections.abc import Iterator

import httpx
import pytest

from support.assertions import assert_json
from support.fix_server import ServerFactory

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_computed_relationship_on_function_rows(client: httpx.Client) -> None:
    response = client.get("/rpc/gap_albums_before?year=1966&select=title,best_track(title)&order=id")
    assert_json(
        response,
        [
            {"title": "Pastel Blues", "best_track": {"title": "Sinnerman"}},
            {"title": "Kind of Blue", "best_track": {"title": "So What"}},
        ],
    )


def test_computed_relationship_filters_and_inner(client: httpx.Client) -> None:
    response = client.post(
        "/rpc/gap_albums_before?select=id,best_track!inner(seconds)&best_track.seconds=gt.600",
        json={"year": 2000},
    )
    assert_json(response, [{"id": 1, "best_track": {"seconds": 620}}])


def test_repeated_form_keys_feed_the_variadic_parameter(client: httpx.Client) -> None:
    response = client.post("/rpc/total", content="nums=1&nums=2&nums=39", headers=FORM)
    assert_json(response, 42)


def test_repeated_form_key_of_a_plain_parameter_keeps_the_last(client: httpx.Client) -> None:
    response = client.post("/rpc/add", content="a=1&a=5&b=2", headers=FORM)
    assert_json(response, 7)


@pytest.fixture(scope="module")
def hoisting(restpg_server: ServerFactory) -> Iterator[httpx.Client]:
    server = restpg_server({"db-pre-request": "test.gap_report_settings"})
    with httpx.Client(base_url=server.url) as client:
        yield client


@pytest.fixture(scope="module")
def not_hoisting(restpg_server: ServerFactory) -> Iterator[httpx.Client]:
    server = restpg_server(
        {
            "db-pre-request": "test.gap_report_settings",
            "db-hoisted-tx-settings": "default_transaction_isolation",
        }
    )
    with httpx.Client(base_url=server.url) as client:
        yield client


def test_listed_function_settings_are_hoisted(hoisting: httpx.Client) -> None:
    response = hoisting.get("/rpc/gap_hoisted")
    assert_json(response, "ok")
    assert response.headers["x-statement-timeout"] == "4s"
    # search_path is not in db-hoisted-tx-settings: the request's own stays.
    assert response.headers["x-search-path"] == '"test", "public"'


def test_settings_not_listed_are_not_hoisted(not_hoisting: httpx.Client) -> None:
    response = not_hoisting.get("/rpc/gap_hoisted")
    assert_json(response, "ok")
    assert response.headers["x-statement-timeout"] == "0"


def test_reads_hoist_nothing(hoisting: httpx.Client) -> None:
    response = hoisting.get("/items?id=eq.1")
    assert response.status_code == 200, response.text
    assert response.headers["x-statement-timeout"] == "0"

"""Content negotiation: JSON, the singular object, CSV, stripped nulls, and 406 for the rest."""

import httpx
import pytest

from support.assertions import JSON_CT, assert_error, assert_json, assert_not_singular

OBJECT_CT = "application/vnd.pgrst.object+json; charset=utf-8"
CSV_CT = "text/csv; charset=utf-8"


@pytest.mark.parametrize(
    "accept",
    [
        "application/json",
        "*/*",
        "application/json; charset=utf-8",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "text/unknowntype, application/json",
    ],
)
def test_json(client: httpx.Client, accept: str) -> None:
    assert_json(client.get("/items?id=eq.1", headers={"Accept": accept}), [{"id": 1}])


@pytest.mark.parametrize("accept", ["application/vnd.pgrst.object+json", "application/vnd.pgrst.object"])
def test_singular_object(client: httpx.Client, accept: str) -> None:
    response = client.get("/people?select=id,name&id=eq.2", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"] == OBJECT_CT
    assert response.json() == {"id": 2, "name": "Bob"}


@pytest.mark.parametrize(("query", "rows"), [("id=eq.999", 0), ("id=lt.4", 3)])
def test_singular_object_needs_exactly_one_row(client: httpx.Client, query: str, rows: int) -> None:
    response = client.get(f"/items?{query}", headers={"Accept": "application/vnd.pgrst.object+json"})
    assert_not_singular(response, rows)


def test_csv(client: httpx.Client) -> None:
    response = client.get("/playing_with_neon?id=lt.3&order=id", headers={"Accept": "text/csv"})
    assert response.status_code == 200
    assert response.headers["content-type"] == CSV_CT
    assert response.text == "id,name,value\n1,c4ca4238a0,0.12\n2,c81e728d9d,0.94"


def test_csv_nulls_are_empty(client: httpx.Client) -> None:
    response = client.get("/people?select=id,nickname&id=in.(1,2)&order=id", headers={"Accept": "text/csv"})
    assert response.text == "id,nickname\n1,countess\n2,"


def test_csv_preferred_by_order_and_quality(client: httpx.Client) -> None:
    for accept in ("text/csv, application/json", "application/json;q=0.5, text/csv", "text/csv; version=1"):
        response = client.get("/items?id=eq.1", headers={"Accept": accept})
        assert response.headers["content-type"] == CSV_CT, accept
        assert response.text == "id\n1"
    response = client.get("/items?id=eq.1", headers={"Accept": "text/csv;q=0.5, application/json"})
    assert response.headers["content-type"] == JSON_CT


@pytest.mark.parametrize(
    "accept",
    ["application/vnd.pgrst.array+json;nulls=stripped", "application/vnd.pgrst.array;nulls=stripped"],
)
def test_stripped_nulls(client: httpx.Client, accept: str) -> None:
    response = client.get("/people?select=id,nickname,age&id=in.(2,3)&order=id", headers={"Accept": accept})
    assert response.status_code == 200
    assert (
        response.headers["content-type"] == "application/vnd.pgrst.array+json;nulls=stripped; charset=utf-8"
    )
    assert response.json() == [{"id": 2, "age": 17}, {"id": 3, "nickname": "clo", "age": 29}]


def test_stripped_nulls_singular(client: httpx.Client) -> None:
    response = client.get(
        "/people?select=id,nickname&id=eq.4",
        headers={"Accept": "application/vnd.pgrst.object+json;nulls=stripped"},
    )
    assert response.status_code == 200
    assert (
        response.headers["content-type"] == "application/vnd.pgrst.object+json;nulls=stripped; charset=utf-8"
    )
    assert response.json() == {"id": 4}


def test_no_acceptable_media_type(client: httpx.Client) -> None:
    assert_error(
        client.get("/items", headers={"Accept": "text/unknowntype"}),
        status=406,
        code="PGRST107",
        message="None of these media types are available: text/unknowntype",
    )


def test_openapi_media_type_on_a_table(client: httpx.Client) -> None:
    response = client.get("/items", headers={"Accept": "application/openapi+json"})
    assert response.status_code == 406


def test_application_wildcard_is_not_json(client: httpx.Client) -> None:
    # PostgREST only knows `*/*` as a wildcard; `application/*` is an unknown type.
    assert_error(
        client.get("/items", headers={"Accept": "application/*"}),
        status=406,
        code="PGRST107",
        message="None of these media types are available: application/*",
    )

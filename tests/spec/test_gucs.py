"""Transaction-local settings: request.* visible to SQL, response.* honoured by the server."""

import httpx

from support.assertions import JSON_CT


def test_request_method_path_and_headers(client: httpx.Client) -> None:
    response = client.get("/request_info", headers={"X-Echo": "hello", "Accept": "application/json"})
    assert response.status_code == 200
    info = response.json()[0]
    assert info["method"] == "GET"
    assert info["path"] == "/request_info"
    # Header names are lower-cased in request.headers.
    assert info["echo"] == "hello"
    assert info["accept"] == "application/json"


def test_request_runs_as_the_anonymous_role(client: httpx.Client) -> None:
    assert client.get("/request_info").json()[0]["role"] == "restpg_test_anon"


def test_head_method_is_visible(client: httpx.Client) -> None:
    # HEAD runs the same statement; the method GUC says HEAD (checked through a filter on the view).
    response = client.head("/request_info?method=eq.HEAD", headers={"Prefer": "count=exact"})
    assert response.status_code == 200
    assert response.headers["content-range"] == "0-0/1"


def test_response_status_and_headers(client: httpx.Client) -> None:
    response = client.get("/teapot")
    assert response.status_code == 418
    assert response.headers["x-brewed"] == "earl grey"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"] == JSON_CT
    assert response.json() == [{"id": 1, "brewed": True}]


def test_response_headers_may_repeat(client: httpx.Client) -> None:
    response = client.get("/custom_headers")
    assert response.status_code == 200
    assert response.headers["x-custom"] == "one"
    assert response.headers.get_list("set-cookie") == ["a=1", "b=2"]


def test_settings_do_not_leak_into_the_next_request(client: httpx.Client) -> None:
    assert client.get("/teapot").status_code == 418
    response = client.get("/items?id=eq.1")
    assert response.status_code == 200
    assert "x-brewed" not in response.headers

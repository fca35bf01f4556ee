"""Multiple exposed schemas: Accept-Profile selects one for reads, Content-Profile is echoed."""

import httpx

from support.assertions import assert_error, assert_json

HINT = "Only the following schemas are exposed: test, v2"


def test_default_profile_is_the_first_schema(client: httpx.Client) -> None:
    response = client.get("/items?id=eq.1")
    assert_json(response, [{"id": 1}])
    # With more than one exposed schema the response always names the one it used.
    assert response.headers["content-profile"] == "test"


def test_accept_profile_selects_the_schema(client: httpx.Client) -> None:
    response = client.get("/items?order=id", headers={"Accept-Profile": "v2"})
    assert_json(response, [{"id": 1, "label": "v2 first"}, {"id": 2, "label": "v2 second"}])
    assert response.headers["content-profile"] == "v2"


def test_explicit_default_profile(client: httpx.Client) -> None:
    response = client.get("/items?id=eq.2", headers={"Accept-Profile": "test"})
    assert_json(response, [{"id": 2}])
    assert response.headers["content-profile"] == "test"


def test_table_only_in_the_other_schema(client: httpx.Client) -> None:
    assert_json(client.get("/only_in_v2", headers={"Accept-Profile": "v2"}), [{"id": 1}])
    assert_error(
        client.get("/only_in_v2"),
        status=404,
        code="PGRST205",
        message="Could not find the table 'test.only_in_v2' in the schema cache",
        exact=False,
    )
    assert_error(
        client.get("/people", headers={"Accept-Profile": "v2"}),
        status=404,
        code="PGRST205",
        message="Could not find the table 'v2.people' in the schema cache",
        exact=False,
    )


def test_unknown_profile(client: httpx.Client) -> None:
    assert_error(
        client.get("/items", headers={"Accept-Profile": "unknown"}),
        status=406,
        code="PGRST106",
        message="Invalid schema: unknown",
        hint=HINT,
    )


def test_unexposed_schema_is_an_unknown_profile(client: httpx.Client) -> None:
    assert_error(
        client.get("/secrets", headers={"Accept-Profile": "private"}),
        status=406,
        code="PGRST106",
        message="Invalid schema: private",
        hint=HINT,
    )


def test_head_uses_accept_profile(client: httpx.Client) -> None:
    response = client.head("/items", headers={"Accept-Profile": "v2"})
    assert response.status_code == 200
    assert response.headers["content-range"] == "0-1/*"
    assert response.headers["content-profile"] == "v2"


def test_search_path_is_the_selected_schema(client: httpx.Client) -> None:
    path = client.get("/request_info").json()[0]["search_path"]
    assert path.replace('"', "").split(",")[0].strip() == "test"


def test_writes_pick_their_schema_with_content_profile(client: httpx.Client) -> None:
    # The v2 row is written to v2.items (rolled back by the test server), and the answer names that schema.
    response = client.post(
        "/items",
        json={"id": 3, "label": "v2 third"},
        headers={"Content-Profile": "v2", "Prefer": "return=representation"},
    )
    assert response.status_code == 201, response.text
    assert response.headers["content-profile"] == "v2"
    assert response.json() == [{"id": 3, "label": "v2 third"}]


def test_writes_to_an_unexposed_schema_are_406(client: httpx.Client) -> None:
    response = client.patch("/items?id=eq.1", json={"label": "x"}, headers={"Content-Profile": "private"})
    assert response.status_code == 406
    assert response.json()["code"] == "PGRST106"

"""Windows PostgREST refuses or ignores: limit=0 with an offset (at the top level only), the Range header
outside GET, an embed's negative limit or offset (PostgreSQL refuses them)."""

import httpx

from support.assertions import assert_error


def test_limit_zero_with_an_offset_is_not_satisfiable(client: httpx.Client) -> None:
    # Only limit=0 alone asks for an empty page; with an offset the window is empty (offset..offset-1).
    for path in ("/items?limit=0&offset=5", "/rpc/int_series?n=3&limit=0&offset=1"):
        assert_error(
            client.get(path),
            status=416,
            code="PGRST103",
            message="Requested range not satisfiable",
            details="Limit should be greater than or equal to zero.",
        )


def test_an_embedded_limit_zero_with_an_offset_is_an_empty_embed(client: httpx.Client) -> None:
    # PostgREST checks only the top level's window; an embed's limit=0 goes to SQL as LIMIT 0.
    whole = client.get("/albums?select=id,tracks(title)&id=eq.2")
    assert whole.status_code == 200, whole.text
    assert whole.json()[0]["tracks"], "the album needs tracks for the empty embed to mean something"
    response = client.get("/albums?select=id,tracks(title)&tracks.limit=0&tracks.offset=5&id=eq.2")
    assert response.status_code == 200, response.text
    assert response.json() == [{"id": 2, "tracks": []}]


def test_an_embedded_negative_window_is_refused_by_postgresql(client: httpx.Client) -> None:
    # PostgREST checks only the top level's window and sends an embed's as `LIMIT … OFFSET …`: PostgreSQL
    # refuses a negative one when it reads the embed, OFFSET first.
    for window, code, message in [
        ("tracks.limit=-2", "2201W", "LIMIT must not be negative"),
        ("tracks.offset=-1", "2201X", "OFFSET must not be negative"),
        ("tracks.limit=-2&tracks.offset=-1", "2201X", "OFFSET must not be negative"),
        ("tracks.limit=0&tracks.offset=-5", "2201X", "OFFSET must not be negative"),
    ]:
        assert_error(
            client.get(f"/albums?select=id,tracks(title)&id=eq.2&{window}"),
            status=400,
            code=code,
            message=message,
        )
    # No album: the embed is never read, nothing to refuse.
    response = client.get("/albums?select=id,tracks(title)&id=eq.-1&tracks.limit=-2")
    assert response.status_code == 200, response.text
    assert response.json() == []


def test_limit_zero_with_offset_zero_is_an_empty_page(client: httpx.Client) -> None:
    response = client.get("/items?limit=0&offset=0")
    assert response.status_code == 200, response.text
    assert response.json() == []
    assert response.headers["content-range"] == "*/*"


def test_head_ignores_the_range_header(client: httpx.Client) -> None:
    # RFC 9110: only GET honours Range; PostgREST ignores it for every other method.
    response = client.head("/items?order=id", headers={"Range": "0-1"})
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-range"] == "0-14/*"


def test_head_ignores_a_reversed_range_header(client: httpx.Client) -> None:
    response = client.head("/items", headers={"Range": "5-1"})
    assert response.status_code == 200
    assert response.headers["content-range"] == "0-14/*"


def test_head_honours_limit_and_offset(client: httpx.Client) -> None:
    response = client.head("/items?order=id&limit=3&offset=2", headers={"Range": "0-0"})
    assert response.status_code == 200
    assert response.headers["content-range"] == "2-4/*"

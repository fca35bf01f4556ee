"""GET on tables and views: the whole table, simple filters, always-on headers, HEAD."""

import httpx

from support.assertions import JSON_CT, assert_json, ids

NEON_ROWS = [
    {"id": 1, "name": "c4ca4238a0", "value": 0.12},
    {"id": 2, "name": "c81e728d9d", "value": 0.94},
    {"id": 3, "name": "eccbc87e4b", "value": 0.37},
    {"id": 4, "name": "a87ff679a2", "value": 0.5},
    {"id": 5, "name": "e4da3b7fbb", "value": 0.73},
    {"id": 6, "name": "1679091c5a", "value": 0.05},
    {"id": 7, "name": "8f14e45fce", "value": 0.61},
    {"id": 8, "name": "c9f0f895fb", "value": 0.28},
    {"id": 9, "name": "45c48cce2e", "value": 0.99},
    {"id": 10, "name": "d3d9446802", "value": 0.44},
]


def test_get_whole_table(client: httpx.Client) -> None:
    response = client.get("/playing_with_neon")
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON_CT
    assert sorted(response.json(), key=lambda row: row["id"]) == NEON_ROWS
    assert response.headers["content-range"] == "0-9/*"


def test_filter_gte(client: httpx.Client) -> None:
    response = client.get("/playing_with_neon?value=gte.0.5&order=id")
    assert_json(response, [row for row in NEON_ROWS if row["value"] >= 0.5])
    assert ids(response) == [2, 4, 5, 7, 9]
    assert response.headers["content-range"] == "0-4/*"


def test_filter_eq_by_primary_key(client: httpx.Client) -> None:
    assert_json(client.get("/playing_with_neon?id=eq.3"), [NEON_ROWS[2]])


def test_no_match_is_an_empty_array(client: httpx.Client) -> None:
    response = client.get("/playing_with_neon?id=eq.999")
    assert_json(response, [])
    assert response.headers["content-range"] == "*/*"


def test_empty_table(client: httpx.Client) -> None:
    response = client.get("/empty_table")
    assert_json(response, [])
    assert response.headers["content-range"] == "*/*"


def test_view(client: httpx.Client) -> None:
    assert_json(
        client.get("/adults?order=id"),
        [
            {"id": 1, "name": "Ada", "age": 36},
            {"id": 3, "name": "Chloé", "age": 29},
            {"id": 4, "name": "Dmitri", "age": 52},
            {"id": 6, "name": "Ünal", "age": 41},
        ],
    )


def test_unicode_table_and_column_names(client: httpx.Client) -> None:
    response = client.get("/%C3%A9t%C3%A9?order=id")
    assert_json(
        response,
        [
            {"id": 1, "température": 31.5, "名前": "soleil"},
            {"id": 2, "température": 18, "名前": "nuage"},
        ],
    )


def test_types_render_as_postgres_to_json(client: httpx.Client) -> None:
    assert_json(
        client.get("/people?id=eq.1"),
        [
            {
                "id": 1,
                "name": "Ada",
                "age": 36,
                "height": 1.65,
                "active": True,
                "nickname": "countess",
                "born": "1815-12-10",
                "last_seen": "2024-01-15T10:00:00+00:00",
                "mood": "happy",
                "tags": ["math", "poetry"],
                "scores": [90, 85],
                "data": {"city": "London", "langs": ["en", "fr"], "stats": {"height": 165, "rank": 1}},
                "meta": {"source": "archive", "score": 9},
            }
        ],
    )
    bookings = client.get("/bookings?id=eq.1").json()
    assert bookings == [{"id": 1, "seats": "[1,5)", "stay": "[2024-01-01,2024-01-05)"}]


def test_nulls_are_json_null(client: httpx.Client) -> None:
    row = client.get("/people?id=eq.4").json()[0]
    assert row["height"] is None
    assert row["active"] is None
    assert row["scores"] is None
    assert row["tags"] == []


def test_always_on_headers(client: httpx.Client) -> None:
    response = client.get("/items?id=eq.1")
    assert response.headers["content-location"] == "/items?id=eq.1"
    assert response.headers["vary"] == "Accept, Prefer, Range"
    assert int(response.headers["content-length"]) == len(response.content)
    assert client.get("/items").headers["content-location"] == "/items"


def test_head_has_headers_and_no_body(client: httpx.Client) -> None:
    response = client.head("/items")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-type"] == JSON_CT
    assert response.headers["content-range"] == "0-14/*"
    assert "content-length" not in response.headers


def test_path_names_are_case_sensitive(client: httpx.Client) -> None:
    assert client.get("/Items").status_code == 404

"""POST on tables and views: single and bulk JSON, columns=, CSV and form bodies, return=, missing=default,
counts, select= with embeds, singular media, and constraint errors mapped as PostgREST maps them."""

import httpx

from support.assertions import JSON_CT, assert_error, assert_json, assert_not_singular

REPRESENTATION = {"Prefer": "return=representation"}


def test_single_object_is_201_without_body(client: httpx.Client) -> None:
    response = client.post("/write_items", json={"id": 10, "name": "ten"})
    assert response.status_code == 201, response.text
    assert response.content == b""
    assert "content-type" not in response.headers
    assert response.headers["content-range"] == "*/*"
    assert "location" not in response.headers
    assert "content-location" not in response.headers


def test_representation(client: httpx.Client) -> None:
    response = client.post("/write_items", json={"id": 10, "name": "ten", "qty": 5}, headers=REPRESENTATION)
    assert_json(response, [{"id": 10, "name": "ten", "qty": 5, "note": None}], status=201)
    assert response.headers["preference-applied"] == "return=representation"


def test_bulk_representation_with_select_and_embed(client: httpx.Client) -> None:
    response = client.post(
        "/write_parts?select=id,label,item:write_items(name)",
        json=[{"id": 10, "item_id": 1, "label": "a"}, {"id": 11, "item_id": 2, "label": "b"}],
        headers=REPRESENTATION,
    )
    assert_json(
        response,
        [
            {"id": 10, "label": "a", "item": {"name": "one"}},
            {"id": 11, "label": "b", "item": {"name": "two"}},
        ],
        status=201,
    )


def test_count_exact(client: httpx.Client) -> None:
    response = client.post(
        "/write_items", json=[{"name": "a"}, {"name": "b"}], headers={"Prefer": "count=exact"}
    )
    assert response.status_code == 201
    assert response.headers["content-range"] == "*/2"
    assert response.headers["preference-applied"] == "count=exact"


def test_empty_array_inserts_nothing(client: httpx.Client) -> None:
    response = client.post("/write_items", json=[], headers={"Prefer": "return=representation, count=exact"})
    assert_json(response, [], status=201)
    assert response.headers["content-range"] == "*/0"


def test_empty_object_inserts_an_all_default_row(client: httpx.Client) -> None:
    response = client.post("/write_no_pk", json={}, headers=REPRESENTATION)
    assert_json(response, [{"a": None, "b": None}], status=201)


def test_missing_keys_are_null_by_default(client: httpx.Client) -> None:
    response = client.post(
        "/write_items?columns=id,name,note",
        json=[{"id": 20, "name": "a", "note": "n"}, {"id": 21, "name": "b"}],
        headers=REPRESENTATION,
    )
    assert response.status_code == 201, response.text
    assert [row["note"] for row in response.json()] == ["n", None]


def test_missing_default_uses_column_defaults(client: httpx.Client) -> None:
    response = client.post(
        "/write_items?columns=id,name,qty",
        json=[{"name": "a"}, {"id": 30, "name": "b", "qty": 9}],
        headers={"Prefer": "return=representation, missing=default"},
    )
    assert response.status_code == 201, response.text
    rows = response.json()
    assert rows[0]["id"] > 100 and rows[0]["qty"] == 1
    assert rows[1] == {"id": 30, "name": "b", "qty": 9, "note": None}
    assert response.headers["preference-applied"] == "missing=default, return=representation"


def test_columns_ignores_other_keys(client: httpx.Client) -> None:
    response = client.post(
        "/write_items?columns=id,name",
        json={"id": 40, "name": "x", "qty": 50, "whatever": 1},
        headers=REPRESENTATION,
    )
    assert_json(response, [{"id": 40, "name": "x", "qty": 1, "note": None}], status=201)


def test_unknown_column(client: httpx.Client) -> None:
    assert_error(
        client.post("/write_items", json={"name": "x", "nope": 1}),
        status=400,
        code="PGRST204",
        message="Could not find the 'nope' column of 'write_items' in the schema cache",
    )
    assert_error(
        client.post("/write_items?columns=name,nope", json={"name": "x"}),
        status=400,
        code="PGRST204",
        message="Could not find the 'nope' column of 'write_items' in the schema cache",
    )


def test_invalid_and_mismatched_json(client: httpx.Client) -> None:
    for body in (b"", b"{", b'{"a": 1}x'):
        assert_error(
            client.post("/write_items", content=body, headers={"Content-Type": "application/json"}),
            status=400,
            code="PGRST102",
            message="Empty or invalid json",
        )
    assert_error(
        client.post("/write_items", json=[{"name": "a"}, {"name": "b", "qty": 2}]),
        status=400,
        code="PGRST102",
        message="All object keys must match",
    )


def test_csv_body(client: httpx.Client) -> None:
    response = client.post(
        "/write_items",
        content=b'id,name,note\n50,"a, b",NULL\n51,c,\n',
        headers={"Content-Type": "text/csv", "Prefer": "return=representation"},
    )
    assert_json(
        response,
        [
            {"id": 50, "name": "a, b", "qty": 1, "note": None},
            {"id": 51, "name": "c", "qty": 1, "note": ""},
        ],
        status=201,
    )


def test_csv_response(client: httpx.Client) -> None:
    response = client.post(
        "/write_items?select=id,name",
        json={"id": 52, "name": "x"},
        headers={"Accept": "text/csv", "Prefer": "return=representation"},
    )
    assert response.status_code == 201
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.text == "id,name\n52,x"


def test_form_body(client: httpx.Client) -> None:
    response = client.post(
        "/write_items",
        content=b"id=53&name=form+value&qty=4",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Prefer": "return=representation"},
    )
    assert_json(response, [{"id": 53, "name": "form value", "qty": 4, "note": None}], status=201)


def test_headers_only_location(client: httpx.Client) -> None:
    response = client.post("/write_items", json={"name": "x"}, headers={"Prefer": "return=headers-only"})
    assert response.status_code == 201
    assert response.content == b""
    assert response.headers["location"].startswith("/write_items?id=eq.")
    assert response.headers["preference-applied"] == "return=headers-only"


def test_headers_only_compound_key_is_encoded(client: httpx.Client) -> None:
    response = client.post(
        "/write_pairs", json={"k1": 7, "k2": "a b&c", "v": "x"}, headers={"Prefer": "return=headers-only"}
    )
    assert response.status_code == 201
    assert response.headers["location"] == "/write_pairs?k1=eq.7&k2=eq.a+b%26c"


def test_headers_only_without_key_or_with_many_rows(client: httpx.Client) -> None:
    response = client.post("/write_no_pk", json={"a": 1}, headers={"Prefer": "return=headers-only"})
    assert response.status_code == 201
    assert "location" not in response.headers
    response = client.post(
        "/write_items", json=[{"name": "a"}, {"name": "b"}], headers={"Prefer": "return=headers-only"}
    )
    assert response.status_code == 201
    assert "location" not in response.headers


def test_singular_one_row(client: httpx.Client) -> None:
    response = client.post(
        "/write_items",
        json={"id": 60, "name": "x"},
        headers={"Accept": "application/vnd.pgrst.object+json", "Prefer": "return=representation"},
    )
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/vnd.pgrst.object+json; charset=utf-8"
    assert response.json() == {"id": 60, "name": "x", "qty": 1, "note": None}


def test_singular_many_rows_writes_nothing(client: httpx.Client) -> None:
    response = client.post(
        "/write_bulk",
        json=[{"id": 1}, {"id": 2}],
        headers={"Accept": "application/vnd.pgrst.object+json", "Prefer": "tx=commit"},
    )
    assert_not_singular(response, 2)
    assert_json(client.get("/write_bulk"), [])


def test_through_an_updatable_view(client: httpx.Client) -> None:
    response = client.post("/write_items_view", json={"id": 70, "name": "v"}, headers=REPRESENTATION)
    assert_json(response, [{"id": 70, "name": "v", "qty": 1}], status=201)


def test_unique_violation_is_409(client: httpx.Client) -> None:
    response = client.post("/write_items", json={"id": 1, "name": "dup"})
    assert_error(response, status=409, code="23505", exact=False, message="duplicate key value")
    assert response.json()["details"] == "Key (id)=(1) already exists."


def test_foreign_key_violation_is_409(client: httpx.Client) -> None:
    response = client.post("/write_parts", json={"id": 99, "item_id": 999})
    assert_error(response, status=409, code="23503", exact=False)


def test_not_null_and_check_violations_are_400(client: httpx.Client) -> None:
    assert_error(client.post("/write_items", json={"id": 80}), status=400, code="23502", exact=False)
    response = client.post("/write_items", json={"name": "x", "qty": -1})
    assert_error(response, status=400, code="23514", exact=False, message="write_items_qty_check")


def test_permission_denied_is_401_for_anonymous(client: httpx.Client) -> None:
    response = client.post("/write_locked", json={"id": 1})
    assert_error(response, status=401, code="42501", exact=False, message="permission denied")


def test_bad_value_is_a_postgres_error(client: httpx.Client) -> None:
    response = client.post("/write_items", json={"name": "x", "qty": "many"})
    assert_error(response, status=400, code="22P02", exact=False)


def test_json_content_type_of_errors(client: httpx.Client) -> None:
    response = client.post("/write_items", json={"id": 1, "name": "dup"})
    assert response.headers["content-type"] == JSON_CT

"""POST with Prefer: resolution=merge-duplicates|ignore-duplicates and on_conflict=."""

import httpx

from support.assertions import assert_error, assert_json

MERGE = {"Prefer": "resolution=merge-duplicates, return=representation"}
IGNORE = {"Prefer": "resolution=ignore-duplicates, return=representation"}


def test_merge_updates_existing_and_inserts_new(client: httpx.Client) -> None:
    response = client.post(
        "/write_items?order=id", json=[{"id": 1, "name": "uno"}, {"id": 90, "name": "ninety"}], headers=MERGE
    )
    assert_json(
        response,
        [
            {"id": 1, "name": "uno", "qty": 1, "note": None},
            {"id": 90, "name": "ninety", "qty": 1, "note": None},
        ],
        status=201,
    )
    assert response.headers["preference-applied"] == "resolution=merge-duplicates, return=representation"


def test_merge_of_only_existing_rows_is_200(client: httpx.Client) -> None:
    response = client.post(
        "/write_items", json=[{"id": 1, "name": "uno"}, {"id": 2, "name": "dos"}], headers=MERGE
    )
    assert response.status_code == 200, response.text
    assert {row["name"] for row in response.json()} == {"uno", "dos"}
    minimal = client.post(
        "/write_items", json={"id": 1, "name": "uno"}, headers={"Prefer": "resolution=merge-duplicates"}
    )
    assert minimal.status_code == 200
    assert minimal.content == b""


def test_merge_with_empty_array(client: httpx.Client) -> None:
    assert_json(client.post("/write_items", json=[], headers=MERGE), [], status=200)


def test_ignore_keeps_existing_rows(client: httpx.Client) -> None:
    response = client.post(
        "/write_items", json=[{"id": 1, "name": "uno"}, {"id": 91, "name": "new"}], headers=IGNORE
    )
    assert_json(response, [{"id": 91, "name": "new", "qty": 1, "note": None}], status=201)
    assert_json(client.get("/write_items?id=eq.1&select=name"), [{"name": "one"}])


def test_on_conflict_unique_column(client: httpx.Client) -> None:
    response = client.post(
        "/write_codes?on_conflict=code&select=code,label",
        json=[{"code": "x", "label": "changed"}, {"code": "y", "label": "new"}],
        headers=MERGE,
    )
    assert_json(response, [{"code": "x", "label": "changed"}, {"code": "y", "label": "new"}], status=201)


def test_on_conflict_without_unique_constraint(client: httpx.Client) -> None:
    response = client.post("/write_codes?on_conflict=label", json={"code": "z", "label": "ex"}, headers=MERGE)
    assert_error(response, status=400, code="42P10", exact=False)


def test_compound_key(client: httpx.Client) -> None:
    response = client.post("/write_pairs", json={"k1": 1, "k2": "a", "v": "second"}, headers=MERGE)
    assert_json(response, [{"k1": 1, "k2": "a", "v": "second"}], status=200)


def test_missing_default_with_surrogate_key(client: httpx.Client) -> None:
    response = client.post(
        "/write_items?columns=id,name",
        json=[{"id": 1, "name": "uno"}, {"name": "fresh"}],
        headers={"Prefer": "resolution=merge-duplicates, missing=default, return=representation"},
    )
    assert response.status_code == 201, response.text
    rows = sorted(response.json(), key=lambda r: r["id"])
    assert rows[0]["name"] == "uno" and rows[1]["id"] > 100


def test_resolution_without_key_is_ignored(client: httpx.Client) -> None:
    response = client.post("/write_no_pk", json={"a": 1}, headers={"Prefer": "resolution=merge-duplicates"})
    assert response.status_code == 201
    assert "preference-applied" not in response.headers


def test_upsert_through_a_view(client: httpx.Client) -> None:
    response = client.post("/write_items_view", json=[{"id": 1, "name": "via view"}], headers=MERGE)
    assert response.status_code in (200, 201), response.text
    assert response.json() == [{"id": 1, "name": "via view", "qty": 1}]

"""Writes: RETURNING only what the response needs, upsert status on views, filters naming embeds,
defaults from domains and identity columns."""

import httpx

from support.assertions import assert_error, assert_json

REPRESENTATION = {"Prefer": "return=representation"}
MERGE = {"Prefer": "resolution=merge-duplicates, return=representation"}


# A role with column-level SELECT grants (no `secret`) writes and reads back what it may see.


def test_insert_representation_with_column_grants(client: httpx.Client) -> None:
    response = client.post(
        "/gap_accounts?select=id,name", json={"id": 2, "name": "second"}, headers=REPRESENTATION
    )
    assert_json(response, [{"id": 2, "name": "second"}], status=201)


def test_insert_representation_with_an_embed_and_column_grants(client: httpx.Client) -> None:
    # The embed's join column (owner_id) and the key are returned without being selected.
    response = client.post(
        "/gap_accounts?select=name,gap_owners(name)",
        json={"id": 3, "name": "third", "owner_id": 2},
        headers=REPRESENTATION,
    )
    assert_json(response, [{"name": "third", "gap_owners": {"name": "bob"}}], status=201)


def test_headers_only_location_with_column_grants(client: httpx.Client) -> None:
    response = client.post(
        "/gap_accounts", json={"id": 4, "name": "fourth"}, headers={"Prefer": "return=headers-only"}
    )
    assert response.status_code == 201, response.text
    assert response.headers["location"] == "/gap_accounts?id=eq.4"


def test_update_and_delete_representation_with_column_grants(client: httpx.Client) -> None:
    updated = client.patch(
        "/gap_accounts?id=eq.1&select=id,name", json={"name": "renamed"}, headers=REPRESENTATION
    )
    assert_json(updated, [{"id": 1, "name": "renamed"}])
    deleted = client.delete("/gap_accounts?id=eq.1&select=name", headers=REPRESENTATION)
    assert_json(deleted, [{"name": "first"}])


def test_upsert_status_with_column_grants(client: httpx.Client) -> None:
    existing = client.post("/gap_accounts?select=id,name", json={"id": 1, "name": "again"}, headers=MERGE)
    assert_json(existing, [{"id": 1, "name": "again"}], status=200)
    new = client.post(
        "/gap_accounts?select=id", json=[{"id": 1, "name": "a"}, {"id": 5, "name": "b"}], headers=MERGE
    )
    assert_json(new, [{"id": 1}, {"id": 5}], status=201)


def test_selecting_a_column_without_grant_is_refused(client: httpx.Client) -> None:
    response = client.post(
        "/gap_accounts?select=id,secret", json={"id": 6, "name": "x"}, headers=REPRESENTATION
    )
    assert_error(response, status=401, code="42501", exact=False)


# Upserts through a view: no `xmax` there, PostgREST's inserted-row counter still tells.


def test_view_upsert_of_existing_rows_is_200(client: httpx.Client) -> None:
    response = client.post(
        "/write_items_view?select=id,name", json=[{"id": 1, "name": "via view"}], headers=MERGE
    )
    assert_json(response, [{"id": 1, "name": "via view"}], status=200)


def test_view_upsert_inserting_a_row_is_201(client: httpx.Client) -> None:
    response = client.post(
        "/write_items_view?select=id,name&order=id",
        json=[{"id": 1, "name": "via view"}, {"id": 77, "name": "new"}],
        headers=MERGE,
    )
    assert_json(response, [{"id": 1, "name": "via view"}, {"id": 77, "name": "new"}], status=201)


def test_view_put(client: httpx.Client) -> None:
    updated = client.put(
        "/write_items_view?id=eq.1", json={"id": 1, "name": "put", "qty": 5}, headers=REPRESENTATION
    )
    assert_json(updated, [{"id": 1, "name": "put", "qty": 5}], status=200)
    inserted = client.put(
        "/write_items_view?id=eq.78", json={"id": 78, "name": "put", "qty": 5}, headers=REPRESENTATION
    )
    assert_json(inserted, [{"id": 78, "name": "put", "qty": 5}], status=201)


# Filters of a write name columns: `rel=is.null` is a column that does not exist, as in PostgREST.


def test_patch_filtered_by_an_embed_is_an_unknown_column(client: httpx.Client) -> None:
    response = client.patch(
        "/write_items?select=id,write_parts(id)&write_parts=is.null",
        json={"note": "x"},
        headers=REPRESENTATION,
    )
    assert_error(
        response,
        status=400,
        code="42703",
        message="column write_items.write_parts does not exist",
        exact=False,
    )
    assert response.json()["message"] == "column write_items.write_parts does not exist"


def test_delete_filtered_by_an_embed_in_a_logic_tree(client: httpx.Client) -> None:
    response = client.delete("/write_items?select=id,write_parts(id)&or=(write_parts.not.is.null,id.eq.3)")
    assert_error(response, status=400, code="42703", exact=False)
    assert response.json()["message"] == "column write_items.write_parts does not exist"


def test_inner_embed_filters_only_the_representation(client: httpx.Client) -> None:
    # Every row is updated; the representation keeps the rows with parts (items 1 and 2).
    response = client.patch(
        "/write_items?select=id,note,write_parts!inner(id)&write_parts.order=id",
        json={"note": "patched"},
        headers={"Prefer": "return=representation, count=exact"},
    )
    assert response.status_code == 200, response.text
    rows = sorted(response.json(), key=lambda r: r["id"])
    assert rows == [
        {"id": 1, "note": "patched", "write_parts": [{"id": 1}, {"id": 2}]},
        {"id": 2, "note": "patched", "write_parts": [{"id": 3}]},
    ]
    assert response.headers["content-range"].endswith("/3")


# missing=default: the column's DEFAULT, else its domain's, else an identity column's sequence.


def test_missing_default_takes_domain_defaults(client: httpx.Client) -> None:
    response = client.post(
        "/gap_defaults?columns=label,overridden,note&select=label,overridden,note&order=note",
        json=[{"note": "a"}, {"label": "given", "overridden": None, "note": "b"}],
        headers={"Prefer": "missing=default, return=representation"},
    )
    assert_json(
        response,
        [
            {"label": "from-domain", "overridden": "from-column", "note": "a"},
            {"label": "given", "overridden": None, "note": "b"},
        ],
        status=201,
    )


def test_missing_default_takes_identity_values(client: httpx.Client) -> None:
    response = client.post(
        "/gap_defaults?columns=id,note&select=id,label",
        json=[{"note": "c"}],
        headers={"Prefer": "missing=default, return=representation"},
    )
    assert response.status_code == 201, response.text
    [row] = response.json()
    assert isinstance(row["id"], int)
    assert row["label"] == "from-domain"


def test_without_missing_default_absent_keys_are_null(client: httpx.Client) -> None:
    response = client.post(
        "/gap_defaults?columns=label,note&select=label,note", json=[{"note": "d"}], headers=REPRESENTATION
    )
    assert_json(response, [{"label": None, "note": "d"}], status=201)

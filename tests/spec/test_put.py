"""PUT /table?pk=eq.x: a single-row upsert with PostgREST's checks."""

import httpx

from support.assertions import assert_error, assert_json

REPRESENTATION = {"Prefer": "return=representation"}
PK_FILTERS = "Filters must include all and only primary key columns with 'eq' operators"


def test_put_inserts_201_and_updates_200(client: httpx.Client) -> None:
    response = client.put("/write_items?id=eq.95", json={"id": 95, "name": "new"}, headers=REPRESENTATION)
    assert_json(response, [{"id": 95, "name": "new", "qty": 1, "note": None}], status=201)
    assert "content-range" not in response.headers
    response = client.put("/write_items?id=eq.1", json={"id": 1, "name": "put"}, headers=REPRESENTATION)
    assert_json(response, [{"id": 1, "name": "put", "qty": 1, "note": None}], status=200)


def test_put_default_is_204(client: httpx.Client) -> None:
    response = client.put("/write_items?id=eq.1", json={"id": 1, "name": "put"})
    assert response.status_code == 204
    assert response.content == b""


def test_put_compound_key(client: httpx.Client) -> None:
    response = client.put(
        "/write_pairs?k1=eq.1&k2=eq.a", json={"k1": 1, "k2": "a", "v": "replaced"}, headers=REPRESENTATION
    )
    assert_json(response, [{"k1": 1, "k2": "a", "v": "replaced"}], status=200)


def test_put_singular(client: httpx.Client) -> None:
    response = client.put(
        "/write_items?id=eq.96",
        json={"id": 96, "name": "one"},
        headers={"Accept": "application/vnd.pgrst.object+json", **REPRESENTATION},
    )
    assert response.status_code == 201
    assert response.json() == {"id": 96, "name": "one", "qty": 1, "note": None}


def test_filters_must_be_the_primary_key(client: httpx.Client) -> None:
    for query in ("name=eq.x", "id=gt.1", "id=eq.1&name=eq.x", "", "id=not.eq.1", "id=eq.1&or=(id.eq.2)"):
        assert_error(
            client.put(f"/write_items?{query}", json={"id": 1, "name": "x"}),
            status=405,
            code="PGRST105",
            message=PK_FILTERS,
        )
    assert_error(
        client.put("/write_pairs?k1=eq.1", json={"k1": 1, "k2": "a"}),
        status=405,
        code="PGRST105",
        message=PK_FILTERS,
    )
    assert_error(
        client.put("/write_no_pk?a=eq.1", json={"a": 1}), status=405, code="PGRST105", message=PK_FILTERS
    )


def test_payload_must_match_url(client: httpx.Client) -> None:
    for body in ({"id": 2, "name": "x"}, {"name": "x"}):
        assert_error(
            client.put("/write_items?id=eq.1", json=body, headers={"Prefer": "tx=commit"}),
            status=400,
            code="PGRST115",
            message="Payload values do not match URL in primary key column(s)",
        )
    assert_json(
        client.get("/write_items?id=in.(1,2)&select=name&order=id"), [{"name": "one"}, {"name": "two"}]
    )


def test_limit_is_not_allowed(client: httpx.Client) -> None:
    assert_error(
        client.put("/write_items?id=eq.1&limit=1", json={"id": 1, "name": "x"}),
        status=400,
        code="PGRST114",
        message="limit/offset querystring parameters are not allowed for PUT",
    )


def test_unknown_column(client: httpx.Client) -> None:
    assert_error(
        client.put("/write_items?id=eq.1", json={"id": 1, "bogus": 1}),
        status=400,
        code="PGRST204",
        message="Could not find the 'bogus' column of 'write_items' in the schema cache",
    )

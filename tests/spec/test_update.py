"""PATCH with filters and logic trees: 204 or the representation, Content-Range, missing=default,
max-affected with handling=strict, singular media."""

import httpx

from support.assertions import assert_error, assert_json, assert_not_singular

REPRESENTATION = {"Prefer": "return=representation"}


def test_patch_is_204_with_range(client: httpx.Client) -> None:
    response = client.patch("/write_items?id=lt.3", json={"note": "n"})
    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["content-range"] == "0-1/*"
    assert "content-type" not in response.headers


def test_patch_nothing_matched(client: httpx.Client) -> None:
    response = client.patch("/write_items?id=eq.999", json={"note": "n"})
    assert response.status_code == 204
    assert response.headers["content-range"] == "*/*"


def test_patch_representation_with_count(client: httpx.Client) -> None:
    response = client.patch(
        "/write_items?id=in.(1,2)&order=id&select=id,note",
        json={"note": "changed"},
        headers={"Prefer": "return=representation, count=exact"},
    )
    assert_json(response, [{"id": 1, "note": "changed"}, {"id": 2, "note": "changed"}])
    assert response.headers["content-range"] == "0-1/2"
    assert response.headers["preference-applied"] == "return=representation, count=exact"


def test_patch_with_logic_tree(client: httpx.Client) -> None:
    response = client.patch(
        "/write_items?or=(id.eq.1,and(qty.gte.3,name.like.th*))&order=id&select=id",
        json={"note": "x"},
        headers=REPRESENTATION,
    )
    assert_json(response, [{"id": 1}, {"id": 3}])


def test_patch_representation_with_embed(client: httpx.Client) -> None:
    response = client.patch(
        "/write_items?id=eq.1&select=name,write_parts(label)",
        json={"name": "uno"},
        headers=REPRESENTATION,
    )
    assert response.status_code == 200
    row = response.json()[0]
    assert row["name"] == "uno"
    assert sorted(p["label"] for p in row["write_parts"]) == ["bolt", "nut"]


def test_patch_empty_body_is_a_no_op(client: httpx.Client) -> None:
    for body in ({}, [], [{}]):
        response = client.patch("/write_items?id=eq.1", json=body)
        assert response.status_code == 204
    assert_json(client.patch("/write_items?id=eq.1", json={}, headers=REPRESENTATION), [])


def test_patch_missing_default(client: httpx.Client) -> None:
    response = client.patch(
        "/write_items?id=eq.3&columns=qty,note&select=qty,note",
        json={"note": "reset"},
        headers={"Prefer": "return=representation, missing=default"},
    )
    assert_json(response, [{"qty": 1, "note": "reset"}])


def test_patch_singular(client: httpx.Client) -> None:
    headers = {"Accept": "application/vnd.pgrst.object+json", "Prefer": "return=representation"}
    response = client.patch("/write_items?id=eq.1&select=id,note", json={"note": "s"}, headers=headers)
    assert response.status_code == 200
    assert response.json() == {"id": 1, "note": "s"}


def test_patch_singular_many_rows_is_rolled_back(client: httpx.Client) -> None:
    headers = {"Accept": "application/vnd.pgrst.object+json", "Prefer": "tx=commit"}
    response = client.patch("/write_items", json={"note": "everywhere"}, headers=headers)
    assert_not_singular(response, 3)
    assert response.headers["preference-applied"] == "tx=commit"  # as PostgREST's SingularSpec
    assert_json(client.get("/write_items?note=not.is.null"), [])


def test_max_affected_strict_rolls_back(client: httpx.Client) -> None:
    response = client.patch(
        "/write_items?id=gt.0",
        json={"note": "too many"},
        headers={"Prefer": "handling=strict, max-affected=2, tx=commit"},
    )
    assert_error(
        response,
        status=400,
        code="PGRST124",
        message="Query result exceeds max-affected preference constraint",
        details="The query affects 3 rows",
    )
    assert_json(client.get("/write_items?note=not.is.null"), [])


def test_max_affected_within_limit(client: httpx.Client) -> None:
    response = client.patch(
        "/write_items?id=lt.3", json={"note": "ok"}, headers={"Prefer": "handling=strict, max-affected=2"}
    )
    assert response.status_code == 204
    assert response.headers["preference-applied"] == "handling=strict, max-affected=2"


def test_max_affected_lenient_is_ignored(client: httpx.Client) -> None:
    response = client.patch("/write_items?id=gt.0", json={"note": "x"}, headers={"Prefer": "max-affected=1"})
    assert response.status_code == 204
    assert "preference-applied" not in response.headers


def test_patch_through_a_view(client: httpx.Client) -> None:
    response = client.patch("/write_items_view?id=eq.2", json={"name": "deux"}, headers=REPRESENTATION)
    assert_json(response, [{"id": 2, "name": "deux", "qty": 2}])


def test_patch_unknown_column(client: httpx.Client) -> None:
    assert_error(
        client.patch("/write_items?id=eq.1", json={"nope": 1}),
        status=400,
        code="PGRST204",
        message="Could not find the 'nope' column of 'write_items' in the schema cache",
    )


def test_patch_check_violation(client: httpx.Client) -> None:
    response = client.patch("/write_items?id=eq.1", json={"qty": -5})
    assert_error(response, status=400, code="23514", exact=False)

"""DELETE with filters: 204 or the deleted rows, counts, singular, max-affected, foreign keys."""

import httpx

from support.assertions import assert_error, assert_json, assert_not_singular

REPRESENTATION = {"Prefer": "return=representation"}


def test_delete_is_204(client: httpx.Client) -> None:
    response = client.delete("/write_parts?id=eq.3")
    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["content-range"] == "*/*"


def test_delete_count(client: httpx.Client) -> None:
    response = client.delete("/write_parts?item_id=eq.1", headers={"Prefer": "count=exact"})
    assert response.status_code == 204
    assert response.headers["content-range"] == "*/2"


def test_delete_representation_with_parent_embed(client: httpx.Client) -> None:
    response = client.delete(
        "/write_parts?item_id=eq.1&order=id&select=label,write_items(name)", headers=REPRESENTATION
    )
    assert_json(
        response,
        [{"label": "bolt", "write_items": {"name": "one"}}, {"label": "nut", "write_items": {"name": "one"}}],
    )


def test_delete_with_logic_tree(client: httpx.Client) -> None:
    response = client.delete(
        "/write_parts?or=(label.eq.gear,id.eq.1)&select=id&order=id", headers=REPRESENTATION
    )
    assert_json(response, [{"id": 1}, {"id": 3}])


def test_delete_nothing(client: httpx.Client) -> None:
    assert_json(client.delete("/write_parts?id=eq.999", headers=REPRESENTATION), [])


def test_delete_singular(client: httpx.Client) -> None:
    headers = {"Accept": "application/vnd.pgrst.object+json", **REPRESENTATION}
    response = client.delete("/write_parts?id=eq.2&select=id,label", headers=headers)
    assert response.status_code == 200
    assert response.json() == {"id": 2, "label": "nut"}


def test_delete_singular_zero_rows(client: httpx.Client) -> None:
    headers = {"Accept": "application/vnd.pgrst.object+json"}
    assert_not_singular(client.delete("/write_parts?id=eq.999", headers=headers), 0)


def test_delete_max_affected_rolls_back(client: httpx.Client) -> None:
    assert_error(
        client.delete("/write_parts", headers={"Prefer": "handling=strict, max-affected=1, tx=commit"}),
        status=400,
        code="PGRST124",
        message="Query result exceeds max-affected preference constraint",
        details="The query affects 3 rows",
    )
    assert len(client.get("/write_parts").json()) == 3


def test_delete_referenced_row_is_409(client: httpx.Client) -> None:
    assert_error(client.delete("/write_items?id=eq.1"), status=409, code="23503", exact=False)


def test_delete_through_a_view(client: httpx.Client) -> None:
    response = client.delete("/write_items_view?id=eq.3", headers=REPRESENTATION)
    assert_json(response, [{"id": 3, "name": "three", "qty": 3}])


def test_delete_unknown_table(client: httpx.Client) -> None:
    assert_error(client.delete("/write_nothing"), status=404, code="PGRST205", exact=False)

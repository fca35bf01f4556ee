"""Calls whose result must undo their writes: `Prefer: max-affected` with `handling=strict` (PGRST124, and
PGRST128 for functions that return no set) and singular media (PGRST116), as PostgREST's MaxAffectedSpec
and SingularSpec. The failing cases commit (`tx=commit`) to show that nothing persisted."""

import httpx

from support.assertions import assert_error, assert_not_singular

STRICT = "handling=strict, max-affected="


def _quantities(client: httpx.Client) -> list[int]:
    response = client.get("/write_items?select=qty&order=id")
    assert response.status_code == 200
    return [row["qty"] for row in response.json()]


def test_more_rows_than_allowed_undoes_the_call(client: httpx.Client) -> None:
    before = _quantities(client)
    for function in ("bump_qty", "bump_qty_table"):
        response = client.post(
            f"/rpc/{function}", json={"step": 10}, headers={"Prefer": f"{STRICT}2, tx=commit"}
        )
        assert_error(
            response,
            status=400,
            code="PGRST124",
            message="Query result exceeds max-affected preference constraint",
            details=f"The query affects {len(before)} rows",
        )
    assert _quantities(client) == before


def test_within_the_limit_the_rows_are_returned(client: httpx.Client) -> None:
    before = _quantities(client)
    response = client.post(
        "/rpc/bump_qty_table?order=id", json={"step": 1}, headers={"Prefer": f"{STRICT}{len(before)}"}
    )
    assert response.status_code == 200, response.text
    assert [row["qty"] for row in response.json()] == [qty + 1 for qty in before]
    assert response.headers["preference-applied"] == f"{STRICT}{len(before)}"


def test_the_limit_counts_the_rows_of_the_response(client: httpx.Client) -> None:
    # Filters shape what the function returned: the limit applies to what the client receives.
    response = client.post("/rpc/bump_qty?id=eq.1", json={"step": 1}, headers={"Prefer": f"{STRICT}1"})
    assert response.status_code == 200, response.text
    assert len(response.json()) == 1


def test_a_function_without_a_set_cannot_be_limited(client: httpx.Client) -> None:
    before = _quantities(client)
    for function in ("bump_qty_void", "add"):
        response = client.post(
            f"/rpc/{function}",
            json={"step": 1} if function == "bump_qty_void" else {"a": 1},
            headers={"Prefer": f"{STRICT}5, tx=commit"},
        )
        assert_error(
            response,
            status=400,
            code="PGRST128",
            message="Function must return SETOF or TABLE when max-affected preference is used with "
            "handling=strict",
        )
    assert _quantities(client) == before  # refused before the function ran


def test_lenient_handling_ignores_the_limit(client: httpx.Client) -> None:
    response = client.post(
        "/rpc/bump_qty", json={"step": 1}, headers={"Prefer": "handling=lenient, max-affected=0"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["preference-applied"] == "handling=lenient"
    response = client.post("/rpc/bump_qty_void", json={"step": 1}, headers={"Prefer": "max-affected=0"})
    assert response.status_code == 204, response.text


def test_a_singular_call_with_many_rows_is_undone(client: httpx.Client) -> None:
    before = _quantities(client)
    response = client.post(
        "/rpc/bump_qty",
        json={"step": 5},
        headers={"Accept": "application/vnd.pgrst.object+json", "Prefer": "tx=commit"},
    )
    assert_not_singular(response, len(before))
    assert response.headers["preference-applied"] == "tx=commit"
    assert _quantities(client) == before


def test_a_singular_call_with_one_row_succeeds(client: httpx.Client) -> None:
    response = client.post(
        "/rpc/bump_qty?id=eq.2",
        json={"step": 1},
        headers={"Accept": "application/vnd.pgrst.object+json"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["id"] == 2

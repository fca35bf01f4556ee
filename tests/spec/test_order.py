"""``order=``: directions, nulls placement, several keys, JSON paths, quoted names, errors."""

import httpx
import pytest

from support.assertions import assert_error, ids


def people(client: httpx.Client, query: str) -> list[int]:
    return ids(client.get(f"/people?select=id&{query}"))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("order=age", [5, 2, 3, 1, 6, 4]),
        ("order=age.asc", [5, 2, 3, 1, 6, 4]),
        ("order=age.desc", [4, 6, 1, 3, 2, 5]),
        # PostgreSQL's defaults: NULLS LAST ascending, NULLS FIRST descending.
        ("order=height", [5, 1, 3, 6, 2, 4]),
        ("order=height.desc", [4, 2, 6, 3, 1, 5]),
        ("order=height.desc.nullslast", [2, 6, 3, 1, 5, 4]),
        ("order=height.asc.nullsfirst", [4, 5, 1, 3, 6, 2]),
        ("order=height.nullsfirst", [4, 5, 1, 3, 6, 2]),
        ("order=active.desc,age.asc", [4, 5, 3, 1, 2, 6]),
        ("order=active.asc.nullsfirst,id.desc", [4, 6, 2, 5, 3, 1]),
        ("order=mood.desc.nullslast,id", [1, 5, 2, 6, 3, 4]),
        ("order=data->stats->rank.desc.nullslast&limit=4", [5, 2, 3, 1]),
        ("order=data->>city.nullsfirst,id&limit=3", [4, 6, 3]),
    ],
)
def test_order(client: httpx.Client, query: str, expected: list[int]) -> None:
    assert people(client, query) == expected


def test_order_with_filters_and_select(client: httpx.Client) -> None:
    response = client.get("/playing_with_neon?select=id,value&value=lt.0.3&order=value.desc")
    assert response.json() == [{"id": 8, "value": 0.28}, {"id": 1, "value": 0.12}, {"id": 6, "value": 0.05}]


def test_order_by_quoted_column(client: httpx.Client) -> None:
    assert ids(client.get('/odd_columns?select=id&order="information.cpe".desc')) == [1, 2]
    assert ids(client.get("/odd_columns?select=id&order=kebab-case.desc")) == [2, 1]


def test_typo_in_modifier(client: httpx.Client) -> None:
    assert_error(
        client.get("/items?order=id.asc.nullslasttt"),
        status=400,
        code="PGRST100",
        message='"failed to parse order (id.asc.nullslasttt)" (line 1, column 17)',
        details="unexpected 't' expecting \",\" or end of input",
    )


@pytest.mark.parametrize("query", ["order=id.up", "order=id.asc.desc", "order=id,"])
def test_malformed_order(client: httpx.Client, query: str) -> None:
    assert_error(client.get(f"/items?{query}"), status=400, code="PGRST100", exact=False)


def test_order_by_unknown_column(client: httpx.Client) -> None:
    assert_error(client.get("/items?order=nope"), status=400, code="42703", exact=False)

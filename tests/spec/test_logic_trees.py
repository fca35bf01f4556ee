"""``or=(…)`` / ``and=(…)`` logic trees, nested and negated, combined with plain filters."""

from urllib.parse import quote

import httpx
import pytest

from support.assertions import assert_error, assert_json, ids


def people(client: httpx.Client, query: str) -> list[int]:
    return ids(client.get(f"/people?select=id&order=id&{query}"))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("or=(age.lt.18,age.gt.50)", [2, 4, 5]),
        ("and=(age.gt.20,age.lt.40)", [1, 3]),
        ("or=(id.eq.1)", [1]),
        ("and=(id.eq.1)", [1]),
        ("not.or=(age.lt.18,age.gt.50)", [1, 3, 6]),
        ("not.and=(age.gt.20,age.lt.40)", [2, 4, 5, 6]),
        ("or=(id.eq.1,and(age.gt.40,active.is.false))", [1, 6]),
        ("or=(id.eq.2,not.and(age.gt.10,age.lt.50))", [2, 4]),
        ("and=(or(id.eq.1,id.eq.2),or(id.eq.2,id.eq.3))", [2]),
        ("or=(id.in.(1,2),name.eq.Eve)", [1, 2, 5]),
        ("or=(nickname.is.null,age.gt.50)", [2, 4]),
        ("or=(age.not.gt.17,active.is.unknown)", [2, 4, 5]),
        ("or=(tags.cs.{art},id.eq.1)", [1, 5]),
        ("or=(name.like(any).{A*,E*},id.eq.2)", [1, 2, 5]),
        ("or=(data->>city.eq.Paris,meta->>source.eq.import)", [2, 4]),
        ("or=(active.isdistinct.true,id.eq.1)", [1, 2, 4, 6]),
    ],
)
def test_logic_trees(client: httpx.Client, query: str, expected: list[int]) -> None:
    assert people(client, quote(query, safe="=&.,()*")) == expected


def test_quoted_values_keep_commas_and_parens(client: httpx.Client) -> None:
    # "Ada,Bob" is one value: if the comma split it, `Bob"` would be a parse error.
    assert people(client, quote('or=(name.eq."Ada,Bob",id.eq.2)', safe="=&.,()")) == [2]
    assert people(client, quote('or=(name.eq."Ada",name.eq."(Bob)")', safe="=&.,()")) == [1]
    assert people(client, quote('or=(id.in.("1","2"),id.in.("3"))', safe="=&.,()")) == [1, 2, 3]


def test_full_text_search_inside(client: httpx.Client) -> None:
    response = client.get(
        "/documents?select=id&order=id&"
        + quote("or=(body_tsv.fts(english).rats,title.eq.Lazy dogs)", safe="=.,()")
    )
    assert ids(response) == [1, 2]


def test_whitespace_is_allowed(client: httpx.Client) -> None:
    assert people(client, quote("and=( or ( id.eq.1 , id.eq.2 ) , id.in.( 1, 3 ) )", safe="=.,()")) == [1]


def test_combined_with_plain_filters(client: httpx.Client) -> None:
    assert people(client, "age=gt.20&or=(active.is.true,nickname.is.null)") == [1, 3, 4]
    assert people(client, "or=(id.eq.1,id.eq.2)&or=(id.eq.2,id.eq.3)") == [2]


def test_empty_tree(client: httpx.Client) -> None:
    assert_error(
        client.get("/people?or=()"),
        status=400,
        code="PGRST100",
        message='"failed to parse logic tree (())" (line 1, column 4)',
        details=(
            'unexpected ")" expecting field name (* or [a..z0..9_$]), negation operator (not) '
            "or logic operator (and, or)"
        ),
    )


@pytest.mark.parametrize(
    "query",
    ["or=(id.eq.1", "or=(id.eq.1,)", "or=(id.equals.1)", "and=(id)"],
)
def test_malformed_trees(client: httpx.Client, query: str) -> None:
    assert_error(
        client.get(f"/people?{quote(query, safe='=.,()')}"), status=400, code="PGRST100", exact=False
    )


def test_tree_without_parentheses_reads_as_a_filter(client: httpx.Client) -> None:
    # PostgREST parses `or` + value as one tree: `orid.eq.1` is then a filter on a column `orid`.
    assert_error(client.get("/people?or=id.eq.1"), status=400, code="42703", exact=False)


def test_text_after_the_tree_is_ignored(client: httpx.Client) -> None:
    # As PostgREST: the tree parser stops at its closing parenthesis and ignores what follows.
    assert_json(client.get("/people?select=id&or=(id.eq.1))"), [{"id": 1}])

"""Horizontal filtering: every operator, ``not.``, ``any``/``all``, quoting, JSON paths, text search."""

from urllib.parse import quote

import httpx
import pytest

from support.assertions import assert_error, ids


def people(client: httpx.Client, query: str) -> list[int]:
    return ids(client.get(f"/people?select=id&order=id&{query}"))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("age=eq.36", [1]),
        ("age=neq.36", [2, 3, 4, 5, 6]),
        ("age=gt.36", [4, 6]),
        ("age=gte.36", [1, 4, 6]),
        ("age=lt.17", [5]),
        ("age=lte.17", [2, 5]),
        ("height=gte.1.7", [2, 3, 6]),
        ("name=eq.Ada", [1]),
        ("name=eq.Chlo%C3%A9", [3]),
        ("nickname=eq.", []),
        ("mood=eq.happy", [1, 5]),
        ("born=lt.1900-01-01", [1]),
        ("last_seen=gte.2024-02-01", [2, 5]),
        # `+` in a query string is a space: `2024-01-01 00:00:01`.
        ("last_seen=lt.2024-01-01+00:00:01", [4, 6]),
        ("active=eq.true", [1, 3, 5]),
    ],
)
def test_comparison_operators(client: httpx.Client, query: str, expected: list[int]) -> None:
    assert people(client, query) == expected


def test_filters_are_anded_and_a_column_may_repeat(client: httpx.Client) -> None:
    assert people(client, "age=gt.20&age=lt.40") == [1, 3]
    assert people(client, "age=gt.20&active=is.true") == [1, 3]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("name=like.*e", [5]),
        ("name=like.A%25", [1]),
        ("name=ilike.a*", [1]),
        ("name=ilike.*I*", [4]),
        ("name=match.^[A-C]", [1, 2, 3]),
        ("name=imatch.^d", [4]),
    ],
)
def test_pattern_operators(client: httpx.Client, query: str, expected: list[int]) -> None:
    assert people(client, query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("id=in.(1,3,5)", [1, 3, 5]),
        ("id=in.( 1 , 3 )", [1, 3]),
        ("name=in.(Ada,Eve)", [1, 5]),
        ('name=in.("Ada","Bob")', [1, 2]),
        ("mood=in.(ok,sad)", [2, 3, 6]),
        ("id=in.()", []),
        ("name=in.()", []),
        ("id=not.in.()", [1, 2, 3, 4, 5, 6]),
        ("id=not.in.(1,2,3)", [4, 5, 6]),
    ],
)
def test_in(client: httpx.Client, query: str, expected: list[int]) -> None:
    assert people(client, query) == expected


def test_in_with_quoted_commas_and_parens(client: httpx.Client) -> None:
    response = client.get('/odd_columns?select=id&"(parens,comma)"=in.("p,1","p,3")')
    assert ids(response) == [1]


def test_in_with_escaped_quote(client: httpx.Client) -> None:
    # `\"` inside a quoted element is a literal quote: no name matches, and it is not a parse error.
    assert people(client, 'name=in.("A\\"da","Bob")') == [2]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("nickname=is.null", [2, 4]),
        ("nickname=is.not_null", [1, 3, 5, 6]),
        ("nickname=not.is.null", [1, 3, 5, 6]),
        ("nickname=not.is.not_null", [2, 4]),
        ("active=is.true", [1, 3, 5]),
        ("active=is.false", [2, 6]),
        ("active=is.unknown", [4]),
        ("nickname=is.NULL", [2, 4]),
        ("nickname=is.NoT_NuLl", [1, 3, 5, 6]),
        ("active=not.is.true", [2, 4, 6]),
    ],
)
def test_is(client: httpx.Client, query: str, expected: list[int]) -> None:
    assert people(client, query) == expected


def test_is_with_other_value_is_a_parse_error(client: httpx.Client) -> None:
    assert_error(client.get("/people?nickname=is.maybe"), status=400, code="PGRST100", exact=False)


def test_isdistinct(client: httpx.Client) -> None:
    assert people(client, "active=isdistinct.true") == [2, 4, 6]
    assert people(client, "active=not.isdistinct.true") == [1, 3, 5]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("age=not.eq.36", [2, 3, 4, 5, 6]),
        ("age=not.gt.36", [1, 2, 3, 5]),
        ("name=not.like.*e", [1, 2, 3, 4, 6]),
        ("name=not.ilike.a*", [2, 3, 4, 5, 6]),
    ],
)
def test_not(client: httpx.Client, query: str, expected: list[int]) -> None:
    assert people(client, query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("name=like(any).{A*,B*}", [1, 2]),
        ("name=like(all).{*a*,A*}", [1]),
        ("name=ilike(any).{a*,*VE}", [1, 5]),
        ("id=eq(any).{1,2}", [1, 2]),
        ("age=gt(any).{50,100}", [4]),
        ("age=gt(all).{20,30}", [1, 4, 6]),
        ("age=lte(all).{17,20}", [2, 5]),
        ("name=match(any).{^A,^E}", [1, 5]),
        ("name=not.like(any).{A*,B*}", [3, 4, 5, 6]),
    ],
)
def test_any_all_modifiers(client: httpx.Client, query: str, expected: list[int]) -> None:
    assert people(client, quote(query, safe="=&.(),*^")) == expected


def test_unsupported_modifier_is_a_parse_error(client: httpx.Client) -> None:
    assert_error(client.get("/people?id=in(any).(1,2)"), status=400, code="PGRST100", exact=False)
    assert_error(client.get("/people?id=is(all).null"), status=400, code="PGRST100", exact=False)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("tags=cs.{math}", [1, 3]),
        ("tags=cd.{math,poetry,music}", [1, 3, 4]),
        ("tags=ov.{art,sports}", [2, 5]),
        ("scores=cs.{85}", [1]),
        ("tags=not.cs.{math}", [2, 4, 5]),
    ],
)
def test_array_operators(client: httpx.Client, query: str, expected: list[int]) -> None:
    assert people(client, quote(query, safe="=&.,")) == expected


def test_jsonb_containment(client: httpx.Client) -> None:
    assert people(client, "data=cs." + quote('{"city":"London"}')) == [1, 5]
    assert people(client, "data=cd." + quote('{"city":null,"langs":[],"extra":1}')) == [4]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("seats=ov.[4,6)", [1, 2]),
        ("seats=cs.[2,3]", [1]),
        ("seats=cd.[0,100)", [1, 2, 3, 4]),
        ("seats=sl.[10,11)", [1, 2]),
        ("seats=sr.[1,10)", [3, 4]),
        ("seats=nxr.[1,10)", [1, 2]),
        ("seats=nxl.[10,20)", [3, 4]),
        # (4,9] is the int4range [5,10): adjacent to [1,5) and to [10,20).
        ("seats=adj.(4,9]", [1, 3]),
        ("seats=not.adj.[5,10)", [2, 4]),
        ("stay=ov.[2024-01-04,2024-01-05)", [1, 2]),
        ("seats=eq.[1,5)", [1]),
    ],
)
def test_range_operators(client: httpx.Client, query: str, expected: list[int]) -> None:
    assert ids(client.get(f"/bookings?select=id&order=id&{quote(query, safe='=&.,')}")) == expected


def documents(client: httpx.Client, query: str) -> list[int]:
    return ids(client.get(f"/documents?select=id&order=id&{query}"))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("body_tsv=fts.cat", [1, 3]),
        ("body_tsv=fts.cat%26dog", [3]),
        ("body_tsv=fts.fat%7Cfox", [1, 2]),
        ("body_tsv=fts.cat%26!dog", [1]),
        ("body_tsv=fts(english).cats", [1, 3]),
        ("body_tsv=not.fts.cat", [2, 4]),
        ("body_tsv=plfts.fat%20cats", [1]),
        ("body_tsv=phfts.lazy%20dog", [2]),
        ("body_tsv=phfts.dog%20lazy", []),
        ("body_tsv=wfts.cat%20-dog", [1]),
        ("body_tsv=wfts.%22quick%20brown%22", [2]),
    ],
)
def test_full_text_search(client: httpx.Client, query: str, expected: list[int]) -> None:
    assert documents(client, query) == expected


def test_full_text_search_on_text_column_with_config(client: httpx.Client) -> None:
    # A text column is wrapped in to_tsvector(<config>, column).
    assert documents(client, "body=fts(french).amusant") == [4]
    assert documents(client, "title=plfts(english).cat%20naps") == [3]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("data->>city=eq.London", [1, 5]),
        ("data->>city=is.null", [4, 6]),
        ("data->stats->>rank=eq.2", [3]),
        ("data->stats->rank=gt.2", [2, 5]),
        ("data->langs->>0=eq.fr", [2]),
        ("data->langs->>-1=eq.en", [3, 5]),
        ("meta->>source=eq.form", [2, 5]),
        ("data->langs=cs." + quote('["en"]'), [1, 3, 5]),
    ],
)
def test_json_path_filters(client: httpx.Client, query: str, expected: list[int]) -> None:
    assert people(client, query) == expected


def test_quoted_column_filter(client: httpx.Client) -> None:
    assert ids(client.get('/odd_columns?select=id&"information.cpe"=like.*linux*')) == [2]
    assert ids(client.get("/odd_columns?select=id&with%20space=eq.space%20one")) == [1]


def test_unicode_column_filter(client: httpx.Client) -> None:
    assert ids(client.get("/%C3%A9t%C3%A9?select=id&%E5%90%8D%E5%89%8D=eq.soleil")) == [1]


def test_keys_without_equals_are_ignored(client: httpx.Client) -> None:
    assert people(client, "age=gt.50&lonely") == [4]


def test_missing_operator(client: httpx.Client) -> None:
    assert_error(
        client.get("/people?id=0"),
        status=400,
        code="PGRST100",
        message='"failed to parse filter (0)" (line 1, column 1)',
        details='unexpected "0" expecting "not" or operator (eq, gt, ...)',
    )


def test_unknown_operator(client: httpx.Client) -> None:
    assert_error(client.get("/people?id=equals.1"), status=400, code="PGRST100", exact=False)


def test_unknown_column(client: httpx.Client) -> None:
    assert_error(client.get("/people?nope=eq.1"), status=400, code="42703", message="nope", exact=False)


def test_value_of_wrong_type_is_a_postgres_error(client: httpx.Client) -> None:
    # invalid input syntax for type integer: a 400 carrying PostgreSQL's SQLSTATE, never a 500.
    assert_error(client.get("/people?age=eq.old"), status=400, code="22P02", exact=False)

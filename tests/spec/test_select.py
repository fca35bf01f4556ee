"""Vertical filtering: ``select=`` columns, aliases, casts, JSON paths and quoted names."""

import httpx

from support.assertions import assert_error, assert_json


def test_columns(client: httpx.Client) -> None:
    assert_json(
        client.get("/people?select=id,name&id=lt.3&order=id"),
        [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Bob"}],
    )


def test_empty_select_means_all_columns(client: httpx.Client) -> None:
    everything = client.get("/playing_with_neon?id=eq.1").json()
    assert client.get("/playing_with_neon?id=eq.1&select=").json() == everything
    assert client.get("/playing_with_neon?id=eq.1&select=*").json() == everything


def test_star_mixes_with_other_columns(client: httpx.Client) -> None:
    assert_json(
        client.get("/playing_with_neon?id=eq.1&select=*,ident:id"),
        [{"id": 1, "name": "c4ca4238a0", "value": 0.12, "ident": 1}],
    )


def test_alias(client: httpx.Client) -> None:
    assert_json(client.get("/people?select=who:name,years:age&id=eq.2"), [{"who": "Bob", "years": 17}])


def test_cast(client: httpx.Client) -> None:
    assert_json(
        client.get("/playing_with_neon?select=id::text,value::text&id=eq.1"), [{"id": "1", "value": "0.12"}]
    )
    assert_json(client.get("/people?select=score_text:scores::text&id=eq.1"), [{"score_text": "{90,85}"}])


def test_cast_to_unknown_type(client: httpx.Client) -> None:
    assert_error(client.get("/people?select=id::nosuchtype"), status=400, code="42704", exact=False)


def test_json_paths(client: httpx.Client) -> None:
    assert_json(
        # The key is the last path element.
        client.get("/people?select=id,data->city&id=eq.1"),
        [{"id": 1, "city": "London"}],
    )
    assert_json(
        client.get("/people?select=rank:data->stats->rank,rank_text:data->stats->>rank&id=eq.2"),
        [{"rank": 3, "rank_text": "3"}],
    )
    assert_json(client.get("/people?select=data->stats->>height&id=eq.3"), [{"height": "172"}])


def test_json_array_index(client: httpx.Client) -> None:
    assert_json(
        client.get("/people?select=first:data->langs->0,last:data->langs->>-1&id=eq.1"),
        [{"first": "en", "last": "fr"}],
    )


def test_json_path_on_missing_key_is_null(client: httpx.Client) -> None:
    assert_json(client.get("/people?select=id,data->>nope&id=eq.1"), [{"id": 1, "nope": None}])


def test_json_path_on_json_column(client: httpx.Client) -> None:
    assert_json(client.get("/people?select=meta->>source&id=eq.2"), [{"source": "form"}])


def test_text_arrow_then_json_arrow_is_an_operator_error(client: httpx.Client) -> None:
    # PostgREST's grammar accepts the path; PostgreSQL has no `text -> text` operator: 404 42883, as PostgREST.
    assert_error(client.get("/people?select=data->>stats->rank"), status=404, code="42883", exact=False)


def test_malformed_array_index_is_a_parse_error(client: httpx.Client) -> None:
    assert_error(client.get("/people?select=data->langs->>-78xy"), status=400, code="PGRST100", exact=False)


def test_quoted_names_with_reserved_characters(client: httpx.Client) -> None:
    assert_json(
        client.get('/odd_columns?select="information.cpe","(parens,comma)"&id=eq.1'),
        [{"information.cpe": "cpe:/o:microsoft:windows", "(parens,comma)": "p,1"}],
    )


def test_unquoted_names_with_space_dash_dollar(client: httpx.Client) -> None:
    assert_json(
        client.get("/odd_columns?select=with%20space,kebab-case,$dollar,CamelCase&id=eq.2"),
        [{"with space": "space two", "kebab-case": "k2", "$dollar": "d2", "CamelCase": "c2"}],
    )


def test_alias_of_quoted_name(client: httpx.Client) -> None:
    assert_json(
        client.get('/odd_columns?select=cpe:"information.cpe"&id=eq.2'), [{"cpe": "cpe:/o:linux:kernel"}]
    )


def test_unicode_column(client: httpx.Client) -> None:
    assert_json(client.get("/%C3%A9t%C3%A9?select=%E5%90%8D%E5%89%8D&id=eq.2"), [{"名前": "nuage"}])


def test_unknown_column(client: httpx.Client) -> None:
    assert_error(client.get("/people?select=id,nope"), status=400, code="42703", message="nope", exact=False)

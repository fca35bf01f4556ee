"""Embedding errors, exactly as PostgREST reports them."""

import httpx
import pytest

from support.assertions import assert_error
from support.fix_server import ServerFactory


def test_no_relationship_with_suggestion(client: httpx.Client) -> None:
    assert_error(
        client.get("/albums?select=title,trakcs(title)"),
        status=400,
        code="PGRST200",
        message="Could not find a relationship between 'albums' and 'trakcs' in the schema cache",
        details="Searched for a foreign key relationship between 'albums' and 'trakcs' in the schema 'test', "
        "but no matches were found.",
        hint="Perhaps you meant 'tracks' instead of 'trakcs'.",
    )


def test_no_relationship_for_a_hint(client: httpx.Client) -> None:
    assert_error(
        client.get("/albums?select=title,artists!nope(name)"),
        status=400,
        code="PGRST200",
        message="Could not find a relationship between 'albums' and 'artists' in the schema cache",
        details="Searched for a foreign key relationship between 'albums' and 'artists' using the hint 'nope' "
        "in the schema 'test', but no matches were found.",
        hint=None,
    )


def test_ambiguous_relationship(client: httpx.Client) -> None:
    assert_error(
        client.get("/albums?select=title,artists(name)"),
        status=300,
        code="PGRST201",
        message="Could not embed because more than one relationship was found for 'albums' and 'artists'",
        details=[
            {
                "cardinality": "many-to-one",
                "embedding": "albums with artists",
                "relationship": "albums_artist_fkey using albums(artist_id) and artists(id)",
            },
            {
                "cardinality": "many-to-one",
                "embedding": "albums with artists",
                "relationship": "albums_producer_fkey using albums(producer_id) and artists(id)",
            },
        ],
        hint="Try changing 'artists' to one of the following: 'artists!albums_artist_fkey', "
        "'artists!albums_producer_fkey'. Find the desired relationship in the 'details' key.",
    )


def test_not_embedded(client: httpx.Client) -> None:
    assert_error(
        client.get("/albums?select=title&tracks.title=eq.x"),
        status=400,
        code="PGRST108",
        message="'tracks' is not an embedded resource in this request",
        hint="Verify that 'tracks' is included in the 'select' query parameter.",
    )


def test_related_order_on_to_many(client: httpx.Client) -> None:
    assert_error(
        client.get("/albums?select=title,tracks(title)&order=tracks(title)"),
        status=400,
        code="PGRST118",
        message="A related order on 'tracks' is not possible",
        details="'albums' and 'tracks' do not form a many-to-one or one-to-one relationship",
    )


def test_bad_operator_on_an_embed(client: httpx.Client) -> None:
    assert_error(
        client.get("/albums?select=title,tracks(title)&tracks=eq.1"),
        status=400,
        code="PGRST120",
        message="Bad operator on the 'tracks' embedded resource",
        details="Only is null or not is null filters are allowed on embedded resources",
    )


@pytest.mark.parametrize(
    "select",
    ["title,tracks(title", "title,tracks!(title)", "title,...(title)", "title,tracks(,)"],
)
def test_malformed_embeds_are_parse_errors(client: httpx.Client, select: str) -> None:
    assert_error(client.get("/albums", params={"select": select}), status=400, code="PGRST100", exact=False)


def test_legacy_target_names_disabled(restpg_server: ServerFactory) -> None:
    server = restpg_server({"url-use-legacy-target-names": False})
    with httpx.Client(base_url=server.url, timeout=10.0) as http:
        assert_error(
            http.get("/albums?select=title,songs:tracks(title)&tracks.limit=1"),
            status=400,
            code="PGRST108",
            message="'tracks' is not an embedded resource in this request",
            details="Target names are not allowed in filters if they have an alias",
            hint="Change 'tracks' to 'songs' in filters, orders or limits.",
        )

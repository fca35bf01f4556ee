"""Filtering and ordering a resource by its embeds: null tests, related order, and (restpg only)
embedded columns inside logic trees."""

import httpx

from support.assertions import assert_error, assert_json, ids


def test_not_null_embed_is_a_semi_join(client: httpx.Client) -> None:
    assert ids(client.get("/albums?select=id,best_track(id)&best_track=not.is.null&order=id")) == [1, 2, 3, 4]


def test_null_embed_is_an_anti_join(client: httpx.Client) -> None:
    assert ids(client.get("/artists?select=id,albums!artist_id(id)&albums=is.null")) == [5]


def test_null_tests_inside_logic_trees(client: httpx.Client) -> None:
    response = client.get(
        "/artists?select=id,albums!artist_id(id),artist_profiles(instrument)"
        "&or=(albums.is.null,artist_profiles.not.is.null)&order=id"
    )
    assert ids(response) == [1, 2, 3, 5]


def test_related_order_on_to_one(client: httpx.Client) -> None:
    response = client.get("/albums?select=id,artists!artist_id(name)&order=artists(name).desc,id")
    assert ids(response) == [4, 5, 1, 2, 3]
    nulls = client.get(
        "/albums?select=id,producer:artists!producer_id(name)&order=producer(name).nullsfirst,id"
    )
    # Producers: 1 Miles, 3 Nina, 4 Prince; 2 and 5 have none.
    assert ids(nulls) == [2, 5, 1, 3, 4]


def test_embedded_column_in_or(client: httpx.Client) -> None:
    response = client.get(
        "/albums?select=id,title,performer:artists!artist_id(name)&or=(title.eq.Blue,performer.name.eq.Prince)&order=id"
    )
    assert ids(response) == [3, 4, 5]
    # The embed itself is not filtered by the tree: it still shows the performer of every album kept.
    assert response.json()[0]["performer"] == {"name": "Joni"}


def test_embedded_column_in_or_through_to_many_and_many_to_many(client: httpx.Client) -> None:
    # Some related row matches: an album with a track over ten minutes, or one tagged folk.
    response = client.get(
        "/albums?select=id,tracks(id),genres(id)&or=(tracks.seconds.gt.600,genres.name.eq.folk)&order=id"
    )
    assert ids(response) == [1, 3]
    negated = client.get("/albums?select=id,tracks(id)&not.or=(tracks.seconds.gt.500,id.eq.5)&order=id")
    assert ids(negated) == [3]


def test_embedded_column_in_or_is_independent_of_the_embeds_filters(client: httpx.Client) -> None:
    response = client.get(
        "/albums?select=id,tracks(title)&tracks.seconds=lt.200&or=(tracks.title.eq.Sinnerman)"
    )
    assert_json(response, [{"id": 1, "tracks": [{"title": "Be My Husband"}]}])


def test_embedded_column_paths_nest(client: httpx.Client) -> None:
    response = client.get(
        "/artists?select=id,albums!artist_id(title,tracks(title))&or=(albums.tracks.title.like.*Rain*,id.eq.1)&order=id"
    )
    assert ids(response) == [1, 4]
    inside_an_embed = client.get(
        "/artists?select=id,albums!artist_id(id,tracks(id))&albums.or=(tracks.seconds.gt.600)&id=eq.1"
    )
    assert_json(inside_an_embed, [{"id": 1, "albums": [{"id": 1, "tracks": [{"id": 1}, {"id": 2}]}]}])
    # `albums.tracks.is.null`: no track reachable through any album (Prince's 'Sign' has none, but
    # 'Purple Rain' has some).
    none = client.get("/artists?select=id,albums!artist_id(tracks(id))&or=(albums.tracks.is.null)&order=id")
    assert ids(none) == [5]


def test_embedded_column_in_or_needs_the_embed(client: httpx.Client) -> None:
    assert_error(
        client.get("/albums?select=id&or=(tracks.title.eq.x)"),
        status=400,
        code="PGRST108",
        message="'tracks' is not an embedded resource in this request",
        hint="Verify that 'tracks' is included in the 'select' query parameter.",
    )

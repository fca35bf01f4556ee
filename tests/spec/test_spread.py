"""Spread embeds (`...rel(cols)`): to-one columns lifted into the parent, to-many columns as arrays."""

from collections.abc import Iterator

import httpx
import pytest

from support.assertions import assert_error, assert_json
from support.fix_server import ServerFactory


@pytest.fixture(scope="module")
def agg_client(restpg_server: ServerFactory) -> Iterator[httpx.Client]:
    """To-many spreads aggregate, so PostgREST allows them only with aggregates enabled."""
    server = restpg_server({"db-aggregates-enabled": True})
    with httpx.Client(base_url=server.url, timeout=10.0) as http:
        yield http


def test_to_one_spread(client: httpx.Client) -> None:
    assert_json(
        client.get(
            "/albums?select=title,...artists!artist_id(artist:name,...artist_profiles(instrument))&id=in.(3,4)&order=id"
        ),
        [
            {"title": "Blue", "artist": "Joni", "instrument": "guitar"},
            {"title": "Purple Rain", "artist": "Prince", "instrument": None},
        ],
    )


def test_to_one_spread_of_a_computed_relationship(client: httpx.Client) -> None:
    assert_json(
        client.get("/albums?select=title,...best_track(longest:title)&id=eq.2"),
        [{"title": "Kind of Blue", "longest": "So What"}],
    )


def test_to_one_spread_inside_a_normal_embed(client: httpx.Client) -> None:
    assert_json(
        client.get("/tracks?select=title,album:albums(title,...artists!artist_id(artist:name))&id=eq.5"),
        [{"title": "River", "album": {"title": "Blue", "artist": "Joni"}}],
    )


def test_to_one_spread_with_null_filters(client: httpx.Client) -> None:
    assert_json(
        client.get("/albums?select=id,...artists!producer_id(producer:name)&artists=is.null&order=id"),
        [{"id": 2, "producer": None}, {"id": 5, "producer": None}],
    )
    assert_json(
        client.get("/albums?select=id,...artists!producer_id!inner(producer:name)&artists.name=eq.Nina"),
        [{"id": 3, "producer": "Nina"}],
    )


def test_junction_spread(client: httpx.Client) -> None:
    assert_json(
        client.get(
            "/albums?select=title,genres:album_genres(rank,...genres(name))&id=eq.1&genres.order=rank"
        ),
        [{"title": "Pastel Blues", "genres": [{"rank": 1, "name": "jazz"}, {"rank": 2, "name": "blues"}]}],
    )


def test_to_many_spread_needs_aggregates(client: httpx.Client) -> None:
    assert_error(
        client.get("/albums?select=title,...tracks(title)"),
        status=400,
        code="PGRST123",
        message="Use of aggregate functions is not allowed",
    )


def test_one_to_many_spread_as_arrays(agg_client: httpx.Client) -> None:
    assert_json(
        agg_client.get(
            "/albums?select=title,...tracks(song:title,seconds)&id=in.(2,5)&order=id&tracks.order=id"
        ),
        [
            {"title": "Kind of Blue", "song": ["So What", "Blue in Green"], "seconds": [545, 337]},
            {"title": "Sign", "song": [], "seconds": []},
        ],
    )


def test_to_many_spread_of_all_columns(agg_client: httpx.Client) -> None:
    response = agg_client.get("/albums?select=album:title,...tracks(*)&id=eq.3")
    assert_json(
        response, [{"album": "Blue", "id": [5], "album_id": [3], "title": ["River"], "seconds": [240]}]
    )


def test_many_to_many_spread_as_arrays(agg_client: httpx.Client) -> None:
    assert_json(
        agg_client.get("/albums?select=title,...genres(genre:name)&id=eq.1&genres.order=name"),
        [{"title": "Pastel Blues", "genre": ["blues", "jazz"]}],
    )


def test_nested_spreads_flatten_into_the_to_many_spread(agg_client: httpx.Client) -> None:
    response = agg_client.get(
        "/artists?select=name,...albums!artist_id(album:title,...tracks(track:title),best_track(seconds))"
        "&id=eq.1&albums.tracks.order=id"
    )
    assert_json(
        response,
        [
            {
                "name": "Nina",
                "album": ["Pastel Blues", "Pastel Blues"],
                "track": ["Be My Husband", "Sinnerman"],
                "best_track": [{"seconds": 620}, {"seconds": 620}],
            }
        ],
    )


def test_to_many_spread_with_null_tests_and_inner(agg_client: httpx.Client) -> None:
    assert_json(
        agg_client.get("/albums?select=title,...tracks(song:title)&tracks=is.null"),
        [{"title": "Sign", "song": []}],
    )
    assert_json(
        agg_client.get("/albums?select=id,...tracks!inner(song:title)&tracks.seconds=gt.600"),
        [{"id": 1, "song": ["Sinnerman"]}],
    )


def test_to_many_spread_rejects_aggregates(agg_client: httpx.Client) -> None:
    assert_error(
        agg_client.get("/albums?select=title,...tracks(seconds.sum())"),
        status=400,
        code="PGRST127",
        message="Feature not implemented",
        details="Aggregates are not implemented for one-to-many or many-to-many spreads.",
    )

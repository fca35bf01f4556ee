"""Resource embedding: every relationship kind, hints, aliases, nesting, views and embedded modifiers."""

import httpx

from support.assertions import assert_json


def test_many_to_one_is_an_object_or_null(client: httpx.Client) -> None:
    assert_json(
        client.get("/artists?select=name,mentor:influenced_by(name)&id=in.(1,3)&order=id"),
        [{"name": "Nina", "mentor": None}, {"name": "Joni", "mentor": {"name": "Nina"}}],
    )


def test_one_to_many_is_an_array(client: httpx.Client) -> None:
    assert_json(
        client.get("/albums?select=title,tracks(title)&id=in.(3,5)&order=id"),
        [{"title": "Blue", "tracks": [{"title": "River"}]}, {"title": "Sign", "tracks": []}],
    )


def test_many_to_many_through_a_junction_with_extra_columns(client: httpx.Client) -> None:
    assert_json(
        client.get("/albums?select=title,genres(name)&id=eq.1&genres.order=name"),
        [{"title": "Pastel Blues", "genres": [{"name": "blues"}, {"name": "jazz"}]}],
    )
    # The junction itself embeds too, with its own column.
    assert_json(
        client.get("/albums?select=title,album_genres(rank,genres(name))&id=eq.1&album_genres.order=rank"),
        [
            {
                "title": "Pastel Blues",
                "album_genres": [
                    {"rank": 1, "genres": {"name": "jazz"}},
                    {"rank": 2, "genres": {"name": "blues"}},
                ],
            }
        ],
    )


def test_one_to_one_is_an_object_on_both_sides(client: httpx.Client) -> None:
    assert_json(
        client.get("/artists?select=name,artist_profiles(instrument)&id=in.(2,4)&order=id"),
        [
            {"name": "Miles", "artist_profiles": {"instrument": "trumpet"}},
            {"name": "Prince", "artist_profiles": None},
        ],
    )
    assert_json(
        client.get("/artist_profiles?select=instrument,artists(name)&artist_id=eq.3"),
        [{"instrument": "guitar", "artists": {"name": "Joni"}}],
    )


def test_self_reference_both_ways(client: httpx.Client) -> None:
    assert_json(
        # Self-references follow findRel: the FK column names the parent, the table (hinted by that
        # column) the children.
        client.get("/artists?select=name,influence:influenced_by(name)&id=eq.3"),
        [{"name": "Joni", "influence": {"name": "Nina"}}],
    )
    assert_json(
        client.get("/artists?select=name,followers:artists!influenced_by(name)&id=eq.1"),
        [{"name": "Nina", "followers": [{"name": "Joni"}]}],
    )


def test_hints_pick_one_of_two_foreign_keys(client: httpx.Client) -> None:
    by_constraint = client.get("/albums?select=title,producer:artists!albums_producer_fkey(name)&id=eq.1")
    assert_json(by_constraint, [{"title": "Pastel Blues", "producer": {"name": "Miles"}}])
    by_column = client.get("/albums?select=title,performer:artists!artist_id(name)&id=eq.1")
    assert_json(by_column, [{"title": "Pastel Blues", "performer": {"name": "Nina"}}])
    # The referenced side, with the hint and `!inner` in either order.
    assert_json(
        client.get("/artists?select=name,produced:albums!producer_id!inner(title)&order=id"),
        [
            {"name": "Nina", "produced": [{"title": "Blue"}]},
            {"name": "Miles", "produced": [{"title": "Pastel Blues"}]},
            {"name": "Prince", "produced": [{"title": "Purple Rain"}]},
        ],
    )


def test_same_table_twice_with_independent_filters(client: httpx.Client) -> None:
    response = client.get(
        "/artists?select=name,long:discography(title),old:albums!artist_id(title)"
        "&long.year=gt.1980&old.year=lt.1980&id=eq.4"
    )
    assert_json(
        response, [{"name": "Prince", "long": [{"title": "Purple Rain"}, {"title": "Sign"}], "old": []}]
    )
    twice = client.get(
        "/artists?select=name,a:albums!artist_id(title),b:albums!artist_id(title)&a.year=lt.1985&b.year=gt.1985&id=eq.4"
    )
    assert_json(twice, [{"name": "Prince", "a": [{"title": "Purple Rain"}], "b": [{"title": "Sign"}]}])


def test_nesting_to_any_depth(client: httpx.Client) -> None:
    response = client.get(
        "/genres?select=name,albums(title,artists!artist_id(name,artist_profiles(instrument),"
        "albums!artist_id(tracks(title))))&id=eq.3"
    )
    assert_json(
        response,
        [
            {
                "name": "folk",
                "albums": [
                    {
                        "title": "Blue",
                        "artists": {
                            "name": "Joni",
                            "artist_profiles": {"instrument": "guitar"},
                            "albums": [{"tracks": [{"title": "River"}]}],
                        },
                    }
                ],
            }
        ],
    )


def test_views_and_views_of_views(client: httpx.Client) -> None:
    assert_json(
        client.get("/album_titles?select=title,artists(name)&id=eq.3"),
        [{"title": "Blue", "artists": {"name": "Joni"}}],
    )
    assert_json(
        client.get("/classic_albums?select=title,artists(name),tracks(title)&order=id"),
        [
            {
                "title": "Pastel Blues",
                "artists": {"name": "Nina"},
                "tracks": [{"title": "Be My Husband"}, {"title": "Sinnerman"}],
            },
            {
                "title": "Kind of Blue",
                "artists": {"name": "Miles"},
                "tracks": [{"title": "So What"}, {"title": "Blue in Green"}],
            },
            {"title": "Blue", "artists": {"name": "Joni"}, "tracks": [{"title": "River"}]},
        ],
    )
    assert_json(
        client.get("/artists?select=name,classic_albums(title)&id=eq.2"),
        [{"name": "Miles", "classic_albums": [{"title": "Kind of Blue"}]}],
    )


def test_computed_relationships(client: httpx.Client) -> None:
    assert_json(
        client.get("/albums?select=title,best_track(title)&id=in.(1,5)&order=id"),
        [
            {"title": "Pastel Blues", "best_track": {"title": "Sinnerman"}},
            {"title": "Sign", "best_track": None},
        ],
    )
    assert_json(
        client.get("/artists?select=name,discography(title)&id=eq.1&discography.order=id"),
        [{"name": "Nina", "discography": [{"title": "Pastel Blues"}, {"title": "Blue"}]}],
    )


def test_embedded_modifiers(client: httpx.Client) -> None:
    response = client.get(
        "/albums?select=title,tracks(title,seconds)&id=eq.1"
        "&tracks.or=(seconds.gt.600,title.like.Be*)&tracks.order=seconds.desc&tracks.limit=1&tracks.offset=1"
    )
    assert_json(response, [{"title": "Pastel Blues", "tracks": [{"title": "Be My Husband", "seconds": 180}]}])
    nested = client.get(
        "/artists?select=name,albums!artist_id(title,tracks(title))&id=eq.4&albums.tracks.title=eq.Purple%20Rain"
    )
    assert_json(
        nested,
        [
            {
                "name": "Prince",
                "albums": [
                    {"title": "Purple Rain", "tracks": [{"title": "Purple Rain"}]},
                    {"title": "Sign", "tracks": []},
                ],
            }
        ],
    )


def test_inner_and_left_joins(client: httpx.Client) -> None:
    inner = client.get("/albums?select=title,tracks!inner(title)&tracks.seconds=gt.600")
    assert_json(inner, [{"title": "Pastel Blues", "tracks": [{"title": "Sinnerman"}]}])
    left = client.get("/albums?select=id,tracks!left(title)&tracks.seconds=gt.600&order=id&limit=2")
    assert_json(left, [{"id": 1, "tracks": [{"title": "Sinnerman"}]}, {"id": 2, "tracks": []}])
    computed = client.get("/albums?select=id,best_track!inner(title)&best_track.seconds=lt.300")
    assert_json(computed, [{"id": 3, "best_track": {"title": "River"}}])


def test_empty_embed_filters_without_a_key(client: httpx.Client) -> None:
    response = client.get("/albums?select=title,genres!inner()&genres.name=eq.pop&order=id")
    assert_json(response, [{"title": "Purple Rain"}, {"title": "Sign"}])


def test_count_with_embeds(client: httpx.Client) -> None:
    response = client.get(
        "/albums?select=title,tracks!inner(title)&limit=1", headers={"Prefer": "count=exact"}
    )
    assert response.status_code == 206
    assert response.headers["content-range"] == "0-0/4"
    nulls = client.get(
        "/artists?select=id,albums!artist_id()&albums=is.null", headers={"Prefer": "count=exact"}
    )
    assert_json(nulls, [{"id": 5}])
    assert nulls.headers["content-range"] == "0-0/1"


def test_legacy_target_name_warns(client: httpx.Client) -> None:
    response = client.get(
        "/albums?select=title,songs:tracks(title)&tracks.order=seconds&tracks.limit=1&id=eq.2"
    )
    assert_json(response, [{"title": "Kind of Blue", "songs": [{"title": "Blue in Green"}]}])
    warning = response.headers["warning"]
    assert warning.startswith("299 ")
    assert "Update `tracks` to `songs` in query string filters, orders or limits." in warning
    assert "warning" not in client.get("/albums?select=title,songs:tracks(title)&songs.limit=1").headers

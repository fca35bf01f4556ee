"""The PyPI ``postgrest`` client (sync API, what ``supabase-py`` uses underneath) against a live restpg.

The server mounts the API at ``/rest/v1`` (``restpg-base-path``), so the client is configured exactly as a
Supabase project URL would configure it. Reads only here; writes and RPC follow once those land.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from postgrest import APIError, SyncPostgrestClient
from postgrest.types import ReturnMethod

SECRET = "a postgrest-py test secret, 32 characters or more"
READER = "restpg_test_openapi_reader"  # tests/fixtures/70_openapi.sql: may read openapi_notes only


@pytest.fixture(scope="module")
def url(restpg_server: Any) -> str:
    server = restpg_server({"restpg-base-path": "/rest/v1", "jwt-secret": SECRET})
    return f"{server.url}/rest/v1"


@pytest.fixture(scope="module")
def pg(url: str) -> Iterator[SyncPostgrestClient]:
    with SyncPostgrestClient(url, schema="test") as client:
        yield client


def _ids(rows: Any) -> list[int]:
    return [row["id"] for row in rows]


def test_select_columns_and_order(pg: SyncPostgrestClient) -> None:
    result = pg.from_("people").select("id,name").order("id", desc=True).limit(2).execute()
    assert result.data == [{"id": 6, "name": "Ünal"}, {"id": 5, "name": "Eve"}]


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda q: q.eq("name", "Ada"), [1]),
        (lambda q: q.neq("mood", "happy"), [2, 3, 6]),
        (lambda q: q.gt("age", 36), [4, 6]),
        (lambda q: q.gte("age", 36), [1, 4, 6]),
        (lambda q: q.lt("age", 17), [5]),
        (lambda q: q.lte("age", 17), [2, 5]),
        (lambda q: q.like("name", "%e%"), [5]),
        (lambda q: q.ilike("name", "e%"), [5]),
        (lambda q: q.is_("nickname", "null"), [2, 4]),
        (lambda q: q.is_("active", True), [1, 3, 5]),
        (lambda q: q.in_("id", [1, 3, 99]), [1, 3]),
        (lambda q: q.contains("tags", ["math"]), [1, 3]),
        (lambda q: q.contained_by("tags", ["math", "poetry", "music"]), [1, 3, 4]),
        (lambda q: q.overlaps("tags", ["art", "sports"]), [2, 5]),
        (lambda q: q.contains("data", {"city": "London"}), [1, 5]),
        (lambda q: q.not_.is_("born", "null").lt("born", "1990-01-01"), [1, 6]),
        (lambda q: q.or_("age.lt.15,name.eq.Bob"), [2, 5]),
        (lambda q: q.match({"mood": "happy", "active": "true"}), [1, 5]),
        (lambda q: q.filter("age", "gt", "40"), [4, 6]),
        (lambda q: q.like_any_of("name", "A*,B*"), [1, 2]),
        (lambda q: q.ilike_all_of("name", "*e*,*v*"), [5]),
    ],
)
def test_filters(pg: SyncPostgrestClient, build: Any, expected: list[int]) -> None:
    result = build(pg.from_("people").select("id")).order("id").execute()
    assert _ids(result.data) == expected


def test_range_filters(pg: SyncPostgrestClient) -> None:
    # The client sends ranges as exclusive bounds: (5,8) is [6,8) for int4range.
    def ids_where(build: Any) -> list[int]:
        return _ids(build(pg.from_("bookings").select("id")).order("id").execute().data)

    assert ids_where(lambda q: q.range_gt("seats", (5, 8))) == [3, 4]
    assert ids_where(lambda q: q.range_adjacent("seats", (4, 10))) == [1, 3]
    assert ids_where(lambda q: q.range_lt("seats", (10, 12))) == [1, 2]
    assert ids_where(lambda q: q.range_gte("seats", (9, 12))) == [3, 4]


def test_text_search(pg: SyncPostgrestClient) -> None:
    docs = pg.from_("documents").select("id")
    result = docs.text_search("body_tsv", "cat & rat", options={"config": "english"}).execute()
    assert _ids(result.data) == [1]
    plain = pg.from_("documents").select("id").text_search("body_tsv", "lazy dog", options={"type": "plain"})
    assert _ids(plain.execute().data) == [2]
    phrase = (
        pg.from_("documents").select("id").text_search("body_tsv", "fat cats", options={"type": "phrase"})
    )
    assert _ids(phrase.execute().data) == [1]
    web = (
        pg.from_("documents")
        .select("id")
        .text_search("body_tsv", '"brown fox" -cat', options={"type": "web_search"})
    )
    assert _ids(web.execute().data) == [2]


def test_embedding(pg: SyncPostgrestClient) -> None:
    result = (
        pg.from_("authors")
        .select("name, books(title)")
        .eq("id", 2)
        .order("title", foreign_table="books")
        .execute()
    )
    assert result.data == [
        {"name": "Stanisław Lem", "books": [{"title": "Solaris"}, {"title": "The Cyberiad"}]}
    ]
    to_one = pg.from_("books").select("title, author:authors(name)").eq("id", 5).execute()
    assert to_one.data == [{"title": "Kindred", "author": {"name": "Octavia E. Butler"}}]
    many = pg.from_("books").select("id, tags(name)").eq("id", 4).execute()
    assert many.data == [{"id": 4, "tags": [{"name": "satire"}]}]
    inner = pg.from_("authors").select("id, books!inner(id)").eq("books.published", 1979).execute()
    assert inner.data == [{"id": 3, "books": [{"id": 5}]}]


def test_range_and_count(pg: SyncPostgrestClient) -> None:
    result = pg.from_("items").select("id", count="exact").order("id").range(3, 5).execute()
    assert _ids(result.data) == [4, 5, 6]
    assert result.count == 15
    offset = pg.from_("items").select("id").order("id").limit(2).offset(10).execute()
    assert _ids(offset.data) == [11, 12]


def test_head_count(pg: SyncPostgrestClient) -> None:
    result = pg.from_("items").select("*", count="exact", head=True).lt("id", 4).execute()
    assert result.count == 3
    assert not result.data


def test_planned_count(pg: SyncPostgrestClient) -> None:
    result = pg.from_("items").select("id", count="planned").limit(1).execute()
    assert result.count is not None and result.count > 0


def test_single_and_maybe_single(pg: SyncPostgrestClient) -> None:
    one = pg.from_("people").select("name").eq("id", 3).single().execute()
    assert one.data == {"name": "Chloé"}
    maybe = pg.from_("people").select("name").eq("id", 4).maybe_single().execute()
    assert maybe is not None and maybe.data == {"name": "Dmitri"}
    assert pg.from_("people").select("name").eq("id", 99).maybe_single().execute() is None
    with pytest.raises(APIError) as error:
        pg.from_("people").select("name").gt("id", 1).single().execute()
    assert error.value.code == "PGRST116"


def test_csv(pg: SyncPostgrestClient) -> None:
    result = pg.from_("authors").select("id,name").lte("id", 2).order("id").csv().execute()
    assert result.data == 'id,name\n1,"Ursula K. Le Guin"\n2,"Stanisław Lem"'


def test_other_schema(url: str) -> None:
    with SyncPostgrestClient(url, schema="v2") as v2:
        assert v2.from_("items").select("label").order("id").execute().data == [
            {"label": "v2 first"},
            {"label": "v2 second"},
        ]


def test_errors(pg: SyncPostgrestClient) -> None:
    with pytest.raises(APIError) as missing:
        pg.from_("nope").select("*").execute()
    assert missing.value.code == "PGRST205"
    assert missing.value.message == "Could not find the table 'test.nope' in the schema cache"
    with pytest.raises(APIError) as column:
        pg.from_("people").select("nope").execute()
    assert column.value.code == "42703"
    with pytest.raises(APIError) as relation:
        pg.from_("people").select("id, books(*)").execute()
    assert relation.value.code == "PGRST200"


def test_auth_header(url: str) -> None:
    token = jwt.encode({"role": READER}, SECRET, algorithm="HS256")
    with SyncPostgrestClient(url, schema="test") as reader:
        reader.auth(token)
        assert reader.from_("openapi_notes").select("*").execute().data == []
        with pytest.raises(APIError) as denied:
            reader.from_("people").select("id").execute()
        assert denied.value.code == "42501"
    with SyncPostgrestClient(url, schema="test") as bad:
        bad.auth("not-a-jwt")
        with pytest.raises(APIError) as invalid:
            bad.from_("people").select("id").execute()
        assert invalid.value.code == "PGRST301"


def test_rpc(pg: SyncPostgrestClient) -> None:
    assert pg.rpc("add", {"a": 1, "b": 2}).execute().data == 3
    assert pg.rpc("add", {"a": 1}, get=True).execute().data == 11  # b defaults to 10
    assert pg.rpc("greet", {"name": "Ann"}, get=True).execute().data == "Hello, Ann"
    assert pg.rpc("total", {"nums": [1, 2, 3]}).execute().data == 6
    with pytest.raises(APIError) as missing:
        pg.rpc("nope", {}).execute()
    assert missing.value.code == "PGRST202"


# --- writes (the server rolls every transaction back, so each test sees the fixture rows) ---------------


def test_insert_returning(pg: SyncPostgrestClient) -> None:
    one = pg.from_("write_items").insert({"name": "four", "qty": 4}).execute()
    assert [(row["name"], row["qty"], row["note"]) for row in one.data] == [("four", 4, None)]
    many = pg.from_("write_items").insert([{"name": "a", "qty": 2}, {"name": "b", "qty": 7}], count="exact")
    result = many.execute()
    assert result.count == 2
    assert [(row["name"], row["qty"]) for row in result.data] == [("a", 2), ("b", 7)]
    # A key missing from one row of a bulk insert is NULL (PostgREST's default) unless missing=default.
    with pytest.raises(APIError) as null:
        pg.from_("write_items").insert([{"name": "c"}, {"name": "d", "qty": 7}]).execute()
    assert null.value.code == "23502"
    defaults = pg.from_("write_items").insert([{"name": "c"}, {"name": "d", "qty": 7}], default_to_null=False)
    assert [row["qty"] for row in defaults.execute().data] == [1, 7]
    minimal = pg.from_("write_items").insert({"name": "e"}, returning=ReturnMethod.minimal).execute()
    assert minimal.data == []


def test_upsert(pg: SyncPostgrestClient) -> None:
    merged = pg.from_("write_items").upsert({"id": 1, "name": "uno", "qty": 5}).execute()
    assert merged.data == [{"id": 1, "name": "uno", "qty": 5, "note": None}]
    by_code = pg.from_("write_codes").upsert({"code": "x", "label": "new"}, on_conflict="code").execute()
    assert [(row["code"], row["label"]) for row in by_code.data] == [("x", "new")]
    ignored = pg.from_("write_codes").upsert(
        {"code": "x", "label": "no"}, on_conflict="code", ignore_duplicates=True
    )
    assert ignored.execute().data == []


def test_update_and_delete(pg: SyncPostgrestClient) -> None:
    updated = pg.from_("write_items").update({"qty": 9}).eq("id", 2).execute()
    assert updated.data == [{"id": 2, "name": "two", "qty": 9, "note": None}]
    deleted = pg.from_("write_items").delete().eq("id", 3).execute()
    assert deleted.data == [{"id": 3, "name": "three", "qty": 3, "note": None}]
    assert pg.from_("write_items").update({"qty": 1}).eq("id", 999).execute().data == []


def test_write_errors(pg: SyncPostgrestClient) -> None:
    with pytest.raises(APIError) as check:
        pg.from_("write_items").insert({"name": "bad", "qty": -1}).execute()
    assert check.value.code == "23514"
    with pytest.raises(APIError) as denied:
        pg.from_("write_locked").insert({"id": 1}).execute()
    assert denied.value.code == "42501"
    with pytest.raises(APIError) as column:
        pg.from_("write_items").insert({"nope": 1}).execute()
    assert column.value.code == "PGRST204"

"""The engine's cache of request shapes (``rust/src/prepare/shape.rs``), seen from Python: a request of a
known shape gets its own values and ``Content-Location``, a request with no values is the same object
every time, what the SQL depends on is part of the shape, and errors are answered every time."""

from pathlib import Path

import pytest

from restpg._core import ApiError, Engine, Prepared, SchemaCache, Settings

FIXTURE = Path(__file__).parents[2] / "rust" / "tests" / "fixtures" / "schema.json"


@pytest.fixture(scope="module")
def cache() -> SchemaCache:
    return SchemaCache(FIXTURE.read_bytes())


@pytest.fixture
def engine(cache: SchemaCache) -> Engine:
    return Engine(cache, Settings(db_schemas=["test"], db_extra_search_path=[]))


def get(engine: Engine, path: str, query: str, method: str = "GET", **headers: str) -> Prepared:
    return engine.prepare(method, path, query, b"", **headers)


def location(prepared: Prepared) -> str:
    return dict(prepared.headers)["content-location"]


def test_each_request_of_a_shape_gets_its_own_values(engine: Engine) -> None:
    first = get(engine, "/clients", "id=eq.1&select=id,name")
    second = get(engine, "/clients", "id=eq.2&select=id,name")
    assert second.sql == first.sql and second.name == first.name
    assert (first.params, second.params) == ([b"1"], [b"2"])
    assert location(first) == "/clients?id=eq.1&select=id%2Cname"
    assert location(second) == "/clients?id=eq.2&select=id%2Cname"
    third = get(engine, "/clients", "id=eq.caf%C3%A9+%2C%27&select=id,name")
    assert third.params == ["café ,'".encode()]
    assert location(third) == "/clients?id=eq.caf%C3%A9%20%2C%27&select=id%2Cname"


def test_a_request_without_values_is_prepared_once(engine: Engine) -> None:
    first = get(engine, "/clients", "select=id&limit=5")
    assert get(engine, "/clients", "select=id&limit=5") is first
    assert get(engine, "/clients", "select=id&limit=6") is not first


@pytest.mark.parametrize(
    ("first", "second", "params"),
    [
        ("name=like.a*", "name=like.b*", [b"b%"]),  # like's `*` is rewritten: the value is in the shape
        ("id=in.(1,2)", "id=in.(3)", [b'{"3"}']),
        ("id=eq.1", "id=gt.1", [b"1"]),
    ],
)
def test_values_the_sql_rewrites_stay_in_the_shape(
    engine: Engine, first: str, second: str, params: list[bytes]
) -> None:
    get(engine, "/clients", first)
    assert get(engine, "/clients", second).params == params


def test_headers_the_core_reads_are_part_of_the_shape(engine: Engine) -> None:
    plain = get(engine, "/clients", "id=eq.1")
    counted = get(engine, "/clients", "id=eq.2", prefer="count=exact")
    assert (plain.count, counted.count) == (None, "exact")
    assert get(engine, "/clients", "id=eq.3", method="HEAD").head
    assert get(engine, "/clients", "id=eq.3", accept="text/csv").content_type == "text/csv; charset=utf-8"


def test_a_delete_is_shaped_too(engine: Engine) -> None:
    first = engine.prepare("DELETE", "/clients", "id=eq.1", b"ignored")
    second = engine.prepare("DELETE", "/clients", "id=eq.2", b"")
    assert (first.kind, first.params, second.params) == ("delete", [b"1"], [b"2"])
    assert first.sql == second.sql


def test_a_calls_plain_arguments_are_values_of_its_shape(engine: Engine) -> None:
    first = get(engine, "/rpc/get_projects", "client_id=1&select=id")
    second = get(engine, "/rpc/get_projects", "client_id=2&select=id")
    assert (first.kind, first.sql, first.params[-1:], second.params[-1:]) == (
        "call",
        second.sql,
        [b"1"],
        [b"2"],
    )
    # A value that starts like an operator makes a filter, as in PostgREST: another shape, not an argument.
    with pytest.raises(ApiError) as caught:
        get(engine, "/rpc/get_projects", "client_id=eq.1&select=id")
    assert caught.value.code == "PGRST202"


def test_errors_are_answered_every_time(engine: Engine) -> None:
    for _ in range(2):
        with pytest.raises(ApiError) as caught:
            get(engine, "/clients", "select=*,projects(*)&projects=eq.1")
        assert caught.value.code == "PGRST120"
    with pytest.raises(ApiError):
        get(engine, "/nowhere", "id=eq.1")

"""Calling functions at /rpc/fn: argument styles and the JSON shape of every result kind."""

import httpx
import psycopg
import pytest

from support.assertions import JSON_CT, assert_json

# Arguments.


def test_get_passes_query_arguments(client: httpx.Client) -> None:
    assert_json(client.get("/rpc/add?a=1&b=2"), 3)


def test_post_passes_json_arguments(client: httpx.Client) -> None:
    assert_json(client.post("/rpc/add", json={"a": 1, "b": 2}), 3)


def test_missing_arguments_take_their_defaults(client: httpx.Client) -> None:
    assert_json(client.get("/rpc/add?a=1"), 11)
    assert_json(client.post("/rpc/add", json={"a": 1}), 11)


def test_an_array_payload_calls_with_its_first_object(client: httpx.Client) -> None:
    assert_json(client.post("/rpc/add", json=[{"a": 1, "b": 1}, {"a": 5, "b": 5}]), 2)


def test_columns_restricts_the_payload_keys(client: httpx.Client) -> None:
    assert_json(client.post("/rpc/add?columns=a", json={"a": 1, "b": 100}), 11)


def test_empty_body_is_no_arguments(client: httpx.Client) -> None:
    assert_json(client.post("/rpc/greet", content=b""), "Hello, stranger")


def test_form_urlencoded_arguments(client: httpx.Client) -> None:
    response = client.post(
        "/rpc/add",
        content=b"a=4&b=5",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_json(response, 9)


def test_repeated_query_argument_keeps_the_last_value(client: httpx.Client) -> None:
    assert_json(client.get("/rpc/add?a=1&a=2&b=0"), 2)


def test_json_arrays_become_array_arguments(client: httpx.Client) -> None:
    assert_json(client.post("/rpc/array_arg", json={"vals": [1, 2, 3, 4]}), 4)
    assert_json(client.get("/rpc/array_arg?vals=%7B1,2%7D"), 2)


def test_overloads_are_resolved_by_argument_names(client: httpx.Client) -> None:
    assert_json(client.get("/rpc/greet"), "Hello, stranger")
    assert_json(client.get("/rpc/greet?name=Ada"), "Hello, Ada")
    assert_json(client.post("/rpc/greet", json={"name": "Ada"}), "Hello, Ada")


def test_variadic_from_repeated_query_keys(client: httpx.Client) -> None:
    assert_json(client.get("/rpc/total?nums=1&nums=2&nums=3"), 6)
    assert_json(client.get("/rpc/total?nums=4"), 4)
    assert_json(client.get("/rpc/total"), 0)


def test_variadic_from_a_json_array(client: httpx.Client) -> None:
    assert_json(client.post("/rpc/total", json={"nums": [1, 2, 3]}), 6)


def test_arguments_are_never_sql(client: httpx.Client) -> None:
    evil = "x'); DROP TABLE test.items; --"
    assert_json(client.get("/rpc/greet", params={"name": evil}), f"Hello, {evil}")
    assert client.get("/items?select=id&limit=1").status_code == 200


# A single unnamed parameter receives the raw body.


def test_unnamed_json_parameter_gets_the_body(client: httpx.Client) -> None:
    assert_json(client.post("/rpc/echo_json", json={"any": ["thing", 1]}), {"any": ["thing", 1]})


def test_unnamed_text_parameter_gets_a_plain_text_body(client: httpx.Client) -> None:
    response = client.post("/rpc/echo_text", content="plain words", headers={"Content-Type": "text/plain"})
    assert_json(response, "plain words")


def test_unnamed_bytea_parameter_gets_an_octet_stream(client: httpx.Client) -> None:
    response = client.post(
        "/rpc/byte_count",
        content=bytes([0, 1, 92, 255, 120]),
        headers={"Content-Type": "application/octet-stream"},
    )
    assert_json(response, 5)


def test_unnamed_xml_parameter_gets_an_xml_body(
    client: httpx.Client, db_conn: psycopg.Connection[tuple[object, ...]]
) -> None:
    try:
        db_conn.execute("SELECT '<a/>'::xml")
    except psycopg.errors.FeatureNotSupported:
        pytest.skip("this PostgreSQL was built without libxml (the embedded one is)")
    response = client.post("/rpc/echo_xml", content="<a>b</a>", headers={"Content-Type": "text/xml"})
    assert_json(response, "<a>b</a>")


# Result kinds.


def test_scalar_null(client: httpx.Client) -> None:
    assert_json(client.get("/rpc/nothing"), None)


def test_scalar_array(client: httpx.Client) -> None:
    assert_json(client.get("/rpc/int_array"), [1, 2, 3])


def test_setof_scalar(client: httpx.Client) -> None:
    assert_json(client.get("/rpc/int_series?n=3"), [1, 2, 3])
    assert_json(client.get("/rpc/int_series?n=0"), [])


def test_anonymous_record_is_an_object(client: httpx.Client) -> None:
    assert_json(client.get("/rpc/anonymous_record"), {"a": 1, "b": "x"})


def test_single_table_row_is_an_object(client: httpx.Client) -> None:
    body = client.get("/rpc/first_book").json()
    assert body["id"] == 1 and body["title"] == "The Left Hand of Darkness"


def test_composite_type_is_an_object(client: httpx.Client) -> None:
    assert_json(client.get("/rpc/origin"), {"x": 0, "y": 0})


def test_out_parameters_are_an_object(client: httpx.Client) -> None:
    assert_json(client.get("/rpc/author_stats?author=1"), {"books": 2, "newest": 1974})


def test_setof_table_is_an_array_of_objects(client: httpx.Client) -> None:
    response = client.get("/rpc/books_by?author=2")
    assert response.status_code == 200
    assert [b["title"] for b in response.json()] == ["Solaris", "The Cyberiad"]


def test_returns_table_is_an_array_of_objects(client: httpx.Client) -> None:
    body = client.get("/rpc/book_titles?limit=2").json()
    assert body == [
        {"book_id": 1, "title": "The Left Hand of Darkness"},
        {"book_id": 2, "title": "The Dispossessed"},
    ]


def test_void_is_204_without_body_or_content_type(client: httpx.Client) -> None:
    response = client.post("/rpc/noop")
    assert response.status_code == 204
    assert response.content == b""
    assert "content-type" not in response.headers


def test_head_runs_without_a_body(client: httpx.Client) -> None:
    response = client.head("/rpc/add?a=1")
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON_CT
    assert response.content == b""


# Transactions.


def test_volatile_function_under_get_fails_in_the_read_only_transaction(client: httpx.Client) -> None:
    response = client.get("/rpc/add_item?new_id=100")
    assert response.status_code == 405
    assert response.json()["code"] == "25006"


def test_volatile_function_under_post_may_write(client: httpx.Client) -> None:
    assert_json(client.post("/rpc/add_item", json={"new_id": 100}), 100)


def test_stable_functions_run_read_only_even_under_post(client: httpx.Client) -> None:
    assert_json(client.get("/rpc/read_only_stable"), "on")
    assert_json(client.post("/rpc/read_only_stable"), "on")
    assert_json(client.post("/rpc/read_only_volatile"), "off")


# Profiles.


def test_function_in_another_schema_by_accept_profile(client: httpx.Client) -> None:
    response = client.get("/rpc/version", headers={"Accept-Profile": "v2"})
    assert_json(response, "v2")
    assert response.headers["content-profile"] == "v2"


def test_function_in_another_schema_by_content_profile(client: httpx.Client) -> None:
    response = client.post("/rpc/version", headers={"Content-Profile": "v2"})
    assert_json(response, "v2")
    assert response.headers["content-profile"] == "v2"


def test_options_on_a_function(client: httpx.Client) -> None:
    response = client.options("/rpc/add")
    assert response.status_code == 200
    assert response.headers["allow"] == "OPTIONS,GET,HEAD,POST"


def test_unnamed_json_parameter_and_non_object_arrays(client: httpx.Client) -> None:
    # As in PostgREST, a JSON array must hold objects with the same keys, even for a json parameter.
    response = client.post("/rpc/echo_json", json=[1, 2])
    assert response.status_code == 400
    assert response.json()["message"] == "All object keys must match"

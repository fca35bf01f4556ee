"""Errors of /rpc: unknown and ambiguous functions, raised exceptions, response GUCs; never a 5xx for a bad call."""

import httpx
import pytest

from support.assertions import assert_error, assert_json


def test_unknown_argument_names_the_closest_signature(client: httpx.Client) -> None:
    assert_error(
        client.get("/rpc/greet?nam=Ada"),
        status=404,
        code="PGRST202",
        message="Could not find the function test.greet(nam) in the schema cache",
        details="Searched for the function test.greet with parameter nam, but no matches were found in the schema cache.",
        hint="Perhaps you meant to call the function test.greet(name)",
    )


def test_unknown_function_by_post_suggests_a_close_name(client: httpx.Client) -> None:
    assert_error(
        client.post("/rpc/gret", json={"name": "x"}),
        status=404,
        code="PGRST202",
        message="Could not find the function test.gret(name) in the schema cache",
        details="Searched for the function test.gret with parameter name or with a single unnamed json/jsonb "
        "parameter, but no matches were found in the schema cache.",
        hint="Perhaps you meant to call the function test.greet",
    )


def test_unknown_function_without_arguments(client: httpx.Client) -> None:
    assert_error(
        client.get("/rpc/zzzzzz"),
        status=404,
        code="PGRST202",
        message="Could not find the function test.zzzzzz without parameters in the schema cache",
        details="Searched for the function test.zzzzzz without parameters, but no matches were found in the "
        "schema cache.",
    )


def test_raw_body_without_a_matching_parameter(client: httpx.Client) -> None:
    assert_error(
        client.post("/rpc/add", content="1", headers={"Content-Type": "text/plain"}),
        status=404,
        code="PGRST202",
        message="Could not find the function test.add in the schema cache",
        details="Searched for the function test.add with a single unnamed text parameter, but no matches were "
        "found in the schema cache.",
    )


def test_too_many_arguments(client: httpx.Client) -> None:
    assert_error(
        client.post("/rpc/add", json={"a": 1, "b": 2, "c": 3}), status=404, code="PGRST202", exact=False
    )


def test_ambiguous_overload(client: httpx.Client) -> None:
    assert_error(
        client.get("/rpc/twin?x=1"),
        status=300,
        code="PGRST203",
        message="Could not choose the best candidate function between: test.twin(x => integer), "
        "test.twin(x => text)",
        hint="Try renaming the parameters or the function itself in the database so function overloading can "
        "be resolved",
    )


def test_query_arguments_on_post_are_a_parse_error(client: httpx.Client) -> None:
    assert_error(client.post("/rpc/add?a=1", json={"b": 1}), status=400, code="PGRST100", exact=False)


def test_bad_filter_on_a_call(client: httpx.Client) -> None:
    assert_error(client.get("/rpc/all_books?id=gt"), status=400, code="PGRST100", exact=False)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/rpc/add?a=notanumber", 400),
        ("/rpc/all_books?nope=eq.1", 400),
        ("/rpc/all_books?select=nope", 400),
        ("/rpc/array_arg?vals=not-an-array", 400),
        ("/rpc/all_books?select=id,nosuchtable(id)", 400),
    ],
)
def test_malformed_calls_are_client_errors(client: httpx.Client, path: str, status: int) -> None:
    response = client.get(path)
    assert response.status_code == status, response.text
    assert set(response.json()) == {"code", "message", "details", "hint"}


def test_malformed_json_body(client: httpx.Client) -> None:
    response = client.post("/rpc/add", content=b"{nope", headers={"Content-Type": "application/json"})
    assert_error(response, status=400, code="PGRST102", message="Empty or invalid json")


def test_wrong_json_type_for_an_argument(client: httpx.Client) -> None:
    response = client.post("/rpc/add", json={"a": "one"})
    assert response.status_code == 400
    assert response.json()["code"] == "22P02"


def test_unsupported_method(client: httpx.Client) -> None:
    assert_error(
        client.delete("/rpc/add"),
        status=405,
        code="PGRST101",
        message="Cannot use the DELETE method on RPC",
    )


def test_raise_with_pt_sqlstate_sets_the_status(client: httpx.Client) -> None:
    assert_error(client.post("/rpc/pay_up"), status=402, code="PT402", message="Payment Required")


def test_raise_detail_and_hint_reach_the_body(client: httpx.Client) -> None:
    assert_error(
        client.post("/rpc/refuse"),
        status=400,
        code="P0001",
        message="I refuse!",
        details="Pretty simple",
        hint="There is nothing to do.",
    )


def test_raise_pgrst_gives_full_control(client: httpx.Client) -> None:
    response = client.post("/rpc/full_control")
    assert response.status_code == 332
    assert response.headers["x-powered-by"] == "Nerd Rage"
    assert response.json() == {"code": "123", "message": "ABC", "details": "DEF", "hint": "XYZ"}


def test_response_gucs_set_inside_the_function(client: httpx.Client) -> None:
    response = client.post("/rpc/accepted")
    assert_json(response, "queued", status=202)
    assert response.headers["x-queue"] == "low"
    assert response.headers["cache-control"] == "no-cache"

"""Error responses: shape, codes, exact PostgREST messages, and no 5xx for malformed input."""

import httpx
import pytest

from support.assertions import assert_error


def test_unknown_table(client: httpx.Client) -> None:
    assert_error(
        # No table name shares a letter group with this one, so there is no "Perhaps you meant" hint.
        client.get("/zqxjkv"),
        status=404,
        code="PGRST205",
        message="Could not find the table 'test.zqxjkv' in the schema cache",
    )


def test_unknown_table_with_a_close_name_has_a_hint(client: httpx.Client) -> None:
    assert_error(
        client.get("/peoplx"),
        status=404,
        code="PGRST205",
        message="Could not find the table 'test.peoplx' in the schema cache",
        hint="Perhaps you meant the table 'test.people'",
    )


def test_unexposed_schema_table_is_not_found(client: httpx.Client) -> None:
    assert_error(client.get("/secrets"), status=404, code="PGRST205", exact=False)


@pytest.mark.parametrize("path", ["/items/1", "/a/b/c", "/rpc/a/b"])
def test_invalid_path(client: httpx.Client, path: str) -> None:
    assert_error(
        client.get(path),
        status=404,
        code="PGRST125",
        message="Invalid path specified in request URL",
    )


def test_unsupported_method(client: httpx.Client) -> None:
    assert_error(
        client.request("TRACE", "/items"),
        status=405,
        code="PGRST117",
        message="Unsupported HTTP method: TRACE",
    )


def test_parse_error_carries_message_and_details(client: httpx.Client) -> None:
    response = client.get("/items?order=id.asc.nullslasttt")
    body = response.json()
    assert body["message"] == '"failed to parse order (id.asc.nullslasttt)" (line 1, column 17)'
    assert body["details"] == "unexpected 't' expecting \",\" or end of input"
    assert body["hint"] is None


def test_unknown_column_is_a_postgres_error(client: httpx.Client) -> None:
    response = client.get("/items?nope=eq.1")
    assert_error(response, status=400, code="42703", message="nope", exact=False)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/people?name=eq.a%00b"),  # the second request of a shape too (the engine caches shapes)
        ("GET", "/people?name=eq.c%00d"),
        ("GET", "/people?name=in.(a,b%00)"),
        ("DELETE", "/people?name=eq.%00"),
    ],
)
def test_a_nul_byte_in_a_value_is_refused(client: httpx.Client, method: str, path: str) -> None:
    """PostgreSQL refuses text holding a NUL byte; a value is never cut short at it instead."""
    client.get("/people?name=eq.x")  # the shape is known before the NUL arrives
    assert_error(
        client.request(method, path),
        status=400,
        code="22021",
        message='invalid byte sequence for encoding "UTF8": 0x00',
    )


def test_error_body_is_compact_json(client: httpx.Client) -> None:
    # PostgREST's bodies have no insignificant whitespace; clients and tests compare Content-Length.
    response = client.get("/invalid/nested/paths")
    assert response.content == (
        b'{"code":"PGRST125","details":null,"hint":null,"message":"Invalid path specified in request URL"}'
    )
    assert response.headers["content-length"] == "96"


def test_head_errors_have_proxy_status_and_no_body(client: httpx.Client) -> None:
    response = client.head("/nosuchtable")
    assert response.status_code == 404
    assert response.content == b""
    assert response.headers["proxy-status"] == "PostgREST; error=PGRST205"


MALFORMED = [
    "/people?select=id,",
    "/people?select=(",
    "/people?select=id)",
    "/people?select=%22",
    "/people?select=data->",
    "/people?select=id::",
    "/people?select=a:b:c",
    "/people?id=",
    "/people?id=eq",
    "/people?id=in.(1,2",
    "/people?id=in.1,2",
    "/people?id=eq(any).1",
    "/people?id=fts(",
    "/people?or=",
    "/people?or=(",
    "/people?and=((id.eq.1)",
    "/people?order=.asc",
    "/people?limit=abc",
    "/people?offset=abc",
    "/people?limit=99999999999999999999999",
    "/people?age=eq.99999999999999999999999",
    "/people?%ZZ=eq.1",
    "/people?id=eq.%FF%FE",
    "/people?data->>=eq.1",
    "/people?not=eq.1",
    "/people?id=not.not.eq.1",
    "/%FF",
    "/people%00",
    "/people?select=" + "(" * 200,
    "/people?or=" + "(" * 200,
    "/people?select=" + "a," * 2000 + "id",
]


@pytest.mark.parametrize("path", MALFORMED)
def test_malformed_input_is_never_a_server_error(client: httpx.Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code < 500, (path, response.status_code, response.text)
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"code", "message", "details", "hint"}


@pytest.mark.parametrize(
    "headers",
    [
        {"Range": "items=abc"},
        {"Range": "-5"},
        {"Range": "99999999999999999999999-"},
        {"Accept": ";;;"},
        {"Accept": "application/vnd.pgrst.object+json;nulls=oops"},
        {"Prefer": "count=exact, count=planned, ===="},
        {"Accept-Profile": ""},
        {"Accept-Profile": "x" * 5000},
    ],
)
def test_malformed_headers_are_never_a_server_error(client: httpx.Client, headers: dict[str, str]) -> None:
    response = client.get("/items", headers=headers)
    assert response.status_code < 500, (headers, response.status_code, response.text)

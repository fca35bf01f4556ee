"""Hostile input through a live server: an SQL-injection corpus and hypothesis-generated query strings and
headers. No request may inject SQL, and none may get a 5xx: bad input is a 4xx PostgREST error."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.fix_server import ServerFactory
from support.server import Server

PAYLOADS = [
    "'",
    "''",
    '"',
    '""',
    "1'; DROP TABLE test.fault_log; --",
    '1"; DROP TABLE test.fault_log; --',
    "1) OR (1=1",
    "1 OR 1=1",
    "x' OR '1'='1",
    "1; SELECT pg_sleep(3)",
    "1'); SELECT pg_sleep(3); --",
    "$1",
    "$$; SELECT pg_sleep(3); $$",
    "/* comment */ 1",
    "-- comment",
    "\\",
    "\\'",
    "\x00",
    "a\x00b",
    "%00",
    "\u2019; DROP TABLE test.fault_log; --",
    "\u02bc OR 1=1",
    "\ufeff",
    "\U0001f600",
    "é\u0301",
    "(",
    ")",
    "((((",
    ",,,",
    "*",
    "id.eq.1)",
    "a" * 300,
]
TARGETS = [
    "/items?id=eq.{p}",
    "/items?id=in.({p})",
    "/items?select={p}",
    "/items?select=id,{p}",
    "/items?order={p}",
    "/items?{p}=eq.1",
    "/items?or=({p})",
    "/items?id=like.{p}",
    "/items?limit={p}",
    "/{p}",
    "/rpc/{p}",
    "/items?select=id::{p}",
    "/items?select={p}:id",
    "/items?id=fts({p}).x",
]
HEADERS = [
    "Prefer",
    "Accept",
    "Range",
    "Accept-Profile",
    "Content-Profile",
    "Authorization",
    "Cookie",
    "X-Any",
]


@pytest.fixture
def hostile(own_server: ServerFactory) -> Server:
    return own_server({"db-pool": 4, "restpg-max-url-bytes": 8192})


@pytest.fixture
def canary(db_conn: psycopg.Connection[tuple[object, ...]]) -> Iterator[None]:
    yield
    # Nothing the corpus sent was executed as SQL: the table it tries to drop is still there.
    assert db_conn.execute("SELECT to_regclass('test.fault_log') IS NOT NULL").fetchone() == (True,)


def assert_not_5xx(response: httpx.Response, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text}"


def test_injection_corpus(hostile: Server, canary: None) -> None:
    started = time.monotonic()
    with httpx.Client(base_url=hostile.url, timeout=10.0) as http:
        for payload in PAYLOADS:
            encoded = quote(payload, safe="")
            for target in TARGETS:
                url = target.format(p=encoded)
                assert_not_5xx(http.get(url), url)
            for name in HEADERS:
                value = payload.encode("utf-8")
                if b"\x00" in value or b"\n" in value:
                    continue  # sent raw below
                response = http.get("/items?id=eq.1", headers={name: value})
                assert_not_5xx(response, f"{name}: {payload!r}")
    # pg_sleep payloads never ran: the whole corpus takes far less than one of them would.
    assert time.monotonic() - started < 60


def raw_request(server: Server, head: bytes) -> int:
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head)
        data = b""
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                return 0  # the HTTP server closed the connection: refused before the application
            data += chunk
    return int(data.split(b" ", 2)[1])


def test_control_bytes_in_headers(hostile: Server, canary: None) -> None:
    for name in HEADERS:
        for value in (b"a\x00b", b"\x00", b"\xff\xfe", b"\x7f", "é".encode()):
            head = b"GET /items?id=eq.1 HTTP/1.1\r\nHost: x\r\n%s: %s\r\nConnection: close\r\n\r\n"
            status = raw_request(hostile, head % (name.encode(), value))
            assert status < 500, (name, value, status)


query_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)) | st.sampled_from("=.,()*:!-'\"%&?"),
    max_size=60,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=query_text, value=query_text, prefer=query_text, accept=query_text, range_=query_text)
def test_random_requests_never_5xx(
    hostile: Server, key: str, value: str, prefer: str, accept: str, range_: str
) -> None:
    def header(text: str) -> str:
        return "".join(ch for ch in text if " " <= ch <= "~").strip()  # what header values may carry

    url = f"{hostile.url}/items?{quote(key, safe='=.,()*:!')}={quote(value, safe='=.,()*:!')}"
    headers = {"Prefer": header(prefer), "Accept": header(accept) or "*/*", "Range": header(range_)}
    response = httpx.get(url, headers=headers, timeout=10.0)
    assert_not_5xx(response, f"{url} {headers}")

"""The app answers through both server interfaces: ASGI (any ASGI server) and RSGI (what restpg serve runs).

No database: before the schema cache is loaded every request is a 503 PGRST002, which is enough to check
that each adapter reads the request and delivers status, headers and body.
"""

import asyncio
from typing import Any

import msgspec

from restpg.app import App
from restpg.config import load


def _app() -> App:
    return App(
        load(None, {"PGRST_DB_URI": "postgresql://nobody@127.0.0.1:1/none", "PGRST_DB_ANON_ROLE": "anon"})
    )


def test_asgi_adapter() -> None:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/items",
        "raw_path": b"/items",
        "query_string": b"id=eq.1",
        "headers": [(b"origin", b"http://example.com")],
    }
    asyncio.run(_app()(scope, receive, send))
    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 503
    assert (b"access-control-allow-origin", b"*") in sent[0]["headers"]
    assert msgspec.json.decode(sent[1]["body"])["code"] == "PGRST002"


class _Headers:
    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs

    def items(self) -> list[tuple[str, str]]:
        return self.pairs


class _Scope:
    proto = "http"
    method = "POST"
    path = "/ünï 100%"
    query_string = ""
    headers = _Headers([("origin", "http://example.com"), ("content-type", "application/json")])


class _Protocol:
    def __init__(self) -> None:
        self.response: tuple[int, list[tuple[str, str]], bytes] | None = None

    async def __call__(self) -> bytes:
        return b"{}"

    def response_bytes(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.response = (status, headers, body)


def test_rsgi_adapter() -> None:
    protocol = _Protocol()
    asyncio.run(_app().__rsgi__(_Scope(), protocol))
    assert protocol.response is not None
    status, headers, body = protocol.response
    assert status == 503
    assert ("access-control-allow-origin", "*") in headers
    assert msgspec.json.decode(body)["code"] == "PGRST002"

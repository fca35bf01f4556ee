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
    http_version = "1.1"
    client = "127.0.0.1:50000"
    method = "POST"
    path = "/ünï 100%"
    query_string = ""
    headers = _Headers([("origin", "http://example.com"), ("content-type", "application/json")])


class _Protocol:
    def __init__(self) -> None:
        self.response: tuple[int, list[tuple[str, str]], bytes] | None = None

    async def __call__(self) -> bytes:
        return b"{}"

    async def client_disconnect(self) -> None:
        await asyncio.Event().wait()  # the client stays

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


def test_limits_apply_through_both_interfaces() -> None:
    """Limits are checked in ``App.handle``: the same 414/431/413 whichever adapter read the request."""
    app = App(
        load(
            None,
            {
                "PGRST_DB_URI": "postgresql://nobody@127.0.0.1:1/none",
                "PGRST_DB_ANON_ROLE": "anon",
                "RESTPG_MAX_URL_BYTES": "100",
                "RESTPG_MAX_HEADER_BYTES": "200",
                "RESTPG_MAX_BODY_BYTES": "10",
            },
        )
    )

    class Long(_Scope):
        query_string = "id=in.(" + "1," * 100 + "1)"

    class Big(_Scope):
        headers = _Headers([("x-big", "x" * 300)])

    class Declared(_Scope):
        headers = _Headers([("content-length", "11")])

    for scope, status in ((Long(), 414), (Big(), 431), (Declared(), 413)):
        protocol = _Protocol()
        asyncio.run(app.__rsgi__(scope, protocol))
        assert protocol.response is not None and protocol.response[0] == status

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
        "query_string": Long.query_string.encode(),
        "headers": [],
    }
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 414


def test_a_config_reload_keeps_the_reads_in_flight_watched() -> None:
    """Applying a reloaded config rebuilds what depends on it, not the registry of running reads: a read
    tracked before the reload is still found, and released, by the registry after it."""
    app = _app()

    async def scenario() -> bool:
        async def never() -> None:
            await asyncio.Event().wait()

        loop = asyncio.get_running_loop()
        registry = app._reads
        watch = registry.track(loop, never)
        app._configure(load(None, {"PGRST_DB_URI": "postgresql://nobody@127.0.0.1:1/none"}))
        app._reads.done(watch)  # as _execute does once the read ends
        return not registry._running  # else its ticker would keep it, and later watch a finished request

    assert asyncio.run(scenario())

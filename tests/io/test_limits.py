"""Size and nesting limits: a clear 4xx for each, and the server keeps serving afterwards."""

from __future__ import annotations

import json

import httpx
import pytest

from support.fix_server import ServerFactory

LIMITS = {"restpg-max-url-bytes": 2048, "restpg-max-header-bytes": 4096, "restpg-max-body-bytes": 1024}


def limited(own_server: ServerFactory) -> httpx.Client:
    return httpx.Client(base_url=own_server(LIMITS).url, timeout=10.0)


def assert_code(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code, body
    assert set(body) == {"code", "message", "details", "hint"}


def test_url_too_long(own_server: ServerFactory) -> None:
    with limited(own_server) as http:
        values = ",".join(str(n) for n in range(1000))
        assert_code(http.get(f"/items?id=in.({values})"), 414, "RESTPG414")
        assert http.get("/items?id=in.(1,2)").status_code == 200


def test_headers_too_large(own_server: ServerFactory) -> None:
    with limited(own_server) as http:
        assert_code(http.get("/items", headers={"x-padding": "a" * 5000}), 431, "RESTPG431")
        assert http.get("/items", headers={"x-padding": "a" * 100}).status_code == 200


def test_body_too_large(own_server: ServerFactory) -> None:
    with limited(own_server) as http:
        rows = json.dumps([{"id": n, "payload": "x" * 20} for n in range(100)])
        headers = {"content-type": "application/json"}
        assert_code(http.post("/fault_log", content=rows, headers=headers), 413, "RESTPG413")

        def chunks() -> object:  # no Content-Length: the limit applies while the body streams in
            for _ in range(10):
                yield b" " * 200

        assert_code(http.post("/fault_log", content=chunks(), headers=headers), 413, "RESTPG413")  # type: ignore[arg-type]


def test_deep_select_and_logic_trees_are_400(own_server: ServerFactory) -> None:
    with limited(own_server) as http:
        deep_select = "items(" * 200 + "id" + ")" * 200
        response = http.get(f"/items?select={deep_select}")
        assert response.status_code == 400, response.text
        deep_logic = "or=(" + "and(" * 200 + "id.eq.1" + ")" * 200 + ")"
        response = http.get(f"/items?{deep_logic}")
        assert response.status_code == 400, response.text


def test_deep_json_body_is_400(own_server: ServerFactory) -> None:
    with httpx.Client(base_url=own_server().url, timeout=10.0) as http:
        deep_object = '{"a":' * 50_000 + "1" + "}" * 50_000
        payloads = [
            "[" * 100_000 + "]" * 100_000,
            deep_object,
        ]
        for payload in payloads:
            response = http.post("/fault_log", content=payload, headers={"content-type": "application/json"})
            if response.status_code == 501:  # before the write path lands, POST is PGRST127
                pytest.skip("POST on tables is not implemented on this branch yet")
            assert response.status_code == 400, response.text[:300]
            assert response.json()["code"] in ("PGRST102", "PGRST204"), response.text[:300]
        assert http.get("/items?id=eq.1").status_code == 200


def test_deep_json_value_under_a_column_is_400(own_server: ServerFactory) -> None:
    deep_object = '{"a":' * 50_000 + "1" + "}" * 50_000
    with httpx.Client(base_url=own_server().url, timeout=10.0) as http:
        payload = '{"id": 1, "payload": ' + deep_object + "}"
        response = http.post("/fault_log", content=payload, headers={"content-type": "application/json"})
        assert response.status_code == 400, response.text[:300]
        assert response.json()["code"] == "PGRST102", response.text[:300]

"""Nothing is ever half-written: one statement per request, COMMIT only after the whole statement succeeded,
the whole body read before anything runs, and a committed write survives the client hanging up.

These tests commit (`Prefer: tx=commit`) to observe what really persists, and remove what they committed."""

import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from support.assertions import assert_error, assert_json
from support.server import Server

COMMIT = {"Prefer": "tx=commit"}


@pytest.fixture
def clean_bulk(client: httpx.Client) -> Iterator[None]:
    yield
    for table in ("write_bulk", "write_slow"):
        response = client.delete(f"/{table}?id=gte.0", headers=COMMIT)
        assert response.status_code == 204, response.text


def _count(client: httpx.Client, table: str) -> int:
    response = client.get(f"/{table}?select=id", headers={"Prefer": "count=exact"})
    assert response.status_code == 200
    return int(response.headers["content-range"].split("/")[1])


def test_bulk_insert_with_one_bad_row_writes_nothing(client: httpx.Client, clean_bulk: None) -> None:
    rows = [{"id": i, "payload": "ok"} for i in range(100)]
    rows[57]["id"] = rows[3]["id"]  # a duplicate key in the middle of the batch
    response = client.post("/write_bulk", json=rows, headers=COMMIT)
    assert_error(response, status=409, code="23505", exact=False)
    assert _count(client, "write_bulk") == 0


def test_ten_thousand_rows_in_one_statement(client: httpx.Client, clean_bulk: None) -> None:
    rows = [{"id": i, "payload": f"row {i}"} for i in range(10_000)]
    started = time.perf_counter()
    response = client.post("/write_bulk", json=rows, headers={"Prefer": "tx=commit, count=exact"})
    elapsed = time.perf_counter() - started
    assert response.status_code == 201, response.text
    assert response.headers["content-range"] == "*/10000"
    assert response.headers["preference-applied"] == "count=exact, tx=commit"
    assert _count(client, "write_bulk") == 10_000
    assert elapsed < 30  # generous: one statement, not 10,000


def test_rollback_preference_persists_nothing(client: httpx.Client) -> None:
    response = client.post(
        "/write_bulk", json={"id": 1}, headers={"Prefer": "tx=rollback, return=representation"}
    )
    assert_json(response, [{"id": 1, "payload": None}], status=201)
    assert response.headers["preference-applied"] == "return=representation, tx=rollback"
    assert _count(client, "write_bulk") == 0


def test_commit_preference_persists(client: httpx.Client, clean_bulk: None) -> None:
    response = client.post("/write_bulk", json={"id": 1}, headers=COMMIT)
    assert response.status_code == 201
    assert response.headers["preference-applied"] == "tx=commit"
    assert _count(client, "write_bulk") == 1


def _raw_request(url: str, head: bytes, body: bytes) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=5)
    sock.sendall(head + body)
    return sock


def test_body_cut_off_mid_way_writes_nothing(client: httpx.Client, server: Server, clean_bulk: None) -> None:
    # The part that arrives is valid JSON on its own: executing it early would insert a row.
    sent = b'[{"id": 1, "payload": "a"}]'
    body = sent + b" " * 64
    head = (
        b"POST /write_bulk HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        b"Prefer: tx=commit\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    sock = _raw_request(server.url, head, sent)
    time.sleep(0.2)
    sock.close()
    time.sleep(0.5)
    assert _count(client, "write_bulk") == 0


def test_disconnect_after_sending_does_not_lose_the_row(
    client: httpx.Client, server: Server, clean_bulk: None
) -> None:
    body = b'{"id": 7}'
    head = (
        b"POST /write_slow HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        b"Prefer: tx=commit\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    sock = _raw_request(server.url, head, body)
    time.sleep(0.2)  # the statement is running (its trigger sleeps 0.5 s) when the client hangs up
    sock.close()
    deadline = time.monotonic() + 5
    while _count(client, "write_slow") == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _count(client, "write_slow") == 1

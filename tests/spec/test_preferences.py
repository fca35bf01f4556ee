"""``Prefer``: ``timezone=`` (PostgREST's TimezoneSpec), ``handling=strict|lenient`` (HandlingSpec) and
``Preference-Applied`` on reads, writes and calls."""

import httpx
import pytest

from support.assertions import assert_error, assert_json


@pytest.mark.parametrize(
    ("zone", "seen"),
    [
        ("America/Los_Angeles", "2024-01-15T02:00:00-08:00"),
        ("+05:30", "2024-01-15T04:30:00-05:30"),  # POSIX offsets count west of Greenwich
        ("-4", "2024-01-15T06:00:00-04:00"),  # a bare number is an ISO offset
    ],
)
def test_timezone_changes_how_timestamps_read(client: httpx.Client, zone: str, seen: str) -> None:
    response = client.get("/people?select=last_seen&id=eq.1", headers={"Prefer": f"timezone={zone}"})
    assert_json(response, [{"last_seen": seen}])
    assert response.headers["preference-applied"] == f"timezone={zone}"


def test_timezone_with_strict_handling(client: httpx.Client) -> None:
    response = client.get(
        "/people?select=last_seen&id=eq.1",
        headers={"Prefer": "handling=strict, timezone=America/Los_Angeles"},
    )
    assert_json(response, [{"last_seen": "2024-01-15T02:00:00-08:00"}])
    assert response.headers["preference-applied"] == "handling=strict, timezone=America/Los_Angeles"


@pytest.mark.parametrize("prefer", ["", "handling=strict, ", "handling=lenient, "])
def test_invalid_timezone_is_400_even_when_lenient(client: httpx.Client, prefer: str) -> None:
    assert_error(
        client.get("/people", headers={"Prefer": prefer + "timezone=Invalid/Timezone"}),
        status=400,
        code="22023",
        message='invalid value for parameter "TimeZone": "Invalid/Timezone"',
    )


def test_leap_seconds_are_rejected(client: httpx.Client) -> None:
    assert_error(
        client.get("/people", headers={"Prefer": "timezone=05:30:15"}),
        status=400,
        code="22023",
        message='time zone "05:30:15" appears to use leap seconds',
        details="PostgreSQL does not support leap seconds.",
    )


def test_timezone_on_writes_and_calls(client: httpx.Client) -> None:
    created = client.post(
        "/write_items?select=id",
        json={"name": "tz"},
        headers={"Prefer": "return=representation, timezone=UTC"},
    )
    assert created.status_code == 201
    assert created.headers["preference-applied"] == "return=representation, timezone=UTC"
    called = client.get("/rpc/add?a=1&b=2", headers={"Prefer": "timezone=Europe/Paris"})
    assert_json(called, 3)
    assert called.headers["preference-applied"] == "timezone=Europe/Paris"


@pytest.mark.parametrize(
    ("method", "path", "body", "prefer"),
    [
        ("GET", "/items", None, "handling=strict, anything"),
        ("POST", "/write_items?select=id", {"name": "x"}, "return=representation, handling=strict, anything"),
        ("PATCH", "/write_items?id=eq.1", {"name": "x"}, "handling=strict, anything"),
        ("DELETE", "/write_items?id=eq.1", None, "handling=strict, anything"),
        ("POST", "/rpc/add", {"a": 1}, "handling=strict, anything"),
        ("GET", "/rpc/add?a=1", None, "handling=strict, anything"),
    ],
)
def test_strict_handling_rejects_unknown_preferences(
    client: httpx.Client, method: str, path: str, body: object, prefer: str
) -> None:
    assert_error(
        client.request(method, path, json=body, headers={"Prefer": prefer}),
        status=400,
        code="PGRST122",
        message="Invalid preferences given with handling=strict",
        details="Invalid preferences: anything",
    )


def test_strict_handling_across_several_prefer_headers(client: httpx.Client) -> None:
    response = client.get("/items", headers=[("Prefer", "handling=strict"), ("Prefer", "something, else")])
    assert_error(
        response,
        status=400,
        code="PGRST122",
        message="Invalid preferences given with handling=strict",
        details="Invalid preferences: something, else",
    )


def test_lenient_handling_ignores_unknown_preferences(client: httpx.Client) -> None:
    read = client.get("/items?id=eq.1", headers=[("Prefer", "handling=lenient"), ("Prefer", "anything")])
    assert_json(read, [{"id": 1}])
    assert read.headers["preference-applied"] == "handling=lenient"
    created = client.post(
        "/write_items?select=name",
        json={"name": "lenient"},
        headers={"Prefer": "return=representation, handling=lenient, anything"},
    )
    assert created.status_code == 201
    assert created.json() == [{"name": "lenient"}]
    assert created.headers["preference-applied"] == "return=representation, handling=lenient"
    called = client.post("/rpc/add", json={"a": 1}, headers={"Prefer": "handling=lenient, anything"})
    assert_json(called, 11)
    assert called.headers["preference-applied"] == "handling=lenient"


@pytest.mark.parametrize(
    ("method", "path", "body", "prefer", "applied"),
    [
        ("GET", "/items?id=eq.1", None, "count=exact, handling=strict", "count=exact, handling=strict"),
        (
            "PATCH",
            "/write_items?id=eq.1",
            {"name": "x"},
            "handling=strict, return=minimal, count=exact, max-affected=5",
            "return=minimal, count=exact, handling=strict, max-affected=5",
        ),
        (
            "DELETE",
            "/write_items?id=eq.3",
            None,
            "handling=lenient, return=representation, max-affected=5",
            "return=representation, handling=lenient",
        ),
        (
            "GET",
            "/rpc/add?a=1",
            None,
            "count=exact, tx=rollback, handling=strict",
            "count=exact, tx=rollback, handling=strict",
        ),
    ],
)
def test_preference_applied_in_postgrest_order(
    client: httpx.Client, method: str, path: str, body: object, prefer: str, applied: str
) -> None:
    response = client.request(method, path, json=body, headers={"Prefer": prefer})
    assert response.status_code < 300, response.text
    assert response.headers["preference-applied"] == applied

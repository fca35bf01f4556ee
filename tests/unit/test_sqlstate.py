import msgspec
import pytest

from restpg.db.sqlstate import http_status
from restpg.errors import PgError, from_pg_error


@pytest.mark.parametrize(
    ("sqlstate", "status"),
    [
        ("08006", 503),
        ("09000", 500),
        ("0L000", 403),
        ("0P000", 403),
        ("23503", 409),
        ("23505", 409),
        ("23502", 400),
        ("25006", 405),
        ("25001", 500),
        ("28000", 403),
        ("2D000", 500),
        ("38000", 500),
        ("39000", 500),
        ("3B000", 500),
        ("40001", 500),
        ("53400", 500),
        ("53300", 503),
        ("54000", 500),
        ("55000", 500),
        ("57P01", 503),
        ("57014", 500),
        ("58000", 500),
        ("F0000", 500),
        ("HV000", 500),
        ("P0001", 400),
        ("P0002", 500),
        ("XX000", 500),
        ("42P01", 404),
        ("42P17", 500),
        ("42703", 400),
        ("22P02", 400),
        ("PT402", 402),
        ("PT418", 418),
        ("PTabc", 500),
    ],
)
def test_status_by_sqlstate(sqlstate: str, status: int) -> None:
    assert http_status(sqlstate, "boom", authenticated=True) == status


def test_permission_denied_depends_on_authentication() -> None:
    assert http_status("42501", "permission denied for table items", authenticated=True) == 403
    assert http_status("42501", "permission denied for table items", authenticated=False) == 401


def test_special_messages() -> None:
    assert http_status("42883", "function api.nope() does not exist", authenticated=False) == 404
    assert http_status("42883", "function xmlagg(integer) does not exist", authenticated=False) == 406
    assert http_status("21000", "UPDATE requires a WHERE clause", authenticated=False) == 400
    assert http_status("21000", "more than one row returned by a subquery", authenticated=False) == 500
    assert http_status("22023", 'role "ghost" does not exist', authenticated=True) == 401
    assert http_status("22023", "invalid parameter", authenticated=True) == 400


def headers(response: object) -> dict[str, str]:
    return dict(response.headers)  # type: ignore[attr-defined]


def test_pg_error_body_and_headers() -> None:
    error = PgError("23505", "duplicate key value", "Key (id)=(1) already exists.", None)
    response = from_pg_error(error, authenticated=True)
    assert response.status == 409
    assert msgspec.json.decode(response.body) == {
        "code": "23505",
        "message": "duplicate key value",
        "details": "Key (id)=(1) already exists.",
        "hint": None,
    }
    assert headers(response)["content-type"] == "application/json; charset=utf-8"
    assert headers(response)["proxy-status"] == "PostgREST; error=23505"
    assert "www-authenticate" not in headers(response)


def test_anonymous_permission_error_challenges() -> None:
    response = from_pg_error(PgError("42501", "permission denied"), authenticated=False)
    assert response.status == 401
    assert headers(response)["www-authenticate"] == "Bearer"


def test_raise_pgrst_gives_full_control() -> None:
    error = PgError(
        "PGRST",
        '{"code":"123","message":"ABC","details":"DEF","hint":"XYZ"}',
        '{"status":332,"status_text":"Bad","headers":{"X-Powered-By":"Nerd Rage"}}',
    )
    response = from_pg_error(error, authenticated=False)
    assert response.status == 332
    assert msgspec.json.decode(response.body) == {
        "code": "123",
        "message": "ABC",
        "details": "DEF",
        "hint": "XYZ",
    }
    assert headers(response)["x-powered-by"] == "Nerd Rage"


@pytest.mark.parametrize(
    ("message", "detail", "details", "hint_start"),
    [
        (
            "INVALID",
            '{"status":400,"headers":{}}',
            "Invalid JSON value for MESSAGE: 'INVALID'",
            "MESSAGE must",
        ),
        ('{"code":"1","message":"m"}', "INVALID", "Invalid JSON value for DETAIL: 'INVALID'", "DETAIL must"),
        ('{"code":"1","message":"m"}', None, "DETAIL is missing in the RAISE statement", "DETAIL must"),
        ('{"message":"no code"}', '{"status":400,"headers":{}}', "Invalid JSON value for MESSAGE", "MESSAGE"),
    ],
)
def test_raise_pgrst_parse_errors(message: str, detail: str | None, details: str, hint_start: str) -> None:
    response = from_pg_error(PgError("PGRST", message, detail), authenticated=False)
    assert response.status == 500
    body = msgspec.json.decode(response.body)
    assert body["code"] == "PGRST121"
    assert body["message"] == "Could not parse JSON in the \"RAISE SQLSTATE 'PGRST'\" error"
    assert body["details"].startswith(details)
    assert body["hint"].startswith(hint_start)

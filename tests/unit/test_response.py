from dataclasses import dataclass, field, replace

import msgspec
import pytest

from restpg.db.execute import Outcome
from restpg.http import Response
from restpg.response import build, content_range, guc_headers, guc_status_code


@dataclass(frozen=True)
class FakePrepared:
    """The fields of ``_core.Prepared`` the response stage reads."""

    kind: str = "read"
    status: int = 200
    offset: int = 0
    has_limit: bool = False
    singular: bool = False
    head: bool = False
    content_type: str | None = "application/json; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)
    schema: str = "public"
    explain: bool = False


def outcome(page_total: int, total: int | None = None, **extra: object) -> Outcome:
    values: dict[str, object] = {
        "total": total,
        "page_total": page_total,
        "body": b"[]",
        "response_headers": None,
        "response_status": None,
    }
    values.update(extra)
    return Outcome(**values)  # type: ignore[arg-type]


def run(prepared: FakePrepared, result: Outcome) -> Response:
    return build(prepared, result)  # type: ignore[arg-type]


def header(response: Response, name: str) -> str | None:
    values = [value for key, value in response.headers if key == name]
    assert len(values) <= 1
    return values[0] if values else None


def error_body(response: Response) -> dict[str, object]:
    body: dict[str, object] = msgspec.json.decode(response.body)
    return body


@pytest.mark.parametrize(
    ("first", "last", "total", "expected"),
    [
        (0, 9, None, "0-9/*"),
        (0, -1, None, "*/*"),
        (10, 14, 15, "10-14/15"),
        (0, -1, 0, "*/0"),
        (100, 99, 15, "*/15"),
    ],
)
def test_content_range(first: int, last: int, total: int | None, expected: str) -> None:
    assert content_range(first, last, total) == expected


def test_read_without_count_is_200_and_passes_body_through() -> None:
    body = b'[{"id":1,"name":"caf\xc3\xa9"}]'
    response = run(FakePrepared(offset=2, has_limit=True), outcome(1, body=body))
    assert response.status == 200
    assert response.body is body
    assert header(response, "content-range") == "2-2/*"
    assert header(response, "content-type") == "application/json; charset=utf-8"
    assert header(response, "vary") == "Accept, Prefer, Range"


def test_partial_content_when_fewer_rows_than_total() -> None:
    response = run(FakePrepared(has_limit=True), outcome(10, total=15))
    assert response.status == 206
    assert header(response, "content-range") == "0-9/15"


def test_full_page_with_count_is_200() -> None:
    response = run(FakePrepared(), outcome(15, total=15))
    assert response.status == 200
    assert header(response, "content-range") == "0-14/15"


def test_offset_past_total_is_416() -> None:
    response = run(FakePrepared(offset=100, has_limit=True), outcome(0, total=15))
    assert response.status == 416
    assert error_body(response) == {
        "code": "PGRST103",
        "message": "Requested range not satisfiable",
        "details": "An offset of 100 was requested, but there are only 15 rows.",
        "hint": None,
    }
    assert header(response, "content-range") == "*/15"


def test_offset_past_end_without_count_is_200_empty() -> None:
    response = run(FakePrepared(offset=100, has_limit=True), outcome(0))
    assert response.status == 200
    assert header(response, "content-range") == "*/*"


def test_planned_total_is_used_when_no_exact_total() -> None:
    response = run(FakePrepared(has_limit=True), outcome(5, planned_total=1000))
    assert response.status == 206
    assert header(response, "content-range") == "0-4/1000"


@pytest.mark.parametrize("rows", [0, 2])
def test_singular_needs_exactly_one_row(rows: int) -> None:
    response = run(FakePrepared(singular=True), outcome(rows))
    assert response.status == 406
    assert error_body(response) == {
        "code": "PGRST116",
        "message": "Cannot coerce the result to a single JSON object",
        "details": f"The result contains {rows} rows",
        "hint": None,
    }


def test_singular_one_row_succeeds() -> None:
    assert run(FakePrepared(singular=True), outcome(1)).status == 200


@pytest.mark.parametrize(
    ("kind", "status", "rows", "total", "expected"),
    [
        ("create", 201, 3, None, "*/*"),
        ("create", 201, 3, 3, "*/3"),
        ("delete", 204, 2, 2, "*/2"),
        ("update", 204, 2, None, "0-1/*"),
        ("update", 204, 2, 2, "0-1/2"),
        ("update", 204, 0, None, "*/*"),
    ],
)
def test_mutation_content_range(
    kind: str, status: int, rows: int, total: int | None, expected: bytes
) -> None:
    prepared = FakePrepared(kind=kind, status=status, content_type=None)
    response = run(prepared, outcome(rows, total=total, body=None))
    assert response.status == status
    assert header(response, "content-range") == expected
    assert header(response, "content-type") is None
    assert response.body == b""


def test_head_has_no_body() -> None:
    response = run(FakePrepared(head=True), outcome(3, body=b"[1,2,3]"))
    assert response.body == b""
    assert header(response, "content-range") == "0-2/*"


def test_prepared_headers_and_profile() -> None:
    prepared = FakePrepared(headers=[("content-location", "/items?id=eq.1")])
    response = build(prepared, outcome(1), content_profile="v2")  # type: ignore[arg-type]
    assert header(response, "content-location") == "/items?id=eq.1"
    assert header(response, "content-profile") == "v2"


def test_guc_headers_override_same_name() -> None:
    raw = b'[{"Content-Type": "text/plain"}, {"Set-Cookie": "a=1"}, {"Set-Cookie": "b=2"}]'
    response = run(FakePrepared(), outcome(1, response_headers=raw))
    assert header(response, "content-type") == "text/plain"
    assert [v for k, v in response.headers if k == "set-cookie"] == ["a=1", "b=2"]


def test_guc_status_overrides() -> None:
    response = run(FakePrepared(), outcome(1, response_status=b"418"))
    assert response.status == 418


@pytest.mark.parametrize(
    "raw", [b"{}", b'[{"a": "1", "b": "2"}]', b'[{"a": 1}]', b"not json", b'["x"]', b"[{}]"]
)
def test_bad_guc_headers_is_pgrst111(raw: bytes) -> None:
    assert guc_headers(raw) is None
    response = run(FakePrepared(), outcome(1, response_headers=raw))
    assert response.status == 500
    assert error_body(response)["code"] == "PGRST111"
    assert error_body(response)["message"] == (
        "response.headers guc must be a JSON array composed of objects with a single key and a string value"
    )


@pytest.mark.parametrize("raw", [b"abc", b"", b"99", b"600", b"-1"])
def test_bad_guc_status_is_pgrst112(raw: bytes) -> None:
    assert guc_status_code(raw) is None
    response = run(FakePrepared(), outcome(1, response_status=raw))
    assert response.status == 500
    assert error_body(response) == {
        "code": "PGRST112",
        "message": "response.status guc must be a valid status code",
        "details": None,
        "hint": None,
    }


def test_void_call_keeps_204() -> None:
    prepared = replace(FakePrepared(kind="call", status=204, content_type=None))
    response = run(prepared, outcome(1, total=None, body=None))
    assert response.status == 204
    assert response.body == b""


def test_plan_is_passed_through_with_content_headers_only() -> None:
    plan_type = 'application/vnd.pgrst.plan+text; for="application/json"; charset=utf-8'
    prepared = FakePrepared(explain=True, content_type=plan_type, headers=[("content-profile", "v1")])
    body = b"Aggregate  (cost=1.00..1.01 rows=1 width=112)\n  ->  Seq Scan on items\n"
    result = outcome(2, body=body, response_status=b"299", response_headers=b"not json")
    response = run(prepared, result)
    assert response.status == 200
    assert response.body is body
    assert header(response, "content-type") == plan_type
    assert header(response, "content-profile") == "v1"
    assert header(response, "content-range") is None
    assert run(replace(prepared, head=True), result).body == b""

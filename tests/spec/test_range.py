"""Pagination and counting: limit/offset, the Range header, Content-Range, 206/416, counts, db-max-rows."""

import re
from collections.abc import Iterator

import httpx
import pytest

from support.assertions import JSON_CT, assert_error, assert_json, ids
from support.fix_server import ServerFactory

ALL = list(range(1, 16))


def test_limit_and_offset(client: httpx.Client) -> None:
    response = client.get("/items?order=id&limit=3&offset=2")
    assert ids(response) == [3, 4, 5]
    assert response.headers["content-range"] == "2-4/*"


def test_limit_zero(client: httpx.Client) -> None:
    response = client.get("/items?limit=0")
    assert_json(response, [])
    assert response.headers["content-range"] == "*/*"


def test_negative_limit(client: httpx.Client) -> None:
    assert_error(
        client.get("/items?limit=-1"),
        status=416,
        code="PGRST103",
        message="Requested range not satisfiable",
        details="Limit should be greater than or equal to zero.",
    )


def test_negative_or_zero_offset_is_a_no_op(client: httpx.Client) -> None:
    for query in ("offset=-4", "offset=0"):
        response = client.get(f"/items?order=id&{query}")
        assert ids(response) == ALL
        assert response.headers["content-range"] == "0-14/*"


def test_offset_past_the_end_without_count(client: httpx.Client) -> None:
    response = client.get("/items?offset=100")
    assert_json(response, [])
    assert response.headers["content-range"] == "*/*"


def test_range_header(client: httpx.Client) -> None:
    response = client.get("/items?order=id", headers={"Range": "0-1"})
    assert ids(response) == [1, 2]
    assert response.headers["content-range"] == "0-1/*"
    response = client.get("/items?order=id", headers={"Range-Unit": "items", "Range": "2-3"})
    assert ids(response) == [3, 4]


def test_open_ended_range(client: httpx.Client) -> None:
    response = client.get("/items?order=id", headers={"Range": "10-"})
    assert ids(response) == [11, 12, 13, 14, 15]
    assert response.headers["content-range"] == "10-14/*"


def test_range_is_truncated_to_the_data(client: httpx.Client) -> None:
    response = client.get("/items?order=id", headers={"Range": "10-100"})
    assert ids(response) == [11, 12, 13, 14, 15]
    assert response.headers["content-range"] == "10-14/*"


def test_range_header_intersects_limit(client: httpx.Client) -> None:
    response = client.get("/items?order=id&limit=2", headers={"Range": "0-9"})
    assert ids(response) == [1, 2]
    assert response.headers["content-range"] == "0-1/*"


def test_inverted_range(client: httpx.Client) -> None:
    assert_error(
        client.get("/items", headers={"Range": "1-0"}),
        status=416,
        code="PGRST103",
        message="Requested range not satisfiable",
        details="The lower boundary must be lower than or equal to the upper boundary in the Range header.",
    )


def test_exact_count(client: httpx.Client) -> None:
    response = client.get("/items?order=id", headers={"Prefer": "count=exact"})
    assert ids(response) == ALL
    assert response.headers["content-range"] == "0-14/15"
    assert response.headers["preference-applied"] == "count=exact"


def test_exact_count_with_a_partial_page_is_206(client: httpx.Client) -> None:
    response = client.get("/items?order=id&limit=5&offset=5", headers={"Prefer": "count=exact"})
    assert ids(response, status=206) == [6, 7, 8, 9, 10]
    assert response.headers["content-range"] == "5-9/15"


def test_exact_count_counts_the_filtered_set(client: httpx.Client) -> None:
    response = client.get("/items?id=gt.10&limit=2", headers={"Prefer": "count=exact"})
    assert response.status_code == 206
    assert response.headers["content-range"] == "0-1/5"


def test_exact_count_with_range_header(client: httpx.Client) -> None:
    response = client.get("/items?order=id", headers={"Prefer": "count=exact", "Range": "0-1"})
    assert ids(response, status=206) == [1, 2]
    assert response.headers["content-range"] == "0-1/15"


def test_offset_past_the_counted_end(client: httpx.Client) -> None:
    response = client.get("/items?offset=100", headers={"Prefer": "count=exact"})
    assert_error(
        response,
        status=416,
        code="PGRST103",
        message="Requested range not satisfiable",
        details="An offset of 100 was requested, but there are only 15 rows.",
    )
    assert response.headers["content-range"] == "*/15"


def test_nonzero_offset_on_nothing_counted(client: httpx.Client) -> None:
    response = client.get("/empty_table", headers={"Prefer": "count=exact", "Range": "1-2"})
    assert_error(
        response,
        status=416,
        code="PGRST103",
        message="Requested range not satisfiable",
        details="An offset of 1 was requested, but there are only 0 rows.",
    )
    assert response.headers["content-range"] == "*/0"


def test_count_of_nothing(client: httpx.Client) -> None:
    response = client.get("/empty_table", headers={"Prefer": "count=exact"})
    assert_json(response, [])
    assert response.headers["content-range"] == "*/0"


def test_head_with_count(client: httpx.Client) -> None:
    response = client.head("/items?limit=2&offset=3", headers={"Prefer": "count=exact"})
    assert response.status_code == 206
    assert response.content == b""
    assert response.headers["content-type"] == JSON_CT
    assert response.headers["content-range"] == "3-4/15"


def test_planned_count(client: httpx.Client) -> None:
    # The planner's estimate; the fixtures are ANALYZEd, so for this small table it is the real size.
    response = client.head("/items?limit=2&offset=3", headers={"Prefer": "count=planned"})
    assert response.status_code == 206
    assert response.headers["content-range"] == "3-4/15"
    assert response.headers["preference-applied"] == "count=planned"


def test_planned_count_is_an_estimate_for_filters(client: httpx.Client) -> None:
    response = client.get("/people?age=gt.20", headers={"Prefer": "count=planned"})
    assert response.status_code in (200, 206)
    assert re.fullmatch(r"0-3/\d+", response.headers["content-range"])


def test_unknown_count_preference_is_ignored(client: httpx.Client) -> None:
    response = client.get("/items?limit=1", headers={"Prefer": "count=none"})
    assert response.status_code == 200
    assert response.headers["content-range"] == "0-0/*"
    assert "preference-applied" not in response.headers


@pytest.fixture(scope="module")
def max_rows_client(restpg_server: ServerFactory) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=restpg_server({"db-max-rows": 2}).url, timeout=10.0) as http:
        yield http


def test_db_max_rows_caps_the_page(max_rows_client: httpx.Client) -> None:
    response = max_rows_client.get("/items?order=id")
    assert ids(response) == [1, 2]
    assert response.headers["content-range"] == "0-1/*"


def test_db_max_rows_keeps_a_smaller_limit(max_rows_client: httpx.Client) -> None:
    assert ids(max_rows_client.get("/items?order=id&limit=1")) == [1]
    assert ids(max_rows_client.get("/items?order=id&offset=5")) == [6, 7]


def test_db_max_rows_with_exact_count(max_rows_client: httpx.Client) -> None:
    response = max_rows_client.get("/items?order=id", headers={"Prefer": "count=exact"})
    assert ids(response, status=206) == [1, 2]
    assert response.headers["content-range"] == "0-1/15"


def test_estimated_count(max_rows_client: httpx.Client) -> None:
    # More rows than db-max-rows: the planner's estimate, which for the ANALYZEd fixture is exact.
    response = max_rows_client.head("/items", headers={"Prefer": "count=estimated"})
    assert response.status_code == 206
    assert response.headers["content-range"] == "0-1/15"
    # At most db-max-rows rows: the exact count.
    response = max_rows_client.head("/items?id=lt.3", headers={"Prefer": "count=estimated"})
    assert response.status_code == 200
    assert response.headers["content-range"] == "0-1/2"

"""``Accept: application/vnd.pgrst.plan``: the EXPLAIN output of the statement a request would run.

Only with ``db-plan-enabled``; reads, writes and calls; JSON (one document) or text (the plan's lines);
``for=`` picks the media the statement is built for, ``options=`` the EXPLAIN options. Plan costs depend
on the PostgreSQL version, so the checks are about shape, not numbers.
"""

from collections.abc import Iterator

import httpx
import pytest

from support.assertions import assert_error
from support.fix_server import ServerFactory

PLAN_JSON = 'application/vnd.pgrst.plan+json; for="application/json"; charset=utf-8'
PLAN_TEXT = 'application/vnd.pgrst.plan+text; for="application/json"; charset=utf-8'


@pytest.fixture(scope="module")
def plan_client(restpg_server: ServerFactory) -> Iterator[httpx.Client]:
    server = restpg_server({"db-plan-enabled": True})
    with httpx.Client(base_url=server.url, timeout=10.0) as http:
        yield http


def _plan(response: httpx.Response, content_type: str = PLAN_JSON) -> dict:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == content_type
    # Nothing of the action's own response: no range, no location, no preferences.
    for header in ("content-range", "content-location", "location", "preference-applied"):
        assert header not in response.headers
    document = response.json()
    assert isinstance(document, list) and len(document) == 1
    return document[0]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/items?id=in.(1,2,3)", None),
        ("GET", "/rpc/books_by?author=1", None),
        ("POST", "/write_items", {"name": "planned"}),
        ("PATCH", "/write_items?id=eq.1", {"name": "planned"}),
        ("DELETE", "/write_items?id=eq.1", None),
        ("PUT", "/write_items?id=eq.9", {"id": 9, "name": "planned"}),
    ],
)
def test_json_plan_for_reads_writes_and_calls(
    plan_client: httpx.Client, method: str, path: str, body: object
) -> None:
    response = plan_client.request(
        method, path, json=body, headers={"Accept": "application/vnd.pgrst.plan+json"}
    )
    plan = _plan(response)
    assert plan["Plan"]["Total Cost"] > 0
    # The response row is one aggregate over the action's rows, as for a normal response.
    assert plan["Plan"]["Node Type"] == "Aggregate"


@pytest.mark.parametrize("accept", ["application/vnd.pgrst.plan", "application/vnd.pgrst.plan+text"])
def test_text_plan_is_the_plans_lines(plan_client: httpx.Client, accept: str) -> None:
    response = plan_client.get("/items?id=in.(1,2,3)", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"] == PLAN_TEXT
    assert response.text.startswith("Aggregate")
    lines = response.text.split("\n")
    assert len(lines) > 2 and lines[-1] == ""
    assert any("items" in line for line in lines)


def test_for_decides_the_statements_body(plan_client: httpx.Client) -> None:
    response = plan_client.get(
        "/people?select=id,name",
        headers={
            "Accept": 'application/vnd.pgrst.plan+json; for="application/vnd.pgrst.object"; options=verbose'
        },
    )
    plan = _plan(
        response,
        'application/vnd.pgrst.plan+json; for="application/vnd.pgrst.object+json"; options=verbose; charset=utf-8',
    )
    # Verbose shows the output expressions: the singular body takes the first element.
    assert any("-> 0" in output for output in plan["Plan"]["Output"])
    # Several rows and no 406: a plan is not the singular response.


def test_csv_for(plan_client: httpx.Client) -> None:
    response = plan_client.get(
        "/items", headers={"Accept": 'application/vnd.pgrst.plan+json; for="text/csv"'}
    )
    _plan(response, 'application/vnd.pgrst.plan+json; for="text/csv"; charset=utf-8')


def test_options(plan_client: httpx.Client) -> None:
    accept = "application/vnd.pgrst.plan+json; options=analyze|verbose|settings|buffers|wal"
    plan = _plan(
        plan_client.get("/items?id=lt.4", headers={"Accept": accept}),
        'application/vnd.pgrst.plan+json; for="application/json"; '
        "options=analyze|verbose|settings|buffers|wal; charset=utf-8",
    )
    assert plan["Plan"]["Actual Rows"] == 1  # analyze: the aggregate ran
    assert "Execution Time" in plan
    assert "Output" in plan["Plan"]  # verbose
    assert plan["Settings"]["search_path"] == '"test", "public"'  # settings
    assert "WAL Records" in plan["Plan"]  # wal
    assert "Shared Hit Blocks" in plan["Plan"]  # buffers


def test_analyze_of_a_write_is_rolled_back(plan_client: httpx.Client) -> None:
    response = plan_client.patch(
        "/write_items?id=eq.2",
        json={"name": "analyzed"},
        headers={"Accept": "application/vnd.pgrst.plan+json; options=analyze", "Prefer": "tx=commit"},
    )
    plan = _plan(
        response, 'application/vnd.pgrst.plan+json; for="application/json"; options=analyze; charset=utf-8'
    )
    assert "Execution Time" in plan
    assert plan_client.get("/write_items?id=eq.2&select=name").json() == [{"name": "two"}]


def test_unknown_options_are_ignored(plan_client: httpx.Client) -> None:
    response = plan_client.get(
        "/items", headers={"Accept": 'application/vnd.pgrst.plan+text; for="application/json"; options=;'}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == PLAN_TEXT


def test_for_media_that_cannot_be_produced(plan_client: httpx.Client) -> None:
    assert_error(
        plan_client.get("/items", headers={"Accept": 'application/vnd.pgrst.plan+json; for="text/xml"'}),
        status=406,
        code="PGRST107",
        message='None of these media types are available: application/vnd.pgrst.plan+json; for="text/xml"',
    )


def test_a_failing_plan_is_the_usual_error(plan_client: httpx.Client) -> None:
    assert_error(
        plan_client.get("/items?id=eq.abc", headers={"Accept": "application/vnd.pgrst.plan"}),
        status=400,
        code="22P02",
        exact=False,
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/items?id=in.(1,2,3)"), ("GET", "/rpc/books_by?author=1"), ("DELETE", "/items")],
)
def test_disabled_by_default(client: httpx.Client, method: str, path: str) -> None:
    assert_error(
        client.request(method, path, headers={"Accept": "application/vnd.pgrst.plan"}),
        status=406,
        code="PGRST107",
        message='None of these media types are available: application/vnd.pgrst.plan+text; for="application/json"',
    )

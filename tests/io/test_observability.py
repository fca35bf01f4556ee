"""/metrics summed across workers, Server-Timing behind server-timing-enabled, the access log by log-level."""

from __future__ import annotations

import json
import re
import time

import httpx

from support.fix_server import ServerFactory


def scrape(admin_url: str) -> dict[str, float]:
    samples = {}
    for line in httpx.get(f"{admin_url}/metrics").text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def test_metrics_across_workers(own_server: ServerFactory) -> None:
    server = own_server({"db-pool": 3, "jwt-secret": "x" * 40}, workers=2)
    before = scrape(server.admin_url)
    for _ in range(30):  # fresh connections spread over both workers
        httpx.get(f"{server.url}/items?id=eq.1")
    httpx.get(f"{server.url}/nothing_here")
    time.sleep(1.5)  # one publish interval
    after = scrape(server.admin_url)
    ok = 'restpg_http_requests_total{method="GET",status="200"}'
    assert after[ok] - before.get(ok, 0) == 30
    assert after['restpg_http_requests_total{method="GET",status="404"}'] >= 1
    assert after["restpg_http_request_duration_seconds_count"] >= 31
    assert (
        after['restpg_http_request_duration_seconds_bucket{le="+Inf"}']
        == after["restpg_http_request_duration_seconds_count"]
    )
    assert after["pgrst_db_pool_max"] == 6  # two workers of 3
    assert 1 <= after["pgrst_db_pool_size"] <= 6
    # Workers may adopt a persisted snapshot instead of querying the catalog: the age is there either way.
    assert 'pgrst_schema_cache_loads_total{status="SUCCESS"}' in after
    assert "pgrst_schema_cache_query_time_seconds" in after
    assert 0 < after["restpg_schema_cache_age_seconds"] < 300
    for name in ("pgrst_jwt_cache_hits_total", "pgrst_jwt_cache_misses_total", "pgrst_db_pool_waiting"):
        assert name in after


def test_server_timing(own_server: ServerFactory) -> None:
    off = httpx.get(f"{own_server().url}/items?id=eq.1")
    assert "server-timing" not in off.headers
    on = httpx.get(f"{own_server({'server-timing-enabled': True}).url}/items?id=eq.1")
    assert on.status_code == 200
    value = on.headers["server-timing"]
    assert re.fullmatch(
        r"jwt;dur=\d+\.\d, parse;dur=\d+\.\d, plan;dur=\d+\.\d, transaction;dur=\d+\.\d, response;dur=\d+\.\d",
        value,
    ), value


def test_access_log_levels(own_server: ServerFactory) -> None:
    quiet = own_server({"db-pool": 2})  # log-level = error: nothing for 2xx/4xx
    httpx.get(f"{quiet.url}/items?id=eq.1")
    httpx.get(f"{quiet.url}/nothing_here")
    time.sleep(0.2)
    assert "/items" not in quiet.log() and "/nothing_here" not in quiet.log()

    chatty = own_server({"db-pool": 2, "log-level": "info", "restpg-log-format": "json"})
    httpx.get(f"{chatty.url}/items?id=eq.1", headers={"user-agent": 'evil"\tagent'})
    time.sleep(0.2)
    lines = [json.loads(line) for line in chatty.log().splitlines() if line.startswith("{")]
    entry = next(line for line in lines if line["target"] == "/items?id=eq.1")
    assert entry["status"] == 200 and entry["method"] == "GET"
    assert entry["user_agent"] == 'evil"\tagent'

    combined = own_server({"db-pool": 2, "log-level": "warn"})
    httpx.get(f"{combined.url}/items?id=eq.1")
    httpx.get(f"{combined.url}/nothing_here", headers={"user-agent": 'a"\tb'})
    time.sleep(0.2)
    log = combined.log()
    assert "/items" not in log
    line = next(line for line in log.splitlines() if "/nothing_here" in line)
    assert '"GET /nothing_here HTTP/1.1" 404' in line and '"a\\"\\tb"' in line

"""The benchmark workloads (W1-W8 of the performance plan), as HTTP requests against the Chinook fixture.

Each workload is one request shape; ``{id}`` in the target is replaced per request by a uniformly random
integer from ``ids`` (by the load generator on the HTTP side, by ``\\set`` on the pgbench side), so both sides
spread over the same rows. Bodies are fixed: the write targets have no unique key, so every insert succeeds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

__all__ = ["COLD_START", "WORKLOADS", "Workload", "bulk_rows"]


def bulk_rows(count: int) -> list[dict[str, int]]:
    """The rows of a bulk insert: deterministic, valid for any fixture scale."""
    return [
        {"customer_id": 1 + i % 997, "track_id": 1 + (i * 7919) % 9973, "ms_played": 30000 + i}
        for i in range(count)
    ]


@dataclass(frozen=True)
class Workload:
    key: str
    title: str
    method: str
    target: str  # path?query, with {id} for the varying value
    ids: tuple[int, int] | None = None  # inclusive range of {id}
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    rows_per_request: int = 1  # for rows/s of bulk writes
    connections: tuple[int, ...] = (32,)
    ceiling_from: str | None = None  # compare with another workload's peak instead of its own pgbench run
    note: str = ""

    def path_for(self, value: int | None) -> str:
        return self.target if value is None else self.target.replace("{id}", str(value))

    @property
    def sample_target(self) -> str:
        """The target for one concrete request (the first id), used to capture SQL and check support."""
        return self.path_for(self.ids[0] if self.ids else None)


_JSON = {"Content-Type": "application/json", "Prefer": "return=minimal"}

# Ids cover scale 1 of the fixture (10,000 artists; 25 genres; 20,000 customers).
WORKLOADS: tuple[Workload, ...] = (
    Workload(
        "W1",
        "GET one row by primary key",
        "GET",
        "/artist?select=*&artist_id=eq.{id}",
        ids=(1, 10000),
        connections=(32,),
    ),
    Workload(
        "W2",
        "GET 100 rows, filter + order + limit",
        "GET",
        "/track?select=track_id,name,milliseconds&genre_id=eq.{id}&order=track_id&limit=100",
        ids=(1, 25),
    ),
    Workload(
        "W3",
        "GET with a 2-level embed (an artist's albums, tracks, genres)",
        "GET",
        "/album?select=*,track(*,genre(*))&artist_id=eq.{id}",
        ids=(1, 10000),
    ),
    Workload(
        "W4",
        "POST bulk insert, 100 rows, return=minimal",
        "POST",
        "/play?columns=customer_id,track_id,ms_played",
        body=json.dumps(bulk_rows(100), separators=(",", ":")).encode(),
        headers=_JSON,
        rows_per_request=100,
    ),
    Workload(
        "W5",
        "RPC: GET an immutable function",
        "GET",
        "/rpc/add_them?a={id}&b=2&c=3&d=4&e=5",
        ids=(1, 1000),
    ),
    Workload(
        "W6",
        "POST one row, return=minimal",
        "POST",
        "/play",
        body=b'{"customer_id":7,"track_id":42,"ms_played":180000}',
        headers=_JSON,
    ),
    Workload(
        "W7",
        "W1 with 1,000 keep-alive connections",
        "GET",
        "/artist?select=*&artist_id=eq.{id}",
        ids=(1, 10000),
        connections=(1000,),
        ceiling_from="W1",
        note="compared with W1's peak req/s (target >= 0.95), not with pgbench at 1,000 clients",
    ),
)

COLD_START = (
    "W8",
    "cold start: process start -> /ready -> first 200 (Chinook fixture; 1,000-table scale: loadtest/schema_scale)",
)

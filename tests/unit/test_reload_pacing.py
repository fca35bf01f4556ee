"""A reload's catalog read pauses after each statement for ``pace`` times as long as the statement took
(``introspect._Pacer``), and not after the last: the clock and the sleeps are faked, so this holds the
arithmetic, not a timing."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, cast

import pytest

from restpg.db.pool import Connection
from restpg.schema import introspect


def test_each_statement_is_followed_by_a_pause_in_proportion_to_it(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    slept: list[float] = []
    ran: list[bytes] = []
    durations = {b"a": 0.004, b"b": 0.010, b"c": 0.002}

    async def fetch_rows(connection: object, sql: bytes, params: Sequence[bytes | None] = ()) -> list[Any]:
        ran.append(sql)
        now[0] += durations[sql]
        return [(sql,)]

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    monkeypatch.setattr(introspect, "fetch_rows", fetch_rows)
    monkeypatch.setattr(introspect.time, "perf_counter", lambda: now[0])
    monkeypatch.setattr(introspect.asyncio, "sleep", sleep)

    async def read(pace: float) -> list[list[Any]]:
        pacer = introspect._Pacer(cast(Connection, object()), pace)
        return [await pacer.rows(sql) for sql in (b"a", b"b", b"c")]

    assert asyncio.run(read(2.0)) == [[(b"a",)], [(b"b",)], [(b"c",)]]
    assert ran == [b"a", b"b", b"c"]
    # After a (4 ms) and b (10 ms), twice as long; nothing after the last.
    assert slept == pytest.approx([0.008, 0.020])

    slept.clear()
    asyncio.run(read(0.0))
    assert slept == []

"""A worker's heartbeat: what the admin server's /live and /ready read from the runtime folder."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

import pytest

from restpg import admin


async def _until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.005)


async def _turns_ready(runtime_dir: Path, changed: asyncio.Event | None) -> None:
    """Start a heartbeat for a worker that is not ready, then make it ready (waking it when ``changed``)."""
    ready = False
    beating = asyncio.ensure_future(admin.heartbeat(runtime_dir, lambda: ready, None, changed))
    try:
        await _until(lambda: admin.status(runtime_dir) == (True, False))
        ready = True
        if changed is not None:
            changed.set()
        await _until(lambda: admin.status(runtime_dir) == (True, True))
    finally:
        beating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beating


def test_readiness_is_published_at_once_when_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Beats a minute apart: only the wake-up can publish the change within the deadline.
    monkeypatch.setattr(admin, "STARTING_HEARTBEAT", 60.0)
    asyncio.run(_turns_ready(tmp_path, asyncio.Event()))


def test_without_a_wake_up_readiness_is_published_on_the_next_beat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(admin, "STARTING_HEARTBEAT", 0.01)
    asyncio.run(_turns_ready(tmp_path, None))

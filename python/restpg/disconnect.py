"""Noticing that a client went away while its read runs, so the query is cancelled instead of finishing
for nobody.

Each interface reports a disconnect its own way: ASGI as an ``http.disconnect`` message from ``receive``,
Granian's RSGI as ``protocol.client_disconnect()`` resolving. The app is handed either as a callable returning
an awaitable that resolves on disconnect, and watches it only once a request turns out to be slow.

Fast requests must not pay for this: a timer per request (scheduled, then cancelled) costs more than the
rest of the bookkeeping of a primary-key read. So a worker keeps its running reads in a dict and one ticker,
alive only while reads run, starts a watcher for each read older than ``DISCONNECT_WATCH_AFTER``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["CLIENT_CLOSED", "DISCONNECT_WATCH_AFTER", "RunningReads", "Watch", "asgi_disconnected"]

# A read still running after this long (up to 1.5 times this, with the ticker's period) starts watching
# for its client to disconnect, cancelling the query when it does.
DISCONNECT_WATCH_AFTER = 0.2
_TICK = DISCONNECT_WATCH_AFTER / 2
# The status logged and counted for a request whose client went away (nginx's convention; never delivered).
CLIENT_CLOSED = 499


class Watch:
    """One running read: cancelled (and marked ``disconnected``) if its client leaves once it is slow."""

    __slots__ = ("_disconnected", "_task", "_watcher", "disconnected", "started")

    def __init__(
        self, task: asyncio.Task[Any], disconnected: Callable[[], Awaitable[Any]], now: float
    ) -> None:
        self._task = task
        self._disconnected = disconnected
        self._watcher: asyncio.Task[None] | None = None
        self.started = now
        self.disconnected = False

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._watcher = loop.create_task(self._watch())

    async def _watch(self) -> None:
        await self._disconnected()
        self.disconnected = True
        self._task.cancel()

    def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()


class RunningReads:
    """The reads a worker is running, and the ticker that starts watching the slow ones."""

    def __init__(self) -> None:
        self._running: dict[Watch, None] = {}  # insertion order: oldest first
        self._ticker: asyncio.TimerHandle | None = None

    def track(self, loop: asyncio.AbstractEventLoop, disconnected: Callable[[], Awaitable[Any]]) -> Watch:
        task = asyncio.current_task(loop)
        assert task is not None  # requests run in tasks
        watch = Watch(task, disconnected, loop.time())
        self._running[watch] = None
        if self._ticker is None:
            self._ticker = loop.call_later(_TICK, self._tick, loop)
        return watch

    def done(self, watch: Watch) -> None:
        self._running.pop(watch, None)  # gone already if its watcher started
        watch.stop()

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        self._ticker = None
        slow_since = loop.time() - DISCONNECT_WATCH_AFTER
        for watch in list(self._running):
            if watch.started > slow_since:
                break  # the rest started later still
            self._running.pop(watch)
            watch.start(loop)
        if self._running:
            self._ticker = loop.call_later(_TICK, self._tick, loop)


async def asgi_disconnected(receive: Callable[[], Awaitable[MutableMapping[str, Any]]]) -> None:
    """Resolves on ASGI's ``http.disconnect``; an unread body (GET, HEAD) is skipped on the way."""
    while (await receive())["type"] != "http.disconnect":
        pass

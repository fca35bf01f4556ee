"""Noticing that a client went away while its read runs, so the query is cancelled instead of finishing
for nobody.

Each interface reports a disconnect its own way: ASGI as an ``http.disconnect`` message from ``receive``,
Granian's RSGI as ``protocol.client_disconnect()`` resolving. The app is handed either as a callable returning
an awaitable that resolves on disconnect, and watches it only once a request turns out to be slow.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["CLIENT_CLOSED", "DISCONNECT_WATCH_AFTER", "DisconnectWatch", "asgi_disconnected"]

# A read still running after this long starts watching for its client to disconnect (cancelling the
# query when it does). Fast requests never pay for the watcher: scheduling and cancelling a timer is ~1 µs.
DISCONNECT_WATCH_AFTER = 0.2
# The status logged and counted for a request whose client went away (nginx's convention; never delivered).
CLIENT_CLOSED = 499


class DisconnectWatch:
    """Cancels the current task when the client disconnects, watching only once the request is slow."""

    __slots__ = ("_disconnected", "_task", "_timer", "_watcher", "disconnected")

    def __init__(self, disconnected: Callable[[], Awaitable[Any]]) -> None:
        self._disconnected = disconnected
        self._task = asyncio.current_task()
        self._watcher: asyncio.Task[None] | None = None
        self.disconnected = False
        self._timer = asyncio.get_running_loop().call_later(DISCONNECT_WATCH_AFTER, self._start)

    def _start(self) -> None:
        self._watcher = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        await self._disconnected()
        if self._task is not None:
            self.disconnected = True
            self._task.cancel()

    def stop(self) -> None:
        self._timer.cancel()
        if self._watcher is not None:
            self._watcher.cancel()


async def asgi_disconnected(receive: Callable[[], Awaitable[MutableMapping[str, Any]]]) -> None:
    """Resolves on ASGI's ``http.disconnect``; an unread body (GET, HEAD) is skipped on the way."""
    while (await receive())["type"] != "http.disconnect":
        pass

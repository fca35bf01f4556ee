"""``LISTEN`` on ``db-channel`` for PostgREST's reload notifications.

Payloads, as PostgREST: ``reload schema``, ``reload config``, and an empty payload for both; anything else
is ignored. A burst (a migration notifies once per DDL statement through the event trigger) is debounced
into one reload once the channel has been quiet for ``debounce`` seconds, or at the latest ``max_delay``
after the first notification. Handlers never run concurrently with themselves; they get what to reload
and when the burst's last request arrived (``time.monotonic()``): the reload must see the catalog as of
then.

The listener has its own connection (the core's, as the pool's, with TCP keepalives so that a silently cut
network ends it). When the database goes away it reconnects with exponential backoff, and after reconnecting
it reloads both, since any notification sent while it was away is lost.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable

from restpg.db.execute import ConnectionLost, StatementError, fetch_rows
from restpg.db.pipeline import LibpqNotFound
from restpg.db.pool import KEEPALIVES, ConnectError, Connection, connection_params, open_connection

__all__ = ["CONFIG", "SCHEMA", "Listener", "parse_payload"]

SCHEMA = "schema"
CONFIG = "config"
_PAYLOADS = {"reload schema": {SCHEMA}, "reload config": {CONFIG}, "": {SCHEMA, CONFIG}}


def parse_payload(payload: str) -> frozenset[str]:
    """What a notification asks to reload (empty when it is not for us)."""
    return frozenset(_PAYLOADS.get(payload.strip(), ()))


#: ``handler(kinds, since)``: reload ``kinds`` as the catalog was at ``since`` (``time.monotonic()``) or later.
Handler = Callable[[frozenset[str], float], Awaitable[None]]


class Listener:
    def __init__(
        self,
        conninfo: str,
        channel: str,
        handler: Handler,
        *,
        debounce: float = 0.1,
        max_delay: float = 1.0,
        backoff_max: float = 10.0,
    ) -> None:
        self.params = connection_params(conninfo, KEEPALIVES)
        self.channel = channel
        self.handler = handler
        self.debounce = debounce
        self.max_delay = max_delay
        self.backoff_max = backoff_max
        #: Set while LISTEN is active (tests and readiness probes wait on it).
        self.listening = asyncio.Event()
        self._pending: set[str] = set()
        self._requested_at = 0.0
        self._wake = asyncio.Event()

    async def run(self) -> None:
        """Listen until cancelled."""
        flusher = asyncio.get_running_loop().create_task(self._flush_loop())
        try:
            await self._listen_forever()
        finally:
            flusher.cancel()

    def request(self, kinds: frozenset[str]) -> None:
        """Queue a reload (used for notifications and after reconnecting)."""
        if kinds:
            self._pending |= kinds
            self._requested_at = time.monotonic()
            self._wake.set()

    async def _listen_forever(self) -> None:
        delay = 0.1
        connected_before = False
        while True:
            try:
                connection = await open_connection(self.params)
            except (ConnectError, LibpqNotFound) as exc:
                _log(f"listener could not connect ({_first_line(exc)}); retrying in {delay:g}s")
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.backoff_max)
                continue
            try:
                await fetch_rows(connection, b"LISTEN " + _identifier(self.channel))
                self.listening.set()
                delay = 0.1
                if connected_before:
                    _log("listener reconnected; reloading the schema cache and configuration")
                    self.request(frozenset((SCHEMA, CONFIG)))
                connected_before = True
                await self._receive(connection)
            except (ConnectionLost, StatementError, OSError) as exc:
                _log(f"listener lost its connection ({_first_line(exc)})")
            finally:
                self.listening.clear()
                connection.close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.backoff_max)

    async def _receive(self, connection: Connection) -> None:
        """Queue the reloads notifications ask for until the connection ends (``ConnectionError``)."""
        pipeline = connection.pipeline
        while True:
            # Some may have been read already (with LISTEN's answer, or by the connection's reader).
            for channel, payload in pipeline.notifies():
                if channel == self.channel:
                    self.request(parse_payload(payload))
            await connection.readable()
            pipeline.consume()

    async def _flush_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            # Debounce: wait for a quiet period, but not longer than max_delay in all.
            deadline = loop.time() + self.max_delay
            while True:
                self._wake.clear()
                quiet = min(self.debounce, deadline - loop.time())
                if quiet <= 0:
                    break
                try:
                    await asyncio.wait_for(self._wake.wait(), quiet)
                except TimeoutError:
                    break
            kinds, self._pending = frozenset(self._pending), set()
            self._wake.clear()
            try:
                await self.handler(kinds, self._requested_at)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a failed reload keeps the old cache; log and go on
                _log(f"reload failed ({_first_line(exc)}); keeping the current schema cache")


def _identifier(name: str) -> bytes:
    return ('"' + name.replace('"', '""') + '"').encode()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _log(message: str) -> None:
    print(f"restpg: {message}", file=sys.stderr)

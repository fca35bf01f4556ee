"""Keeping a worker's schema cache current, sharing the work between the workers of a host.

One worker per host leads (it holds the snapshot store's lock): it introspects the database, builds the
cache and writes the snapshot. The others follow: they adopt the leader's snapshot, which costs a file read
and a decode instead of the catalog queries and the inference. A follower that waits too long for the
leader (slow, crashed, or the catalog changed again meanwhile) loads from the database itself.

Whether a cache is current is decided by the catalog fingerprint (``fingerprint.py``): a reload whose
fingerprint equals the published one does nothing, so bursts of notifications and restarts over an
unchanged database are cheap. After a notification only the leader asks PostgreSQL for it (~7 ms of its
CPU at 1,000 tables, ~65 ms at 10,000, for each worker that asks) and records its verdict with the time it
asked; a follower that has a cache takes the verdict asked for after the notification reached it (every
change announced by then is in it). One that sees no such verdict within ``verdict_wait`` (the leader
busy with a long load, or not notified) asks PostgreSQL itself, as every worker does at a start or on a
signal, when all of them would ask at the same moment.

A leader that serves reloads through ``reread`` when given one: the fingerprint and, when it changed, the
document in one read (the query files whose catalogs did not change are not run again, see
``introspect.reread_catalog``), instead of a fingerprint and then a separate read.

``publish`` receives each new cache; it must swap it in atomically (one attribute assignment), so requests
in flight finish on the cache they started with.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar, cast

from restpg.schema.catalog import Document
from restpg.schema.snapshot import FileIdentity, SnapshotStore

if TYPE_CHECKING:
    from restpg._core import SchemaCache

__all__ = ["Codec", "CoreCodec", "Reread", "SchemaReloader"]

C = TypeVar("C")

#: ``(published fingerprint, checked) -> (fingerprint, document or None)``: the catalog's fingerprint, and
#: the document unless the fingerprint is the published one, read together; ``checked`` is called with the
#: fingerprint as soon as it is known.
Reread = Callable[[str | None, Callable[[str], None]], Awaitable[tuple[str, Document | None]]]


class Codec(Protocol[C]):
    """How caches are built and (de)serialized: ``_core.SchemaCache`` in production, a fake in tests.

    ``background`` is set while the worker serves a cache (a reload): the work then yields the CPU to the
    requests."""

    def from_document(self, document: Document, *, background: bool) -> C: ...
    def to_snapshot(self, cache: C, fingerprint: str, *, background: bool) -> bytes: ...
    def from_snapshot(self, data: bytes, *, background: bool) -> tuple[C, str]: ...


class SchemaReloader(Generic[C]):
    def __init__(
        self,
        *,
        store: SnapshotStore,
        codec: Codec[C],
        load_document: Callable[[], Awaitable[Document]],
        fingerprint: Callable[[], Awaitable[str]],
        publish: Callable[[C], None],
        reread: Reread | None = None,
        follow_timeout: float = 30.0,
        verdict_wait: float = 1.0,
        poll_interval: float = 0.01,
    ) -> None:
        self.store = store
        self.codec = codec
        self._load_document = load_document
        self._fingerprint = fingerprint
        self._publish = publish
        self._reread = reread
        self.follow_timeout = follow_timeout
        self.verdict_wait = verdict_wait
        self.poll_interval = poll_interval
        #: Fingerprint of the published cache; None before the first one.
        self.fingerprint: str | None = None
        self._seen: FileIdentity | None = None
        self._busy = asyncio.Lock()

    async def adopt_persisted(self) -> bool:
        """Publish the snapshot on disk, whatever its fingerprint (``refresh`` revalidates it)."""
        async with self._busy:
            return await self._adopt_file(expect=None)

    async def refresh(self, since: float | None = None) -> bool:
        """Make the published cache match the database; True when a new cache was published.

        ``since`` (``time.monotonic()``) is when a notification asking for it arrived: a follower then takes
        a verdict of the leader asked for after it. Without it (a start, a signal) the worker asks PostgreSQL,
        as the leader, with the other workers, would be asking at the same moment. Concurrent calls run one
        after the other; the second usually finds nothing to do.
        """
        async with self._busy:
            reread = self._reread
            if reread is not None and self.fingerprint is not None and self.store.try_lead():
                return await self._lead_reload(reread)
            fingerprint = await self._current_fingerprint(since)
            if fingerprint == self.fingerprint:
                return False
            if not self.store.try_lead():
                deadline = time.monotonic() + self.follow_timeout
                while time.monotonic() < deadline:
                    if await self._adopt_file(expect=fingerprint):
                        return True
                    if self.store.try_lead():  # the leader exited: take over
                        break
                    await asyncio.sleep(self.poll_interval)
                else:
                    _log(
                        f"no snapshot for the current catalog after {self.follow_timeout:g}s; loading it here"
                    )
            await self._load(fingerprint)
            return True

    async def _current_fingerprint(self, since: float | None) -> str:
        """The catalog's fingerprint as of ``since`` or later: the leader asks PostgreSQL and records its
        verdict; a follower with a cache takes a verdict asked for after ``since``, or asks itself."""
        deadline = time.monotonic() + self.verdict_wait
        while since is not None and self.fingerprint is not None and not self.store.try_lead():
            verdict = self.store.read_verdict()
            if verdict is not None and verdict[0] >= since and _same_reading(verdict[1], self.fingerprint):
                return verdict[1]
            if time.monotonic() >= deadline:
                return await self._fingerprint()
            await asyncio.sleep(self.poll_interval)
        asked = time.monotonic()
        fingerprint = await self._fingerprint()
        if self.store.is_leader:
            self._record_verdict(fingerprint, asked)
        return fingerprint

    async def _lead_reload(self, reread: Reread) -> bool:
        """The leader's reload while it serves: the fingerprint and, when it changed, the document, in one
        read (``reread``), so the snapshot is labelled with exactly the state it was read in. The verdict
        is recorded as soon as the fingerprint is known: the followers need not wait for the document."""
        asked = time.monotonic()
        fingerprint, document = await reread(
            self.fingerprint, lambda found: self._record_verdict(found, asked)
        )
        if document is None or fingerprint == self.fingerprint:
            return False
        await self._load(fingerprint, document)
        return True

    def _record_verdict(self, fingerprint: str, asked: float) -> None:
        try:
            self.store.write_verdict(fingerprint, asked)
        except OSError as exc:  # the followers ask PostgreSQL themselves, as without verdicts
            _log(f"could not record the catalog fingerprint {self.store.verdict_path}: {exc}")

    async def _load(self, fingerprint: str, document: Document | None = None) -> None:
        if document is None:
            document = await self._load_document()
        # Inference and encoding are CPU work in Rust: off the event loop, so requests keep flowing, and
        # behind them while there are requests to serve.
        background = self.fingerprint is not None
        cache = await asyncio.to_thread(self.codec.from_document, document, background=background)
        data = await asyncio.to_thread(self.codec.to_snapshot, cache, fingerprint, background=background)
        self._publish(cache)
        self.fingerprint = fingerprint
        try:
            await asyncio.to_thread(self.store.write, data)
            self._seen = self.store.identity()
        except OSError as exc:  # a full or read-only disk costs the other workers a reload, nothing more
            _log(f"could not write the schema cache snapshot {self.store.path}: {exc}")

    async def _adopt_file(self, *, expect: str | None) -> bool:
        identity = self.store.identity()
        if identity is None or identity == self._seen:
            return False
        # Forked right after the supervisor wrote this file: the cache it was written from came along.
        decoded = cast("tuple[C, str] | None", self.store.inherited(identity))
        # Reading and decoding is the work of a large cache (~100 ms at 10,000 tables): in a thread, so the
        # event loop keeps serving (a follower) or opening the connections readiness waits for (a start).
        try:
            decoded = decoded or await asyncio.to_thread(self._read_and_decode)
        except ValueError as exc:
            # Corrupt, truncated or written by another version: the next load replaces it.
            self._seen = identity
            _log(f"ignoring the schema cache snapshot {self.store.path}: {exc}")
            return False
        if decoded is None:
            return False
        self._seen = identity
        cache, fingerprint = decoded
        if expect is not None and fingerprint != expect:
            return False
        self._publish(cache)
        self.fingerprint = fingerprint
        return True

    def _read_and_decode(self) -> tuple[C, str] | None:
        """``(cache, fingerprint)`` of the file, None when it is gone; ``ValueError`` when it is damaged."""
        data = self.store.read()
        if data is None:
            return None
        return self.codec.from_snapshot(data, background=self.fingerprint is not None)


def _same_reading(fingerprint: str, ours: str) -> bool:
    """Whether ``fingerprint`` was taken through the same queries, schemas and version as ``ours``: its
    ``-<digest>`` suffix (``fingerprint.py``). A leader of another restpg version (a rolling upgrade on one
    host) describes the catalog in its own terms; its verdict says nothing about ours."""
    return fingerprint.rpartition("-")[2] == ours.rpartition("-")[2]


def _log(message: str) -> None:
    print(f"restpg: {message}", file=sys.stderr)


class CoreCodec:
    """The production codec: ``restpg._core.SchemaCache``."""

    def from_document(self, document: Document, *, background: bool) -> SchemaCache:
        from restpg._core import SchemaCache

        return SchemaCache(document, background=background)

    def to_snapshot(self, cache: SchemaCache, fingerprint: str, *, background: bool) -> bytes:
        return cache.to_snapshot(fingerprint, background=background)

    def from_snapshot(self, data: bytes, *, background: bool) -> tuple[SchemaCache, str]:
        from restpg._core import SchemaCache

        return SchemaCache.from_snapshot(data, background=background)

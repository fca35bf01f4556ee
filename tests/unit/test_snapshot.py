"""Snapshot store, reloader and listener debouncing, with a fake cache codec (no database, no Rust)."""

from __future__ import annotations

import asyncio
import functools
import json
import time
import zlib
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, cast

import pytest

from restpg.schema.catalog import Document
from restpg.schema.listener import CONFIG, SCHEMA, Listener, parse_payload
from restpg.schema.reloader import SchemaReloader
from restpg.schema.snapshot import SnapshotStore, boot_id, snapshot_key


def run_async(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test on a fresh event loop (keeps the signature, so fixtures still work)."""

    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return wrapper


class FakeCodec:
    """A cache is its document's parts joined; a snapshot is checksummed JSON, so damage is detected like the
    real one.
    ``calls`` records each call's name and ``background``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, bool]] = []

    def from_document(self, document: Document, *, background: bool) -> bytes:
        self.calls.append(("from_document", background))
        return b"".join(document.values())

    def to_snapshot(self, cache: bytes, fingerprint: str, *, background: bool) -> bytes:
        self.calls.append(("to_snapshot", background))
        body = json.dumps({"fp": fingerprint, "doc": cache.decode()}).encode()
        return zlib.crc32(body).to_bytes(4, "little") + body

    def from_snapshot(self, data: bytes, *, background: bool) -> tuple[bytes, str]:
        self.calls.append(("from_snapshot", background))
        if len(data) < 4 or zlib.crc32(data[4:]).to_bytes(4, "little") != data[:4]:
            raise ValueError("schema cache snapshot is corrupt: checksum mismatch")
        value = json.loads(data[4:])
        return value["doc"].encode(), value["fp"]


def _document(version: int) -> Document:
    return {"name": b"doc-", "version": str(version).encode()}


class Database:
    """The catalog state the fake loaders read."""

    def __init__(self) -> None:
        self.version = 1
        self.loads = 0
        self.checks = 0
        self.rereads = 0

    async def document(self) -> Document:
        self.loads += 1
        return _document(self.version)

    async def fingerprint(self) -> str:
        self.checks += 1
        version = self.version
        await asyncio.sleep(0.005)  # a query: the catalog as it was when it was asked
        return f"fp{version}-digest"  # as fingerprint.py: <catalog hash>-<queries' digest>

    async def reread(
        self, published: str | None, checked: Callable[[str], None]
    ) -> tuple[str, Document | None]:
        """Fingerprint and document in one read (``introspect.reread_catalog``)."""
        self.rereads += 1
        version = self.version
        fingerprint = f"fp{version}-digest"
        checked(fingerprint)
        if fingerprint == published:
            return fingerprint, None
        await asyncio.sleep(0.02)  # the queries: the followers have the verdict meanwhile
        return fingerprint, _document(version)


def make_reloader(folder: Path, db: Database, published: list[bytes], **kw: Any) -> SchemaReloader[bytes]:
    kw.setdefault("verdict_wait", 0.05)
    return SchemaReloader(
        store=SnapshotStore(folder, "k"),
        codec=FakeCodec(),
        load_document=db.document,
        fingerprint=db.fingerprint,
        publish=published.append,
        **kw,
    )


async def first_run(folder: Path, db: Database) -> None:
    """A server that loads, writes its snapshot and exits (dropping the lock)."""
    reloader = make_reloader(folder, db, [])
    await reloader.refresh()
    reloader.store.release()


def test_store_writes_atomically_and_identity_changes(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "snap", "k")
    assert store.read() is None and store.identity() is None
    store.write(b"one")
    first = store.identity()
    store.write(b"two")
    assert store.read() == b"two" and store.identity() != first
    assert oct((tmp_path / "snap").stat().st_mode & 0o777) == "0o700"
    assert [p.name for p in (tmp_path / "snap").iterdir() if p.name.endswith(".tmp")] == []


def test_one_leader_per_lock_until_released(tmp_path: Path) -> None:
    first, second = SnapshotStore(tmp_path, "k"), SnapshotStore(tmp_path, "k")
    assert first.try_lead() and first.try_lead()
    assert not second.try_lead()
    assert SnapshotStore(tmp_path, "other").try_lead()  # another database or schema set
    first.release()
    assert second.try_lead()


def test_keys_depend_on_database_and_schemas() -> None:
    key = snapshot_key("postgresql:///a", ["api"], ["public"])
    assert key != snapshot_key("postgresql:///b", ["api"], ["public"])
    assert key != snapshot_key("postgresql:///a", ["api", "v2"], ["public"])
    assert "postgresql" not in key and len(key) == 20


@run_async
async def test_leader_loads_and_writes_followers_adopt(tmp_path: Path) -> None:
    db = Database()
    leader_seen: list[bytes] = []
    follower_seen: list[bytes] = []
    leader = make_reloader(tmp_path, db, leader_seen)
    follower = make_reloader(tmp_path, db, follower_seen, poll_interval=0.01)
    assert await asyncio.gather(leader.refresh(), follower.refresh()) == [True, True]
    assert leader_seen == [b"doc-1"] and follower_seen == [b"doc-1"]
    assert db.loads == 1  # the follower read the snapshot instead of the catalog

    # Nothing changed: no work. Then a change: one load, both see it.
    assert not await leader.refresh() and not await follower.refresh()
    db.version = 2
    await asyncio.gather(leader.refresh(), follower.refresh())
    assert leader_seen[-1] == follower_seen[-1] == b"doc-2" and db.loads == 2


@run_async
async def test_only_reloads_yield_the_cpu(tmp_path: Path) -> None:
    """A worker without a cache builds it at full speed; once it serves, a reload's CPU work runs in the
    background (behind the requests)."""
    db = Database()
    leader, follower = make_reloader(tmp_path, db, []), make_reloader(tmp_path, db, [])
    await asyncio.gather(leader.refresh(), follower.refresh())
    db.version = 2
    await asyncio.gather(leader.refresh(), follower.refresh())
    leader_calls = cast("FakeCodec", leader.codec).calls
    start, reload = (
        [("from_document", False), ("to_snapshot", False)],
        [("from_document", True), ("to_snapshot", True)],
    )
    assert leader_calls == start + reload
    assert cast("FakeCodec", follower.codec).calls == [("from_snapshot", False), ("from_snapshot", True)]


@run_async
async def test_restart_publishes_the_persisted_snapshot_then_revalidates(tmp_path: Path) -> None:
    db = Database()
    await first_run(tmp_path, db)
    db.version = 2  # the catalog changed while the server was down

    published: list[bytes] = []
    restarted = make_reloader(tmp_path, db, published)
    assert await restarted.adopt_persisted() and published == [b"doc-1"]  # ready at once
    assert await restarted.refresh() and published[-1] == b"doc-2"

    unchanged: list[bytes] = []
    again = make_reloader(tmp_path, db, unchanged)
    restarted.store.release()
    assert await again.adopt_persisted() and not await again.refresh()  # fingerprint matches: no reload
    assert db.loads == 2


@run_async
async def test_a_forked_worker_adopts_the_cache_handed_down_for_that_file(tmp_path: Path) -> None:
    # The supervisor's cold start: written, then handed down to the workers it forks (a test has no fork:
    # the same process adopts; a real worker inherits the module's state).
    supervisor = SnapshotStore(tmp_path, "k")
    supervisor.write(FakeCodec().to_snapshot(b"doc-1", "fp1-digest", background=False))
    handed = bytearray(b"the very object")  # not what decoding the file gives: adoption must not decode
    supervisor.hand_down(handed, "fp1-digest")

    published: list[bytes] = []
    worker = make_reloader(tmp_path, Database(), published)
    assert await worker.adopt_persisted() and published == [handed] and published[0] is handed
    assert worker.fingerprint == "fp1-digest"
    assert worker.store.inherited(supervisor.identity()) is None  # once: a reload reads the file

    # Replaced since it was handed down (another server's leader, say): the file wins.
    supervisor.hand_down(handed, "fp1-digest")
    supervisor.write(FakeCodec().to_snapshot(b"doc-2", "fp2-digest", background=False))
    again: list[bytes] = []
    assert await make_reloader(tmp_path, Database(), again).adopt_persisted() and again == [b"doc-2"]


@pytest.mark.parametrize(
    "damage", [lambda b: b[: len(b) // 2], lambda b: b[:10] + b"X" + b[11:], lambda b: b""]
)
@run_async
async def test_a_damaged_snapshot_is_ignored_and_rebuilt(tmp_path: Path, damage) -> None:  # type: ignore[no-untyped-def]
    db = Database()
    await first_run(tmp_path, db)
    store = SnapshotStore(tmp_path, "k")
    store.path.write_bytes(damage(store.read()))

    published: list[bytes] = []
    restarted = make_reloader(tmp_path, db, published)
    assert not await restarted.adopt_persisted() and published == []
    assert await restarted.refresh() and published == [b"doc-1"]
    assert FakeCodec().from_snapshot(store.read() or b"", background=False) == (b"doc-1", "fp1-digest")


@run_async
async def test_a_follower_loads_itself_when_no_snapshot_comes(tmp_path: Path) -> None:
    db = Database()
    absent_leader = SnapshotStore(tmp_path, "k")
    assert absent_leader.try_lead()  # holds the lock but never writes
    published: list[bytes] = []
    follower = make_reloader(tmp_path, db, published, follow_timeout=0.1, poll_interval=0.01)
    assert await follower.refresh() and published == [b"doc-1"]
    absent_leader.release()


@run_async
async def test_followers_take_the_leaders_fingerprint_asked_after_their_notification(tmp_path: Path) -> None:
    db = Database()
    leader_seen: list[bytes] = []
    follower_seen: list[bytes] = []
    leader = make_reloader(tmp_path, db, leader_seen)
    followers = [make_reloader(tmp_path, db, follower_seen) for _ in range(3)]
    await leader.refresh()
    await asyncio.gather(*(follower.refresh() for follower in followers))
    checks = db.checks

    db.version = 2
    notified = time.monotonic()  # the notification of the change reaches every worker
    await asyncio.gather(leader.refresh(notified), *(follower.refresh(notified) for follower in followers))
    assert leader_seen[-1] == b"doc-2" and follower_seen[-3:] == [b"doc-2"] * 3
    assert db.checks == checks + 1  # the leader's alone
    # A verdict asked for before a follower's notification does not do: it asks PostgreSQL itself.
    db.version = 3
    assert await leader.refresh()
    assert await followers[0].refresh(time.monotonic()) and follower_seen[-1] == b"doc-3"
    assert db.checks == checks + 3
    # Nor one taken through other queries or by another version (another digest).
    leader.store.write_verdict("fp4-otherdigest", time.monotonic())
    assert not await followers[0].refresh(time.monotonic() - 1) and follower_seen[-1] == b"doc-3"
    assert db.checks == checks + 4
    leader.store.release()


@run_async
async def test_a_serving_leader_reads_the_fingerprint_and_the_document_together(tmp_path: Path) -> None:
    db = Database()
    leader_seen: list[bytes] = []
    follower_seen: list[bytes] = []
    leader = make_reloader(tmp_path, db, leader_seen, reread=db.reread)
    follower = make_reloader(tmp_path, db, follower_seen, reread=db.reread)
    # A start: nothing served yet, fingerprint then the whole document (side by side in production).
    await asyncio.gather(leader.refresh(), follower.refresh())
    assert (db.loads, db.rereads) == (1, 0)
    checks = db.checks

    db.version = 2
    notified = time.monotonic()
    assert await asyncio.gather(leader.refresh(notified), follower.refresh(notified)) == [True, True]
    assert leader_seen[-1] == follower_seen[-1] == b"doc-2"
    # One read for the leader; the follower took its verdict (recorded before the document was read).
    assert (db.loads, db.rereads, db.checks) == (1, 1, checks)
    assert not await leader.refresh(time.monotonic())  # unchanged: the read stops at the fingerprint
    assert (db.rereads, leader_seen[-1]) == (2, b"doc-2")
    leader.store.release()


def test_a_verdict_of_another_boot_or_malformed_is_not_taken(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path, "k")
    assert store.read_verdict() is None
    store.write_verdict("fp1-digest", 12.5)
    if boot_id() is None:  # no boot id: no verdicts, every worker asks PostgreSQL
        assert store.read_verdict() is None
        return
    assert store.read_verdict() == (12.5, "fp1-digest")
    store.verdict_path.write_text("another-boot 12.5 fp-1")
    assert store.read_verdict() is None
    store.verdict_path.write_text(f"{boot_id()} not-a-time fp-1")
    assert store.read_verdict() is None


def test_payloads() -> None:
    assert parse_payload("reload schema") == {SCHEMA}
    assert parse_payload("reload config") == {CONFIG}
    assert parse_payload("") == {SCHEMA, CONFIG}
    assert parse_payload("  reload schema ") == {SCHEMA}
    assert parse_payload("hello") == frozenset()


@run_async
async def test_bursts_are_debounced_into_one_reload() -> None:
    calls: list[tuple[frozenset[str], float]] = []

    async def handler(kinds: frozenset[str], since: float) -> None:
        calls.append((kinds, since))

    listener = Listener("unused", "pgrst", handler, debounce=0.05, max_delay=1.0)
    flusher = asyncio.get_running_loop().create_task(listener._flush_loop())
    try:
        for _ in range(20):
            listener.request(parse_payload("reload schema"))
            await asyncio.sleep(0.005)
        listener.request(parse_payload("reload config"))
        last = time.monotonic()
        listener.request(parse_payload("hello"))
        await asyncio.sleep(0.2)
        # One reload, of the catalog as of the burst's last request (not its first).
        assert [kinds for kinds, _ in calls] == [frozenset((SCHEMA, CONFIG))]
        assert last - 0.001 <= calls[0][1] <= last + 0.001
    finally:
        flusher.cancel()


@run_async
async def test_a_steady_stream_still_reloads_after_max_delay() -> None:
    calls: list[frozenset[str]] = []

    async def handler(kinds: frozenset[str], since: float) -> None:
        calls.append(kinds)

    listener = Listener("unused", "pgrst", handler, debounce=0.05, max_delay=0.15)
    flusher = asyncio.get_running_loop().create_task(listener._flush_loop())
    try:
        for _ in range(40):  # 0.4 s of notifications, never 0.05 s apart
            listener.request(frozenset((SCHEMA,)))
            await asyncio.sleep(0.01)
        assert len(calls) >= 2
    finally:
        flusher.cancel()

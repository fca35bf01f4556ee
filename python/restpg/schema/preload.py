"""The supervisor's head start: check that the database answers and, on a cold start, write the first
schema cache snapshot, in a thread beside the main thread's import of the app and Granian.

Without a persisted snapshot, every worker of a fresh ``restpg serve`` would wait after it forks for one of
them to read the catalog (the fingerprint, the introspection queries, the inference: about 150 ms at 1,000
tables). The supervisor does that work first, while it imports, and writes the snapshot the workers then
adopt the moment they start: the same file, lock and key as the workers' own loads. The workers forked
right after inherit the cache itself and skip decoding the file (``SnapshotStore.hand_down``).

The thread reads through the core's blocking connections (``start_session.py``), which wait for
PostgreSQL without the GIL; everything it runs is imported with this module, before the thread starts (two
threads importing the same modules at once can deadlock on their import locks).

A snapshot already on disk is the workers' to serve and revalidate; the supervisor only decodes it for them
while it imports (they inherit the decoded cache as after a cold start). Any failure of the snapshot is
theirs: they load the cache themselves, retry, and report what is wrong; so is a schema too large to read
within ``BUDGET``. Only an unreachable database stops the start (``DatabaseUnreachable``).
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from restpg._core import SchemaCache
from restpg.dbconfig import as_settings, settings_statements
from restpg.schema.catalog import QUERIES, Document
from restpg.schema.fingerprint import queries_digest
from restpg.schema.snapshot import SnapshotStore, store_for
from restpg.schema.start_session import ConnectFailed, Session, TimedOut

if TYPE_CHECKING:
    from restpg.config import Config

__all__ = ["BUDGET", "DatabaseUnreachable", "check_database", "prepare_database"]

#: How long the supervisor reads before it gives up and leaves the work to the workers. Nothing listens
#: meanwhile, not even the admin server's /live: a schema that takes longer (tens of thousands of tables)
#: is loaded by the workers, which answer 503 PGRST002 and /ready 503 while they do.
BUDGET = 3.0


class DatabaseUnreachable(Exception):
    """The start's check could not connect; the message is libpq's first line."""


def prepare_database(
    config: Config,
    budget: float = BUDGET,
    with_db_settings: Callable[[dict[str, str]], Config] | None = None,
) -> bool:
    """The supervisor thread's work: ``DatabaseUnreachable``, or True when it wrote the first snapshot.

    ``with_db_settings`` makes the configuration with the in-database settings on top (``config.load`` with
    them): with ``db-config`` they are read first, so that the snapshot is the one the workers will look for
    when the database sets ``pgrst.db_schemas``. ``LibpqNotFound`` when there is no libpq to read with.
    """
    session = _connect(config)
    try:
        if with_db_settings is not None and config.db_config:
            config = _with_db_settings(session, config, with_db_settings)
        return _write_snapshot(
            config,
            lambda: session.read_catalog(
                schemas=config.db_schemas,
                extra_search_path=config.db_extra_search_path,
                digest=_digest(config),
                budget=budget,
                max_bytes=config.restpg_max_schema_bytes,
            ),
        )
    finally:
        session.close()


def _with_db_settings(
    session: Session, config: Config, effective: Callable[[dict[str, str]], Config]
) -> Config:
    """``config`` with the in-database settings read as the workers read them (``dbconfig.py``); ``config``
    itself when they cannot be read or applied (the workers read them again and report what is wrong)."""
    before, query, params = settings_statements(config.db_pre_config)
    try:
        session.value(b"BEGIN")
        for statement in before:
            session.value(statement)
        return effective(as_settings(session.rows(query, params)))
    except Exception:  # noqa: BLE001 - the workers' own read reports it
        return config
    finally:
        with contextlib.suppress(Exception):
            session.value(b"ROLLBACK")


def check_database(config: Config) -> None:
    """Open and close one connection; ``DatabaseUnreachable`` when it cannot."""
    _connect(config).close()


def _connect(config: Config) -> Session:
    """A connection the start's reads block on (without the GIL); ``DatabaseUnreachable``."""
    try:
        return Session(config.db_uri, connect_timeout(config))
    except ConnectFailed as exc:
        raise DatabaseUnreachable(str(exc).splitlines()[0]) from None


def connect_timeout(config: Config) -> int:
    """libpq's own bound on the start's connection (whole seconds, at least 2), unless db-uri sets one: a
    black-holed host cannot hang the start."""
    return math.ceil(max(config.db_pool_acquisition_timeout, 2.0))


def _digest(config: Config) -> str:
    return queries_digest(QUERIES, config.db_schemas, config.db_extra_search_path)


def _write_snapshot(config: Config, read: Callable[[], tuple[str, Document]]) -> bool:
    """Lead, ``read`` the catalog and write the snapshot; False when there is one already, another server
    of this database leads, or the read fails (reported) or outlasts its budget (silently: a large schema)."""
    store = store_for(config)
    try:
        if store.identity() is not None:
            _decode_persisted(store)
            return False  # the workers serve it and revalidate it
        if not store.try_lead():
            return False  # a running server of the same database already leads
        try:
            fingerprint, document = read()
            cache = SchemaCache(document)
            del document
            store.write(cache.to_snapshot(fingerprint))
            store.hand_down(cache, fingerprint)
            _return_freed_memory()
        finally:
            store.release()
    except TimedOut:
        return False  # a large schema: the workers load it, listening meanwhile
    except Exception as exc:  # noqa: BLE001 - the workers load the cache themselves and report failures
        text = str(exc).strip()
        print(
            f"restpg: no schema cache before start ({text.splitlines()[0] if text else exc!r})",
            file=sys.stderr,
        )
        return False
    return True


def _decode_persisted(store: SnapshotStore) -> None:
    """Decode the snapshot on disk for the workers about to fork (``SnapshotStore.hand_down``).

    Each worker would read and decode it after it forks, on its way to ready (~25 ms at 1,000 tables, per
    worker); here the core decodes it without the GIL while the main thread imports. A file replaced
    meanwhile, or one the core refuses (damaged, another version), is left to the workers, which report and
    rebuild it.
    """
    identity = store.identity()
    data = store.read()
    if data is None or store.identity() != identity:
        return
    try:
        cache, fingerprint = SchemaCache.from_snapshot(data)
    except ValueError:
        return
    store.hand_down(cache, fingerprint, identity)


def _return_freed_memory() -> None:
    """Hand the memory of the document, the inference and the encoding, freed now, back to the system (glibc
    keeps it).

    Otherwise the supervisor keeps it for its whole life and every worker forked from it inherits that heap:
    at 10,000 tables ~75 MB, which made a worker's RSS 160 to 220 MB instead of 94 MB. Trimming took 6 ms.
    (The cache itself stays: the workers adopt it, see ``SnapshotStore.hand_down``.)
    """
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (AttributeError, OSError):  # not glibc: its allocator returns memory its own way
        pass

"""The supervisor's head start: check that the database answers and, on a cold start, write the first
schema cache snapshot, in a thread beside the main thread's import of the app and Granian.

Without a persisted snapshot, every worker of a fresh ``restpg serve`` would wait after it forks for one of
them to read the catalog (the fingerprint, the introspection queries, the inference: about 150 ms at 1,000
tables). The supervisor does that work first, while it imports, and writes the snapshot the workers then
adopt the moment they start: the same file, lock and key as the workers' own loads.

The thread reads through libpq itself (``libpq.py``) when it can: it starts before psycopg is imported and
waits for PostgreSQL without the GIL. Otherwise (no libpq found) it uses psycopg, which the main thread then
imports before the thread starts.

Only a cold start is helped: a snapshot already on disk is the workers' to serve and revalidate. Any failure
of the snapshot is theirs too: they load the cache themselves, retry, and report what is wrong; so is a
schema too large to read within ``BUDGET``. Only an unreachable database stops the start
(``DatabaseUnreachable``).
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

# Imported with this module, before the thread starts (see prepare_database): none of them imports psycopg.
from restpg._core import SchemaCache
from restpg.dbconfig import as_settings, settings_statements
from restpg.schema.catalog import QUERIES
from restpg.schema.fingerprint import queries_digest
from restpg.schema.libpq import ConnectFailed, TimedOut, connection_defaults
from restpg.schema.snapshot import store_for

if TYPE_CHECKING:
    from psycopg import pq

    from restpg.config import Config
    from restpg.schema.libpq import Libpq

__all__ = [
    "BUDGET",
    "DatabaseUnreachable",
    "check_database",
    "import_psycopg_reader",
    "preload_snapshot",
    "prepare_database",
]

#: How long the supervisor reads before it gives up and leaves the work to the workers. Nothing listens
#: meanwhile, not even the admin server's /live: a schema that takes longer (tens of thousands of tables)
#: is loaded by the workers, which answer 503 PGRST002 and /ready 503 while they do.
BUDGET = 3.0


class DatabaseUnreachable(Exception):
    """The start's check could not connect; the message is libpq's first line."""


def prepare_database(
    config: Config,
    libpq: Libpq | None,
    budget: float = BUDGET,
    with_db_settings: Callable[[dict[str, str]], Config] | None = None,
) -> bool:
    """The supervisor thread's work: ``DatabaseUnreachable``, or True when it wrote the first snapshot.

    ``with_db_settings`` makes the configuration with the in-database settings on top (``config.load`` with
    them): with ``db-config`` they are read first, so that the snapshot is the one the workers will look for
    when the database sets ``pgrst.db_schemas``.

    Nothing it runs may import a module the main thread imports meanwhile (two threads importing the same
    modules at once can deadlock on their locks): with ``libpq`` all it needs came with this module; without,
    call ``import_psycopg_reader`` before the thread starts.
    """
    if libpq is None:
        pgconn = _connect(config)
        try:
            if with_db_settings is not None and config.db_config:
                config = _with_db_settings(_PsycopgSession(pgconn), config, with_db_settings)
        finally:
            pgconn.finish()
        return preload_snapshot(config, budget)
    try:
        session = libpq.connect(config.db_uri, connection_defaults(connect_timeout(config)))
    except ConnectFailed as exc:
        raise DatabaseUnreachable(str(exc)) from None
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


class _Reads(Protocol):
    """What reading the settings needs of a connection: ``libpq.Session``, or ``_PsycopgSession``."""

    def value(self, sql: str, params: Sequence[bytes] = ()) -> bytes | None: ...

    def rows(self, sql: str, params: Sequence[bytes] = ()) -> list[tuple[bytes | None, ...]]: ...


class _PsycopgSession:
    """``_Reads`` on a connection of psycopg's libpq binding (the start without a libpq of its own)."""

    def __init__(self, pgconn: pq.abc.PGconn) -> None:
        self._pgconn = pgconn

    def value(self, sql: str, params: Sequence[bytes] = ()) -> bytes | None:
        rows = self.rows(sql, params)
        return rows[0][0] if rows and rows[0] else None

    def rows(self, sql: str, params: Sequence[bytes] = ()) -> list[tuple[bytes | None, ...]]:
        from psycopg import pq

        result = self._pgconn.exec_params(sql.encode(), list(params))
        if result.status not in (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK):
            raise RuntimeError((result.error_message or b"").decode("utf-8", "replace").strip())
        value = result.get_value
        return [tuple(value(row, col) for col in range(result.nfields)) for row in range(result.ntuples)]


def _with_db_settings(
    session: _Reads, config: Config, effective: Callable[[dict[str, str]], Config]
) -> Config:
    """``config`` with the in-database settings read as the workers read them (``dbconfig.py``); ``config``
    itself when they cannot be read or applied (the workers read them again and report what is wrong)."""
    before, query, params = settings_statements(config.db_pre_config)
    try:
        session.value("BEGIN")
        for statement in before:
            session.value(statement.decode())
        return effective(as_settings(session.rows(query.decode(), params)))
    except Exception:  # noqa: BLE001 - the workers' own read reports it
        return config
    finally:
        with contextlib.suppress(Exception):
            session.value("ROLLBACK")


def import_psycopg_reader() -> None:
    """Import what ``prepare_database`` needs without ``libpq``, in the thread that will not run it."""
    import restpg.db.pool
    import restpg.schema.introspect  # noqa: F401


def check_database(config: Config) -> None:
    """Open and close one connection through psycopg's libpq binding (see ``_connect``)."""
    _connect(config).finish()


def _connect(config: Config) -> pq.abc.PGconn:
    """A connection through psycopg's libpq binding, blocking (libpq's connect runs without the GIL; a connect
    driven by an event loop would wait for the GIL at every step of the handshake); ``DatabaseUnreachable``."""
    from psycopg import pq
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    conninfo = config.db_uri
    if "connect_timeout" not in conninfo_to_dict(conninfo):
        conninfo = make_conninfo(conninfo, connect_timeout=connect_timeout(config))
    pgconn = pq.PGconn.connect(conninfo.encode())
    if pgconn.status != pq.ConnStatus.OK:
        message = (pgconn.get_error_message().strip() or "connection failed").splitlines()[0]
        pgconn.finish()
        raise DatabaseUnreachable(message)
    return pgconn


def connect_timeout(config: Config) -> int:
    """libpq's own bound on the start's connection (whole seconds, at least 2), unless db-uri sets one: a
    black-holed host cannot hang the start."""
    return math.ceil(max(config.db_pool_acquisition_timeout, 2.0))


def preload_snapshot(config: Config, budget: float = BUDGET) -> bool:
    """Write the snapshot for ``config`` through psycopg when there is none; True when this call wrote it.

    Never raises: what goes wrong is reported on stderr (one line) and left to the workers.
    """
    import asyncio

    from restpg.schema.introspect import read_catalog

    async def read() -> tuple[str, bytes]:
        return await read_catalog(
            config.db_uri,
            schemas=config.db_schemas,
            extra_search_path=config.db_extra_search_path,
            digest=_digest(config),
            max_bytes=config.restpg_max_schema_bytes,
        )

    return _write_snapshot(config, lambda: asyncio.run(asyncio.wait_for(read(), budget)))


def _digest(config: Config) -> str:
    return queries_digest(QUERIES, config.db_schemas, config.db_extra_search_path)


def _write_snapshot(config: Config, read: Callable[[], tuple[str, bytes]]) -> bool:
    """Lead, ``read`` the catalog and write the snapshot; False when there is one already, another server
    of this database leads, or the read fails (reported) or outlasts its budget (silently: a large schema)."""
    store = store_for(config)
    try:
        if store.identity() is not None or not store.try_lead():
            return False  # a snapshot to adopt, or a running server of the same database already leads
        try:
            fingerprint, document = read()
            store.write(SchemaCache(document).to_snapshot(fingerprint))
            del document
            _return_freed_memory()
        finally:
            store.release()
    except (TimeoutError, TimedOut):
        return False  # a large schema: the workers load it, listening meanwhile
    except Exception as exc:  # noqa: BLE001 - the workers load the cache themselves and report failures
        text = str(exc).strip()
        print(
            f"restpg: no schema cache before start ({text.splitlines()[0] if text else exc!r})",
            file=sys.stderr,
        )
        return False
    return True


def _return_freed_memory() -> None:
    """Hand the memory of the document and its cache, freed now, back to the system (glibc keeps it).

    Otherwise the supervisor keeps it for its whole life and every worker forked from it inherits that heap:
    at 10,000 tables ~75 MB, which made a worker's RSS 160 to 220 MB instead of 94 MB. Trimming took 6 ms.
    """
    import ctypes

    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (AttributeError, OSError):  # not glibc: its allocator returns memory its own way
        pass

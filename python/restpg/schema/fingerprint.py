"""A cheap fingerprint of the catalog, to tell whether a persisted schema cache snapshot is still valid.

Every row of a system catalog carries the id of the transaction that last wrote it (``xmin``): any DDL,
``COMMENT`` or ``GRANT`` inserts, updates or deletes rows in these catalogs and so changes a count or a sum
of ``xmin``. The fingerprint hashes those per catalog. It covers the whole database, not only the exposed
schemas (a view may read from any schema), but leaves out the rows of temporary relations in every catalog
(their columns, types, defaults, keys, rules, triggers, comments), whose churn says nothing about the API.
A false "changed" costs one background reload; a false "unchanged" would need an exact collision of counts
and sums in every catalog at once.

The parts are also compared one by one: a worker's reload re-runs only the introspection queries that read
a catalog whose part changed (``introspect.reread_catalog``).

It takes 100-200 ms on a 10,000-table catalog and a few ms on small ones (loadtest/schema_scale).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from restpg import __version__

if TYPE_CHECKING:
    from restpg.db.pool import Connection, Pool

__all__ = [
    "CATALOGS",
    "CATALOG_STATES_AND_HORIZON_SQL",
    "CATALOG_STATES_SQL",
    "catalog_fingerprint",
    "fingerprint_of",
    "parse_states",
    "pooled_fingerprint",
    "queries_digest",
]

# Each part of the catalog and the query that states it. xmin is an xid; `::text::int8` is the portable
# way to sum it. Comments come in two parts, those on relations and columns and the others (functions,
# types, ...), so that a reload can tell which of the introspection queries a COMMENT concerns (their
# `-- catalogs:` lines, see catalog.py). `database` changes when the database is dropped and recreated.
#
# The rows of temporary relations are left out wherever a catalog holds them (their columns, defaults,
# constraints, rules, triggers, comments and partitions; their row types are in the temporary schemas): a
# function that makes a temporary table with a primary key would otherwise look like a change of `keys` to
# every reload it notifies (restpg's event trigger fires on any DDL), and have it read again. They are set
# against the few temporary relations (`temporary_relations`, a hashed subplan) rather than joined to every
# relation: for the columns, the whole query 204 -> 167 ms at 10,000 tables, 31 -> 28 ms at 1,000.
_TEMPORARY_RELATIONS = (
    "with temporary_relations as materialized (select oid from pg_class where relpersistence = 't')\n"
)
_STATES: tuple[tuple[str, str], ...] = (
    ("pg_namespace", "select count(*) || ':' || sum(xmin::text::int8) from pg_namespace"),
    (
        "pg_class",
        "select count(*) || ':' || sum(xmin::text::int8) from pg_class where relpersistence <> 't'",
    ),
    (
        "pg_attribute",
        """select count(*) || ':' || sum(xmin::text::int8) from pg_attribute
     where attnum > 0 and attrelid not in (select oid from temporary_relations)""",
    ),
    (
        "pg_type",
        """select count(*) || ':' || sum(t.xmin::text::int8)
     from pg_type t join pg_namespace n on n.oid = t.typnamespace
     where n.nspname not like 'pg\\_temp\\_%' and n.nspname not like 'pg\\_toast\\_temp\\_%'""",
    ),
    (
        "pg_attrdef",
        """select count(*) || ':' || sum(xmin::text::int8) from pg_attrdef
     where adrelid not in (select oid from temporary_relations)""",
    ),
    (
        "pg_constraint",
        """select count(*) || ':' || sum(xmin::text::int8) from pg_constraint
     where conrelid not in (select oid from temporary_relations)""",
    ),
    ("pg_proc", "select count(*) || ':' || sum(xmin::text::int8) from pg_proc"),
    ("pg_enum", "select count(*) || ':' || sum(xmin::text::int8) from pg_enum"),
    (
        "pg_rewrite",
        """select count(*) || ':' || sum(xmin::text::int8) from pg_rewrite
     where ev_class not in (select oid from temporary_relations)""",
    ),
    (
        "pg_trigger",
        """select count(*) || ':' || sum(xmin::text::int8) from pg_trigger
     where tgrelid not in (select oid from temporary_relations)""",
    ),
    (
        "pg_description:pg_class",
        """select count(*) || ':' || sum(xmin::text::int8) from pg_description
     where classoid = 'pg_class'::regclass and objoid not in (select oid from temporary_relations)""",
    ),
    (
        "pg_description:other",
        """select count(*) || ':' || sum(xmin::text::int8) from pg_description
     where classoid <> 'pg_class'::regclass""",
    ),
    (
        "pg_inherits",
        """select count(*) || ':' || sum(xmin::text::int8) from pg_inherits
     where inhrelid not in (select oid from temporary_relations)""",
    ),
    # Whether a foreign table can be written depends on its server's wrapper having a handler (tables.sql).
    ("pg_foreign_table", "select count(*) || ':' || sum(xmin::text::int8) from pg_foreign_table"),
    ("pg_foreign_server", "select count(*) || ':' || sum(xmin::text::int8) from pg_foreign_server"),
    (
        "pg_foreign_data_wrapper",
        "select count(*) || ':' || sum(xmin::text::int8) from pg_foreign_data_wrapper",
    ),
    ("database", "select oid::text from pg_database where datname = current_database()"),
)

#: The names of the parts, as the query files' ``-- catalogs:`` lines name them.
CATALOGS = frozenset(name for name, _ in _STATES)


def _states_sql(*also: str) -> str:
    return (
        _TEMPORARY_RELATIONS
        + "select json_build_object(\n  "
        + ",\n  ".join(f"'{name}', ({sql})" for name, sql in _STATES)
        + "\n)"
        + "".join(f", {column}" for column in also)
    )


#: One row, one json column: ``{"<catalog>": "<count>:<xmin sum>", ...}``, in ``_STATES`` order.
CATALOG_STATES_SQL = _states_sql()
#: ``CATALOG_STATES_SQL`` and two more columns: the oldest transaction still running when the read's
#: snapshot was taken (with its epoch, as text), from which a later reload looks for what changed since
#: (``queries/changes/``), and when the server started, without which that means nothing (see
#: ``introspect.Reading``). The ``txid_*`` spelling (``pg_snapshot_xmin`` from PostgreSQL 13 on) also
#: reaches 12, which PostgREST still supports.
CATALOG_STATES_AND_HORIZON_SQL = _states_sql(
    "txid_snapshot_xmin(txid_current_snapshot())::text", "pg_postmaster_start_time()::text"
)


def fingerprint_of(states: bytes, digest: str) -> str:
    """``<catalog hash>-<digest>`` from the result of ``CATALOG_STATES_SQL``: equal only for the same
    catalog state seen through the same queries (``queries_digest``)."""
    return f"{hashlib.blake2b(states, digest_size=16).hexdigest()}-{digest}"


def parse_states(states: bytes) -> dict[str, str | None]:
    """The result of ``CATALOG_STATES_SQL`` as ``{catalog: state}`` (None for an empty catalog)."""
    parsed = json.loads(states)
    if not isinstance(parsed, dict):
        raise TypeError("the catalog states are not a JSON object")
    return parsed


def queries_digest(queries: Path, schemas: Sequence[str], extra_search_path: Sequence[str]) -> str:
    """What else a cache depends on: the introspection SQL, the exposed schemas and restpg's version."""
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(queries.glob("*.sql")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    digest.update(("\0".join(schemas) + "\0\0" + "\0".join(extra_search_path)).encode())
    return digest.hexdigest()[:16]


async def catalog_fingerprint(conninfo: str, digest: str) -> str:
    """``<catalog hash>-<digest>``: equal only for the same catalog state seen through the same queries."""
    from restpg.db.pool import connection_params, open_connection  # see _fingerprint

    connection = await open_connection(connection_params(conninfo))
    try:
        return await _fingerprint(connection, digest)
    finally:
        connection.close()


async def pooled_fingerprint(pool: Pool, digest: str) -> str:
    """``catalog_fingerprint`` on one of ``pool``'s connections: a worker's revalidations (one after each
    start, one per notification) open no connection of their own, a TLS handshake and a backend fork each."""
    connection = await pool.acquire()
    try:
        return await _fingerprint(connection, digest)
    finally:
        pool.release(connection)


async def _fingerprint(connection: Connection, digest: str) -> str:
    # Imported here, as in catalog_fingerprint: the execute stage's modules import this one (through the
    # libpq finder), a cycle at import time.
    from restpg.db.execute import fetch_rows

    rows = await fetch_rows(connection, CATALOG_STATES_SQL.encode(), before=[_JIT_OFF])
    if not rows or rows[0][0] is None:
        raise RuntimeError("the catalog fingerprint query returned no row")
    return fingerprint_of(rows[0][0], digest)


# For this transaction only: the pooled connection's session stays as it is.
_JIT_OFF = b"SELECT set_config('jit', 'off', true)"

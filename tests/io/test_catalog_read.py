"""The catalog read against a real database, through the core: what keys.sql leaves out (the column names of
the relations tables.sql lists) is named from columns.sql, and what it sends (partitions, relations of other
schemas) is kept."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from restpg._core import SchemaCache
from restpg.schema.catalog import catalog_queries
from restpg.schema.introspect import load_document
from support.postgres import Database


@pytest.fixture
def schemas(database: Database) -> Iterator[tuple[str, str]]:
    exposed, private = (f"read_{uuid.uuid4().hex[:8]}" for _ in range(2))
    statements = [
        "create schema {e}",
        "create schema {p}",
        # The key's columns in another order than the table's.
        "create table {p}.owners (name text, id int primary key)",
        "create table {e}.events (at date, id int, primary key (id, at)) partition by range (at)",
        "create table {e}.events_2026 partition of {e}.events for values from ('2026-01-01') to ('2027-01-01')",
        (
            "create table {e}.tickets (no int primary key, owner int references {p}.owners,"
            " event_at date, event int, foreign key (event, event_at) references {e}.events (id, at))"
        ),
        "create view {e}.owners as select id, name from {p}.owners",
    ]
    with psycopg.connect(database.admin_dsn, autocommit=True) as conn:
        for statement in statements:
            conn.execute(sql.SQL(statement).format(e=sql.Identifier(exposed), p=sql.Identifier(private)))
    yield exposed, private
    with psycopg.connect(database.admin_dsn, autocommit=True) as conn:
        for name in (exposed, private):
            conn.execute(sql.SQL("drop schema {} cascade").format(sql.Identifier(name)))


def test_key_columns_are_named_by_attnum_or_as_sent(database: Database, schemas: tuple[str, str]) -> None:
    exposed, _ = schemas
    document = asyncio.run(load_document(database.admin_dsn, schemas=[exposed], extra_search_path=[]))
    sent = json.loads(document["keys"])["constraints"]
    named = {name: columns for name, columns in zip(sent["name"], sent["columns"], strict=True)}
    # Left out for the listed tables; sent for a partition, which tables.sql does not list.
    assert named["tickets_pkey"] is None and named["events_pkey"] is None
    assert named["events_2026_pkey"] == ["id", "at"]
    foreign = dict(zip(sent["name"], sent["foreign_columns"], strict=True))
    assert foreign["tickets_owner_fkey"] == ["id"]  # another schema's table

    cache = json.loads(SchemaCache(document).to_json())
    pk_cols = {table["name"]: table["pk_cols"] for table in cache["tables"]}
    assert pk_cols["events"] == ["id", "at"] and pk_cols["tickets"] == ["no"]
    assert pk_cols["owners"] == ["id"]  # the view's key, through its private source's sent names
    pairs = {
        (fk["table"]["name"], fk["foreign_table"]["name"]): columns
        for fk in (r["ForeignKey"] for r in cache["relationships"] if "ForeignKey" in r)
        for columns in [next(iter(fk["cardinality"].values()))["columns"]]
    }
    assert pairs[("tickets", "events")] == [["event", "id"], ["event_at", "at"]]
    assert pairs[("tickets", "owners")] == [["owner", "id"]]  # through the view


@pytest.fixture
def every_relkind(database: Database) -> Iterator[str]:
    """An exposed schema with a relation of every kind, each commented, one column of each too."""
    schema, wrapper = f"kinds_{uuid.uuid4().hex[:8]}", f"kinds_fdw_{uuid.uuid4().hex[:8]}"
    statements = [
        "create schema {s}",
        "create table {s}.plain (id int primary key, note text unique)",
        "create index plain_note_idx on {s}.plain (note)",
        "create table {s}.split (id int, at date, primary key (id, at)) partition by range (at)",
        "create table {s}.split_2026 partition of {s}.split for values from ('2026-01-01') to ('2027-01-01')",
        "create view {s}.seen as select id, note from {s}.plain",
        "create materialized view {s}.kept as select id from {s}.plain",
        "create foreign data wrapper {w}",
        "create server {w} foreign data wrapper {w}",
        "create foreign table {s}.remote (id int) server {w}",
        "create sequence {s}.counter",
        "create type {s}.pair as (a int, b int)",
    ]
    commented = {
        "table": ["plain", "split", "split_2026"],
        "view": ["seen"],
        "materialized view": ["kept"],
        "foreign table": ["remote"],
        "sequence": ["counter"],
        "index": ["plain_note_idx"],
        "type": ["pair"],
    }
    statements += [
        f"comment on {kind} {{s}}.{name} is 'the {name}'"
        for kind, names in commented.items()
        for name in names
    ]
    statements += [
        f"comment on column {{s}}.{name}.{column} is 'a column'"
        for name, column in [
            ("plain", "note"),
            ("split", "at"),
            ("split_2026", "at"),
            ("seen", "note"),
            ("kept", "id"),
            ("remote", "id"),
            ("pair", "b"),
        ]
    ]
    with psycopg.connect(database.admin_dsn, autocommit=True) as conn:
        for statement in statements:
            conn.execute(sql.SQL(statement).format(s=sql.Identifier(schema), w=sql.Identifier(wrapper)))
    yield schema
    with psycopg.connect(database.admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("drop schema {} cascade").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("drop foreign data wrapper {} cascade").format(sql.Identifier(wrapper)))


def test_every_query_reads_the_relations_tables_sql_lists(database: Database, every_relkind: str) -> None:
    """The query files each repeat which relations the API exposes (kept standalone, so that a reload runs
    only those whose catalogs changed); over a relation of every kind they must agree."""
    document = asyncio.run(load_document(database.admin_dsn, schemas=[every_relkind], extra_search_path=[]))
    tables = {table["oid"]: table["name"] for table in json.loads(document["tables"])}
    assert sorted(tables.values()) == ["kept", "plain", "remote", "seen", "split"]
    # A wrapper without a handler (options only) makes a foreign table nothing can read or write; asking
    # PostgreSQL whether it is updatable would raise, and fail the whole read.
    remote = next(table for table in json.loads(document["tables"]) if table["name"] == "remote")
    assert not (remote["insertable"] or remote["updatable"] or remote["deletable"])

    assert set(json.loads(document["columns"])["rel"]) == set(tables)
    # A reload's change query (queries/changes/columns.sql) names the relations too.
    columns = next(query for query in catalog_queries() if query.stem == "columns")
    assert columns.changes is not None
    with psycopg.connect(database.admin_dsn) as conn:
        params = {"horizon": 2147483647, "schemas": [every_relkind], "moved": []}
        changes = conn.execute(columns.changes.sql, params).fetchone()
    assert changes is not None and set(changes[0]["present"]) == set(tables)
    described = json.loads(document["descriptions"])
    assert set(described["oid"]) == set(tables)
    assert len(described["oid"]) == 2 * len(tables)  # a relation's comment and one column's each

    constraints = json.loads(document["keys"])["constraints"]
    named_by_core = {
        table: columns is None
        for table, columns in zip(constraints["table"], constraints["columns"], strict=True)
    }
    # The core names a key's columns for the relations it has the columns of; the partition's come named.
    assert named_by_core == {"plain": True, "split": True, "split_2026": False}

"""The supervisor's head start (``schema/preload.py``): the database check and the first snapshot, through
the core's blocking connections (``schema/start_session.py``), against a real database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from restpg._core import BlockingSession, SchemaCache
from restpg.config import Config, load
from restpg.db.pool import connection_params
from restpg.schema.fingerprint import queries_digest
from restpg.schema.introspect import QUERIES, read_catalog
from restpg.schema.preload import DatabaseUnreachable, check_database, prepare_database
from restpg.schema.snapshot import store_for
from restpg.schema.start_session import ConnectFailed, Session, TimedOut
from support.fix_server import base_config
from support.postgres import Database
from support.server import free_port


def supervisor_config(database: Database, snapshot_dir: Path, **env: str) -> Config:
    """What `restpg serve` reads before it starts the workers (file and environment only)."""
    values = {
        "PGRST_DB_URI": database.admin_dsn,
        "PGRST_DB_SCHEMAS": str(base_config(database)["db-schemas"]),
        "RESTPG_SNAPSHOT_DIR": str(snapshot_dir),
        **env,
    }
    return load(None, values)


def test_both_readers_read_the_same_catalog(database: Database) -> None:
    # A schema name that needs quoting inside an array literal (it exposes nothing; it must not break).
    schemas = ["test", "v2", 'we"ird,na\\me']
    extra = ["public"]
    digest = queries_digest(QUERIES, schemas, extra)
    expected = asyncio.run(
        read_catalog(database.admin_dsn, schemas=schemas, extra_search_path=extra, digest=digest)
    )
    session = Session(database.admin_dsn, 2)
    try:
        got = session.read_catalog(schemas=schemas, extra_search_path=extra, digest=digest, budget=10.0)
    finally:
        session.close()
    assert got == expected
    assert SchemaCache(got[1]).table_count > 0


def test_a_session_reports_what_postgresql_refused_and_stays_usable(database: Database) -> None:
    session = Session(database.admin_dsn, 2)
    try:
        with pytest.raises(RuntimeError, match="division by zero"):
            session.rows(b"select 1 / $1::int", [b"0"])
        assert session.rows(b"select $1::text, null", [b"x"]) == [(b"x", None)]
        assert session.value(b"select 1 where false") is None
    finally:
        session.close()
    with pytest.raises(ConnectionError, match="closed"):
        session.value(b"select 1")


@pytest.mark.parametrize("failing", ["b", "columns"])  # taken last; taken first
def test_a_failing_query_side_by_side_fails_the_read(
    database: Database, tmp_path: Path, failing: str
) -> None:
    for stem in ("a", "b", "columns"):
        (tmp_path / f"{stem}.sql").write_text("-- catalogs: pg_class\nselect '[]'::json")
    (tmp_path / f"{failing}.sql").write_text("-- catalogs: pg_class\nselect (1 / 0)::text::json")
    session = Session(database.admin_dsn, 2)
    try:
        with pytest.raises(RuntimeError, match="division by zero"):
            session.read_catalog(
                schemas=["test"], extra_search_path=[], digest="d", budget=10.0, queries=tmp_path
            )
    finally:
        session.close()


def test_each_connection_takes_the_next_statement_when_done_with_its_last(database: Database) -> None:
    session = BlockingSession(connection_params(database.admin_dsn))
    pid: tuple[bytes, list[bytes | None]] = (b"select pg_backend_pid()::text", [])
    slow: tuple[bytes, list[bytes | None]] = (b"select pg_backend_pid()::text from pg_sleep(0.5)", [])
    try:
        values = session.side_by_side([[], []], [slow, pid, pid, pid])
    finally:
        session.close()
    # While one connection sleeps through the first statement, the other takes all the rest.
    assert len(values) == 4 and values[0] not in values[1:] and len(set(values[1:])) == 1


def test_the_supervisor_leaves_the_snapshot_to_a_running_leader(database: Database, tmp_path: Path) -> None:
    config = supervisor_config(database, tmp_path / "snapshots")
    leader = store_for(config)
    assert leader.try_lead()  # another server of this database on this host is loading
    try:
        assert not prepare_database(config)
        assert leader.identity() is None
    finally:
        leader.release()
    assert prepare_database(config)
    assert not prepare_database(config)  # a snapshot is there: the workers revalidate it
    cache, _ = SchemaCache.from_snapshot(leader.read() or b"")
    assert cache.table_count > 0


def test_a_persisted_snapshot_is_decoded_for_the_workers(database: Database, tmp_path: Path) -> None:
    config = supervisor_config(database, tmp_path / "snapshots")
    store = store_for(config)
    assert prepare_database(config)
    identity = store.identity()
    assert identity is not None
    store.inherited(identity)  # what the cold start handed down: taken, as a worker takes it

    assert not prepare_database(config)  # a restart: nothing read or written, the file decoded
    assert store.identity() == identity
    handed = store.inherited(identity)
    assert handed is not None
    cache, fingerprint = handed
    expected, expected_fingerprint = SchemaCache.from_snapshot(store.read() or b"")
    assert isinstance(cache, SchemaCache) and fingerprint == expected_fingerprint
    assert cache.table_count == expected.table_count > 0

    store.path.write_bytes((store.read() or b"")[:100])  # damaged: the workers report and rebuild it
    assert not prepare_database(config)
    assert store.inherited(store.identity() or identity) is None


def test_the_supervisor_gives_up_within_its_budget_or_without_a_folder(
    database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = supervisor_config(database, tmp_path / "snapshots")
    assert not prepare_database(config, budget=0.0)  # too slow: left to the workers
    store = store_for(config)
    assert store.identity() is None
    assert store.try_lead()  # and the lock was released
    store.release()
    assert capsys.readouterr().err == ""  # a large schema is not an error

    (tmp_path / "a-file").write_text("not a folder")
    unusable = supervisor_config(database, tmp_path / "a-file" / "snapshots")
    assert not prepare_database(unusable)  # reported, never raised: the workers report it too
    assert "no schema cache before start" in capsys.readouterr().err


def test_a_schema_over_the_cap_is_left_to_the_workers(
    database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = supervisor_config(database, tmp_path / "snapshots", RESTPG_MAX_SCHEMA_BYTES="1000")
    assert not prepare_database(config)
    assert store_for(config).identity() is None
    assert "restpg-max-schema-bytes" in capsys.readouterr().err


def test_an_unreachable_database_stops_the_start(database: Database, tmp_path: Path) -> None:
    check_database(supervisor_config(database, tmp_path / "snapshots"))
    dsn = f"host=127.0.0.1 port={free_port()} user=nobody dbname=nothing"
    config = supervisor_config(database, tmp_path / "snapshots", PGRST_DB_URI=dsn)
    with pytest.raises(DatabaseUnreachable, match=r"127\.0\.0\.1"):
        prepare_database(config)
    with pytest.raises(DatabaseUnreachable, match=r"127\.0\.0\.1"):
        check_database(config)
    with pytest.raises(ConnectFailed, match="invalid connection option"):
        Session(database.admin_dsn + " nonsense=1", 2)


def test_a_query_past_the_budget_is_cancelled_by_postgresql(database: Database, tmp_path: Path) -> None:
    (tmp_path / "slow.sql").write_text("-- catalogs: pg_class\nselect pg_sleep(5)::text::json")
    session = Session(database.admin_dsn, 2)
    try:
        with pytest.raises(TimedOut):
            session.read_catalog(
                schemas=["test"], extra_search_path=[], digest="d", budget=0.3, queries=tmp_path
            )
    finally:
        session.close()


@pytest.fixture
def schemas_role(database: Database) -> Iterator[str]:
    """A login role of this test only whose in-database settings expose the schema ``v2`` alone."""
    role = f"restpg_preload_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database.admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("create role {} login").format(sql.Identifier(role)))
        conn.execute(sql.SQL("alter role {} set pgrst.db_schemas = 'v2'").format(sql.Identifier(role)))
    yield role
    with psycopg.connect(database.admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("drop role {}").format(sql.Identifier(role)))


def test_the_snapshot_follows_the_in_database_schemas(
    database: Database, tmp_path: Path, schemas_role: str
) -> None:
    # The workers apply pgrst.db_schemas (db-config): the snapshot must be the one they look for.
    env = {"PGRST_DB_URI": database.dsn_as(schemas_role), "RESTPG_SNAPSHOT_DIR": str(tmp_path)}
    file_only = load(None, {**env, "PGRST_DB_SCHEMAS": "test"})
    in_database = load(None, {**env, "PGRST_DB_SCHEMAS": "test"}, {"db-schemas": "v2"})
    assert in_database.db_schemas == ("v2",)
    effective = lambda settings: load(None, {**env, "PGRST_DB_SCHEMAS": "test"}, settings)
    assert prepare_database(file_only, with_db_settings=effective)
    assert store_for(in_database).identity() is not None
    assert store_for(file_only).identity() is None
    # Without db-config the file's schemas stand.
    assert prepare_database(
        load(None, {**env, "PGRST_DB_SCHEMAS": "test", "PGRST_DB_CONFIG": "false"}),
        with_db_settings=effective,
    )
    assert store_for(file_only).identity() is not None

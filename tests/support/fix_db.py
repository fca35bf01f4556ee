"""pytest plugin: the session's PostgreSQL database."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from support.postgres import Database, cluster_dsn, session_database


@pytest.fixture(scope="session")
def database() -> Iterator[Database]:
    """A fresh database loaded with ``tests/fixtures``; dropped (and any embedded server stopped) at the end."""
    with cluster_dsn() as cluster, session_database(cluster) as db:
        yield db


@pytest.fixture
def db_conn(database: Database) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """A superuser connection to the session database for setup and assertions (autocommit)."""
    with psycopg.connect(database.admin_dsn, autocommit=True) as conn:
        yield conn

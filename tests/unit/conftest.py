"""Fixtures for the unit tests that need a real PostgreSQL: the session database of ``tests/support``."""

import pytest

from support.postgres import Database


@pytest.fixture
def dsn(database: Database) -> str:
    """A superuser connection string to the session database (``RESTPG_TEST_DSN`` or embedded PostgreSQL)."""
    return database.admin_dsn

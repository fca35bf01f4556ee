"""Fixtures for the unit tests that need a real PostgreSQL (``RESTPG_TEST_DSN``)."""

import os

import pytest


@pytest.fixture
def dsn() -> str:
    value = os.environ.get("RESTPG_TEST_DSN")
    if not value:
        pytest.skip("RESTPG_TEST_DSN is not set: these tests need a PostgreSQL server to run against")
    return value

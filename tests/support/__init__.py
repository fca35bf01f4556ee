"""Test helpers: a PostgreSQL for the session and real ``restpg serve`` processes against it."""

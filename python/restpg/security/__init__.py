"""Database-side security: `restpg enable` (roles, grants, auth.* functions, DDL reload trigger)
and `restpg doctor` (what the API roles can reach without RLS)."""

from __future__ import annotations

from importlib import resources


def load_sql(name: str) -> str:
    """The text of `sql/<name>`, shipped inside the package."""
    return resources.files(__package__).joinpath("sql", name).read_text(encoding="utf-8")

"""Per-role transaction settings (``db-hoisted-tx-settings``), as PostgREST applies them.

``ALTER ROLE web_user SET statement_timeout = '5s'`` takes effect when a session *logs in* as that role, but
restpg logs in as the authenticator and switches roles per transaction with ``set_config('role', …)``, which
does not apply the role's settings. So, like PostgREST, the settings named in ``db-hoisted-tx-settings``
are read from the catalog with the schema cache and set transaction-locally for each request of that role.
"""

from __future__ import annotations

from collections.abc import Iterable

import psycopg

__all__ = ["RoleSettings", "load_role_settings"]

# role name -> [(setting, value)]: the role's own settings in this database, or in every database.
RoleSettings = dict[str, list[tuple[str, str]]]

_QUERY = """
SELECT r.rolname, s.setconfig
FROM pg_catalog.pg_db_role_setting s
JOIN pg_catalog.pg_roles r ON r.oid = s.setrole
WHERE s.setdatabase IN (0, (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()))
ORDER BY s.setdatabase  -- database-specific settings come last and win
"""


async def load_role_settings(conninfo: str, hoisted: Iterable[str]) -> RoleSettings:
    wanted = set(hoisted)
    settings: dict[str, dict[str, str]] = {}
    if not wanted:
        return {}
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        rows = await (await conn.execute(_QUERY)).fetchall()
    for role, config in rows:
        for entry in config or ():
            name, _, value = entry.partition("=")
            if name in wanted:
                settings.setdefault(role, {})[name] = value
    return {role: sorted(values.items()) for role, values in settings.items()}

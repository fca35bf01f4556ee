"""Per-role transaction settings (``db-hoisted-tx-settings``), as PostgREST applies them.

``ALTER ROLE web_user SET statement_timeout = '5s'`` takes effect when a session *logs in* as that role, but
restpg logs in as the authenticator and switches roles per transaction with ``set_config('role', …)``, which
does not apply the role's settings. So, like PostgREST, the settings named in ``db-hoisted-tx-settings``
are read from the catalog with the schema cache and set transaction-locally for each request of that role.
A role's ``default_transaction_isolation`` is read whether hoisted or not: it is the isolation level of that
role's transactions (a called function's own setting wins), as in PostgREST.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from restpg.db.execute import ISOLATION, fetch_rows
from restpg.db.pool import Pool

__all__ = ["RoleSettings", "load_role_settings"]


@dataclass(frozen=True, slots=True)
class RoleSettings:
    """The impersonated roles' own settings in this database (or in every database)."""

    hoisted: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # role -> [(setting, value)]
    isolation: dict[str, str] = field(default_factory=dict)  # role -> its isolation level, lowercase


# One row per setting ("name=value" split at the first "="), so that no array literal is parsed here.
_QUERY = b"""
SELECT r.rolname, split_part(c.setting, '=', 1), substr(c.setting, strpos(c.setting, '=') + 1)
FROM pg_catalog.pg_db_role_setting s
JOIN pg_catalog.pg_roles r ON r.oid = s.setrole
CROSS JOIN LATERAL unnest(s.setconfig) AS c(setting)
WHERE s.setdatabase IN (0, (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()))
ORDER BY s.setdatabase  -- database-specific settings come last and win
"""


async def load_role_settings(pool: Pool, hoisted: Iterable[str]) -> RoleSettings:
    """Read on one of ``pool``'s connections (at start-up the one readiness opened first)."""
    wanted = {name.encode() for name in hoisted}
    connection = await pool.acquire()
    try:
        rows = await fetch_rows(connection, _QUERY)
    finally:
        pool.release(connection)
    settings: dict[str, dict[str, str]] = {}
    isolation: dict[str, str] = {}
    for role, name, value in rows:
        if role is None or value is None:
            continue
        if name in wanted:
            settings.setdefault(role.decode(), {})[name.decode()] = value.decode()
        if name == ISOLATION.encode():
            isolation[role.decode()] = value.decode().strip().lower()
    return RoleSettings({role: sorted(values.items()) for role, values in settings.items()}, isolation)

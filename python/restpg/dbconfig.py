"""In-database configuration, as PostgREST: ``pgrst.*`` settings of the authenticator role and ``db-pre-config``.

Sources, strongest first (PostgREST's order):

1. ``ALTER ROLE authenticator IN DATABASE app SET pgrst.jwt_aud = '...'`` (this database only);
2. ``ALTER ROLE authenticator SET pgrst.jwt_aud = '...'`` (every database);
3. the ``db-pre-config`` function, which calls ``set_config('pgrst.jwt_aud', '...', true)``.

A setting on the database alone (``ALTER DATABASE ... SET pgrst.x``) has no effect. The role settings are read
from ``pg_db_role_setting`` rather than ``current_setting`` so that they win over the function even though
PostgreSQL applied them to the session at login. The whole configuration then has the precedence
file < environment < database (``config.load``). Disabled by ``db-config = false``.

``reload config`` re-reads everything; only the keys PostgREST can change without a restart take effect
(``reloaded``): the connection (``db-uri``, pool sizes), the listening sockets and restpg's own process
settings stay as the server started.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from restpg.config import IN_DATABASE_KEYS, Config, load

if TYPE_CHECKING:
    from restpg.db.pool import Pool

# No psycopg at import: the supervisor reads these settings through libpq before psycopg is imported
# (schema/preload.py), with the same statements (``settings_statements``) as the workers' pools.

__all__ = [
    "NOT_RELOADABLE",
    "as_settings",
    "load_config",
    "read_db_settings",
    "reloaded",
    "settings_statements",
]

#: Config attributes fixed for the life of a process (PostgREST's non-reloadable keys, and restpg's own).
NOT_RELOADABLE = frozenset(
    {
        "db_uri",
        "db_pool",
        "db_pool_acquisition_timeout",
        "db_pool_max_lifetime",
        "db_pool_max_idletime",
        "db_channel",
        "db_channel_enabled",
        "server_host",
        "server_port",
        "server_unix_socket",
        "server_unix_socket_mode",
        "server_reuseport",
        "admin_server_host",
        "admin_server_port",
        "restpg_workers",
        "restpg_base_path",
        "restpg_runtime_dir",
        "restpg_snapshot_dir",
    }
)

_PREFIX = "pgrst."
_NAMES = [_PREFIX + key.replace("-", "_") for key in IN_DATABASE_KEYS]

# The role's own settings: the database-specific row (setdatabase <> 0) sorts before the cluster-wide one,
# and the pre-config function's values (database null, read back with current_setting) come last.
_ROLE_SETTINGS = b"""
with role_setting as (
  select s.setdatabase as database, unnest(s.setconfig) as setting
  from pg_catalog.pg_db_role_setting s
  where s.setrole = (select r.oid from pg_catalog.pg_roles r where r.rolname = current_user)
    and s.setdatabase in (0, (select d.oid from pg_catalog.pg_database d where d.datname = current_database()))
), candidates as (
  select database, split_part(setting, '=', 1) as name, substr(setting, strpos(setting, '=') + 1) as value
  from role_setting
  union all
  select null, name, current_setting(name, true) from unnest($1::text[]) as name where $2::boolean
)
select distinct on (name) name, value
from candidates
where name = any($1::text[]) and value is not null
order by name, database desc nulls last
"""
_NAMES_ARRAY = ("{" + ",".join(_NAMES) + "}").encode()  # plain identifiers: nothing to quote
_READ_ONLY = b"select set_config('transaction_read_only', 'on', true)"


def settings_statements(pre_config: str | None) -> tuple[list[bytes], bytes, list[bytes]]:
    """``(before, query, params)``: what runs first in one read-only transaction (the pre-config function,
    whose ``set_config(..., true)`` is local to that transaction), then the settings query and its text
    parameters. Its rows are ``(name, value)``: see ``as_settings``."""
    before = [_READ_ONLY]
    if pre_config is not None:
        before.append(b"select " + _function(pre_config) + b"()")
    return before, _ROLE_SETTINGS, [_NAMES_ARRAY, b"true" if pre_config else b"false"]


def as_settings(rows: Iterable[tuple[bytes | None, ...]]) -> dict[str, str]:
    """``{config key: value}`` from the settings query's rows, for ``config.load(..., db_settings=...)``."""
    return {
        (name or b"").decode().removeprefix(_PREFIX).replace("_", "-"): (value or b"").decode()
        for name, value in rows
    }


async def read_db_settings(pool: Pool, pre_config: str | None) -> dict[str, str]:
    """The in-database settings, read on one of ``pool``'s connections (at start-up the one readiness
    opened first: no connection of its own)."""
    from restpg.db.execute import fetch_rows

    before, query, params = settings_statements(pre_config)
    connection = await pool.acquire()
    try:
        rows = await fetch_rows(connection, query, params, before=before)
    finally:
        pool.release(connection)
    return as_settings(rows)


async def load_config(pool: Pool, path: str | None, env: Mapping[str, str] | None = None) -> Config:
    """File + environment, then (with ``db-config``) the in-database settings on top, read on ``pool``."""
    env = os.environ if env is None else env
    base = load(path, env)
    if not base.db_config:
        return base
    return load(path, env, await read_db_settings(pool, base.db_pre_config))


def reloaded(current: Config, fresh: Config) -> Config:
    """``fresh`` with the keys that cannot change at run time kept as in ``current``."""
    return dataclasses.replace(fresh, **{name: getattr(current, name) for name in NOT_RELOADABLE})


def _function(name: str) -> bytes:
    """``schema.function`` from the configuration, each part quoted as an identifier."""
    parts = (part.strip().strip('"') for part in name.split(".", 1))
    return ".".join('"' + part.replace('"', '""') + '"' for part in parts).encode()

"""`restpg enable`: make a database ready for the Data API, as Neon's "Enable Data API" does.

Idempotent: every step checks first and says what it did or found, so running it twice is safe
and the second run reports that nothing was missing. It runs in one transaction: it applies
completely or not at all.

Steps:
1. roles: `authenticator` (LOGIN NOINHERIT: it only ever switches to the others), the anonymous
   role and `authenticated` (NOLOGIN), both granted to `authenticator`;
2. USAGE on the exposed schemas, and unless `--no-default-grants`: SELECT for the anonymous role and
   SELECT/INSERT/UPDATE/DELETE (+ sequences) for `authenticated`, on existing tables and through
   default privileges on future ones — the data is then guarded by RLS (see `restpg doctor`);
3. `auth.user_id()`, `auth.uid()`, `auth.session()`, `auth.jwt()`: the pg_session_jwt extension when
   the server has it, else SQL functions with the same semantics over `request.jwt.claims`;
4. an event trigger that sends `NOTIFY <db-channel>, 'reload schema'` after DDL (needs superuser).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql

from . import load_sql

AUTHENTICATOR = "authenticator"
AUTHENTICATED = "authenticated"
DEFAULT_ANON = "anonymous"
EVENT_TRIGGERS = (("restpg_reload_on_ddl", "ddl_command_end"), ("restpg_reload_on_drop", "sql_drop"))


def run(config: Any, args: argparse.Namespace | Any) -> int:
    """The CLI entry point: `config` is a restpg.config.Config; `args.no_default_grants` is read."""
    no_default_grants = bool(getattr(args, "no_default_grants", False))
    try:
        with psycopg.connect(config.db_uri, autocommit=False) as conn:
            enable(conn, config, no_default_grants=no_default_grants, say=print)
    except psycopg.Error as exc:
        print(f"restpg enable failed: {exc}", file=sys.stderr)
        return 1
    return 0


def enable(
    conn: psycopg.Connection[Any],
    config: Any,
    *,
    no_default_grants: bool = False,
    say: Callable[[str], None] = print,
) -> None:
    schemas: list[str] = list(config.db_schemas)
    anon = getattr(config, "db_anon_role", None) or DEFAULT_ANON
    channel = getattr(config, "db_channel", None) or "pgrst"
    api_roles = [anon, AUTHENTICATED]
    with conn.transaction():
        _ensure_role(conn, AUTHENTICATOR, login=True, say=say)
        for role in api_roles:
            _ensure_role(conn, role, login=False, say=say)
            _ensure_membership(conn, role, AUTHENTICATOR, say=say)
        _install_auth_functions(conn, api_roles, say=say)
        for schema in schemas:
            _grant_schema(conn, schema, anon, no_default_grants=no_default_grants, say=say)
        _install_reload_trigger(conn, channel, say=say)
    say("done: the Data API roles can now be used; run `restpg doctor` to review what they can reach")


def _exists(conn: psycopg.Connection[Any], query: str, *params: object) -> bool:
    return conn.execute(query, params).fetchone() is not None


def _ensure_role(
    conn: psycopg.Connection[Any], role: str, *, login: bool, say: Callable[[str], None]
) -> None:
    if _exists(conn, "SELECT 1 FROM pg_roles WHERE rolname = %s", role):
        say(f"role {role}: exists")
        return
    options = sql.SQL("LOGIN NOINHERIT" if login else "NOLOGIN")
    conn.execute(sql.SQL("CREATE ROLE {} {}").format(sql.Identifier(role), options))
    if login:
        say(f"role {role}: created (LOGIN NOINHERIT; give it a password: ALTER ROLE {role} PASSWORD ...)")
    else:
        say(f"role {role}: created (NOLOGIN)")


def _ensure_membership(
    conn: psycopg.Connection[Any], role: str, member: str, *, say: Callable[[str], None]
) -> None:
    query = """
        SELECT 1 FROM pg_auth_members m
        JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
        WHERE r.rolname = %s AND u.rolname = %s
    """
    if _exists(conn, query, role, member):
        say(f"role {role}: already granted to {member}")
        return
    conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(role), sql.Identifier(member)))
    say(f"role {role}: granted to {member}")


def _install_auth_functions(
    conn: psycopg.Connection[Any], api_roles: list[str], *, say: Callable[[str], None]
) -> None:
    if _exists(conn, "SELECT 1 FROM pg_extension WHERE extname = 'pg_session_jwt'"):
        say("auth functions: provided by the pg_session_jwt extension (already installed)")
    elif _exists(conn, "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_session_jwt'") and not _exists(
        conn, "SELECT 1 FROM pg_namespace WHERE nspname = 'auth'"
    ):
        # without a pg_session_jwt.jwk setting the extension reads request.jwt.claims: what we set
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_session_jwt")
        say("auth functions: installed the pg_session_jwt extension")
    else:
        existed = _exists(
            conn,
            "SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'auth' AND p.proname = 'user_id'",
        )
        conn.execute(load_sql("auth_functions.sql"))
        verb = "updated" if existed else "created"
        say(f"auth functions: {verb} auth.session(), auth.jwt(), auth.user_id(), auth.uid()")
    roles = sql.SQL(", ").join(sql.Identifier(role) for role in api_roles)
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA auth TO {}").format(roles))
    say(f"schema auth: USAGE granted to {', '.join(api_roles)}")


def _grant_schema(
    conn: psycopg.Connection[Any],
    schema: str,
    anon: str,
    *,
    no_default_grants: bool,
    say: Callable[[str], None],
) -> None:
    if not _exists(conn, "SELECT 1 FROM pg_namespace WHERE nspname = %s", schema):
        say(f"schema {schema}: does not exist, skipped")
        return
    ident = sql.Identifier(schema)
    anon_ident, auth_ident = sql.Identifier(anon), sql.Identifier(AUTHENTICATED)
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}, {}").format(ident, anon_ident, auth_ident))
    say(f"schema {schema}: USAGE granted to {anon}, {AUTHENTICATED}")
    if no_default_grants:
        say(f"schema {schema}: no table grants (--no-default-grants)")
        return
    statements = [
        "GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {anon}",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {auth}",
        "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {auth}",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT ON TABLES TO {anon}",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {auth}",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE, SELECT ON SEQUENCES TO {auth}",
    ]
    for statement in statements:
        conn.execute(sql.SQL(statement).format(schema=ident, anon=anon_ident, auth=auth_ident))
    say(
        f"schema {schema}: SELECT on tables granted to {anon}; SELECT, INSERT, UPDATE, DELETE "
        f"(and sequences) to {AUTHENTICATED}; the same for future tables (default privileges)"
    )


def _install_reload_trigger(
    conn: psycopg.Connection[Any], channel: str, *, say: Callable[[str], None]
) -> None:
    if not _exists(conn, "SELECT 1 FROM pg_roles WHERE rolname = current_user AND rolsuper"):
        say(
            "schema reload trigger: skipped (event triggers need a superuser); after DDL run "
            f"NOTIFY {channel}, 'reload schema'"
        )
        return
    conn.execute(sql.SQL(load_sql("notify_trigger.sql")).format(channel=sql.Literal(channel)))
    for name, event in EVENT_TRIGGERS:
        if _exists(conn, "SELECT 1 FROM pg_event_trigger WHERE evtname = %s", name):
            say(f"event trigger {name}: exists")
            continue
        conn.execute(
            sql.SQL("CREATE EVENT TRIGGER {} ON {} EXECUTE FUNCTION restpg.notify_schema_reload()").format(
                sql.Identifier(name), sql.SQL(event)
            )
        )
        say(f"event trigger {name}: created (NOTIFY {channel}, 'reload schema' on {event})")

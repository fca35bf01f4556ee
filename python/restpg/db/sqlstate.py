"""PostgreSQL SQLSTATE → HTTP status, as PostgREST maps it.

PostgreSQL errors pass through to the client with their own ``code``/``message``/``details``/``hint``; only
the status is chosen here. The table is by class (first two characters) with a few exact codes and message
tests layered on top, in the order PostgREST applies them.
"""

from __future__ import annotations

__all__ = ["http_status"]

# Exact codes take precedence over their class.
_EXACT = {
    "23503": 409,  # foreign_key_violation
    "23505": 409,  # unique_violation
    "25006": 405,  # read_only_sql_transaction: a write through GET
    "53400": 500,  # configuration_limit_exceeded
    "57P01": 503,  # admin_shutdown
    "P0001": 400,  # raise_exception (RAISE without SQLSTATE)
    "42P01": 404,  # undefined_table
    "42P17": 500,  # invalid_object_definition
}

_CLASS = {
    "08": 503,  # connection exception
    "09": 500,  # triggered action exception
    "0L": 403,  # invalid grantor
    "0P": 403,  # invalid role specification
    "25": 500,  # invalid transaction state
    "28": 403,  # invalid authorization specification
    "2D": 500,  # invalid transaction termination
    "38": 500,  # external routine exception
    "39": 500,  # external routine invocation exception
    "3B": 500,  # savepoint exception
    "40": 500,  # transaction rollback
    "53": 503,  # insufficient resources
    "54": 500,  # program limit exceeded
    "55": 500,  # object not in prerequisite state
    "57": 500,  # operator intervention
    "58": 500,  # system error
    "F0": 500,  # configuration file error
    "HV": 500,  # foreign data wrapper error
    "P0": 500,  # PL/pgSQL error
    "XX": 500,  # internal error
}


def http_status(sqlstate: str, message: str, *, authenticated: bool) -> int:
    """The HTTP status for a PostgreSQL error.

    ``authenticated`` is True when the request carried a valid JWT: a permission error (42501) is then 403,
    and 401 for the anonymous role (the client may fix it by logging in).
    """
    if sqlstate.startswith("PT"):
        suffix = sqlstate[2:]
        return int(suffix) if len(suffix) == 3 and suffix.isdigit() and 100 <= int(suffix) <= 599 else 500
    if sqlstate == "42501":
        return 403 if authenticated else 401
    if sqlstate == "42883":
        # An unknown aggregate used as a media-type handler means the type is not available.
        return 406 if message.startswith("function xmlagg(") else 404
    if sqlstate == "21000":
        # PostgreSQL's safeupdate-style guard ("UPDATE requires a WHERE clause") is the client's fault.
        return 400 if message.endswith("requires a WHERE clause") else 500
    if sqlstate == "22023":
        return 401 if message.startswith("role ") and message.endswith(" does not exist") else 400
    exact = _EXACT.get(sqlstate)
    if exact is not None:
        return exact
    return _CLASS.get(sqlstate[:2], 400)

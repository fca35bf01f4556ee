"""`restpg doctor`: what the API roles can reach, and where Row-Level Security does not guard it.

Findings, for the exposed schemas and the API roles (the anonymous role and `authenticated`):
- `no_rls` (error): a table without RLS, or a materialized view / foreign table (they cannot have
  RLS), that an API role may read or write: every row is reachable through the API;
- `rls_without_policy` (warning): RLS is on but no policy exists, so the API sees nothing;
- `security_definer_view` (warning): a view without `security_invoker` runs with its owner's
  rights, so RLS on the tables under it is checked against the owner, not the caller;
- `security_definer_function` (warning): the same for a SECURITY DEFINER function;
- `per_row_policy` (warning): a policy calls `auth.uid()` / `current_setting(...)` unwrapped, so it
  runs once per row instead of once per query (write `(select auth.uid())`).

Exit status 1 when there is any error-level finding. `collect(conn)` returns the same report as
data, for the admin server.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.rows import dict_row

from . import load_sql
from .enable import AUTHENTICATED, DEFAULT_ANON

ACTIONS = ("select", "insert", "update", "delete")


@dataclass(frozen=True)
class Finding:
    kind: str
    severity: str  # "error" | "warning"
    object: str  # schema.name, or schema.table.policy
    message: str


@dataclass(frozen=True)
class RelationAccess:
    schema: str
    name: str
    kind: str
    rls_enabled: bool
    policies: int
    access: dict[str, list[str]]  # role -> the actions it may perform


@dataclass
class Report:
    schemas: list[str]
    roles: list[str]
    relations: list[RelationAccess] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(finding.severity == "error" for finding in self.findings)

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "ok": self.ok}


def run(config: Any, as_json: bool) -> int:
    """The CLI entry point: print the report (human text, or JSON) and return the exit status."""
    try:
        with psycopg.connect(config.db_uri, autocommit=True) as conn:
            report = collect(conn, list(config.db_schemas), _roles(config))
    except psycopg.Error as exc:
        print(f"restpg doctor failed: {exc}", file=sys.stderr)
        return 2
    if as_json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(render(report))
    return 0 if report.ok else 1


def report_json(config: Any) -> bytes:
    """The report as JSON bytes, for the admin server's `/doctor`; raises psycopg.Error."""
    with psycopg.connect(config.db_uri, autocommit=True, connect_timeout=5) as conn:
        report = collect(conn, list(config.db_schemas), _roles(config))
    return json.dumps(report.to_json()).encode()


def _roles(config: Any) -> list[str]:
    anon = getattr(config, "db_anon_role", None) or DEFAULT_ANON
    return [anon, AUTHENTICATED] if anon != AUTHENTICATED else [AUTHENTICATED]


def collect(
    conn: psycopg.Connection[Any], schemas: list[str] | None = None, roles: list[str] | None = None
) -> Report:
    """Inspect the catalog (read only) and return the report."""
    report = Report(schemas=list(schemas or ["public"]), roles=list(roles or [DEFAULT_ANON, AUTHENTICATED]))
    params = {"schemas": report.schemas, "roles": report.roles}
    with conn.cursor(row_factory=dict_row) as cur:
        relations = cur.execute(load_sql("doctor_relations.sql"), params).fetchall()
        functions = cur.execute(load_sql("doctor_functions.sql"), params).fetchall()
        policies = cur.execute(load_sql("doctor_policies.sql"), params).fetchall()
    for row in relations:
        _check_relation(report, row)
    for row in functions:
        _check_function(report, row)
    for row in policies:
        _check_policy(report, row)
    return report


def _check_relation(report: Report, row: dict[str, Any]) -> None:
    qualified = f"{row['schema']}.{row['name']}"
    access: dict[str, list[str]] = {}
    bypassing: list[str] = []
    for role, privileges in sorted(row["privileges"].items()):
        # a materialized view only reads, whatever was granted on it
        possible = ("select",) if row["kind"] == "materialized view" else ACTIONS
        actions = [action for action in possible if privileges[action]]
        if actions:
            access[role] = actions
            if privileges["bypass_rls"]:
                bypassing.append(role)
    report.relations.append(
        RelationAccess(row["schema"], row["name"], row["kind"], row["rls_enabled"], row["policies"], access)
    )
    if not access:
        return
    reach = "; ".join(f"{role} may {', '.join(actions)}" for role, actions in access.items())
    kind = row["kind"]
    if kind == "view":
        if not row["security_invoker"]:
            report.findings.append(
                Finding(
                    "security_definer_view",
                    "warning",
                    qualified,
                    f"view runs with its owner's rights (no security_invoker), so RLS below it is "
                    f"checked against the owner; {reach}",
                )
            )
        return
    if kind == "table" and row["rls_enabled"] and not bypassing:
        if row["policies"] == 0:
            report.findings.append(
                Finding(
                    "rls_without_policy",
                    "warning",
                    qualified,
                    f"RLS is enabled but there is no policy: the API roles see no rows; {reach}",
                )
            )
        return
    why = "RLS is not enabled" if kind == "table" else f"a {kind} cannot have RLS"
    if bypassing and kind == "table" and row["rls_enabled"]:
        why = f"{', '.join(bypassing)} bypass RLS (owner or BYPASSRLS)"
    report.findings.append(
        Finding("no_rls", "error", qualified, f"{why}, so every row is reachable: {reach}")
    )


def _check_function(report: Report, row: dict[str, Any]) -> None:
    if not row["callable_by"]:
        return
    signature = f"{row['schema']}.{row['name']}({row['arguments']})"
    note = "" if row["search_path_set"] else "; it does not pin search_path"
    report.findings.append(
        Finding(
            "security_definer_function",
            "warning",
            signature,
            f"SECURITY DEFINER (runs as {row['owner']}) and callable by "
            f"{', '.join(row['callable_by'])}{note}",
        )
    )


_PER_REQUEST_CALL = re.compile(
    r"\bauth\.(?:user_id|uid|jwt|session)\s*\(|\bcurrent_setting\s*\(", re.IGNORECASE
)
_SUBSELECT = re.compile(r"\(\s*SELECT\b", re.IGNORECASE)


def unwrapped_calls(expression: str) -> list[str]:
    """The per-request function calls in a policy expression that are not inside a `(SELECT ...)`.

    Inside a scalar subquery PostgreSQL evaluates the call once per query (an InitPlan); bare, it
    is called again for every row the policy filters."""
    found: list[str] = []
    depth_of_select: list[bool] = []  # one entry per open parenthesis: does it start a SELECT?
    position = 0
    while position < len(expression):
        char = expression[position]
        if char == "'":  # skip string literals: their content is data, not calls
            end = expression.find("'", position + 1)
            while end != -1 and expression[end + 1 : end + 2] == "'":
                end = expression.find("'", end + 2)
            position = len(expression) if end == -1 else end + 1
            continue
        if char == "(":
            depth_of_select.append(_SUBSELECT.match(expression, position) is not None)
        elif char == ")":
            if depth_of_select:
                depth_of_select.pop()
        else:
            call = _PER_REQUEST_CALL.match(expression, position)
            if call is not None and (position == 0 or not expression[position - 1].isalnum()):
                if not any(depth_of_select):
                    found.append(call.group().rstrip("( ").strip() + "()")
                position = call.end() - 1  # continue at the call's own parenthesis
                continue
        position += 1
    return found


def _check_policy(report: Report, row: dict[str, Any]) -> None:
    calls = unwrapped_calls(row["using_expr"]) + unwrapped_calls(row["check_expr"])
    if not calls:
        return
    names = ", ".join(dict.fromkeys(calls))
    report.findings.append(
        Finding(
            "per_row_policy",
            "warning",
            f"{row['schema']}.{row['table_name']}.{row['name']}",
            f"calls {names} for every row; wrap it as (select ...) so it runs once per query",
        )
    )


def render(report: Report) -> str:
    lines = [f"restpg doctor: schemas {', '.join(report.schemas)}; API roles {', '.join(report.roles)}", ""]
    if report.relations:
        lines.append("relations:")
        for relation in report.relations:
            rls = "RLS on" if relation.rls_enabled else "RLS off"
            if relation.kind == "table":
                rls += f", {relation.policies} polic{'y' if relation.policies == 1 else 'ies'}"
            else:
                rls = relation.kind
            reach = "; ".join(f"{role}: {', '.join(actions)}" for role, actions in relation.access.items())
            lines.append(f"  {relation.schema}.{relation.name} ({rls}) — {reach or 'not reachable'}")
        lines.append("")
    if report.findings:
        lines.append("findings:")
        for finding in report.findings:
            lines.append(f"  [{finding.severity}] {finding.kind} {finding.object}: {finding.message}")
    else:
        lines.append("no findings")
    lines.append("")
    lines.append("status: " + ("ok" if report.ok else "data is reachable without RLS (exit 1)"))
    return "\n".join(lines)

"""The physical limit's script: the exact transaction restpg sends for a request, as a pgbench script.

The main statement and its parameters come from restpg itself (``restpg sql CONFIG METHOD 'PATH?QUERY'``),
never from hand-written SQL; the transaction around it (BEGIN, the ``set_config`` statement, COMMIT) comes
from restpg's execute stage, whose statement texts are imported so that a change there changes the ceiling
too. restpg sends a read without BEGIN and COMMIT: everything up to its pipeline's sync is one implicit
transaction. pgbench runs that transaction in two forms: statement by statement, where one transaction needs
BEGIN READ ONLY … COMMIT around it (the form the targets were set against, and the prototype's), and exactly
as restpg sends it, in one pipeline (``\\startpipeline``). Every parameter becomes a pgbench variable
(``$3`` -> ``:p3``), bound as text like restpg binds it; the one holding the request's varying value gets
``\\set pN random(lo, hi)``, the others are passed with ``-D`` (values may be any text, JSON bodies included).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass

from loadtest.workloads import Workload

__all__ = ["CaptureError", "Transaction", "capture", "parse_sql_output", "to_pgbench"]

_PARAM_LINE = re.compile(r"^-- \$(\d+) = (NULL|'(?:[^']|'')*')$", re.MULTILINE | re.DOTALL)


class CaptureError(Exception):
    """``restpg sql`` refused the request (its PostgREST error is the message) or printed something else."""


@dataclass(frozen=True)
class Captured:
    search_path: str
    statements: list[str]  # the count statement (when any) and the main statement, without ';'
    params: list[str | None]


@dataclass(frozen=True)
class Transaction:
    """One request's transaction: ``(sql, params)`` per statement, in pipeline order."""

    statements: list[tuple[str, list[str | None]]]
    varying: int | None  # 1-based index of the main statement's varying parameter
    # For a transaction sent without BEGIN/COMMIT (implicit up to the pipeline's sync): the BEGIN and COMMIT
    # restpg would send for it on a connection at another isolation level, to run it statement by statement.
    implicit_around: tuple[str, str] | None = None


def parse_sql_output(text: str) -> Captured:
    """Parse what ``restpg sql`` prints: a search_path comment, the statement(s), then ``-- $n = 'v'``."""
    first, _, rest = text.partition("\n")
    if not first.startswith("-- search_path: "):
        raise CaptureError(f"unexpected `restpg sql` output: {text[:200]!r}")
    match = re.search(r"^-- \$1 = ", rest, re.MULTILINE)
    sql_text, params_text = (rest[: match.start()], rest[match.start() :]) if match else (rest, "")
    params: list[str | None] = []
    for index, (number, value) in enumerate(_PARAM_LINE.findall(params_text), start=1):
        if int(number) != index:
            raise CaptureError(f"parameters out of order in `restpg sql` output near ${number}")
        params.append(None if value == "NULL" else value[1:-1].replace("''", "'"))
    statements = [s.strip() for s in _split_statements(sql_text) if s.strip()]
    return Captured(first.removeprefix("-- search_path: ").strip(), statements, params)


def _split_statements(sql: str) -> list[str]:
    """Split at top-level ';' (outside quotes), which is how ``restpg sql`` ends each statement."""
    parts, start, quote = [], 0, ""
    for i, ch in enumerate(sql):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == ";":
            parts.append(sql[start:i])
            start = i + 1
    parts.append(sql[start:])
    return parts


def capture(
    restpg: list[str], config_path: str, workload: Workload, *, role: str, claims: str, headers_json: str
) -> Transaction:
    """Run ``restpg sql`` for ``workload`` and wrap the result in restpg's transaction statements."""
    from restpg.db import execute  # the statement texts the server sends (module-private by design)

    command = [*restpg, "sql", config_path, workload.method, workload.sample_target]
    for name, value in workload.headers.items():
        command += ["-H", f"{name}: {value}"]
    if workload.body:
        command += ["-d", workload.body.decode()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise CaptureError(
            (done.stderr or done.stdout).strip().splitlines()[-1]
            if (done.stderr or done.stdout)
            else "failed"
        )
    captured = parse_sql_output(done.stdout)

    read_only = workload.method in ("GET", "HEAD")
    # A pooled connection's default isolation level on a server left at its defaults.
    wrap = execute.envelope(read_only, False, execute.READ_COMMITTED, b"read committed")
    explicit = execute.envelope(read_only, False, execute.READ_COMMITTED, b"")
    _, config_sql = execute.config_statement(0, False, wrap.implicit)
    path = workload.sample_target.partition("?")[0]
    config_params: list[str | None] = [
        captured.search_path,
        role,
        claims,
        workload.method,
        path,
        headers_json,
        "{}",
    ]
    varying = None
    if workload.ids is not None:
        sample = str(workload.ids[0])
        # The parameter that carries the sample id; the other values of the same text are constants too.
        hits = [i for i, value in enumerate(captured.params, start=1) if value == sample]
        if not hits:
            raise CaptureError(f"no parameter of {workload.key}'s statement holds the varying value {sample}")
        varying = hits[0]
    statements: list[tuple[str, list[str | None]]] = []
    if wrap.begin is not None:
        statements.append((wrap.begin[1].decode(), []))
    statements.append((config_sql.decode(), config_params))
    statements += [(sql, captured.params) for sql in captured.statements]
    if wrap.end is not None:
        statements.append((wrap.end[1].decode(), []))
    around = None
    if wrap.implicit and explicit.begin is not None and explicit.end is not None:
        around = (explicit.begin[1].decode(), explicit.end[1].decode())
    return Transaction(statements, varying, around)


_DOLLAR = re.compile(r"\$(\d+)")


def _substitute(sql: str, prefix: str) -> str:
    """``$n`` -> ``:{prefix}n`` outside quoted literals and identifiers."""
    out, quote, i = [], "", 0
    while i < len(sql):
        ch = sql[i]
        if quote:
            out.append(ch)
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
            out.append(ch)
        elif ch == "$" and (m := _DOLLAR.match(sql, i)):
            out.append(f":{prefix}{m.group(1)}")
            i = m.end()
            continue
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def to_pgbench(
    tx: Transaction, ids: tuple[int, int] | None, *, pipeline: bool = False
) -> tuple[str, dict[str, str]]:
    """The pgbench script and its ``-D`` variables. Each statement's parameters get their own prefix
    (``c`` for set_config, ``m`` for the main statement), so ``:m1`` in the main statement is restpg's $1.
    With ``pipeline`` the statements go out as restpg sends them, in one pipeline and one sync; without, one
    by one, with BEGIN/COMMIT added around an implicit transaction so that it stays one transaction."""
    statements = tx.statements
    if tx.implicit_around is not None and not pipeline:
        begin, end = tx.implicit_around
        statements = [(begin, []), *statements, (end, [])]
    lines: list[str] = []
    defines: dict[str, str] = {}
    main_index = 0
    for sql, params in statements:
        if not params:
            lines.append(sql + ";")
            continue
        prefix = "c" if main_index == 0 else "m"
        main_index += 1
        for number, value in enumerate(params, start=1):
            name = f"{prefix}{number}"
            if prefix == "m" and number == tx.varying and ids is not None:
                set_line = f"\\set {name} random({ids[0]}, {ids[1]})"
                if set_line not in lines:
                    lines.insert(0, set_line)
            elif value is None:
                raise CaptureError("a NULL parameter cannot be a pgbench variable")
            else:
                defines[name] = value
        # pgbench ends a statement at ';' and reads it across lines, so the text stays byte for byte.
        lines.append(_substitute(sql, prefix) + ";")
    if pipeline:
        first = next(i for i, line in enumerate(lines) if not line.startswith("\\set "))
        lines.insert(first, "\\startpipeline")
        lines.append("\\endpipeline")
    return "\n".join(lines) + "\n", defines

"""The capture of `restpg sql` output into a pgbench script (run: pytest loadtest)."""

from __future__ import annotations

import pytest

from loadtest.capture import CaptureError, Transaction, parse_sql_output, to_pgbench

OUTPUT = """-- search_path: "chinook"
SELECT $1::int AS a, '$2 stays; inside a literal' AS "col$3", $2 AS b;
-- $1 = '7'
-- $2 = 'it''s
two lines'
"""


def test_parse_reads_statement_and_parameters() -> None:
    captured = parse_sql_output(OUTPUT)
    assert captured.search_path == '"chinook"'
    assert captured.statements == [
        """SELECT $1::int AS a, '$2 stays; inside a literal' AS "col$3", $2 AS b"""
    ]
    assert captured.params == ["7", "it's\ntwo lines"]


def test_parse_rejects_foreign_output() -> None:
    with pytest.raises(CaptureError):
        parse_sql_output("ERROR: something\n")


def test_pgbench_script_binds_every_parameter_and_randomizes_the_varying_one() -> None:
    captured = parse_sql_output(OUTPUT)
    tx = Transaction(
        [
            ("BEGIN", []),
            ("SELECT set_config('role', $1, true)", ["anon"]),
            (captured.statements[0], captured.params),
            ("COMMIT", []),
        ],
        varying=1,
    )
    script, defines = to_pgbench(tx, (1, 10))
    assert script.splitlines() == [
        "\\set m1 random(1, 10)",
        "BEGIN;",
        "SELECT set_config('role', :c1, true);",
        """SELECT :m1::int AS a, '$2 stays; inside a literal' AS "col$3", :m2 AS b;""",
        "COMMIT;",
    ]
    assert defines == {"c1": "anon", "m2": "it's\ntwo lines"}


def test_an_implicit_transaction_runs_in_a_pipeline_or_wrapped() -> None:
    """A read restpg sends without BEGIN: as sent in one pipeline, or one by one inside BEGIN/COMMIT."""
    tx = Transaction(
        [("SELECT set_config('role', $1, true)", ["anon"]), ("SELECT $1::int", ["7"])],
        varying=1,
        implicit_around=("BEGIN READ ONLY", "COMMIT"),
    )
    piped, _ = to_pgbench(tx, (1, 10), pipeline=True)
    assert piped.splitlines() == [
        "\\set m1 random(1, 10)",
        "\\startpipeline",
        "SELECT set_config('role', :c1, true);",
        "SELECT :m1::int;",
        "\\endpipeline",
    ]
    one_by_one, _ = to_pgbench(tx, (1, 10))
    assert one_by_one.splitlines()[1:] == [
        "BEGIN READ ONLY;",
        "SELECT set_config('role', :c1, true);",
        "SELECT :m1::int;",
        "COMMIT;",
    ]

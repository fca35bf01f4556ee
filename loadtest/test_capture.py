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

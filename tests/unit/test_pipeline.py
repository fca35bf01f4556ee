"""The core's pipeline on psycopg's connections: binding the right libpq, refusing the wrong one, and the
calls' edges that the execute stage's tests (``test_execute.py``) do not reach."""

import asyncio
from collections.abc import Iterator

import pytest
from psycopg import pq

from restpg._core import Outcome, Pipeline, bind_libpq
from restpg.db import pipeline as binding
from restpg.db.pool import connect


@pytest.fixture
def pgconn(dsn: str) -> Iterator[pq.abc.PGconn]:
    conn = asyncio.run(connect(dsn.encode()))
    yield conn
    conn.finish()


def exchange(pipeline: Pipeline) -> None:
    """One round trip, blocking (the tests have no event loop to wait on)."""
    assert pipeline.sync()
    while not pipeline.receive(True):
        pass


def test_psycopgs_own_libpq_is_the_first_candidate() -> None:
    first = next(binding._candidates())
    if pq.__impl__ == "binary":
        assert "psycopg_binary" in first
    else:
        assert "libpq" in first


def test_a_library_the_process_has_not_loaded_is_refused(pgconn: pq.abc.PGconn) -> None:
    binding.pipeline_for(pgconn)  # bound to psycopg's libpq, as a worker's first connection does
    with pytest.raises(OSError):
        bind_libpq(pgconn, "/nonexistent/libpq.so.5")


def test_a_bound_pipeline_runs_statements_and_reports_errors(pgconn: pq.abc.PGconn) -> None:
    pipeline = binding.pipeline_for(pgconn)
    pipeline.queue(b"", b"SELECT 1 / $1::int", [b"0"], False)
    exchange(pipeline)
    assert pipeline.error is not None
    sqlstate, message, _, _ = pipeline.error
    assert (sqlstate, message) == ("22012", "division by zero")
    with pytest.raises(RuntimeError):
        pipeline.outcome()  # the round trip failed: there is no main row
    assert not pipeline.in_transaction  # the implicit transaction ended at the sync


def test_prepared_names_are_remembered_only_when_the_prepare_succeeded(pgconn: pq.abc.PGconn) -> None:
    pipeline = binding.pipeline_for(pgconn)
    pipeline.queue(b"restpg_test_bad", b"SELECT * FROM no_such_table", None, True)
    pipeline.queue(b"restpg_test_good", b"SELECT 1", None, True)
    exchange(pipeline)
    assert pipeline.error is not None and pipeline.error[0] == "42P01"
    assert pipeline.prepared_names() == set()  # the second Parse was aborted with the first
    pipeline.queue(b"restpg_test_good", b"SELECT 1", None, True)
    exchange(pipeline)
    assert pipeline.error is None
    assert pipeline.prepared_names() == {b"restpg_test_good"} and pipeline.prepared_count == 1


def test_null_and_explain_rows_become_the_outcome(pgconn: pq.abc.PGconn) -> None:
    class Statement:
        sql = "SELECT unnest(ARRAY['line 1', 'line 2', $1])"
        params = [b"line 3"]
        name = b"restpg_test_explain"
        count_sql = None
        count_name = None

    pipeline = binding.pipeline_for(pgconn)
    pipeline.queue_request(Statement(), True)
    exchange(pipeline)
    # A one-column statement is an EXPLAIN's plan: its rows are the body, each ended by a newline.
    assert pipeline.outcome() == Outcome(None, 3, b"line 1\nline 2\nline 3\n", None, None)


def test_a_closed_pipeline_reports_the_connection_lost(pgconn: pq.abc.PGconn) -> None:
    pipeline = binding.pipeline_for(pgconn)
    pipeline.close()
    with pytest.raises(ConnectionError, match="connection closed"):
        pipeline.queue(b"", b"SELECT 1", None, False)
    assert pipeline.in_transaction  # unknown state: never reused


def test_a_finished_connection_gets_no_pipeline(pgconn: pq.abc.PGconn) -> None:
    binding.pipeline_for(pgconn)
    pgconn.finish()
    with pytest.raises(ConnectionError):
        Pipeline(pgconn)


def test_outcome_with_body_keeps_the_rest() -> None:
    outcome = Outcome(7, 2, b"[]", b'[{"a":"b"}]', b"201", 9, b"loc", 1)
    assert outcome.with_body(b"{}") == Outcome(7, 2, b"{}", b'[{"a":"b"}]', b"201", 9, b"loc", 1)
    assert "page_total=2" in repr(outcome)

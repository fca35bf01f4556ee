"""The core's connections: which libpq it loads, opening and closing, and the calls' edges that the execute
stage's tests (``test_execute.py``) do not reach (rows, notifications, cancel, connection strings)."""

import asyncio
import importlib.util
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from restpg._core import Outcome, Pipeline, load_libpq, parse_conninfo
from restpg.db import pipeline as binding
from restpg.db.pool import ConnectError, connect, connection_params


@pytest.fixture
def pipeline(dsn: str) -> Iterator[Pipeline]:
    opened = asyncio.run(connect(connection_params(dsn)))
    yield opened
    opened.close()


def exchange(pipeline: Pipeline) -> None:
    """One round trip, blocking (the tests have no event loop to wait on)."""
    assert pipeline.sync()
    while not pipeline.receive(True):
        pass


def test_psycopgs_own_libpq_is_the_first_candidate() -> None:
    first = next(binding._candidates())
    bundled = binding.bundled_libpq()
    assert first == (str(bundled) if bundled is not None else "libpq.so.5")


def _wheel(root: Path, monkeypatch: pytest.MonkeyPatch, *libraries: str) -> None:
    """A psycopg_binary package under ``root`` with ``libraries`` (paths relative to ``root``)."""
    package = root / "psycopg_binary"
    package.mkdir()
    (package / "__init__.py").touch()
    for library in libraries:
        (root / library).parent.mkdir(parents=True, exist_ok=True)
        (root / library).touch()
    spec = SimpleNamespace(origin=str(package / "__init__.py"))
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: spec if name == "psycopg_binary" else None)


@pytest.mark.parametrize(
    "libraries, found",
    [
        # Linux (auditwheel) and Windows (delvewheel): a folder beside the package, names with a hash.
        (
            ["psycopg_binary.libs/libssl-6a9b.so.3", "psycopg_binary.libs/libpq-e9b5.so.5.18"],
            "libpq-e9b5.so.5.18",
        ),
        (["psycopg_binary.libs/libpq-0f1e.dll"], "libpq-0f1e.dll"),
        # macOS (delocate): inside the package.
        (["psycopg_binary/.dylibs/libssl.3.dylib", "psycopg_binary/.dylibs/libpq.5.dylib"], "libpq.5.dylib"),
        ([], None),
    ],
    ids=["linux", "windows", "macos", "none"],
)
def test_the_binary_wheels_libpq_is_found_on_every_platform(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, libraries: list[str], found: str | None
) -> None:
    _wheel(tmp_path, monkeypatch, *libraries)
    path = binding.bundled_libpq()
    assert (path.name if path else None) == found


def test_a_second_library_is_refused() -> None:
    binding.ensure_libpq()
    with pytest.raises(OSError, match="already bound"):
        load_libpq("/nonexistent/libpq.so.5")


def test_a_connection_string_is_read_as_libpq_reads_it() -> None:
    binding.ensure_libpq()
    pairs = dict(parse_conninfo("postgresql://alice@db.example:6543/app?sslmode=require"))
    assert pairs["user"] == "alice" and pairs["host"] == "db.example" and pairs["port"] == "6543"
    assert pairs["dbname"] == "app" and pairs["sslmode"] == "require"
    with pytest.raises(ValueError, match='missing "=" after "nonsense"'):
        parse_conninfo("nonsense")


def test_the_connection_string_yields_to_nothing_but_restpgs_name(dsn: str) -> None:
    # Defaults before the string yield to it; the application name after it wins.
    params = connection_params(dsn + " application_name=mine keepalives_idle=9", {"keepalives_idle": "5"})
    opened = asyncio.run(connect(params))
    try:
        opened.queue_read(b"SELECT current_setting('application_name')", None)
        exchange(opened)
        assert opened.rows()[0][0] is not None and opened.rows()[0][0].startswith(b"restpg ")
        assert opened.backend_pid > 0 and opened.ok
    finally:
        opened.close()


def test_a_refused_connection_reports_libpqs_message(dsn: str) -> None:
    with pytest.raises(ConnectError, match=r"connection to server .* failed"):
        asyncio.run(connect(connection_params(dsn + " port=1 connect_timeout=2")))


def test_statements_run_and_errors_are_reported(pipeline: Pipeline) -> None:
    pipeline.queue(b"", b"SELECT 1 / $1::int", [b"0"], False)
    exchange(pipeline)
    assert pipeline.error is not None
    sqlstate, message, _, _ = pipeline.error
    assert (sqlstate, message) == ("22012", "division by zero")
    with pytest.raises(RuntimeError):
        pipeline.outcome()  # the round trip failed: there is no main row
    assert not pipeline.in_transaction  # the implicit transaction ended at the sync


def test_notices_are_not_printed(pipeline: Pipeline, capfd: pytest.CaptureFixture[str]) -> None:
    # libpq's default prints each one to stderr: a function's RAISE NOTICE would be a log line per request.
    pipeline.queue(
        b"", b"DO $$ BEGIN RAISE NOTICE 'restpg-notice-test'; RAISE WARNING 'w'; END $$", None, False
    )
    exchange(pipeline)
    assert pipeline.error is None
    assert "restpg-notice-test" not in capfd.readouterr().err


def test_rows_are_text_and_null(pipeline: Pipeline) -> None:
    pipeline.queue_read(b"SELECT x::text, NULL FROM generate_series(1, $1::int) x", [b"3"])
    exchange(pipeline)
    assert pipeline.rows() == [(b"1", None), (b"2", None), (b"3", None)]


def test_prepared_names_are_remembered_only_when_the_prepare_succeeded(pipeline: Pipeline) -> None:
    pipeline.queue(b"restpg_test_bad", b"SELECT * FROM no_such_table", None, True)
    pipeline.queue(b"restpg_test_good", b"SELECT 1", None, True)
    exchange(pipeline)
    assert pipeline.error is not None and pipeline.error[0] == "42P01"
    assert pipeline.prepared_names() == set()  # the second Parse was aborted with the first
    pipeline.queue(b"restpg_test_good", b"SELECT 1", None, True)
    exchange(pipeline)
    assert pipeline.error is None
    assert pipeline.prepared_names() == {b"restpg_test_good"} and pipeline.prepared_count == 1


def test_null_and_explain_rows_become_the_outcome(pipeline: Pipeline) -> None:
    class Statement:
        sql = "SELECT unnest(ARRAY['line 1', 'line 2', $1])"
        params = [b"line 3"]
        name = b"restpg_test_explain"
        count_sql = None
        count_name = None

    pipeline.queue_request(Statement(), True)
    exchange(pipeline)
    # A one-column statement is an EXPLAIN's plan: its rows are the body, each ended by a newline.
    assert pipeline.outcome() == Outcome(None, 3, b"line 1\nline 2\nline 3\n", None, None)


def test_notifications_arrive_with_their_payload(pipeline: Pipeline) -> None:
    pipeline.queue(b"", b'LISTEN "Reload Me"', None, False)
    pipeline.queue(
        b"", b"SELECT pg_notify('Reload Me', 'reload schema'), pg_notify('other', 'x')", None, False
    )
    exchange(pipeline)
    assert pipeline.error is None
    deadline = time.monotonic() + 5
    received: list[tuple[str, str]] = []
    while not received and time.monotonic() < deadline:
        pipeline.consume()
        received = pipeline.notifies()
    assert received == [("Reload Me", "reload schema")]
    assert pipeline.notifies() == []


def test_a_running_statement_is_cancelled(pipeline: Pipeline) -> None:
    pipeline.queue(b"", b"SELECT pg_sleep(30)", None, False)
    assert pipeline.sync()
    time.sleep(0.2)
    cancel = pipeline.cancel()
    assert cancel is not None  # the wheel's libpq has the non-blocking cancel API
    deadline = time.monotonic() + 5
    while cancel.poll() not in ("ok", "failed") and time.monotonic() < deadline:
        time.sleep(0.01)
    cancel.close()
    started = time.monotonic()
    while not pipeline.receive(True):
        assert time.monotonic() - started < 5, "the statement was not cancelled"
    assert pipeline.error is not None and pipeline.error[0] == "57014"


def test_a_closed_pipeline_reports_the_connection_lost(pipeline: Pipeline) -> None:
    pipeline.close()
    with pytest.raises(ConnectionError, match="connection closed"):
        pipeline.queue(b"", b"SELECT 1", None, False)
    with pytest.raises(ConnectionError):
        pipeline.consume()
    assert pipeline.in_transaction  # unknown state: never reused
    assert pipeline.socket == -1 and not pipeline.ok and pipeline.cancel() is None
    pipeline.close()  # twice is harmless


def test_outcome_with_body_keeps_the_rest() -> None:
    outcome = Outcome(7, 2, b"[]", b'[{"a":"b"}]', b"201", 9, b"loc", 1)
    assert outcome.with_body(b"{}") == Outcome(7, 2, b"{}", b'[{"a":"b"}]', b"201", 9, b"loc", 1)
    assert "page_total=2" in repr(outcome)

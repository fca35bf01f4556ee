"""The pipelined execute path and the pool, against a real PostgreSQL (``RESTPG_TEST_DSN``)."""

import asyncio
import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import psycopg
import pytest

from restpg.db.execute import (
    ConnectionLost,
    Executor,
    Outcome,
    RequestSettings,
    StatementError,
    fetch_rows,
)
from restpg.db.pool import ConnectError, Pool, PoolOptions, PoolTimeout
from restpg.db.role_settings import RoleSettings, load_role_settings
from restpg.schema.fingerprint import catalog_fingerprint, pooled_fingerprint

T = TypeVar("T")

# The main statement's shape, as the core builds it: one row of five columns.
MAIN = (
    "SELECT null::bigint AS total_result_set, pg_catalog.count(t) AS page_total,"
    " coalesce(json_agg(t), '[]')::text AS body,"
    " nullif(current_setting('response.headers', true), '') AS response_headers,"
    " nullif(current_setting('response.status', true), '') AS response_status"
    " FROM (SELECT $1::text AS role, current_setting('request.method') AS method,"
    " current_setting('request.headers')::json->>'x-test' AS header,"
    " current_setting('request.cookies')::json->>'sid' AS cookie,"
    " current_setting('request.jwt.claims')::json->>'role' AS claim,"
    " current_setting('app.settings.tenant', true) AS tenant,"
    " current_setting('search_path') AS search_path,"
    " current_setting('transaction_read_only') AS read_only) t"
)


@dataclass(frozen=True)
class FakePrepared:
    sql: str
    params: list[bytes | None] = field(default_factory=list)
    count_sql: str | None = None
    count_name: bytes | None = None
    read_only: bool = True
    rollback: bool = False
    function_settings: list[tuple[str, str]] = field(default_factory=list)

    @property
    def name(self) -> bytes:
        return b"t_" + hashlib.sha1(self.sql.encode()).hexdigest()[:16].encode()


SETTINGS = RequestSettings(
    search_path=b'"public"',
    role=b"postgres",
    claims=b'{"role":"postgres"}',
    method=b"GET",
    path=b"/things",
    headers=b'{"x-test":"hello","accept":"*/*"}',
    cookies=b'{"sid":"abc"}',
)


def run(factory: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(factory())  # type: ignore[arg-type]


async def with_pool(dsn: str, work: Callable[[Pool], Awaitable[T]], **options: float) -> T:
    pool = Pool(dsn, PoolOptions(**options))  # type: ignore[arg-type]
    await pool.open()
    try:
        return await work(pool)
    finally:
        await pool.close()


async def execute(pool: Pool, executor: Executor, prepared: FakePrepared, **kw: object) -> Outcome:
    connection = await pool.acquire()
    try:
        return await executor.run(connection, prepared, SETTINGS, **kw)  # type: ignore[arg-type]
    finally:
        pool.release(connection)


@pytest.fixture
def table(dsn: str) -> str:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS runtime_things")
        conn.execute("CREATE TABLE runtime_things (id int PRIMARY KEY, name text NOT NULL)")
        conn.execute("INSERT INTO runtime_things SELECT i, 'thing ' || i FROM generate_series(1, 20) i")
    return "runtime_things"


def test_one_pipeline_sets_every_request_setting(dsn: str) -> None:
    executor = Executor(app_settings={"tenant": "acme"})
    prepared = FakePrepared(MAIN, [b"web"])

    async def work(pool: Pool) -> tuple[Outcome, Outcome]:
        first = await execute(pool, executor, prepared)
        second = await execute(pool, executor, prepared)  # now from the per-connection prepared set
        return first, second

    first, second = run(lambda: with_pool(dsn, work, size=1))
    assert first == second
    assert first.page_total == 1 and first.total is None
    (row,) = json.loads(first.body or b"")
    assert row == {
        "role": "web",
        "method": "GET",
        "header": "hello",
        "cookie": "abc",
        "claim": "postgres",
        "tenant": "acme",
        "search_path": '"public"',
        "read_only": "on",
    }


def test_listed_function_settings_are_hoisted(dsn: str) -> None:
    executor = Executor(app_settings={"tenant": "acme"}, hoisted_tx_settings=["statement_timeout"])
    sql = (
        "SELECT null::bigint, 1::bigint, json_build_array(current_setting('statement_timeout'),"
        " current_setting('search_path'), current_setting('app.settings.tenant'))::text, null::text, null::text"
    )
    prepared = FakePrepared(
        sql, function_settings=[("statement_timeout", "3s"), ("search_path", "elsewhere")]
    )
    outcome = run(lambda: with_pool(dsn, lambda pool: execute(pool, executor, prepared), size=1))
    assert json.loads(outcome.body or b"") == ["3s", '"public"', "acme"]


def test_statements_are_prepared_once_per_connection(dsn: str) -> None:
    executor = Executor()
    prepared = FakePrepared(MAIN, [b"x"])

    async def work(pool: Pool) -> set[bytes]:
        await execute(pool, executor, prepared)
        connection = await pool.acquire()
        names = set(connection.prepared)
        pool.release(connection)
        return names

    names = run(lambda: with_pool(dsn, work, size=1))
    # A read at the session's level is one implicit transaction: no BEGIN, no COMMIT.
    assert names == {prepared.name, b"restpg_config_0_ro"}


def test_a_write_is_wrapped_in_begin_and_commit(dsn: str, table: str) -> None:
    insert = (
        "WITH ins AS (INSERT INTO runtime_things VALUES (200, 'w') RETURNING *)"
        " SELECT null::bigint, count(*), null::text, null::text, null::text FROM ins"
    )
    write = FakePrepared(insert, read_only=False)

    async def work(pool: Pool) -> set[bytes]:
        await execute(pool, Executor(), write)
        connection = await pool.acquire()
        names = set(connection.prepared)
        pool.release(connection)
        return names

    names = run(lambda: with_pool(dsn, work, size=1))
    assert names == {b"restpg_begin_read_committed_rw", b"restpg_config_0", write.name, b"restpg_commit"}


REPORT = (
    "SELECT null::bigint, 1::bigint, json_build_array(current_setting('transaction_isolation'),"
    " current_setting('transaction_read_only'), current_setting('request.method'))::text, null::text, null::text"
)


def report(dsn: str, executor: Executor, prepared: FakePrepared) -> list[str]:
    outcome = run(lambda: with_pool(dsn, lambda pool: execute(pool, executor, prepared), size=1))
    return json.loads(outcome.body or b"")  # type: ignore[no-any-return]


def test_isolation_comes_from_the_function_then_the_role(dsn: str) -> None:
    executor = Executor()
    executor.set_role_settings(RoleSettings(isolation={"postgres": "repeatable read"}))
    read, write = FakePrepared(REPORT), FakePrepared(REPORT, read_only=False)
    assert report(dsn, executor, read) == ["repeatable read", "on", "GET"]
    assert report(dsn, executor, write) == ["repeatable read", "off", "GET"]
    serializable = [("default_transaction_isolation", "SERIALIZABLE")]
    assert report(dsn, executor, FakePrepared(REPORT, function_settings=serializable)) == [
        "serializable",
        "on",
        "GET",
    ]
    assert report(dsn, Executor(), read) == ["read committed", "on", "GET"]


def test_the_session_default_level_decides_whether_a_read_needs_begin(dsn: str) -> None:
    """On a connection whose default level is not read committed, a read at read committed (PostgREST's
    default) gets its own BEGIN; a read at the session's level goes without."""
    serializable_dsn = dsn + " options='-c default_transaction_isolation=serializable'"
    executor = Executor()
    assert report(serializable_dsn, executor, FakePrepared(REPORT)) == ["read committed", "on", "GET"]
    executor.set_role_settings(RoleSettings(isolation={"postgres": "serializable"}))

    async def work(pool: Pool) -> tuple[bytes, set[bytes]]:
        await execute(pool, executor, FakePrepared(REPORT))
        connection = await pool.acquire()
        pool.release(connection)
        return connection.isolation, set(connection.prepared)

    isolation, names = run(lambda: with_pool(serializable_dsn, work, size=1))
    assert isolation == b"serializable"
    assert not any(name.startswith(b"restpg_begin") for name in names)
    assert report(serializable_dsn, executor, FakePrepared(REPORT)) == ["serializable", "on", "GET"]


def test_an_implicit_transaction_leaves_nothing_behind(dsn: str) -> None:
    """After a read without BEGIN, failed or not, the connection is idle, at its own role, read-write."""
    failing = FakePrepared("SELECT null::bigint, 1::bigint, (1/0)::text, null::text, null::text")

    async def work(pool: Pool) -> list[tuple[bytes | None, ...]]:
        await execute(pool, Executor(), FakePrepared(MAIN, [b"x"]))
        with pytest.raises(StatementError):
            await execute(pool, Executor(), failing)
        connection = await pool.acquire()
        try:
            assert not connection.pipeline.in_transaction
            return await fetch_rows(
                connection,
                b"SELECT current_setting('role'), current_setting('transaction_read_only'),"
                b" current_setting('request.method', true)",
            )
        finally:
            pool.release(connection)

    assert run(lambda: with_pool(dsn, work, size=1)) == [(b"none", b"off", b"")]


def test_a_catalog_read_runs_what_it_depends_on_in_its_own_transaction(dsn: str) -> None:
    """fetch_rows' ``before`` statements share the read's transaction, which ends with it."""

    async def work(pool: Pool) -> tuple[list[tuple[bytes | None, ...]], list[tuple[bytes | None, ...]]]:
        connection = await pool.acquire()
        try:
            rows = await fetch_rows(
                connection,
                b"SELECT current_setting('restpg.test', true), $1::int + 1",
                [b"41"],
                before=[b"SELECT set_config('restpg.test', 'local', true)"],
            )
            with pytest.raises(StatementError):
                await fetch_rows(connection, b"SELECT 1", before=[b"SELECT 1/0"])
            after = await fetch_rows(connection, b"SELECT current_setting('restpg.test', true)")
            return rows, after
        finally:
            pool.release(connection)

    rows, after = run(lambda: with_pool(dsn, work, size=1))
    assert rows == [(b"local", b"42")]
    assert after in ([(None,)], [(b"",)])  # gone with its transaction


def test_the_pooled_fingerprint_is_the_fingerprint(dsn: str) -> None:
    async def both(pool: Pool) -> tuple[str, str]:
        return await pooled_fingerprint(pool, "d"), await catalog_fingerprint(dsn, "d")

    pooled, own = run(lambda: with_pool(dsn, both, size=1))
    assert pooled == own and pooled.endswith("-d") and len(pooled) > 30


def test_unprepared_mode_runs_without_named_statements(dsn: str) -> None:
    executor = Executor(prepared_statements=False)

    async def work(pool: Pool) -> tuple[Outcome, set[bytes]]:
        result = await execute(pool, executor, FakePrepared(MAIN, [b"x"]))
        connection = await pool.acquire()
        names = set(connection.prepared)
        pool.release(connection)
        return result, names

    result, names = run(lambda: with_pool(dsn, work, size=1))
    assert result.page_total == 1
    assert names == set()


def test_writes_commit_and_rollback(dsn: str, table: str) -> None:
    insert = (
        "WITH ins AS (INSERT INTO runtime_things VALUES ($1::int, 'new') RETURNING *)"
        " SELECT null::bigint, count(*), null::text, null::text, null::text FROM ins"
    )
    executor = Executor()

    async def work(pool: Pool) -> None:
        await execute(pool, executor, FakePrepared(insert, [b"100"], read_only=False))
        await execute(pool, executor, FakePrepared(insert, [b"101"], read_only=False, rollback=True))

    run(lambda: with_pool(dsn, work, size=1))
    with psycopg.connect(dsn) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM runtime_things WHERE id >= 100 ORDER BY id")]
    assert ids == [100]


def test_error_fields_and_connection_reuse(dsn: str, table: str) -> None:
    executor = Executor()
    failing = FakePrepared(
        "SELECT null::bigint, 1::bigint, (SELECT name FROM runtime_things WHERE id = 1/$1::int),"
        " null::text, null::text",
        [b"0"],
    )
    duplicate = FakePrepared(
        "WITH ins AS (INSERT INTO runtime_things VALUES (1, 'dup') RETURNING *)"
        " SELECT null::bigint, count(*), null::text, null::text, null::text FROM ins",
        read_only=False,
    )

    async def work(pool: Pool) -> tuple[StatementError, StatementError, Outcome]:
        with pytest.raises(StatementError) as division:
            await execute(pool, executor, failing)
        with pytest.raises(StatementError) as unique:
            await execute(pool, executor, duplicate)
        # The single connection was rolled back and is usable again.
        after = await execute(pool, executor, FakePrepared(MAIN, [b"ok"]))
        return division.value, unique.value, after

    division, unique, after = run(lambda: with_pool(dsn, work, size=1))
    assert division.error.sqlstate == "22012"
    assert division.error.message == "division by zero"
    assert unique.error.sqlstate == "23505"
    assert unique.error.details == "Key (id)=(1) already exists."
    assert after.page_total == 1


def test_prepare_failure_is_a_statement_error(dsn: str) -> None:
    executor = Executor()
    broken = FakePrepared("SELECT no_such_column FROM pg_class")

    async def work(pool: Pool) -> StatementError:
        with pytest.raises(StatementError) as caught:
            await execute(pool, executor, broken)
        connection = await pool.acquire()
        assert broken.name not in connection.prepared
        pool.release(connection)
        return caught.value

    assert run(lambda: with_pool(dsn, work, size=1)).error.sqlstate == "42703"


def test_pre_request_runs_inside_the_transaction(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE OR REPLACE FUNCTION public.runtime_pre() RETURNS void LANGUAGE sql AS "
            "$$ SELECT set_config('response.status', '299', true) $$"
        )
    executor = Executor(pre_request="public.runtime_pre")
    result = run(lambda: with_pool(dsn, lambda pool: execute(pool, executor, FakePrepared(MAIN, [b"x"]))))
    assert result.response_status == b"299"


def test_planned_count_from_explain(dsn: str, table: str) -> None:
    executor = Executor()
    prepared = FakePrepared(
        MAIN, [b"x"], count_sql="EXPLAIN (FORMAT JSON) SELECT * FROM runtime_things WHERE name <> $1"
    )
    result = run(lambda: with_pool(dsn, lambda pool: execute(pool, executor, prepared)))
    assert result.planned_total is not None and result.planned_total > 0


def test_explain_rows_are_the_body(dsn: str, table: str) -> None:
    """A plan request's statement is an EXPLAIN: one row per line (text) or one row (JSON), each line
    ended by a newline, bytes as they came."""
    executor = Executor()
    text = FakePrepared(
        "EXPLAIN (FORMAT TEXT) SELECT * FROM runtime_things WHERE name <> $1 ORDER BY id", [b"x"]
    )
    result = run(lambda: with_pool(dsn, lambda pool: execute(pool, executor, text)))
    assert result.body is not None
    lines = result.body.split(b"\n")
    assert len(lines) > 2 and lines[-1] == b""
    assert result.page_total == len(lines) - 1
    assert any(b"runtime_things" in line for line in lines)
    plan = FakePrepared("EXPLAIN (FORMAT JSON) SELECT * FROM runtime_things WHERE name <> $1", [b"x"])
    result = run(lambda: with_pool(dsn, lambda pool: execute(pool, executor, plan)))
    assert result.body is not None and result.body.endswith(b"]\n")
    assert json.loads(result.body)[0]["Plan"]["Relation Name"] == "runtime_things"


def test_pool_times_out_when_exhausted(dsn: str) -> None:
    async def work(pool: Pool) -> None:
        held = await pool.acquire()
        with pytest.raises(PoolTimeout):
            await pool.acquire()
        pool.release(held)
        again = await pool.acquire()  # a released connection goes to the next caller
        pool.release(again)

    run(lambda: with_pool(dsn, work, size=1, acquisition_timeout=0.2))


def test_waiter_receives_released_connection(dsn: str) -> None:
    async def work(pool: Pool) -> bool:
        held = await pool.acquire()
        waiter = asyncio.ensure_future(pool.acquire())
        await asyncio.sleep(0.01)
        pool.release(held)
        got = await waiter
        pool.release(got)
        return got is held

    assert run(lambda: with_pool(dsn, work, size=1))


def test_connection_terminated_while_idle_is_replaced(dsn: str) -> None:
    """The idle connection's reader sees the server end it, so no request is handed a dead connection."""
    executor = Executor()

    async def work(pool: Pool) -> tuple[bool, int, Outcome]:
        connection = await pool.acquire()
        pid = connection.pipeline.backend_pid
        pool.release(connection)
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        await asyncio.sleep(0.05)
        noticed = connection.broken
        outcome = await execute(pool, executor, FakePrepared(MAIN, [b"x"]))
        fresh = await pool.acquire()
        pool.release(fresh)
        return noticed, fresh.pipeline.backend_pid - pid, outcome

    noticed, pid_change, outcome = run(lambda: with_pool(dsn, work, size=1))
    assert noticed
    assert pid_change != 0
    assert outcome.page_total == 1


def test_connection_lost_mid_request_raises(dsn: str) -> None:
    executor = Executor()

    async def work(pool: Pool) -> Outcome:
        connection = await pool.acquire()
        pid = connection.pipeline.backend_pid
        pool.release(connection)

        def terminate_soon() -> None:
            time.sleep(0.1)
            with psycopg.connect(dsn, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

        killer = asyncio.ensure_future(asyncio.to_thread(terminate_soon))
        with pytest.raises(ConnectionLost):
            await execute(pool, executor, FakePrepared("SELECT pg_sleep(2)", None))
        await killer
        return await execute(pool, executor, FakePrepared(MAIN, [b"x"]))

    assert run(lambda: with_pool(dsn, work, size=1)).page_total == 1


def test_unreachable_database_fails_fast() -> None:
    async def work() -> None:
        pool = Pool("host=127.0.0.1 port=1 connect_timeout=2", PoolOptions(size=1))
        with pytest.raises(ConnectError):
            await pool.open()
        assert not pool.healthy

    asyncio.run(work())


def test_role_settings_are_read_on_a_pooled_connection(dsn: str) -> None:
    """db-hoisted-tx-settings come from the catalog over the pool: values holding "=", the database's own
    setting winning over the cluster-wide one, unlisted settings left out, and no connection of their own."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS runtime_hoisted")
        conn.execute("CREATE ROLE runtime_hoisted NOLOGIN")
        conn.execute("ALTER ROLE runtime_hoisted SET statement_timeout = '7s'")
        conn.execute("ALTER ROLE runtime_hoisted SET work_mem = '2MB'")
        conn.execute("ALTER ROLE runtime_hoisted SET default_transaction_isolation = 'SERIALIZABLE'")
        database = conn.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
        conn.execute(f"ALTER ROLE runtime_hoisted IN DATABASE \"{database}\" SET statement_timeout = '9s'")
        conn.execute("ALTER ROLE runtime_hoisted SET plan_filter.statement_cost_limit = 'a=b'")
    try:

        async def work(pool: Pool) -> tuple[RoleSettings, int]:
            settings = await load_role_settings(
                pool, ["statement_timeout", "plan_filter.statement_cost_limit"]
            )
            return settings, pool.size

        settings, size = run(lambda: with_pool(dsn, work, size=4))
        assert settings.hoisted["runtime_hoisted"] == [
            ("plan_filter.statement_cost_limit", "a=b"),
            ("statement_timeout", "9s"),
        ]
        assert settings.isolation["runtime_hoisted"] == "serializable"  # read whether hoisted or not
        assert size == 1  # read on the connection the pool had already opened
        unhoisted = run(lambda: with_pool(dsn, lambda pool: load_role_settings(pool, [])))
        assert unhoisted.hoisted == {} and unhoisted.isolation["runtime_hoisted"] == "serializable"
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("DROP OWNED BY runtime_hoisted")
            conn.execute("ALTER ROLE runtime_hoisted RESET ALL")
            conn.execute(f'ALTER ROLE runtime_hoisted IN DATABASE "{database}" RESET ALL')
            conn.execute("DROP ROLE runtime_hoisted")

"""A per-worker pool of libpq connections, which the core opens and drives (``restpg._core.Pipeline``).

Checkout is a ``deque.pop`` when a connection is idle, so the hot path costs microseconds (psycopg_pool's
``connection()`` context costs ~35 µs, see DESIGN.md "Where the time goes"). Idle connections are reused
last-in first-out: the hot ones stay hot and the surplus ages out through ``db-pool-max-idletime``.

Connections open lazily up to ``db-pool`` with ``connect_start`` + ``connect_poll`` on the event loop, so a
dead database never blocks the loop: the request fails fast with 503 ``PGRST000`` instead. A connection whose
socket broke (not ``ok``) or that outlived ``db-pool-max-lifetime`` is dropped at check-in or checkout
and replaced on demand; every connection the pool hands out is in pipeline mode and non-blocking, ready for
``db.execute``. Waiters queue FIFO and give up after ``db-pool-acquisition-timeout`` with 504 ``PGRST003``.

When the database goes away the pool fails fast rather than hang: a connection lost mid-request makes every
idle connection suspect (``purge``: they were opened to the same server and would fail the same way), and a
failed connection attempt starts a short back-off during which requests get ``ConnectError`` at once instead
of each paying for its own attempt. The back-off is capped at ``RECONNECT_MAX_DELAY`` so requests succeed
again within a second of the database coming back; ``retry_after`` is the ``Retry-After`` hint for the 503.
TCP keepalives (unless the connection string sets them) turn a silently cut network into an error instead
of a request that waits forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from dataclasses import dataclass

from restpg._core import Pipeline
from restpg.db.pipeline import connection_params, ensure_libpq

__all__ = [
    "KEEPALIVES",
    "ConnectError",
    "Connection",
    "Pool",
    "PoolTimeout",
    "connect",
    "connection_params",
    "default_isolation",
    "libpq_message",
    "open_connection",
]

# Back-off between connection attempts while the database is unreachable: doubling from the first value,
# capped so that recovery is noticed within a second.
RECONNECT_FIRST_DELAY = 0.05
RECONNECT_MAX_DELAY = 0.5
# How long a connection of its own (the listener's, a catalog read's) may take to open.
CONNECT_TIMEOUT = 10.0
# How often idle connections are checked and, with none open, the database probed.
CHECK_INTERVAL = 0.5
# Detect a dead peer on an idle or busy socket in about 5 + 2 * 3 seconds (libpq keywords).
KEEPALIVES = {"keepalives": "1", "keepalives_idle": "5", "keepalives_interval": "2", "keepalives_count": "3"}


class PoolTimeout(Exception):
    """No connection became free within ``db-pool-acquisition-timeout``."""


class ConnectError(Exception):
    """The database could not be reached; the message is libpq's, for the error ``details``."""


class Connection:
    """A pooled libpq connection plus what the execute stage remembers about it.

    Its socket is watched for its whole life by one reader: registering a reader for each wait and
    removing it after costs two ``epoll_ctl`` calls, about 5 µs, on every request.

    A request's wait (``round_trip``) is resolved by the reader itself once the pipeline has every result,
    not on the first readable event: the request's task then resumes once per round trip. Waking it on
    each event would also wake it for nothing, since the loop's readiness list can be one event stale (the
    event that announced the last request's answer, already read by its task when the callback runs).
    """

    __slots__ = (
        "_fd",
        "_loop",
        "_round_trip",
        "_waiter",
        "born",
        "broken",
        "isolation",
        "last_used",
        "pipeline",
    )

    def __init__(
        self,
        pipeline: Pipeline,
        now: float,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        # The connection and the execute stage's calls on it; it also remembers the statements prepared here.
        self.pipeline = pipeline
        # The session's default_transaction_isolation, lowercase: what a transaction without BEGIN runs at
        # (the pool reads it once the connection is open; PostgreSQL's default until then).
        self.isolation = b"read committed"
        self.born = now
        self.last_used = now
        self.broken = False  # set by the execute stage when the socket failed mid-request
        self._loop = loop
        self._waiter: asyncio.Future[None] | None = None
        self._round_trip = False  # the waiter waits for the pipeline's whole answer, not for any data
        self._fd = pipeline.socket
        loop.add_reader(self._fd, self._on_readable)

    @property
    def prepared(self) -> set[bytes]:
        """The statement names prepared on this connection."""
        return self.pipeline.prepared_names()

    def readable(self) -> asyncio.Future[None]:
        """Resolves when the server has sent something (the caller then consumes it)."""
        waiter = self._loop.create_future()
        if self._fd < 0:
            # The connection ended while idle between two reads of a request: nothing will arrive, and the
            # caller's next read reports the failure.
            waiter.set_result(None)
        else:
            self._waiter = waiter
            self._round_trip = False
        return waiter

    def round_trip(self) -> asyncio.Future[None]:
        """Resolves once ``pipeline`` has received every result up to its sync; fails with the core's
        ``ConnectionError`` when the connection does."""
        waiter = self._loop.create_future()
        if self._fd < 0:
            waiter.set_exception(ConnectionError("connection closed"))
        else:
            self._waiter = waiter
            self._round_trip = True
        return waiter

    async def exchange(self) -> None:
        """Sync the queued statements, send them and read every result up to the sync point."""
        pipeline = self.pipeline
        if not pipeline.sync():  # a pipeline larger than the socket's buffer: rare, so no standing writer
            while not pipeline.flush():
                await wait_socket(self._loop, pipeline.socket, writable=True)
        if not pipeline.receive(False):  # flushing may have read the answer already
            await self.round_trip()  # resolved by the reader once all of it came back

    def close(self) -> None:
        self._unwatch()
        self.pipeline.close()

    def _unwatch(self) -> None:
        if self._fd >= 0:
            self._loop.remove_reader(self._fd)
            self._fd = -1

    def _on_readable(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            if waiter.done():  # a cancelled wait: the connection is being discarded
                self._waiter = None
                return
            if self._round_trip:
                try:
                    if not self.pipeline.receive(True):
                        return  # more to come: keep waiting
                except OSError as exc:
                    self._waiter = None
                    waiter.set_exception(exc)
                    return
            self._waiter = None
            waiter.set_result(None)
            return
        # Nobody waits: the server spoke unasked (a notice, a termination message, end of file). Reading it
        # keeps the level-triggered reader from firing again; a failed read means the connection is gone.
        try:
            self.pipeline.consume()
        except OSError:
            self.broken = True
            self._unwatch()


@dataclass(frozen=True, slots=True)
class PoolOptions:
    size: int = 10
    acquisition_timeout: float = 10.0
    max_lifetime: float = 1800.0
    max_idletime: float = 30.0
    # Past this many prepared statements a connection is retired rather than grown without bound.
    max_prepared: int = 1000


class Pool:
    def __init__(self, conninfo: str, options: PoolOptions) -> None:
        self.params = connection_params(conninfo, KEEPALIVES)
        self.options = options
        self._idle: deque[Connection] = deque()
        # FIFO of (deadline, future). One timer, set for the oldest deadline, expires them all: a timer per
        # waiting request costs more than the wait when a thousand clients queue for ten connections.
        self._waiters: deque[tuple[float, asyncio.Future[Connection]]] = deque()
        self._expiry: asyncio.TimerHandle | None = None
        self._size = 0  # connections open or opening
        self._closed = False
        self._sweeper: asyncio.Task[None] | None = None
        # False after a failed connection attempt until one succeeds (readiness, 503 fast paths).
        self.healthy = True
        self._retry_at = 0.0  # no connection attempt before this monotonic time
        self._delay = RECONNECT_FIRST_DELAY
        self._last_error = ""
        self.timeouts = 0  # acquisitions that gave up (pgrst_db_pool_timeouts_total)

    @property
    def size(self) -> int:
        return self._size

    @property
    def idle(self) -> int:
        return len(self._idle)

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    @property
    def max_size(self) -> int:
        return self.options.size

    def retry_after(self) -> int:
        """Whole seconds until the next connection attempt (at least 1), for ``Retry-After``."""
        return max(1, math.ceil(self._retry_at - time.monotonic()))

    def purge(self) -> None:
        """Close every idle connection: one of their siblings was lost, so they are suspect too."""
        self.healthy = False  # until a new connection succeeds
        while self._idle:
            self._drop(self._idle.pop())

    async def check(self) -> None:
        """Drop idle connections the server closed; with none open, probe the database (for ``/ready``).

        An idle connection's reader reads whatever the server sends unasked: a termination notice and end
        of file (restart, ``pg_terminate_backend``) leave it broken, and it is dropped here rather than
        handed to a request.
        """
        idle = self._idle
        for connection in [c for c in idle if c.broken or not c.pipeline.ok]:
            idle.remove(connection)
            self._drop(connection)
        if self._size == 0 and not self._closed and time.monotonic() >= self._retry_at:
            self._size += 1
            try:
                connection = await self._connect()
            except ConnectError:
                self._size -= 1
                return
            self.release(connection)

    async def open(self) -> None:
        """Check that the database is reachable by opening one connection; raises ``ConnectError``."""
        self._size += 1
        try:
            connection = await self._connect()
        except BaseException:
            self._size -= 1
            raise
        self._idle.append(connection)
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep())

    async def acquire(self) -> Connection:
        """A ready connection, or ``ConnectError`` / ``PoolTimeout``."""
        idle = self._idle
        if idle:
            now = time.monotonic()
            while idle:
                connection = idle.pop()
                if self._fresh(connection, now):
                    return connection
                self._drop(connection)
        if self._size < self.options.size:
            if not self.healthy and time.monotonic() < self._retry_at:
                raise ConnectError(self._last_error)
            self._size += 1
            try:
                return await self._connect()
            except BaseException:
                self._size -= 1
                self._wake_next()
                raise
        return await self._wait()

    def release(self, connection: Connection) -> None:
        """Give a connection back (clean: transaction closed, pipeline drained)."""
        now = time.monotonic()
        connection.last_used = now
        if self._closed or not self._fresh(connection, now):
            self._drop(connection)
            self._wake_next()
            return
        waiters = self._waiters
        while waiters:
            _, waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        self._idle.append(connection)

    def discard(self, connection: Connection) -> None:
        """Drop a connection that must not be reused (broken socket, unknown state)."""
        self._drop(connection)
        self._wake_next()

    async def close(self) -> None:
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        while self._idle:
            self._drop(self._idle.pop())
        if self._expiry is not None:
            self._expiry.cancel()
        while self._waiters:
            _, waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(ConnectError("the connection pool is closed"))

    # -----------------------------------------------------------------------------------------------------

    def _fresh(self, connection: Connection, now: float) -> bool:
        options = self.options
        return not (
            connection.broken
            or not connection.pipeline.ok
            or now - connection.born > options.max_lifetime
            or (options.max_idletime > 0 and now - connection.last_used > options.max_idletime)
            or connection.pipeline.prepared_count > options.max_prepared
        )

    def _drop(self, connection: Connection) -> None:
        self._size -= 1
        connection.close()

    def _wake_next(self) -> None:
        """A slot freed up: open a connection for the oldest waiter, if any."""
        if self._closed or not self._waiters or self._size >= self.options.size:
            return
        self._size += 1
        asyncio.get_running_loop().create_task(self._connect_for_waiter())

    async def _connect_for_waiter(self) -> None:
        try:
            connection = await self._connect()
        except ConnectError as exc:
            self._size -= 1
            # Every waiter would fail the same way: tell them now instead of at their timeout.
            while self._waiters:
                _, waiter = self._waiters.popleft()
                if not waiter.done():
                    waiter.set_exception(ConnectError(str(exc)))
            return
        self.release(connection)

    async def _wait(self) -> Connection:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Connection] = loop.create_future()
        entry = (loop.time() + self.options.acquisition_timeout, waiter)
        self._waiters.append(entry)
        if self._expiry is None:
            self._expiry = loop.call_at(entry[0], self._expire_waiters, loop)
        try:
            return await waiter
        except PoolTimeout:
            self.timeouts += 1
            raise
        finally:
            if waiter.cancelled() and self._waiters:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(entry)

    def _expire_waiters(self, loop: asyncio.AbstractEventLoop) -> None:
        """Fail the waiters past their deadline (the oldest are first), then wait for the next one's."""
        self._expiry = None
        now = loop.time()
        waiters = self._waiters
        while waiters and (waiters[0][0] <= now or waiters[0][1].done()):
            _, waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_exception(PoolTimeout())
        if waiters:
            self._expiry = loop.call_at(waiters[0][0], self._expire_waiters, loop)

    async def _connect(self) -> Connection:
        try:
            async with asyncio.timeout(self.options.acquisition_timeout):
                connection = Connection(
                    await connect(self.params), time.monotonic(), asyncio.get_running_loop()
                )
                connection.isolation = await default_isolation(connection)
        except TimeoutError:
            self._failed("timeout expired while connecting")
            raise ConnectError(self._last_error) from None
        except ConnectError as exc:
            self._failed(str(exc))
            raise
        self.healthy = True
        self._delay = RECONNECT_FIRST_DELAY
        return connection

    def _failed(self, message: str) -> None:
        self.healthy = False
        self._last_error = message
        self._retry_at = time.monotonic() + self._delay
        self._delay = min(self._delay * 2, RECONNECT_MAX_DELAY)

    async def _sweep(self) -> None:
        """Every ``CHECK_INTERVAL``: close connections idle past ``db-pool-max-idletime`` (the LIFO bottom
        is the oldest) and the ones the server closed."""
        while True:
            await asyncio.sleep(CHECK_INTERVAL)
            now = time.monotonic()
            while self._idle and not self._fresh(self._idle[0], now):
                self._drop(self._idle.popleft())
            await self.check()


async def connect(params: list[tuple[str, str]]) -> Pipeline:
    """Open a connection without blocking the loop, ready for pipelined requests."""
    ensure_libpq()
    try:
        pipeline = Pipeline.connect_start(params)
    except OSError as exc:
        raise ConnectError(str(exc)) from None
    try:
        loop = asyncio.get_running_loop()
        while True:
            status = pipeline.connect_poll()
            if status == "ok":
                break
            if status == "failed":
                raise ConnectError(libpq_message(pipeline))
            # The socket can change between polls (multiple hosts, SSL retry): read it every time.
            await wait_socket(loop, pipeline.socket, writable=status == "writing")
        pipeline.enter_pipeline_mode()
    except OSError as exc:
        pipeline.close()
        raise ConnectError(str(exc).strip() or "connection failed") from None
    except BaseException:
        pipeline.close()
        raise
    return pipeline


async def open_connection(params: list[tuple[str, str]], timeout: float = CONNECT_TIMEOUT) -> Connection:
    """A connection of its own outside any pool (the listener's, a catalog read's), watched as a pooled one;
    the caller closes it. ``ConnectError`` also after ``timeout`` seconds: libpq's ``connect_timeout`` only
    bounds a blocking connect, and a black-holed host would otherwise hold the caller for minutes."""
    try:
        async with asyncio.timeout(timeout):
            pipeline = await connect(params)
    except TimeoutError:
        raise ConnectError("timeout expired while connecting") from None
    return Connection(pipeline, time.monotonic(), asyncio.get_running_loop())


async def default_isolation(connection: Connection) -> bytes:
    """The session's ``default_transaction_isolation`` (the server's, the database's or the login role's).

    Read once per connection: a read at that level can run without BEGIN (see ``db.execute``). It is not
    reported by the server like ``TimeZone`` is, so it costs one round trip when the connection opens. The
    connection is closed when this fails.
    """
    pipeline = connection.pipeline
    try:
        pipeline.queue_read(b"SELECT current_setting('default_transaction_isolation')", None)
        await connection.exchange()
        rows = pipeline.rows() if pipeline.error is None else []
    except OSError as exc:
        connection.close()
        raise ConnectError(str(exc).strip() or "connection lost") from None
    except BaseException:
        connection.close()
        raise
    value = rows[0][0] if rows else None
    if value is None:
        message = libpq_message(pipeline)
        connection.close()
        raise ConnectError(message)
    return value.lower()


def wait_socket(loop: asyncio.AbstractEventLoop, fd: int, *, writable: bool = False) -> asyncio.Future[None]:
    """A future resolved when ``fd`` becomes readable (or writable)."""
    future: asyncio.Future[None] = loop.create_future()
    remove = loop.remove_writer if writable else loop.remove_reader

    def ready() -> None:
        remove(fd)
        if not future.done():
            future.set_result(None)

    def cleanup(done: asyncio.Future[None]) -> None:
        # A cancelled wait (client gone, timeout) must not leave a callback on the descriptor.
        if done.cancelled():
            remove(fd)

    if writable:
        loop.add_writer(fd, ready)
    else:
        loop.add_reader(fd, ready)
    future.add_done_callback(cleanup)
    return future


def libpq_message(pipeline: Pipeline) -> str:
    return pipeline.error_message or "connection failed"

"""Database engine and transactions (SQLAlchemy 2 async; SQLite through aiosqlite, or
PostgreSQL through asyncpg).

Write transactions are serialized where the engine needs it: on SQLite one writer at a time in
this process (`BEGIN IMMEDIATE`, with a busy timeout for other processes, and for the workers
of `--workers` a lock file that hands the write lock between them at once); on PostgreSQL, row
locks taken inside the transaction do the serializing. On PostgreSQL a `Listener` hears
notifications (LISTEN/NOTIFY) on a dedicated connection of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import os
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import structlog
from sqlalchemy import Column, Insert, MetaData, Table, UpdateBase, bindparam, event, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, PoolResetState

from switchboard.server import sqlite_onetrip

log = structlog.get_logger("switchboard.db")

_CONNECTION_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)

metadata = MetaData()
"""Every table of every area, so that `create_schema` makes them all."""


class Database:
    """One engine, its dialect's quirks, and the transaction entry points."""

    def __init__(self, url: str, shared: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self.serializes_writes = self._write_lock is not None
        """Whether optimistic transactions are worth trying: this process runs one write
        transaction at a time, so what the last one left (in this process, or as the writer
        lock records it) is likely still so. Correctness never rests on it: an optimistic
        transaction checks at commit what it counted on with guarded writes (`BulkWrite`),
        under the database's write lock (on SQLite, BEGIN IMMEDIATE excludes every other
        process's writers), and fails with `StaleWrite` if another process changed it."""
        self._writer_lock = _WriterLock(url) if self.is_sqlite and shared else None
        self.shared_head: int | None = None
        """Inside `write`, for the workers of `--workers` on SQLite: the event log's head as
        the last write transaction of any of them recorded it (`record_head`); else None."""
        self._recorded: int | None = None
        if self.is_sqlite:
            self.engine: AsyncEngine = create_async_engine(
                url, async_creator=sqlite_onetrip.connector(url), pool_size=8, max_overflow=8,
                pool_reset_on_return=None)
            _configure_sqlite(self.engine)
        else:
            self.engine = create_async_engine(url, pool_size=20, max_overflow=10)

    async def create_schema(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A read-write transaction: committed when the block ends, rolled back on error."""
        if self._write_lock is None:
            async with self.engine.begin() as conn:
                yield conn
            return
        async with self._write_lock:
            if self._writer_lock is None:
                async with self.engine.begin() as conn:
                    yield conn
                return
            self.shared_head = await self._writer_lock.acquire()
            self._recorded = None
            try:
                async with self.engine.begin() as conn:
                    yield conn
                if self._recorded is not None:
                    self._writer_lock.record(self._recorded)
            finally:
                self.shared_head = None
                self._writer_lock.release()

    def record_head(self, head: int) -> None:
        """Inside `write`: the event log's head once this transaction commits, for the next
        writer of any worker (`shared_head`; recorded only if it commits)."""
        self._recorded = head

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction (one consistent snapshot on both engines)."""
        async with self.engine.connect() as conn:
            await conn.execution_options(switchboard_read_only=True)
            async with conn.begin():
                yield conn

    async def flush(self, conn: AsyncConnection,
                    writes: Mapping[BulkWrite, Sequence[Mapping[str, Any]]]) -> None:
        """Runs the writes of a transaction about to commit, guarded ones first (raising
        `StaleWrite` if one changed fewer rows than it has). On SQLite they go with the COMMIT,
        in its trip to the connection's thread (`sqlite_onetrip`), and so do the checks."""
        driver = (await conn.get_raw_connection()).driver_connection
        for write, rows in sorted(writes.items(), key=lambda item: not item[0].guarded):
            sql, driver_rows = write.driver_rows(conn.dialect, rows)
            if isinstance(driver, sqlite_onetrip.OneTripConnection):
                check = _changes(len(driver_rows)) if write.guarded else None
                driver.defer(sql, driver_rows, check)
            elif not write.guarded:
                await conn.exec_driver_sql(sql, driver_rows)
            else:
                for row in driver_rows:
                    _changes(1)((await conn.exec_driver_sql(sql, row)).rowcount)

    def listener(self, channel: str, on_notify: Callable[[str], None],
                 on_connect: Callable[[], None]) -> Listener:
        """A `Listener` on `channel` of this (PostgreSQL) database."""
        assert not self.is_sqlite
        _, connect_args = self.engine.dialect.create_connect_args(self.engine.url)
        return Listener(connect_args, channel, on_notify, on_connect)

    async def close(self) -> None:
        await self.engine.dispose()
        if self._writer_lock is not None:
            self._writer_lock.close()


class _WriterLock:
    """An exclusive `flock` on a file beside a SQLite database, taken around each write
    transaction by processes that share the database (`--workers`), and the event log's head
    as the last of them to commit recorded it in the file.

    SQLite makes a writer that finds the database locked by another process poll: it sleeps
    1, 2, 5, 10 ... up to 100 ms between tries (the busy timeout), so under steady writes the
    lock passes between processes late and mostly idle. A process waiting on this lock is
    woken by the kernel as soon as it is released, and then finds SQLite's lock free. The head
    lets the next writer's optimistic transaction count on from the true head, whichever
    worker wrote last (where a writer died between its commit and the record, or a process
    outside the lock wrote, the head's guarded write catches it)."""

    def __init__(self, url: str) -> None:
        database = make_url(url).database or ""
        self._fd = os.open(database + ".writer-lock", os.O_RDWR | os.O_CREAT, 0o600)

    async def acquire(self) -> int | None:
        """Takes the lock; returns the recorded head (None if none is)."""
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            waiting = asyncio.get_running_loop().run_in_executor(
                None, fcntl.flock, self._fd, fcntl.LOCK_EX)
            try:
                await asyncio.shield(waiting)
            except asyncio.CancelledError:
                # The thread still takes the lock: give it back once it has.
                waiting.add_done_callback(lambda _: self.release())
                raise
        recorded = os.pread(self._fd, 8, 0)
        return int.from_bytes(recorded, "little") if len(recorded) == 8 else None

    def record(self, head: int) -> None:
        os.pwrite(self._fd, head.to_bytes(8, "little"), 0)

    def release(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        os.close(self._fd)


class Listener:
    """A PostgreSQL connection of its own that LISTENs on `channel`: `on_notify(payload)` for
    each notification, `on_connect()` each time it is listening again (what was sent meanwhile
    is lost). A dropped connection is reopened with backoff, and an idle one checked every
    `CHECK_SECONDS`, so a half-open one is found. Notifications are a hint, never the truth."""

    BACKOFF_SECONDS = (0.1, 5.0)
    """First and longest wait before reconnecting (doubling in between)."""
    CHECK_SECONDS = 10.0

    def __init__(self, connect_args: Mapping[str, Any], channel: str,
                 on_notify: Callable[[str], None], on_connect: Callable[[], None]) -> None:
        self._connect_args = {k: v for k, v in connect_args.items()
                              if not k.startswith("prepared_statement_")}
        self.channel = channel
        self._on_notify = on_notify
        self._on_connect = on_connect
        self._conn: asyncpg.Connection | None = None
        self._lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int | None:
        """The server process id of the listening connection; None while there is none."""
        return None if self._conn is None else self._conn.get_server_pid()

    async def start(self) -> None:
        """Listens (a first attempt before returning, so that what commits after is heard), and
        keeps listening in the background."""
        first = await self._listen()
        self._task = asyncio.create_task(self._keep(first), name=f"listen-{self.channel}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._close()

    async def _listen(self) -> bool:
        """Opens a connection and LISTENs; False (logged) if that failed."""
        try:
            conn = await asyncpg.connect(**self._connect_args)
        except _CONNECTION_ERRORS as e:
            log.warning("listener cannot connect", channel=self.channel, error=str(e))
            return False
        try:
            self._lost.clear()
            conn.add_termination_listener(lambda _conn: self._lost.set())
            await conn.add_listener(self.channel, self._heard)
        except _CONNECTION_ERRORS as e:
            log.warning("listener cannot listen", channel=self.channel, error=str(e))
            conn.terminate()
            return False
        self._conn = conn
        self._on_connect()
        return True

    def _heard(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        self._on_notify(payload)

    async def _keep(self, listening: bool) -> None:
        low, high = self.BACKOFF_SECONDS
        wait = low
        while True:
            if listening:
                wait = low
                await self._until_lost()
                log.warning("listener connection lost; reconnecting", channel=self.channel)
                await self._close()
            else:
                await asyncio.sleep(wait)
                wait = min(high, wait * 2)
            listening = await self._listen()
            if listening:
                log.info("listener connected again", channel=self.channel)

    async def _until_lost(self) -> None:
        """Returns once the connection has ended or stopped answering."""
        assert self._conn is not None
        while not self._lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), self.CHECK_SECONDS)
                return
            try:
                await self._conn.execute("SELECT 1", timeout=self.CHECK_SECONDS)
            except _CONNECTION_ERRORS:
                return

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            conn.terminate()


def _configure_sqlite(engine: AsyncEngine) -> None:
    """WAL, a busy timeout for other processes, BEGIN IMMEDIATE for write transactions, and a
    rollback on return to the pool only for a connection still in a transaction. Connections
    are `sqlite_onetrip` ones: a statement is one trip to the connection's thread."""

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "reset")
    def _reset(dbapi_connection: Any, _record: ConnectionPoolEntry, state: PoolResetState) -> None:
        # In place of the pool's rollback on every return: each is a round trip through
        # aiosqlite's thread, and every transaction here has already ended by then.
        if state.asyncio_safe and dbapi_connection.driver_connection.in_transaction:
            dbapi_connection.rollback()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        read_only = conn.get_execution_options().get("switchboard_read_only", False)
        conn.connection.driver_connection.begin("BEGIN" if read_only else "BEGIN IMMEDIATE")


class StaleWrite(Exception):
    """A guarded write found a row other than the transaction counted on: another writer changed
    it. The transaction is rolled back; read again and retry."""


def _changes(expected: int) -> Callable[[int], None]:
    """The check of a guarded write: it changed `expected` rows, or the transaction fails."""

    def check(changed: int) -> None:
        if changed != expected:
            raise StaleWrite(f"{expected - changed} of {expected} guarded rows had changed")

    return check


class BulkWrite:
    """A statement run for many rows whose results nobody reads (an INSERT of whole rows, an
    UPDATE by key), sent to the driver as positional rows.

    SQLAlchemy builds a parameter dictionary per row and then processes it; here the statement
    is compiled once per dialect, and each row (a mapping of bind names: for an INSERT, column
    keys) becomes a tuple through the same per-type bind processors SQLAlchemy would apply.

    A `guarded` write is an UPDATE by key whose WHERE also names the values the transaction
    counted on; it runs before the other writes, and every row must change exactly one row, or
    the transaction fails (`StaleWrite`)."""

    def __init__(self, statement: UpdateBase, guarded: bool = False) -> None:
        self.statement = statement
        self.guarded = guarded
        self._plans: dict[str, tuple[str, list[tuple[str, Callable[[Any], Any] | None]]]] = {}

    def driver_rows(self, dialect: Dialect, rows: Iterable[Mapping[str, Any]]
                    ) -> tuple[str, list[tuple[Any, ...]]]:
        """The statement as the driver takes it, and the rows as its parameters."""
        plan = self._plans.get(dialect.name)
        if plan is None:
            compiled = self.statement.compile(dialect=dialect)
            assert compiled.positiontup is not None
            plan = (str(compiled), [
                (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
                for name in compiled.positiontup])
            self._plans[dialect.name] = plan
        sql, fields = plan
        return sql, [
            tuple(row[name] if process is None else process(row[name])
                  for name, process in fields)
            for row in rows]


def guarded_set(key: Column[Any], column: Column[Any]) -> BulkWrite:
    """The guarded write of `column` in the row whose `key` is given, which must still hold the
    value the transaction counted on; its rows are {"row_key", "was", "value"}."""
    return BulkWrite(
        update(key.table).where(key == bindparam("row_key"), column == bindparam("was"))
        .values({column.name: bindparam("value")}),
        guarded=True)


@functools.cache
def insert_of(table: Table) -> BulkWrite:
    """The INSERT of whole rows into `table`."""
    return BulkWrite(table.insert())


def insert_if_absent(conn: AsyncConnection, table: Table, *rows: Mapping[str, Any],
                     **values: Any) -> Insert:
    """INSERT of one row (`values`), or of `rows`, that skips a row whose key exists. On
    PostgreSQL a concurrent insert of the same key waits for the other transaction to end, so
    the key also serializes such calls."""
    insert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
    return insert(table).values(list(rows) or values).on_conflict_do_nothing()

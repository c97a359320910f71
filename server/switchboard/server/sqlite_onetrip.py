"""aiosqlite connections whose statements take one round trip to the connection's thread.

Through SQLAlchemy's aiosqlite adapter a statement takes three or four trips: one to open a
cursor, one to execute, one to fetch the rows, one to close the cursor. Each trip is a queue put,
a thread wake-up and a `call_soon_threadsafe` back, about 55 µs of CPU and the GIL handed over
twice. Here a cursor is only a holder of results: execute opens the sqlite3 cursor, runs the
statement, fetches every row and closes the cursor, all in one trip.

A transaction's BEGIN goes in the same trip as its first statement (`begin`), and writes
whose results nobody reads can go in the same trip as its COMMIT (`defer`), as can writes built
there once the transaction holds the write lock (`prepare`); a transaction that ran no
statement ends without a trip.

Processes that share a database (`--workers`) hand SQLite's write lock between them with a
`WriterLock`: taken on the connection's thread in the trip that begins a write transaction,
and given back in the trip that ends it, so it is held only as long as SQLite's own lock, never
across the event loop's latency.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import aiosqlite
from sqlalchemy.engine import make_url

_Result = tuple[Any, int, int | None, list[Any]]
_Write = tuple[str, list[Any], Callable[[int], None] | None]
_Prepare = Callable[[sqlite3.Connection], list[_Write]]
WRITE_BEGIN = "BEGIN IMMEDIATE"


class WriterLock:
    """An exclusive `flock` on a file beside a SQLite database (`<file>.writer-lock`), taken
    around each write transaction by the processes that share the database.

    SQLite makes a writer that finds the database locked by another process poll: it sleeps
    1, 2, 5, 10 ... up to 100 ms between tries (the busy timeout), so under steady writes the
    lock passes between processes late and mostly idle. A process waiting on this lock is
    woken by the kernel as soon as it is released, and then finds SQLite's lock free. One
    connection of a process holds it at a time (the process runs one write transaction at a
    time); each connection's `_Hold` says whether it is that one."""

    def __init__(self, database: str) -> None:
        self._fd = os.open(database + ".writer-lock", os.O_RDWR | os.O_CREAT, 0o600)

    def take(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def give(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        os.close(self._fd)


class _Hold:
    """One connection's use of a `WriterLock` (on the connection's thread)."""

    def __init__(self, lock: WriterLock) -> None:
        self.lock = lock
        self.held = False

    def take(self) -> None:
        self.lock.take()
        self.held = True

    def give(self) -> None:
        if self.held:
            self.held = False
            self.lock.give()


def _start(conn: sqlite3.Connection, begin: str, hold: _Hold | None) -> None:
    """Begins a transaction, a write one under the writer lock (given back if it fails)."""
    if hold is not None and begin == WRITE_BEGIN:
        hold.take()
    try:
        conn.execute(begin)
    except BaseException:
        if hold is not None:
            hold.give()
        raise


def _run(conn: sqlite3.Connection, begin: str | None, sql: str, parameters: Any,
         many: bool, hold: _Hold | None) -> _Result:
    """On the connection's thread: `begin` if any, then the statement; its description,
    rowcount, lastrowid and rows."""
    if begin is not None:
        _start(conn, begin, hold)
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


def _commit(conn: sqlite3.Connection, begin: str | None, writes: list[_Write],
            prepare: _Prepare | None, hold: _Hold | None) -> None:
    """On the connection's thread: `begin` if any, the deferred writes and those `prepare`
    builds (each followed by its check of how many rows it changed), then COMMIT; on a
    failure, ROLLBACK. The writer lock goes with either."""
    if begin is not None:
        _start(conn, begin, hold)
    try:
        if prepare is not None:
            writes = [*writes, *prepare(conn)]
        for sql, rows, check in writes:
            changed = conn.executemany(sql, rows).rowcount
            if check is not None:
                check(changed)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        if hold is not None:
            hold.give()


def _end(conn: sqlite3.Connection, commit: bool, hold: _Hold) -> None:
    """On the connection's thread: COMMIT or ROLLBACK, and the writer lock goes with it."""
    try:
        if commit:
            conn.commit()
        else:
            conn.rollback()
    finally:
        hold.give()


class OneTripCursor:
    """The part of aiosqlite's cursor that SQLAlchemy's adapters use (buffered and streamed
    results alike: the rows are fetched with the statement)."""

    arraysize = 1

    def __init__(self, conn: OneTripConnection) -> None:
        self._conn = conn
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: list[Any] = []

    async def __aenter__(self) -> OneTripCursor:
        return self

    async def _trip(self, sql: str, parameters: Any, many: bool) -> OneTripCursor:
        self.description, self.rowcount, self.lastrowid, self._rows = await self._conn.run(
            sql, parameters, many)
        return self

    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> OneTripCursor:
        return await self._trip(sql, () if parameters is None else parameters, False)

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> OneTripCursor:
        return await self._trip(sql, parameters, True)

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        size = self.arraysize if size is None else size
        rows, self._rows = self._rows[:size], self._rows[size:]
        return rows

    async def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    async def close(self) -> None:
        self._rows = []


class OneTripConnection(aiosqlite.Connection):
    """An aiosqlite connection handing out `OneTripCursor`s."""

    _begin: str | None = None
    _deferred: list[_Write] | None = None
    _prepare: _Prepare | None = None
    _hold: _Hold | None = None

    def cursor(self) -> OneTripCursor:  # type: ignore[override]
        """A new cursor, at once (entering it, as the adapter does, takes no trip either)."""
        return OneTripCursor(self)

    def begin(self, sql: str) -> None:
        """Begins a transaction with `sql` (BEGIN, BEGIN IMMEDIATE) in the next trip."""
        self._begin = sql

    async def run(self, sql: str, parameters: Any, many: bool) -> _Result:
        """Runs one statement on the connection's thread (after a pending BEGIN): one trip."""
        begin, self._begin = self._begin, None
        result: _Result = await self._execute(  # type: ignore[no-untyped-call]
            _run, self._conn, begin, sql, parameters, many, self._hold)
        return result

    def defer(self, sql: str, rows: list[Any],
              check: Callable[[int], None] | None = None) -> None:
        """Runs `sql` for each of `rows` with the next COMMIT, in its trip (statements later
        in the transaction do not see them); then `check`, if given, with the number of rows
        changed: if it raises, the transaction is rolled back and the COMMIT raises that."""
        if self._deferred is None:
            self._deferred = []
        self._deferred.append((sql, rows, check))

    def prepare(self, build: _Prepare) -> None:
        """Runs `build` on the connection's thread in the COMMIT's trip, once the transaction
        holds the write lock (it may read through the connection it is given), and then the
        writes it returns, as deferred ones (`defer`)."""
        self._prepare = build

    @property
    def in_transaction(self) -> bool:
        return self._begin is not None or super().in_transaction

    async def commit(self) -> None:
        begin, self._begin = self._begin, None
        writes, self._deferred = self._deferred, None
        prepare, self._prepare = self._prepare, None
        if writes or prepare:
            await self._execute(  # type: ignore[no-untyped-call]
                _commit, self._conn, begin, writes or [], prepare, self._hold)
        elif begin is None:
            await self._end(commit=True)
        # else: a transaction that never began has nothing to commit

    async def rollback(self) -> None:
        begin, self._begin, self._deferred, self._prepare = self._begin, None, None, None
        if begin is None:
            await self._end(commit=False)

    async def _end(self, commit: bool) -> None:
        if self._hold is None:
            await (super().commit() if commit else super().rollback())
        else:
            await self._execute(_end, self._conn, commit, self._hold)  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        try:
            await super().close()
        finally:  # closing rolled back whatever transaction was open
            if self._hold is not None:
                self._hold.give()


def connector(url: str, lock: WriterLock | None = None
              ) -> Callable[[], Awaitable[OneTripConnection]]:
    """The `async_creator` for an engine on this sqlite+aiosqlite URL: it connects with the
    arguments the URL gives SQLAlchemy's own aiosqlite dialect; its write transactions take
    `lock`, if given."""
    parsed = make_url(url)
    args, kwargs = parsed.get_dialect()().create_connect_args(parsed)
    database: str = args[0]

    async def connect() -> OneTripConnection:
        connection = OneTripConnection(lambda: sqlite3.connect(database, **kwargs),
                                       iter_chunk_size=64)
        connection._thread.daemon = True  # as SQLAlchemy sets it: exit never waits on it
        if lock is not None:
            connection._hold = _Hold(lock)
        await connection
        return connection

    return connect

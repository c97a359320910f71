"""aiosqlite connections whose statements take one round trip to the connection's thread.

Through SQLAlchemy's aiosqlite adapter a statement takes three or four trips: one to open a
cursor, one to execute, one to fetch the rows, one to close the cursor. Each trip is a queue put,
a thread wake-up and a `call_soon_threadsafe` back, about 55 µs of CPU and the GIL handed over
twice. Here a cursor is only a holder of results: execute opens the sqlite3 cursor, runs the
statement, fetches every row and closes the cursor, all in one trip.

A transaction's BEGIN goes in the same trip as its first statement (`begin`), and writes
whose results nobody reads can go in the same trip as its COMMIT (`defer`); a transaction that
ran no statement ends without a trip.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import aiosqlite
from sqlalchemy.engine import make_url

_Result = tuple[Any, int, int | None, list[Any]]
_Write = tuple[str, list[Any], Callable[[int], None] | None]


def _run(conn: sqlite3.Connection, begin: str | None, sql: str, parameters: Any,
         many: bool) -> _Result:
    """On the connection's thread: `begin` if any, then the statement; its description,
    rowcount, lastrowid and rows."""
    cursor = conn.cursor()
    try:
        if begin is not None:
            cursor.execute(begin)
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


def _commit(conn: sqlite3.Connection, begin: str | None, writes: list[_Write]) -> None:
    """On the connection's thread: `begin` if any, the deferred writes (each followed by its
    check of how many rows it changed), then COMMIT; on a failure, ROLLBACK."""
    try:
        if begin is not None:
            conn.execute(begin)
        for sql, rows, check in writes:
            changed = conn.executemany(sql, rows).rowcount
            if check is not None:
                check(changed)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise


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
            _run, self._conn, begin, sql, parameters, many)
        return result

    def defer(self, sql: str, rows: list[Any],
              check: Callable[[int], None] | None = None) -> None:
        """Runs `sql` for each of `rows` with the next COMMIT, in its trip (statements later
        in the transaction do not see them); then `check`, if given, with the number of rows
        changed: if it raises, the transaction is rolled back and the COMMIT raises that."""
        if self._deferred is None:
            self._deferred = []
        self._deferred.append((sql, rows, check))

    @property
    def in_transaction(self) -> bool:
        return self._begin is not None or super().in_transaction

    async def commit(self) -> None:
        begin, self._begin = self._begin, None
        writes, self._deferred = self._deferred, None
        if writes:
            await self._execute(_commit, self._conn, begin, writes)  # type: ignore[no-untyped-call]
        elif begin is None:
            await super().commit()
        # else: a transaction that never began has nothing to commit

    async def rollback(self) -> None:
        begin, self._begin, self._deferred = self._begin, None, None
        if begin is None:
            await super().rollback()


def connector(url: str) -> Callable[[], Awaitable[OneTripConnection]]:
    """The `async_creator` for an engine on this sqlite+aiosqlite URL: it connects with the
    arguments the URL gives SQLAlchemy's own aiosqlite dialect."""
    parsed = make_url(url)
    args, kwargs = parsed.get_dialect()().create_connect_args(parsed)
    database: str = args[0]

    async def connect() -> OneTripConnection:
        connection = OneTripConnection(lambda: sqlite3.connect(database, **kwargs),
                                       iter_chunk_size=64)
        connection._thread.daemon = True  # as SQLAlchemy sets it: exit never waits on it
        await connection
        return connection

    return connect

"""The database layer's SQLite quirks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError

from switchboard.server.clock import ManualClock
from switchboard.server.db import BulkWrite, Database, StaleWrite, guarded_set, insert_of
from switchboard.server.eventlog import EventLog, events_table, head_table
from switchboard.server.reservation import store
from switchboard.server.sqlite_onetrip import OneTripConnection

from support import START


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The trips to SQLite connections' threads, each named by what it ran (clear it where the
    counting starts)."""
    made: list[str] = []
    original = OneTripConnection._execute

    async def counted(self: OneTripConnection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        made.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(OneTripConnection, "_execute", counted)
    return made


async def test_sqlite_connection_returned_inside_a_transaction_is_rolled_back(
    tmp_path: Path,
) -> None:
    """The pool skips its rollback on return for connections whose transaction has ended; one
    still inside a transaction is rolled back, so its changes and its write lock go with it."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'switchboard.db'}")
    await db.create_schema()
    try:
        async with db.write() as conn:
            await conn.execute(head_table.insert().values(id=1, head=0, oldest=1))
        async with db.engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            await raw.execute("BEGIN IMMEDIATE")
            await raw.execute("UPDATE event_head SET head = 99")
            assert raw.in_transaction
        async with db.write() as conn:  # would wait on the lock, or fail, if still held
            await conn.execute(head_table.update().values(oldest=2))
        async with db.read() as conn:
            row = (await conn.execute(select(head_table.c.head, head_table.c.oldest))).one()
        assert (row.head, row.oldest) == (0, 2)
    finally:
        await db.close()


async def test_sqlite_statements_take_one_trip_to_the_connection_thread(
        tmp_path: Path, trips: list[str]) -> None:
    """Every statement through SQLAlchemy is one trip to aiosqlite's thread, whether it returns
    rows, changes many, streams, or fails; its results come back whole. A transaction's BEGIN
    rides with its first statement; one that runs none takes no trip at all."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'switchboard.db'}")
    await db.create_schema()
    try:
        async with db.write() as conn:
            await conn.execute(head_table.insert().values(id=1, head=0, oldest=1))
        trips.clear()
        async with db.write() as conn:
            pass
        async with db.read() as conn:
            await conn.execute(select(head_table.c.id))
        assert trips == ["_run", "commit"]
        async with db.write() as conn:
            trips.clear()
            rows = [{"id": i, "head": i, "oldest": 1} for i in range(2, 202)]
            await conn.execute(head_table.insert(), rows)
            changed = await conn.execute(
                head_table.update().where(head_table.c.id > 100).values(oldest=2))
            assert changed.rowcount == 101
            found = (await conn.execute(select(head_table.c.id).order_by(head_table.c.id)))
            assert [r.id for r in found] == list(range(1, 202))
            assert len(trips) == 3
            streamed = await conn.stream(select(head_table.c.head).where(head_table.c.id > 150))
            assert sorted([r.head async for r in streamed]) == list(range(151, 202))
            with pytest.raises(IntegrityError):
                await conn.execute(head_table.insert().values(id=1, head=0, oldest=1))
            assert len(trips) == 5
        assert len(trips) == 6  # and the commit
        async with db.read() as conn:
            count = (await conn.execute(
                select(head_table.c.id).where(head_table.c.oldest == 2))).all()
        assert len(count) == 101
    finally:
        await db.close()


async def test_deferred_writes_land_with_the_commit(database_url: str) -> None:
    """Rows written with `Transaction.defer` go in at commit, through the column types' own bind
    processors (JSON, booleans, NULLs, big integers read back as SQLAlchemy's insert writes
    them, updates by key included); statements before the commit do not see them; a deferred
    write that fails undoes the whole transaction."""
    db = Database(database_url)
    await db.create_schema()
    log = EventLog(db, ManualClock(START), retention=100)
    await log.initialize()
    changes = store.capacity_changes
    rows = [
        {"id": f"c{i}", "pool_id": "p", "increase": i % 2 == 0,
         "amounts": {"cores": i, "ram_mb": 2**40 + i}, "start_time": 2**50 + i,
         "end_time": None if i % 3 else 2**51, "reason": f"reason \u00e9 {i}", "create_time": i}
        for i in range(6)
    ]
    rename = BulkWrite(update(changes).where(changes.c.id == bindparam("change_id"))
                       .values(reason=bindparam("new_reason")))

    async def stored() -> list[dict[str, Any]]:
        async with db.read() as conn:
            found = (await conn.execute(select(changes).order_by(changes.c.id))).all()
        return [r._asdict() for r in found]

    try:
        async with log.transaction() as tx:
            await tx.conn.execute(store.pools.insert().values(
                id="p", provider="x", availability_zone="z", create_time=0))
            await tx.conn.execute(changes.insert(), rows[:3])
            tx.defer(insert_of(changes), *rows[3:])
            tx.defer(rename, {"change_id": "c1", "new_reason": "renamed"})
            seen = (await tx.conn.execute(select(changes.c.id))).all()
            assert len(seen) == 3
        rows[1]["reason"] = "renamed"
        assert await stored() == rows

        with pytest.raises(IntegrityError):
            async with log.transaction() as tx:
                await tx.conn.execute(changes.delete())
                tx.defer(insert_of(changes), {**rows[0], "id": "c9"}, {**rows[0], "id": "c9"})
        assert await stored() == rows
    finally:
        await db.close()


async def test_revisions_taken_twice_in_a_transaction(database_url: str) -> None:
    """Later calls count on from the first without going to the database; the head they reach
    is what commits, and the next transaction goes on from it."""
    db = Database(database_url)
    await db.create_schema()
    log = EventLog(db, ManualClock(START), retention=100)
    await log.initialize()
    try:
        async with log.transaction() as tx:
            taken = [await tx.next_revisions(3), await tx.next_revisions(2),
                     await tx.next_revisions(1)]
        assert [list(r) for r in taken] == [[1, 2, 3], [4, 5], [6]]
        assert await log.bounds() == (1, 6)
        async with log.transaction() as tx:
            assert list(await tx.next_revisions(2)) == [7, 8]
        assert await log.bounds() == (1, 8)
    finally:
        await db.close()


async def test_guarded_write_finding_its_row_changed_undoes_the_transaction(
        database_url: str) -> None:
    """A guarded write whose rows are as the transaction counted on commits; one that finds a
    row changed (its guard matches nothing) fails the whole transaction with StaleWrite."""
    db = Database(database_url)
    await db.create_schema()
    log = EventLog(db, ManualClock(START), retention=100)
    await log.initialize()
    pools = store.pools
    move = guarded_set(pools.c.id, pools.c.version)

    async def versions() -> dict[str, int]:
        async with db.read() as conn:
            return {r.id: r.version for r in await conn.execute(select(pools))}

    try:
        async with log.transaction() as tx:
            for pool_id in ("p", "q"):
                await tx.conn.execute(pools.insert().values(
                    id=pool_id, provider="x", availability_zone="z", create_time=0))
        async with log.transaction() as tx:
            tx.defer(move, {"row_key": "p", "was": 0, "value": 1},
                     {"row_key": "q", "was": 0, "value": 1})
        assert await versions() == {"p": 1, "q": 1}
        for stale in ({"row_key": "p", "was": 0, "value": 1},  # p is at 1 now
                      {"row_key": "r", "was": 0, "value": 1}):  # no such row
            with pytest.raises(StaleWrite):
                async with log.transaction() as tx:
                    await tx.conn.execute(update(pools).values(provider="changed"))
                    tx.defer(move, {"row_key": "q", "was": 1, "value": 2}, stale)
            assert await versions() == {"p": 1, "q": 1}
        async with db.read() as conn:
            assert {r.provider for r in await conn.execute(select(pools))} == {"x"}
    finally:
        await db.close()


async def test_optimistic_transactions_count_on_the_head_this_process_committed(
        database_url: str, trips: list[str]) -> None:
    """On SQLite, whose writes this process serializes, an optimistic transaction takes its
    revisions from the head this process last committed, without reading it: a transaction that
    only writes takes one trip. If another process moved the head meanwhile, its commit fails
    with StaleWrite and writes nothing; the next one reads the head again. On PostgreSQL the
    request for an optimistic transaction is not taken up."""
    db, other = Database(database_url), Database(database_url)
    await db.create_schema()
    log, other_log = (EventLog(d, ManualClock(START), retention=100) for d in (db, other))
    await log.initialize()
    async def append(on: EventLog, count: int, optimistic: bool) -> list[int]:
        async with on.transaction(optimistic) as tx:
            assert tx.optimistic == (optimistic and db.is_sqlite)
            taken = list(await tx.next_revisions(count))
            for revision in taken:
                tx.append(revision, "test", "test.event", "k", "s", b"")
        return taken

    try:
        assert await append(log, 2, optimistic=True) == [1, 2]  # nothing cached yet: read
        trips.clear()
        assert await append(log, 2, optimistic=True) == [3, 4]
        assert trips == (["_commit"] if db.is_sqlite else [])
        assert await append(other_log, 1, optimistic=False) == [5]
        if db.is_sqlite:
            with pytest.raises(StaleWrite):
                await append(log, 1, optimistic=True)
            assert await log.bounds() == (1, 5)
        assert await append(log, 1, optimistic=True) == [6]
        assert await log.bounds() == (1, 6)
        async with db.read() as conn:
            stored = await conn.execute(select(events_table.c.revision))
            assert sorted(r.revision for r in stored) == [1, 2, 3, 4, 5, 6]
    finally:
        await db.close()
        await other.close()

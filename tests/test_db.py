"""The database layer's SQLite quirks."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from switchboard.server.db import Database
from switchboard.server.eventlog import head_table


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

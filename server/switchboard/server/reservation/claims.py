"""The interface through which instance allocations hold pool capacity.

An allocation outside any reservation holds capacity against the pool (it counts in the
invariant next to reservations); one inside a reservation is reported as allocated but takes
nothing extra. Callers run these inside their own event-log transaction, after locking the pool
with `store.claim_pool`, which also tells other processes' caches that the pool changed.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.server.reservation.store import allocations


async def hold(
    conn: AsyncConnection, claim_id: str, pool_id: str, amounts: Mapping[str, int], start: int,
    reservation_id: str | None = None, end: int | None = None,
) -> None:
    """Records capacity held by an instance from `start` until released (or `end`)."""
    await conn.execute(
        allocations.insert().values(
            id=claim_id, pool_id=pool_id, reservation_id=reservation_id, amounts=dict(amounts),
            start_time=start, end_time=end,
        )
    )


async def release(conn: AsyncConnection, claim_id: str, at: int) -> None:
    """Ends a claim at `at`; a claim that had not started yet is removed."""
    await conn.execute(
        delete(allocations).where(allocations.c.id == claim_id, allocations.c.start_time >= at)
    )
    await conn.execute(
        update(allocations).where(allocations.c.id == claim_id).values(end_time=at)
    )

"""The interface through which instance allocations hold pool capacity.

An allocation outside any reservation holds capacity against the pool (it counts in the
invariant next to reservations); one inside a reservation is reported as allocated but takes
nothing extra. A claim is made as part of an admission batch (`admission.Candidate.write`, which
also adds it to the pool's holdings in `check`); it is released inside the caller's event-log
transaction after locking the pool with `store.claim_pool`, which also tells other processes'
caches that the pool changed.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.server.db import insert_of
from switchboard.server.eventlog import Transaction
from switchboard.server.reservation.store import allocations


def hold(tx: Transaction, claim_id: str, pool_id: str, amounts: Mapping[str, int], start: int,
         reservation_id: str = "") -> None:
    """Records capacity held by an instance from `start` until released (written at commit)."""
    tx.defer(insert_of(allocations), {
        "id": claim_id, "pool_id": pool_id, "reservation_id": reservation_id or None,
        "amounts": dict(amounts), "start_time": start, "end_time": None,
    })


async def release(conn: AsyncConnection, claim_ids: Collection[str], at: int) -> None:
    """Ends claims at `at`; a claim that had not started yet is removed. Releasing twice
    changes nothing."""
    ids = set(claim_ids)
    if not ids:
        return
    await conn.execute(
        delete(allocations).where(allocations.c.id.in_(ids), allocations.c.start_time >= at)
    )
    await conn.execute(
        update(allocations)
        .where(allocations.c.id.in_(ids), allocations.c.end_time.is_(None))
        .values(end_time=at)
    )

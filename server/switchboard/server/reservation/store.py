"""Reservation storage: tables and the queries the servicer and the sweeper run."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    and_,
    bindparam,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.server.db import guarded_set, insert_if_absent, metadata
from switchboard.server.eventlog import Transaction, events_table, head_table
from switchboard.server.reservation.holdings import PoolHoldings
from switchboard.server.reservation.ledger import CapacityChange as LedgerChange
from switchboard.server.reservation.ledger import Claim, PoolLedger
from switchboard.server.reservation.model import (
    HOLDING,
    LIVE,
    CapacityChange,
    Impairment,
    Pool,
    Priority,
    Reservation,
    Status,
    instance_claim_parts,
)

pools = Table(
    "pools",
    metadata,
    Column("id", String(63), primary_key=True),
    Column("provider", String(255), nullable=False),
    Column("availability_zone", String(255), nullable=False),
    Column("create_time", BigInteger, nullable=False),
    Column("version", BigInteger, nullable=False, default=0),
    Column("delete_time", BigInteger, nullable=True),
    Column("project", String(63), nullable=False, server_default=""),
)
"""`version` moves with every change of what the pool holds, so a process can tell whether its
cached holdings (`holdings.PoolHoldings`) are still current. A deleted pool keeps its row (with
`delete_time`): what referred to it stays readable and its id is not reused; every lookup below
but `get_pool(include_deleted=True)` leaves it out."""

_LIVE = pools.c.delete_time.is_(None)

capacity_changes = Table(
    "capacity_changes",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("pool_id", String(63), ForeignKey("pools.id"), nullable=False, index=True),
    Column("increase", Boolean, nullable=False),
    Column("amounts", JSON, nullable=False),
    Column("start_time", BigInteger, nullable=False),
    Column("end_time", BigInteger, nullable=True),
    Column("reason", String(1024), nullable=False),
    Column("create_time", BigInteger, nullable=False),
)

reservations = Table(
    "reservations",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("pool_id", String(63), ForeignKey("pools.id"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("start_time", BigInteger, nullable=False),
    Column("end_time", BigInteger, nullable=False),
    Column("amounts", JSON, nullable=False),
    Column("priority", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("create_time", BigInteger, nullable=False),
    Column("update_time", BigInteger, nullable=False),
    Column("created_revision", BigInteger, nullable=False, unique=True),
    Column("revision", BigInteger, nullable=False),
    Column("impaired_by", String(64), nullable=True),
    Column("missing", JSON, nullable=True),
    Column("project", String(63), nullable=False, server_default=""),
    Index("reservations_pool_window", "pool_id", "status", "end_time"),
    Index("reservations_status_start", "status", "start_time"),
)

allocations = Table(
    "allocation_claims",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("pool_id", String(63), ForeignKey("pools.id"), nullable=False, index=True),
    Column("reservation_id", String(64), nullable=True, index=True),
    Column("amounts", JSON, nullable=False),
    Column("start_time", BigInteger, nullable=False),
    Column("end_time", BigInteger, nullable=True),
)
"""Capacity held by instances (written by the allocation area through `claims`)."""


def _pool(row: Any) -> Pool:
    return Pool(row.id, row.provider, row.availability_zone, row.create_time, row.project)


def _change(row: Any) -> CapacityChange:
    return CapacityChange(
        row.id, row.pool_id, row.increase, dict(row.amounts), row.start_time, row.end_time,
        row.reason, row.create_time,
    )


def _reservation(row: Any) -> Reservation:
    return Reservation(
        id=row.id, pool_id=row.pool_id, name=row.name, start=row.start_time, end=row.end_time,
        amounts=dict(row.amounts), priority=Priority(row.priority), status=Status(row.status),
        create_time=row.create_time, update_time=row.update_time,
        created_revision=row.created_revision, revision=row.revision,
        impairment=None if row.impaired_by is None
        else Impairment(row.impaired_by, dict(row.missing or {})),
        project=row.project,
    )


def reservation_values(r: Reservation) -> dict[str, Any]:
    return {
        "id": r.id, "pool_id": r.pool_id, "name": r.name, "start_time": r.start,
        "end_time": r.end, "amounts": r.amounts, "priority": int(r.priority),
        "status": r.status.value, "create_time": r.create_time, "update_time": r.update_time,
        "created_revision": r.created_revision, "revision": r.revision,
        "impaired_by": r.impairment.change_id if r.impairment else None,
        "missing": r.impairment.missing if r.impairment else None, "project": r.project,
    }


async def get_pool(conn: AsyncConnection, pool_id: str, include_deleted: bool = False
                   ) -> Pool | None:
    query = select(pools).where(pools.c.id == pool_id)
    if not include_deleted:
        query = query.where(_LIVE)
    row = (await conn.execute(query)).one_or_none()
    return _pool(row) if row else None


async def update_pool(conn: AsyncConnection, pool_id: str, values: dict[str, str]
                      ) -> Pool | None:
    """Sets fields of a pool (not deleted); returns it as updated, None if there is none."""
    row = (await conn.execute(
        update(pools).where(pools.c.id == pool_id, _LIVE).values(**values).returning(*pools.c)
    )).one_or_none()
    return _pool(row) if row else None


async def mark_deleted(conn: AsyncConnection, pool_id: str, now: int) -> None:
    """Marks a pool (locked by `claim_pool`) deleted."""
    await conn.execute(update(pools).where(pools.c.id == pool_id).values(delete_time=now))


async def live_reservation_ids(conn: AsyncConnection, pool_id: str, limit: int,
                               projects: Collection[str] | None = None) -> list[str]:
    """Up to `limit` ids of the pool's reservations a client may still change or cancel (of
    these `projects`, if not None)."""
    query = select(reservations.c.id).where(
        reservations.c.pool_id == pool_id, reservations.c.status.in_([s.value for s in LIVE]))
    if projects is not None:
        query = query.where(reservations.c.project.in_(sorted(projects)))
    rows = await conn.execute(query.order_by(reservations.c.created_revision).limit(limit))
    return [r.id for r in rows]


_CLAIM_POOL = (
    update(pools).where(pools.c.id == bindparam("pool_id"), _LIVE)
    .values(version=pools.c.version + 1).returning(*pools.c)
)


async def claim_pool(conn: AsyncConnection, pool_id: str) -> tuple[Pool, int] | None:
    """Locks a pool for a change of what it holds, until the transaction ends, and moves its
    version; returns the pool and its new version (None if there is no such pool, or it is
    deleted). Every capacity decision on a pool runs under this lock: one serialized step per
    pool."""
    row = (await conn.execute(_CLAIM_POOL, {"pool_id": pool_id})).one_or_none()
    return (_pool(row), int(row.version)) if row else None


_MOVE_VERSION = guarded_set(pools.c.id, pools.c.version)


def claim_pool_at(tx: Transaction, pool_id: str, version: int) -> int:
    """`claim_pool` in an optimistic transaction, for a pool whose version this process last
    saw as `version`: the move is written at commit, which fails (`StaleWrite`) if the pool
    changed meanwhile. Returns the new version."""
    assert tx.optimistic
    tx.defer(_MOVE_VERSION, {"row_key": pool_id, "was": version, "value": version + 1})
    return version + 1


async def lock_pools(conn: AsyncConnection, pool_ids: set[str]) -> None:
    """Locks pools, in id order, without moving their versions (for changes that do not alter
    what the pools hold, such as clock-driven status moves)."""
    if pool_ids:
        await conn.execute(
            select(pools.c.id).where(pools.c.id.in_(pool_ids)).order_by(pools.c.id)
            .with_for_update()
        )


async def existing_pool_ids(conn: AsyncConnection, pool_ids: Sequence[str],
                            projects: Collection[str] | None = None) -> set[str]:
    """Which of these pools exist (and belong to one of `projects`, if not None)."""
    query = select(pools.c.id).where(pools.c.id.in_(set(pool_ids)), _LIVE)
    if projects is not None:
        query = query.where(pools.c.project.in_(sorted(projects)))
    return {r.id for r in await conn.execute(query)}


async def list_pools(conn: AsyncConnection, after: str, limit: int,
                     projects: Collection[str] | None = None) -> list[Pool]:
    """Pools by id after `after` (of `projects`, if not None)."""
    query = select(pools).where(pools.c.id > after, _LIVE)
    if projects is not None:
        query = query.where(pools.c.project.in_(sorted(projects)))
    rows = await conn.execute(query.order_by(pools.c.id).limit(limit))
    return [_pool(r) for r in rows]


async def insert_pool(conn: AsyncConnection, pool: Pool) -> bool:
    """Inserts a pool; False if one with its id exists (or is being created concurrently)."""
    result = await conn.execute(
        insert_if_absent(
            conn, pools, id=pool.id, provider=pool.provider,
            availability_zone=pool.availability_zone, create_time=pool.create_time,
            project=pool.project,
        )
    )
    return result.rowcount == 1


async def get_change(conn: AsyncConnection, change_id: str) -> CapacityChange | None:
    query = select(capacity_changes).where(capacity_changes.c.id == change_id)
    row = (await conn.execute(query)).one_or_none()
    return _change(row) if row else None


async def insert_change(conn: AsyncConnection, change: CapacityChange) -> None:
    await conn.execute(
        capacity_changes.insert().values(
            id=change.id, pool_id=change.pool_id, increase=change.increase,
            amounts=change.amounts, start_time=change.start, end_time=change.end,
            reason=change.reason, create_time=change.create_time,
        )
    )


def _overlaps(table: Table, start: int, end: int | None) -> Any:
    condition = or_(table.c.end_time.is_(None), table.c.end_time > start)
    if end is not None:
        condition = and_(condition, table.c.start_time < end)
    return condition


@dataclass(frozen=True)
class PoolClaims:
    """What a pool holds over a window: capacity changes, reservations that hold capacity, and
    instance allocations outside and inside reservations."""

    changes: list[LedgerChange]
    held: list[Reservation]
    outside: list[Claim]
    """Instance claims that count against the pool (`model.instance_claim_parts`)."""
    inside: dict[str, list[Claim]]
    """Instance claims inside reservations that hold them, by reservation id."""
    valid_until: int | None
    """When the split of instance claims changes with the clock: the earliest future end of a
    reservation of an instance."""

    def ledger(self) -> PoolLedger:
        return PoolLedger(self.changes, [r.claim() for r in self.held],
                          allocations_outside=self.outside,
                          allocations_inside=[c for cs in self.inside.values() for c in cs])

    def holdings(self, version: int, since: int) -> PoolHoldings:
        """These claims as a pool's cached holdings from `since` on."""
        holdings = PoolHoldings(version, since, self.changes, valid_until=self.valid_until)
        for r in self.held:
            holdings.add(r.claim())
        for claim in self.outside:
            holdings.add_outside(claim)
        for reservation_id, claims in self.inside.items():
            for claim in claims:
                if claim.end is not None and claim.end > since:
                    holdings.add_inside(reservation_id, claim.amounts, claim.end)
        return holdings


_HOLDING_VALUES = [s.value for s in HOLDING]


async def load_changes(conn: AsyncConnection, pool_id: str, start: int, end: int | None
                       ) -> list[LedgerChange]:
    """The pool's capacity changes that overlap [start, end)."""
    rows = await conn.execute(
        select(capacity_changes).where(
            capacity_changes.c.pool_id == pool_id, _overlaps(capacity_changes, start, end)
        )
    )
    return [LedgerChange(c.start, c.end, c.delta()) for c in map(_change, rows)]


async def load_claims(
    conn: AsyncConnection, pool_id: str, start: int, end: int | None, now: int
) -> PoolClaims:
    """Everything the pool holds that overlaps [start, end), instance claims split as of `now`
    (`model.instance_claim_parts`)."""
    changes = await load_changes(conn, pool_id, start, end)
    rows = await conn.execute(
        select(reservations).where(
            reservations.c.pool_id == pool_id,
            reservations.c.status.in_([s.value for s in HOLDING]),
            _overlaps(reservations, start, end),
        )
    )
    held = [_reservation(r) for r in rows]
    claims = await conn.execute(
        select(allocations, reservations.c.status.label("reservation_status"),
               reservations.c.end_time.label("reservation_end"))
        .outerjoin(reservations, reservations.c.id == allocations.c.reservation_id)
        .where(allocations.c.pool_id == pool_id, _overlaps(allocations, start, end))
    )
    outside: list[Claim] = []
    inside: dict[str, list[Claim]] = {}
    ends: list[int] = []
    for row in claims:
        claim = Claim(row.id, row.start_time, row.end_time, dict(row.amounts),
                      holder=row.reservation_id or "")
        reservation_end = row.reservation_end if row.reservation_id else None
        part_in, part_out = instance_claim_parts(
            claim, row.reservation_status in _HOLDING_VALUES, reservation_end, now)
        if part_in is not None:
            inside.setdefault(claim.holder, []).append(part_in)
        if part_out is not None:
            outside.append(part_out)
        if reservation_end is not None and reservation_end > now and row.end_time is None:
            ends.append(reservation_end)
    return PoolClaims(changes, held, outside, inside, min(ends, default=None))


_CREATED = "reservation.created"
_CHANGED_OTHERWISE = select(
    head_table.c.oldest,
    exists().where(
        events_table.c.revision > bindparam("revision"),
        events_table.c.scope == bindparam("pool_id"), events_table.c.kind != _CREATED,
    ).label("changed"))
# By created_revision alone, and the pool picked out here: given the pool too, SQLite searches
# all of the pool's reservations (by reservations_pool_window) for the few created since.
_CREATED_SINCE = select(reservations).where(
    reservations.c.created_revision > bindparam("revision"))


async def created_since(conn: AsyncConnection, pool_id: str, revision: int
                        ) -> list[Reservation] | None:
    """The reservations created in the pool after `revision`, if the event log shows that
    nothing else of the pool changed since: every change of what a pool holds appends an event
    with the pool as its scope. None if something else did, or the log no longer goes back
    that far."""
    values = {"revision": revision, "pool_id": pool_id}
    log = (await conn.execute(_CHANGED_OTHERWISE, values)).one()
    if log.changed or log.oldest > revision + 1:
        return None
    return [_reservation(r) for r in await conn.execute(_CREATED_SINCE, values)
            if r.pool_id == pool_id]


async def load_ledger(
    conn: AsyncConnection, pool_id: str, start: int, end: int | None, now: int
) -> tuple[PoolLedger, list[Reservation]]:
    """The pool's ledger over [start, end), with the reservations that hold capacity there."""
    claims = await load_claims(conn, pool_id, start, end, now)
    return claims.ledger(), claims.held


async def used_by_instances(conn: AsyncConnection, reservation_id: str) -> dict[str, int]:
    """What the instances allocated against a reservation take from it now."""
    rows = await conn.execute(
        select(allocations.c.amounts).where(
            allocations.c.reservation_id == reservation_id, allocations.c.end_time.is_(None)
        )
    )
    total: dict[str, int] = {}
    for (amounts,) in rows:
        for k, v in amounts.items():
            total[k] = total.get(k, 0) + v
    return total


async def get_reservation(
    conn: AsyncConnection, reservation_id: str, lock: bool = False
) -> Reservation | None:
    query = select(reservations).where(reservations.c.id == reservation_id)
    if lock:
        query = query.with_for_update()
    row = (await conn.execute(query)).one_or_none()
    return _reservation(row) if row else None


async def save_reservation(conn: AsyncConnection, r: Reservation) -> None:
    values = reservation_values(r)
    del values["id"]
    await conn.execute(update(reservations).where(reservations.c.id == r.id).values(**values))


async def list_reservations(
    conn: AsyncConnection, *, pool_id: str, statuses: Sequence[Status], window_start: int | None,
    window_end: int | None, after_revision: int, limit: int,
    projects: Collection[str] | None = None,
) -> list[Reservation]:
    """Reservations matching the filters (of `projects`, if not None) in creation order."""
    query = select(reservations).where(reservations.c.created_revision > after_revision)
    if projects is not None:
        query = query.where(reservations.c.project.in_(sorted(projects)))
    if pool_id:
        query = query.where(reservations.c.pool_id == pool_id)
    if statuses:
        query = query.where(reservations.c.status.in_([s.value for s in statuses]))
    if window_start is not None:
        query = query.where(reservations.c.end_time > window_start)
    if window_end is not None:
        query = query.where(reservations.c.start_time < window_end)
    query = query.order_by(reservations.c.created_revision).limit(limit)
    return [_reservation(r) for r in await conn.execute(query)]


async def impaired(conn: AsyncConnection, pool_id: str, now: int) -> list[Reservation]:
    rows = await conn.execute(
        select(reservations).where(
            reservations.c.pool_id == pool_id,
            reservations.c.status == Status.IMPAIRED.value,
            reservations.c.end_time > now,
        )
    )
    return [_reservation(r) for r in rows]


async def due_transitions(
    conn: AsyncConnection, now: int, lock_in: set[str] | None = None
) -> list[Reservation]:
    """Reservations whose clock-driven status is behind `now`; with `lock_in`, only those of
    these (already locked) pools, and locked."""
    query = (
        select(reservations).where(
            or_(
                and_(reservations.c.status == Status.PENDING.value,
                     reservations.c.start_time <= now),
                and_(reservations.c.status.in_([s.value for s in (Status.ACTIVE, Status.IMPAIRED)]),
                     reservations.c.end_time <= now),
            )
        ).order_by(reservations.c.created_revision)
    )
    if lock_in is not None:
        query = query.where(reservations.c.pool_id.in_(lock_in)).with_for_update()
    return [_reservation(r) for r in await conn.execute(query)]


async def next_transition(conn: AsyncConnection, now: int) -> int | None:
    """The earliest future instant at which some reservation's status moves with the clock."""
    starts = select(func.min(reservations.c.start_time)).where(
        reservations.c.status == Status.PENDING.value, reservations.c.start_time > now
    )
    ends = select(func.min(reservations.c.end_time)).where(
        reservations.c.status.in_([s.value for s in (Status.ACTIVE, Status.IMPAIRED)]),
        reservations.c.end_time > now,
    )
    candidates = [(await conn.execute(q)).scalar() for q in (starts, ends)]
    present = [int(c) for c in candidates if c is not None]
    return min(present) if present else None

"""Allocation storage: the instances table and the queries the servicer and lifecycle run."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    bindparam,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.server.allocation.model import Instance, Status
from switchboard.server.db import BulkWrite, guarded_set, metadata
from switchboard.server.eventlog import Transaction
from switchboard.server.reservation.model import Status as ReservationStatus
from switchboard.server.reservation.store import reservations

instances = Table(
    "instances",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("pool_id", String(63), ForeignKey("pools.id"), nullable=False),
    Column("flavor", String(255), nullable=False),
    Column("image", String(255), nullable=False),
    Column("networks", JSON, nullable=False),
    Column("reservation_id", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("status_message", String(1024), nullable=False),
    Column("vim_server_id", String(255), nullable=False),
    Column("amounts", JSON, nullable=False),
    Column("create_time", BigInteger, nullable=False),
    Column("update_time", BigInteger, nullable=False),
    Column("created_revision", BigInteger, nullable=False, unique=True),
    Column("revision", BigInteger, nullable=False),
    Column("project", String(63), nullable=False, server_default=""),
    Index("instances_pool", "pool_id", "created_revision"),
    Index("instances_reservation", "reservation_id", "status"),
    Index("instances_status", "status"),
)

ENDED = (ReservationStatus.EXPIRED.value, ReservationStatus.CANCELLED.value)
"""Reservation statuses whose instances are destroyed (the reservation end policy)."""


def _instance(row: Any) -> Instance:
    return Instance(
        id=row.id, name=row.name, pool_id=row.pool_id, flavor=row.flavor, image=row.image,
        networks=tuple(row.networks), reservation_id=row.reservation_id,
        status=Status(row.status), status_message=row.status_message,
        vim_server_id=row.vim_server_id, amounts=dict(row.amounts),
        create_time=row.create_time, update_time=row.update_time,
        created_revision=row.created_revision, revision=row.revision, project=row.project,
    )


def instance_values(i: Instance) -> dict[str, Any]:
    return {
        "id": i.id, "name": i.name, "pool_id": i.pool_id, "flavor": i.flavor, "image": i.image,
        "networks": list(i.networks), "reservation_id": i.reservation_id,
        "status": i.status.value, "status_message": i.status_message,
        "vim_server_id": i.vim_server_id, "amounts": i.amounts, "create_time": i.create_time,
        "update_time": i.update_time, "created_revision": i.created_revision,
        "revision": i.revision, "project": i.project,
    }


_BY_IDS = (select(instances).where(instances.c.id.in_(bindparam("ids", expanding=True)))
           .order_by(instances.c.id))
_BY_IDS_LOCKED = _BY_IDS.with_for_update()


async def get_instances(
    conn: AsyncConnection, ids: Collection[str], lock: bool = False
) -> dict[str, Instance]:
    """The instances with these ids (locked, in id order, with `lock`)."""
    rows = await conn.execute(_BY_IDS_LOCKED if lock else _BY_IDS, {"ids": list(set(ids))})
    return {row.id: _instance(row) for row in rows}


_REVISIONS_LOCKED = (
    select(instances.c.id, instances.c.revision)
    .where(instances.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(instances.c.id).with_for_update()
)


async def lock_revisions(conn: AsyncConnection, ids: Collection[str]) -> dict[str, int]:
    """Locks the instances with these ids, in id order; returns their revisions."""
    rows = await conn.execute(_REVISIONS_LOCKED, {"ids": list(set(ids))})
    return {row.id: row.revision for row in rows}


async def get_instance(conn: AsyncConnection, instance_id: str, lock: bool = False
                       ) -> Instance | None:
    return (await get_instances(conn, [instance_id], lock)).get(instance_id)


SAVE_STATUSES = BulkWrite(update(instances).where(instances.c.id == bindparam("instance_id"))
                          .values({name: bindparam(name) for name in (
                              "status", "status_message", "vim_server_id", "update_time",
                              "revision")}))
"""Writes the status fields of instances, from `status_rows`."""


def status_rows(changed: Sequence[Instance]) -> list[dict[str, Any]]:
    return [
        {"instance_id": i.id, "status": i.status.value, "status_message": i.status_message,
         "vim_server_id": i.vim_server_id, "update_time": i.update_time, "revision": i.revision}
        for i in changed]


_CHECK_REVISION = guarded_set(instances.c.id, instances.c.revision)


def check_revisions(tx: Transaction, taken: Iterable[Instance]) -> None:
    """For instances an optimistic transaction takes as this process last wrote them, without
    reading them: at commit, each row must still be at that revision (guarded writes run before
    the others), or the transaction fails (`StaleWrite`)."""
    tx.defer(_CHECK_REVISION, *({"row_key": i.id, "was": i.revision, "value": i.revision}
                                for i in taken))


async def list_instances(
    conn: AsyncConnection, *, pool_id: str, reservation_id: str, statuses: Sequence[Status],
    after_revision: int, limit: int, projects: Collection[str] | None = None,
) -> list[Instance]:
    """Instances matching the filters (of `projects`, if not None) in creation order."""
    query = select(instances).where(instances.c.created_revision > after_revision)
    if projects is not None:
        query = query.where(instances.c.project.in_(sorted(projects)))
    if pool_id:
        query = query.where(instances.c.pool_id == pool_id)
    if reservation_id:
        query = query.where(instances.c.reservation_id == reservation_id)
    if statuses:
        query = query.where(instances.c.status.in_([s.value for s in statuses]))
    query = query.order_by(instances.c.created_revision).limit(limit)
    return [_instance(r) for r in await conn.execute(query)]


async def unfinished(conn: AsyncConnection) -> list[Instance]:
    """Instances waiting on the VIM: building or deleting."""
    query = select(instances).where(
        instances.c.status.in_([Status.BUILDING.value, Status.DELETING.value])
    ).order_by(instances.c.created_revision)
    return [_instance(r) for r in await conn.execute(query)]


async def live_ids(conn: AsyncConnection, pool_id: str, limit: int,
                   projects: Collection[str] | None = None) -> list[str]:
    """Up to `limit` ids of the pool's instances that are not DELETED (of `projects`, if not
    None)."""
    query = select(instances.c.id).where(instances.c.pool_id == pool_id,
                                         instances.c.status != Status.DELETED.value)
    if projects is not None:
        query = query.where(instances.c.project.in_(sorted(projects)))
    rows = await conn.execute(query.order_by(instances.c.created_revision).limit(limit))
    return [r.id for r in rows]


async def orphaned(conn: AsyncConnection, lock: bool = False) -> list[Instance]:
    """Instances not yet being deleted whose reservation has ended or was cancelled."""
    query = (
        select(instances)
        .join(reservations, reservations.c.id == instances.c.reservation_id)
        .where(
            reservations.c.status.in_(ENDED),
            instances.c.status.in_([s.value for s in (Status.BUILDING, Status.ACTIVE,
                                                      Status.ERROR)]),
        )
        .order_by(instances.c.id)
    )
    if lock:
        query = query.with_for_update(of=instances)
    return [_instance(r) for r in await conn.execute(query)]

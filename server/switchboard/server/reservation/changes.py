"""Reservation changes with their events: the one way a reservation's row and its event are
written together; and the events of pools and their capacity. Every event records who caused it
(`Transaction.principal`) and the project of what it is about (the watch filter reads it)."""

from __future__ import annotations

from switchboard.reservation.v1 import reservation_pb2 as pb
from switchboard.server.eventlog import Transaction
from switchboard.server.ownership import Visibility
from switchboard.server.reservation import store
from switchboard.server.reservation.convert import (
    STATUS_TO_PB,
    change_pb,
    pool_pb,
    reservation_pb,
    resources_pb,
)
from switchboard.server.reservation.model import (
    CapacityChange,
    Impairment,
    Pool,
    Reservation,
    Status,
)
from switchboard.server.reservation.validate import AREA
from switchboard.server.timestamps import from_micros
from switchboard.server.watch import Subject

_EVENT_TYPES = {
    "reservation.created": pb.RESERVATION_EVENT_TYPE_CREATED,
    "reservation.updated": pb.RESERVATION_EVENT_TYPE_UPDATED,
    "reservation.status_changed": pb.RESERVATION_EVENT_TYPE_STATUS_CHANGED,
}
KINDS = tuple(_EVENT_TYPES)
_CAPACITY_EVENT_TYPES = {
    "pool.created": pb.CAPACITY_EVENT_TYPE_POOL_CREATED,
    "pool.updated": pb.CAPACITY_EVENT_TYPE_POOL_UPDATED,
    "pool.deleted": pb.CAPACITY_EVENT_TYPE_POOL_DELETED,
    "capacity.increased": pb.CAPACITY_EVENT_TYPE_CAPACITY_INCREASED,
    "capacity.decreased": pb.CAPACITY_EVENT_TYPE_CAPACITY_DECREASED,
    "capacity.over_allocated": pb.CAPACITY_EVENT_TYPE_OVER_ALLOCATED,
}
CAPACITY_KINDS = tuple(_CAPACITY_EVENT_TYPES)


def pool_subject(pool_id: str) -> Subject:
    """A watch's pool filter: every event of the reservation area is scoped to its pool."""
    return Subject("pool_id", "pool", pool_id, store.get_pool, AREA, column="scope",
                   visibility=Visibility.SHARED)


def reservation_subject(reservation_id: str) -> Subject:
    """A watch's reservation filter."""
    return Subject("reservation_id", "reservation", reservation_id, store.get_reservation,
                   AREA, KINDS)


def record_reservation_event(
    tx: Transaction, revision: int, kind: str, r: Reservation, previous: Status | None = None
) -> pb.ReservationEvent:
    """Appends a reservation event for `r` as it is after the change; returns the event."""
    event = pb.ReservationEvent(
        revision=revision, type=_EVENT_TYPES[kind], reservation=reservation_pb(r),
        time=from_micros(tx.now), caused_by=tx.principal,
    )
    if previous is not None:
        event.previous_status = STATUS_TO_PB[previous]
    tx.append(revision, AREA, kind, r.id, r.pool_id, event.SerializeToString(), r.project)
    return event


def record_capacity_event(
    tx: Transaction, revision: int, kind: str, pool: Pool, change: CapacityChange | None = None,
    over_allocated: dict[str, int] | None = None,
) -> None:
    """Appends a pool or capacity event (of the pool's project: shared pools' are "")."""
    event = pb.CapacityEvent(revision=revision, type=_CAPACITY_EVENT_TYPES[kind],
                             pool=pool_pb(pool), time=from_micros(tx.now),
                             caused_by=tx.principal)
    if change is not None:
        event.change.CopyFrom(change_pb(change))
    if over_allocated is not None:
        event.over_allocated.CopyFrom(resources_pb(over_allocated))
    key = pool.id if change is None else change.id
    tx.append(revision, AREA, kind, key, pool.id, event.SerializeToString(), pool.project)


async def set_status(tx: Transaction, r: Reservation, status: Status,
                     impairment: Impairment | None = None) -> Reservation:
    """Moves a reservation to a new status (IMPAIRED with why), with its event."""
    revision = await tx.next_revision()
    changed = r.with_status(status, tx.now, revision, impairment)
    await store.save_reservation(tx.conn, changed)
    record_reservation_event(tx, revision, "reservation.status_changed", changed, r.status)
    return changed

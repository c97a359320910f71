"""Reservation changes with their events: the one way a reservation's row and its event are
written together."""

from __future__ import annotations

from switchboard.reservation.v1 import reservation_pb2 as pb
from switchboard.server.eventlog import Transaction
from switchboard.server.ownership import Visibility
from switchboard.server.reservation import store
from switchboard.server.reservation.convert import STATUS_TO_PB, reservation_pb
from switchboard.server.reservation.model import Impairment, Reservation, Status
from switchboard.server.reservation.validate import AREA
from switchboard.server.timestamps import from_micros
from switchboard.server.watch import Subject

_EVENT_TYPES = {
    "reservation.created": pb.RESERVATION_EVENT_TYPE_CREATED,
    "reservation.updated": pb.RESERVATION_EVENT_TYPE_UPDATED,
    "reservation.status_changed": pb.RESERVATION_EVENT_TYPE_STATUS_CHANGED,
}
KINDS = tuple(_EVENT_TYPES)


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
        time=from_micros(tx.now),
    )
    if previous is not None:
        event.previous_status = STATUS_TO_PB[previous]
    tx.append(revision, AREA, kind, r.id, r.pool_id, event.SerializeToString())
    return event


async def set_status(tx: Transaction, r: Reservation, status: Status,
                     impairment: Impairment | None = None) -> Reservation:
    """Moves a reservation to a new status (IMPAIRED with why), with its event."""
    revision = await tx.next_revision()
    changed = r.with_status(status, tx.now, revision, impairment)
    await store.save_reservation(tx.conn, changed)
    record_reservation_event(tx, revision, "reservation.status_changed", changed, r.status)
    return changed

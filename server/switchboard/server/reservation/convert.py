"""Proto messages from reservation records and back."""

from __future__ import annotations

from collections.abc import Mapping

from switchboard.reservation.v1 import reservation_pb2 as pb
from switchboard.server.reservation.ledger import RESOURCE_TYPES, Binding, Figures, Step
from switchboard.server.reservation.model import CapacityChange, Pool, Priority, Reservation, Status
from switchboard.server.timestamps import format_micros, from_micros

PRIORITY_TO_PB = {
    Priority.HIGH: pb.PRIORITY_HIGH,
    Priority.NORMAL: pb.PRIORITY_NORMAL,
    Priority.LOW: pb.PRIORITY_LOW,
}
PRIORITY_FROM_PB = {v: k for k, v in PRIORITY_TO_PB.items()} | {
    pb.PRIORITY_UNSPECIFIED: Priority.NORMAL
}
STATUS_TO_PB: dict[Status, pb.ReservationStatus] = {
    Status.PENDING: pb.RESERVATION_STATUS_PENDING,
    Status.ACTIVE: pb.RESERVATION_STATUS_ACTIVE,
    Status.EXPIRED: pb.RESERVATION_STATUS_EXPIRED,
    Status.CANCELLED: pb.RESERVATION_STATUS_CANCELLED,
    Status.IMPAIRED: pb.RESERVATION_STATUS_IMPAIRED,
}
STATUS_FROM_PB = {v: k for k, v in STATUS_TO_PB.items()}


def resources_pb(amounts: Mapping[str, int]) -> pb.Resources:
    return pb.Resources(**{k: v for k, v in amounts.items() if v})


def amounts_of(resources: pb.Resources) -> dict[str, int]:
    return {k: getattr(resources, k) for k in RESOURCE_TYPES}


def binding_text(binding: Binding | None, shown: int = 5) -> str:
    """The end of a refusal's message: when the request binds and what holds capacity then."""
    if binding is None:
        return ""
    ids = binding.reservation_ids
    held = ""
    if ids:
        more = f" and {len(ids) - shown} more" if len(ids) > shown else ""
        held = f", where reservations {', '.join(ids[:shown])}{more} hold capacity"
    return f"; it binds at {format_micros(binding.at)}{held}"


def pool_pb(pool: Pool) -> pb.Pool:
    return pb.Pool(
        id=pool.id, provider=pool.provider, availability_zone=pool.availability_zone,
        create_time=from_micros(pool.create_time), project=pool.project,
    )


def change_pb(change: CapacityChange) -> pb.CapacityChange:
    message = pb.CapacityChange(
        id=change.id, pool_id=change.pool_id,
        type=pb.CAPACITY_CHANGE_TYPE_INCREASE if change.increase
        else pb.CAPACITY_CHANGE_TYPE_DECREASE,
        resources=resources_pb(change.amounts), start_time=from_micros(change.start),
        reason=change.reason, create_time=from_micros(change.create_time),
    )
    if change.end is not None:
        message.end_time.CopyFrom(from_micros(change.end))
    return message


def reservation_pb(r: Reservation) -> pb.Reservation:
    message = pb.Reservation(
        id=r.id, name=r.name, pool_id=r.pool_id, start_time=from_micros(r.start),
        end_time=from_micros(r.end), resources=resources_pb(r.amounts),
        priority=PRIORITY_TO_PB[r.priority], status=STATUS_TO_PB[r.status],
        create_time=from_micros(r.create_time), update_time=from_micros(r.update_time),
        revision=r.revision, project=r.project,
    )
    if r.impairment is not None:
        message.impairment.capacity_change_id = r.impairment.change_id
        message.impairment.missing.CopyFrom(resources_pb(r.impairment.missing))
    return message


def figures_pb(f: Figures, over_allocated: Figures | None = None) -> pb.CapacityFigures:
    """`over_allocated`: the figures to take it from, when not `f` (the minimum of it over a
    window comes from the maximum of available)."""
    return pb.CapacityFigures(
        total=resources_pb(f.total), reserved=resources_pb(f.reserved),
        allocated=resources_pb(f.allocated), available=resources_pb(f.available),
        over_allocated=resources_pb((over_allocated or f).over_allocated),
    )


def pool_capacity_pb(
    pool_id: str, minimum: Figures, maximum: Figures, timeline: list[Step]
) -> pb.PoolCapacity:
    return pb.PoolCapacity(
        pool_id=pool_id, minimum=figures_pb(minimum, maximum),
        maximum=figures_pb(maximum, minimum),
        timeline=[pb.CapacityStep(time=from_micros(s.at), figures=figures_pb(s.figures))
                  for s in timeline],
    )

"""Instance changes with their events: the one way an instance's row and its event are written
together."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from switchboard.allocation.v1 import allocation_pb2 as pb
from switchboard.server.allocation import store
from switchboard.server.allocation.convert import STATUS_TO_PB, instance_pb
from switchboard.server.allocation.model import Instance, Status
from switchboard.server.eventlog import Transaction
from switchboard.server.timestamps import from_micros

AREA = "allocation"
_EVENT_TYPES = {
    "instance.created": pb.INSTANCE_EVENT_TYPE_CREATED,
    "instance.status_changed": pb.INSTANCE_EVENT_TYPE_STATUS_CHANGED,
}
KINDS = tuple(_EVENT_TYPES)


def record_instance_event(
    tx: Transaction, revision: int, kind: str, i: Instance, previous: Status | None = None
) -> pb.InstanceEvent:
    """Appends an instance event for `i` as it is after the change; returns the event."""
    event = pb.InstanceEvent(
        revision=revision, type=_EVENT_TYPES[kind], instance=instance_pb(i),
        time=from_micros(tx.now), caused_by=tx.principal,
    )
    if previous is not None:
        event.previous_status = STATUS_TO_PB[previous]
    tx.append(revision, AREA, kind, i.id, i.pool_id, event.SerializeToString(), i.project)
    return event


@dataclass(frozen=True)
class Move:
    """One instance's move to a new status."""

    instance: Instance
    status: Status
    message: str = ""
    vim_server_id: str = ""


async def set_statuses(tx: Transaction, moves: Sequence[Move]) -> list[Instance]:
    """Moves instances to new statuses, written together, each with its event."""
    if not moves:
        return []
    changed = []
    for move, revision in zip(moves, await tx.next_revisions(len(moves)), strict=True):
        i = move.instance.with_status(move.status, move.message, tx.now, revision,
                                      move.vim_server_id)
        record_instance_event(tx, revision, "instance.status_changed", i, move.instance.status)
        changed.append(i)
    tx.defer(store.SAVE_STATUSES, *store.status_rows(changed))
    return changed


async def set_status(tx: Transaction, i: Instance, status: Status, message: str = "") -> Instance:
    """Moves one instance to a new status, with its event."""
    return (await set_statuses(tx, [Move(i, status, message)]))[0]

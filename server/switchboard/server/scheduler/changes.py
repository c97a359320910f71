"""Schedule and blackout changes with their events: the one way a row and its event are written
together. Callers lock the rows they change before taking revisions (the event head is locked
last). Every event records who caused it (`tx.principal`) and, for a schedule, its project;
blackouts belong to no project."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.scheduler.v1 import scheduler_pb2 as pb
from switchboard.server.eventlog import Transaction
from switchboard.server.scheduler import store
from switchboard.server.scheduler.convert import (
    STATE_TO_PB,
    VNF_STATE_TO_PB,
    blackout_pb,
    hit_pb,
    schedule_pb,
    ticket_pb,
)
from switchboard.server.scheduler.model import Blackout, Schedule, Step, ticket_move
from switchboard.server.scheduler.tickets import TicketDriver
from switchboard.server.timestamps import from_micros

T = TypeVar("T")

AREA = "scheduler"
SCHEDULE_KINDS = ("schedule.created", "schedule.changed")
BLACKOUT_KINDS = ("blackout.created", "blackout.deleted")
KINDS = SCHEDULE_KINDS + BLACKOUT_KINDS


Check = Callable[[AsyncConnection, T], Awaitable[None]]


async def create_schedule_checked(tx: Transaction, s: Schedule, check: Check[Schedule]
                                  ) -> Schedule:
    """Inserts a new schedule with its CREATED event, once `check` (which raises when the id is
    taken) has passed. The check runs after the revision is taken: every earlier writer has then
    committed, so it cannot miss a schedule created concurrently with the same id."""
    revision = await tx.next_revision()
    await check(tx.conn, s)
    created = replace(s, create_time=tx.now, update_time=tx.now, created_revision=revision,
                      revision=revision)
    await store.insert_schedule(tx.conn, created)
    event = pb.ScheduleEvent(revision=revision, type=pb.SCHEDULE_EVENT_TYPE_CREATED,
                             schedule=schedule_pb(created), time=from_micros(tx.now),
                             caused_by=tx.principal)
    tx.append(revision, AREA, "schedule.created", created.id, created.domain,
              event.SerializeToString(), project=created.project)
    return created


async def apply(tx: Transaction, steps: Sequence[Step], tickets: TicketDriver
                ) -> Schedule | None:
    """Writes the steps of one schedule, in order, each with its event and the ticket move it
    causes; returns the schedule after the last one (None when there are no steps). Its row must
    be locked already."""
    if not steps:
        return None
    last = steps[0].schedule
    for step, revision in zip(steps, await tx.next_revisions(len(steps)), strict=True):
        last = replace(step.schedule, update_time=tx.now, revision=revision)
        move = ticket_move(step)
        ticket = None if move is None else await tickets.move(tx, revision, last, *move)
        event = pb.ScheduleEvent(
            revision=revision, type=pb.SCHEDULE_EVENT_TYPE_BLACKOUT_HIT if step.hits
            else pb.SCHEDULE_EVENT_TYPE_STATE_CHANGED, blackout_hits=map(hit_pb, step.hits),
            schedule=schedule_pb(last), previous_state=STATE_TO_PB[step.previous],
            vnf_changes=[pb.VnfStateChange(vnf_name=name, previous_state=VNF_STATE_TO_PB[old],
                                           state=VNF_STATE_TO_PB[new])
                         for name, old, new in step.vnf_changes],
            time=from_micros(tx.now), caused_by=tx.principal)
        if ticket is not None:
            event.ticket.CopyFrom(ticket_pb(ticket))
        tx.append(revision, AREA, "schedule.changed", last.id, last.domain,
                  event.SerializeToString(), project=last.project)
    await store.save_schedule(tx.conn, last)
    return last


async def create_blackout_checked(tx: Transaction, b: Blackout, check: Check[Blackout]
                                  ) -> Blackout:
    """Inserts a new blackout with its event, once `check` has passed (as for schedules)."""
    revision = await tx.next_revision()
    await check(tx.conn, b)
    created = replace(b, create_time=tx.now, revision=revision)
    await store.insert_blackout(tx.conn, created)
    _blackout_event(tx, revision, "blackout.created", created)
    return created


async def delete_blackout(tx: Transaction, b: Blackout) -> None:
    revision = await tx.next_revision()
    await store.delete_blackout(tx.conn, b.id)
    _blackout_event(tx, revision, "blackout.deleted", b)


def _blackout_event(tx: Transaction, revision: int, kind: str, b: Blackout) -> None:
    event = pb.ScheduleEvent(
        revision=revision, blackout=blackout_pb(b), time=from_micros(tx.now),
        caused_by=tx.principal,
        type=pb.SCHEDULE_EVENT_TYPE_BLACKOUT_CREATED if kind == "blackout.created"
        else pb.SCHEDULE_EVENT_TYPE_BLACKOUT_DELETED)
    tx.append(revision, AREA, kind, b.id, "", event.SerializeToString())

"""The ticket driver interface, and the built-in ticket system kept in the server's database.

A driver is told of every ticket move inside the transaction of the schedule change that causes
it, so a ticket never disagrees with its schedule. The built-in driver writes its table in that
transaction. A driver for an external ticket system would write the move to an outbox table
here and deliver it after commit, retrying until the system has it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import Any, Protocol

from sqlalchemy import JSON, BigInteger, Column, Index, String, Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.server.db import metadata
from switchboard.server.eventlog import Transaction
from switchboard.server.scheduler import store
from switchboard.server.scheduler.model import (
    TICKET_ENDED,
    Schedule,
    Ticket,
    TicketState,
    TicketUpdate,
)


class TicketDriver(Protocol):
    async def move(self, tx: Transaction, revision: int, schedule: Schedule,
                   state: TicketState, note: str) -> Ticket | None:
        """Opens (OPEN) or moves the schedule's ticket in `tx`; returns it after the move, or
        None when nothing moved (no ticket to move, or it has ended)."""

    async def list(self, conn: AsyncConnection, *, schedule_id: str,
                   states: Sequence[TicketState], after: int, limit: int,
                   projects: Collection[str] | None) -> list[Ticket]:
        """Tickets in the order they were opened, after position `after`; only those of
        schedules of `projects`, unless None."""
        ...


tickets = Table(
    "tickets",
    metadata,
    Column("id", String(80), primary_key=True),
    Column("schedule_id", String(63), nullable=False, unique=True),
    Column("state", String(32), nullable=False),
    Column("summary", String(1024), nullable=False),
    Column("updates", JSON, nullable=False),
    Column("create_time", BigInteger, nullable=False),
    Column("update_time", BigInteger, nullable=False),
    Column("sequence", BigInteger, nullable=False, unique=True),
    Index("tickets_state", "state", "sequence"),
)


def _ticket(row: Any) -> Ticket:
    return Ticket(
        id=row.id, schedule_id=row.schedule_id, state=TicketState(row.state), summary=row.summary,
        updates=tuple(TicketUpdate(TicketState(u["state"]), u["note"], u["time"])
                      for u in row.updates),
        create_time=row.create_time, update_time=row.update_time, sequence=row.sequence)


def _updates(t: Ticket) -> list[dict[str, Any]]:
    return [{"state": u.state.value, "note": u.note, "time": u.time} for u in t.updates]


class DatabaseTickets:
    """The built-in ticket system: one ticket per accepted schedule, in the `tickets` table."""

    async def move(self, tx: Transaction, revision: int, schedule: Schedule,
                   state: TicketState, note: str) -> Ticket | None:
        row = (await tx.conn.execute(
            select(tickets).where(tickets.c.schedule_id == schedule.id))).one_or_none()
        entry = TicketUpdate(state, note, tx.now)
        if row is None:
            if state is not TicketState.OPEN:
                return None
            opened = Ticket(
                id=f"CHG-{revision:08d}", schedule_id=schedule.id, state=state,
                summary=f"{schedule.workflow_name} of {len(schedule.vnfs)} VNFs: "
                        f"{schedule.name or schedule.id}",
                updates=(entry,), create_time=tx.now, update_time=tx.now, sequence=revision)
            await tx.conn.execute(tickets.insert().values(
                id=opened.id, schedule_id=opened.schedule_id, state=state.value,
                summary=opened.summary, updates=_updates(opened), create_time=tx.now,
                update_time=tx.now, sequence=revision))
            return opened
        current = _ticket(row)
        if current.state in TICKET_ENDED or state is TicketState.OPEN:
            return None
        moved = replace(current, state=state, updates=(*current.updates, entry),
                        update_time=tx.now)
        await tx.conn.execute(update(tickets).where(tickets.c.id == moved.id).values(
            state=state.value, updates=_updates(moved), update_time=tx.now))
        return moved

    async def list(self, conn: AsyncConnection, *, schedule_id: str,
                   states: Sequence[TicketState], after: int, limit: int,
                   projects: Collection[str] | None) -> list[Ticket]:
        query = select(tickets).where(tickets.c.sequence > after)
        if projects is not None:
            query = query.where(tickets.c.schedule_id.in_(
                select(store.schedules.c.id).where(
                    store.schedules.c.project.in_(sorted(projects)))))
        if schedule_id:
            query = query.where(tickets.c.schedule_id == schedule_id)
        if states:
            query = query.where(tickets.c.state.in_([s.value for s in states]))
        query = query.order_by(tickets.c.sequence).limit(limit)
        return [_ticket(r) for r in await conn.execute(query)]

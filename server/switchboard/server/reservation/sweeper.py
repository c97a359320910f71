"""Moves reservations through PENDING -> ACTIVE -> EXPIRED as the server clock passes their
window, each move with its event."""

from __future__ import annotations

import asyncio

import structlog

from switchboard.server.clock import sleep_until_woken
from switchboard.server.eventlog import EventLog
from switchboard.server.reservation import store
from switchboard.server.reservation.changes import set_status
from switchboard.server.reservation.model import Status, status_at
from switchboard.server.tasks import BackgroundTask

log = structlog.get_logger("switchboard.reservation.sweeper")

IDLE_RECHECK = 60_000_000
"""Look again at least this often (µs): other processes may have added reservations."""


class Sweeper(BackgroundTask):
    """A background task the app owns: sleeps on the clock until the next transition is due."""

    name = "reservation-sweeper"

    def __init__(self, events: EventLog) -> None:
        super().__init__()
        self.events = events
        self.clock = events.clock
        self._wake = asyncio.Event()
        self._deadline: int | None = None  # None while a sweep is computing it

    def due(self, when: int) -> None:
        """A transition is due at `when`: wake early if that is before the planned wake-up."""
        if self._deadline is None or when < self._deadline:
            self._wake.set()

    async def sweep(self, now: int) -> int:
        """Applies every transition due at `now`; returns how many reservations moved."""
        async with self.events.db.read() as conn:
            if not await store.due_transitions(conn, now):
                return 0
        async with self.events.transaction() as tx:
            # Pools first, then reservations: the lock order every writer follows.
            pool_ids = {r.pool_id for r in await store.due_transitions(tx.conn, now)}
            await store.lock_pools(tx.conn, pool_ids)
            due = await store.due_transitions(tx.conn, now, lock_in=pool_ids)
            for r in due:
                status = Status.EXPIRED if r.status is not Status.PENDING else status_at(
                    r.start, r.end, tx.now)
                await set_status(tx, r, status)
        return len(due)

    async def run(self) -> None:
        while True:
            self._wake.clear()
            self._deadline = None
            now = self.clock.now()
            try:
                await self.sweep(now)
                async with self.events.db.read() as conn:
                    due = await store.next_transition(conn, now)
            except Exception:
                log.exception("sweep failed")
                due = None
            deadline = now + IDLE_RECHECK
            if due is not None:
                deadline = min(deadline, due)
            self._deadline = deadline
            await sleep_until_woken(self.clock, deadline, self._wake)

"""Dispatch: each SCHEDULED VNF's SO request goes out at its start (server clock), and the SO's
reports end it COMPLETED or FAILED.

One background task, in the replica holding its lease (`leases`). Before a schedule's first
request is sent the schedule becomes NOTIFICATIONS_INITIATED, so it can no longer be cancelled
under a running change; that transaction, as every one of the task's, is fenced by the lease, so
a dispatcher that lost its lease (paused past it) sends nothing. A request is
sent, then its VNF is marked TRIGGERED with the SO request id; a crash between the two leaves the
VNF SCHEDULED, and the send repeated after the restart is the same request to the driver (sends
are idempotent by key), so nothing is dispatched twice. At most `max_outstanding` requests are
TRIGGERED at once; a VNF whose start passed by more than `past_due` before it could be sent
becomes PAST_DUE. On start, every TRIGGERED VNF is rechecked with the driver.

No change is sent into a blackout: under the schedule's lock, before it is sent, a due VNF
whose change (from now, for its whole duration) a blackout covers becomes NOT_SCHEDULED
(AVAILABILITY) instead; one a new blackout placed again (its start now later) waits for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace

import structlog

from switchboard.server.clock import MICROS, sleep_until_woken
from switchboard.server.eventlog import EventLog
from switchboard.server.scheduler import store
from switchboard.server.scheduler.changes import apply
from switchboard.server.scheduler.model import (
    DISPATCHING,
    Schedule,
    Vnf,
    VnfState,
    notifications_initiated,
    vnf_moved,
)
from switchboard.server.scheduler.optimizer import Reason
from switchboard.server.scheduler.so import SoDriver, SoRequest, SoStatus, SoUpdate
from switchboard.server.scheduler.tickets import TicketDriver
from switchboard.server.tasks import BackgroundTask

log = structlog.get_logger("switchboard.scheduler.dispatch")

_RETRY_SECONDS = 5.0


@dataclass(frozen=True)
class DispatchSettings:
    max_outstanding: int
    """Most SO requests TRIGGERED and not yet ended, across all schedules."""
    past_due: int
    """How long (µs) after its start a VNF may still be sent."""


def so_request(s: Schedule, v: Vnf) -> SoRequest:
    return SoRequest(key=f"{s.id}/{v.name}", workflow_name=s.workflow_name, vnf_name=v.name,
                     payload=v.so_request)


class Dispatcher(BackgroundTask):
    """Sends due VNF changes to the SO and follows them to their end."""

    name = "scheduler-dispatcher"

    def __init__(self, events: EventLog, so: SoDriver, tickets: TicketDriver,
                 settings: DispatchSettings) -> None:
        super().__init__()
        self.events = events
        self.so = so
        self.tickets = tickets
        self.settings = settings
        self._wake = asyncio.Event()
        self._sending: set[str] = set()
        """Keys of the requests being sent and not yet marked TRIGGERED."""
        self._early: dict[str, SoUpdate] = {}
        """SO reports that came before their VNF was marked TRIGGERED (a request sent again
        whose outcome was already due), applied once it is."""

    def wake(self) -> None:
        """Tells the task something may be due (a schedule was approved, a request ended)."""
        self._wake.set()

    async def run(self) -> None:
        async with self.events.db.read() as conn:
            running = await store.in_states(conn, list(DISPATCHING))
        for s in running:
            for v in s.vnfs:
                if v.state is VnfState.TRIGGERED and v.trigger_time is not None:
                    await self.so.recheck(so_request(s, v), v.so_request_id, v.trigger_time)
        async with asyncio.TaskGroup() as group:
            group.create_task(self._dispatch())
            group.create_task(self._follow())

    async def _dispatch(self) -> None:
        clock = self.events.clock
        while True:
            self._wake.clear()
            try:
                when = await self.dispatch_due()
            except Exception:
                log.exception("dispatching failed")
                when = clock.now() + int(_RETRY_SECONDS * MICROS)
            await sleep_until_woken(clock, when, self._wake)

    async def dispatch_due(self) -> int | None:
        """Sends every due VNF change the cap allows, marks those too late PAST_DUE; returns
        when to look again (None: when woken)."""
        now = self.events.clock.now()
        async with self.events.db.read() as conn:
            schedules = await store.in_states(conn, list(DISPATCHING))
        outstanding = sum(v.state is VnfState.TRIGGERED for s in schedules for v in s.vnfs)
        waiting = sorted((v.start, s.created_revision, s.id, v.name) for s in schedules
                         for v in s.vnfs if v.state is VnfState.SCHEDULED and v.start is not None)
        later: list[int] = []
        for start, _, schedule_id, name in waiting:
            if start > now:
                later.append(start)
            elif now - start > self.settings.past_due:
                await self._move(schedule_id, name, VnfState.SCHEDULED, VnfState.PAST_DUE,
                                 "its start passed before its SO request could be sent")
            elif outstanding < self.settings.max_outstanding:
                if await self._send(schedule_id, name, now):
                    outstanding += 1
            else:
                later.append(start + self.settings.past_due + 1)  # PAST_DUE then, unless sent
        return min(later, default=None)

    async def _send(self, schedule_id: str, name: str, now: int) -> bool:
        async with self.events.transaction() as tx:
            s = await store.get_schedule(tx.conn, schedule_id, lock=True)
            if s is None or s.state not in DISPATCHING:
                return False
            vnf = next(v for v in s.vnfs if v.name == name)
            if vnf.state is not VnfState.SCHEDULED or vnf.start is None or vnf.start > now:
                return False  # sent meanwhile, or placed again later
            running = replace(vnf, start=now, end=now + s.change_duration)
            covering = [b.id for b in await store.blackouts_ending_after(tx.conn, now)
                        if running.hits(b)]
            if covering:
                await apply(tx, vnf_moved(
                    s, name, VnfState.NOT_SCHEDULED,
                    f"not sent: blackout {', '.join(covering)} covers its change",
                    reason=Reason.AVAILABILITY, dropped=True), self.tickets)
                return False
            await apply(tx, notifications_initiated(s), self.tickets)
        key = f"{schedule_id}/{name}"
        self._sending.add(key)
        try:
            so_request_id = await self.so.send(so_request(s, vnf))
        except Exception as error:
            self._sending.discard(key)
            log.warning("SO refused a request", schedule_id=schedule_id, vnf=name,
                        error=str(error))
            await self._move(schedule_id, name, VnfState.SCHEDULED, VnfState.ERROR,
                             f"the SO refused the request: {error}")
            return False
        try:
            triggered = await self._move(schedule_id, name, VnfState.SCHEDULED,
                                         VnfState.TRIGGERED, "", so_request_id=so_request_id,
                                         trigger_time=now)
        finally:
            self._sending.discard(key)
        if (early := self._early.pop(key, None)) is not None:
            await self.apply_updates([early])
        return triggered

    async def _move(self, schedule_id: str, name: str, expected: VnfState, state: VnfState,
                    message: str, so_request_id: str = "", trigger_time: int | None = None
                    ) -> bool:
        """Moves one VNF from `expected` to `state`, with its schedule's steps; False if it was
        not in `expected` (or, for an SO report, not the request reported on)."""
        async with self.events.transaction() as tx:
            s = await store.get_schedule(tx.conn, schedule_id, lock=True)
            if s is None or s.state not in DISPATCHING:
                return False
            vnf = next((v for v in s.vnfs if v.name == name), None)
            if vnf is None or vnf.state is not expected:
                return False
            if expected is VnfState.TRIGGERED and vnf.so_request_id != so_request_id:
                return False
            fields = {} if expected is VnfState.TRIGGERED else {
                "so_request_id": so_request_id, "trigger_time": trigger_time}
            await apply(tx, vnf_moved(s, name, state, message, **fields), self.tickets)
        return True

    async def _follow(self) -> None:
        async for updates in self.so.updates():
            try:
                await self.apply_updates(updates)
            except Exception:
                log.exception("applying SO updates failed")
            self.wake()

    async def apply_updates(self, updates: Sequence[SoUpdate]) -> None:
        for u in updates:
            schedule_id, _, name = u.key.partition("/")
            state = VnfState.COMPLETED if u.status is SoStatus.COMPLETED else VnfState.FAILED
            if not await self._move(schedule_id, name, VnfState.TRIGGERED, state, u.message,
                                    so_request_id=u.so_request_id) and u.key in self._sending:
                self._early[u.key] = u

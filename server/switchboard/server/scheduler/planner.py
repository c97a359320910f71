"""Background optimization: pending schedules are optimized one at a time, oldest first.

One background task the app owns. Optimizations are serialized so that each one sees the placed
changes of every live schedule (as `other_changes`) and every blackout, and two schedules never
claim the same element at the same time. The optimizer is CPU-bound and runs in a worker thread
(`asyncio.to_thread`) with a time limit, so the event loop keeps serving. A schedule cancelled or
deleted while it was being optimized keeps that state; the result is dropped. A schedule left in
OPTIMIZATION_IN_PROGRESS by a process that stopped is optimized again when the task starts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace

import structlog

from switchboard.server.clock import sleep_until_woken
from switchboard.server.eventlog import EventLog
from switchboard.server.scheduler import store
from switchboard.server.scheduler.changes import apply
from switchboard.server.scheduler.model import (
    LIVE,
    MICROS,
    VNF_PLACED,
    Optimization,
    Schedule,
    ScheduleState,
    can_optimize,
    fail_optimization,
    optimized,
    start_optimizing,
)
from switchboard.server.scheduler.optimizer import (
    Interval,
    Occupation,
    Problem,
    Reason,
    Solution,
    Vnf,
    optimize,
)
from switchboard.server.scheduler.tickets import TicketDriver
from switchboard.server.tasks import BackgroundTask

log = structlog.get_logger("switchboard.scheduler.planner")

REASON_MESSAGES = {
    Reason.AVAILABILITY: "no start fits a change window, the allowed-time policy and its "
                         "elements' blackouts",
    Reason.CONFLICT: "every start that fits overlaps another change on a common element",
    Reason.CONCURRENCY: "at every start that fits, concurrency_limit of this schedule's VNFs "
                        "are already running",
}
_POLL_SECONDS = 5.0
"""How often (server clock) the task looks for schedules another process created."""


@dataclass(frozen=True)
class PlannerSettings:
    time_limit_s: float
    """Most seconds one optimization may search."""
    immediate_horizon: int
    """How far ahead (µs) an immediate schedule's VNFs may be placed."""


def _ceil_s(micros: int) -> int:
    return -(-micros // MICROS)


def problem_of(s: Schedule, now: int, horizon: int, others: list[Schedule],
               blackouts: list[Occupation]) -> Problem:
    """The optimizer's problem for `s` at `now`: windows cut to start no earlier than now (an
    immediate schedule gets [now, now + horizon)), the changes of `others` as conflicts."""
    windows = [(now, now + horizon)] if s.immediate else [(w.start, w.end) for w in s.windows]
    cut = [Interval(_ceil_s(max(a, now)), z // MICROS) for a, z in windows]
    busy = tuple(
        Occupation(e, v.start // MICROS, _ceil_s(v.end))
        for o in others for v in o.vnfs
        if v.state in VNF_PLACED and v.start is not None and v.end is not None
        for e in v.elements)
    return Problem(
        vnfs=tuple(Vnf(v.name, frozenset(v.elements), v.time_zone) for v in s.vnfs),
        duration_s=_ceil_s(s.change_duration),
        windows=tuple(w for w in cut if w.start < w.end),
        concurrency_limit=s.concurrency_limit,
        policy=s.policy.allowed() if s.policy else None,
        blackouts=tuple(blackouts), other_changes=busy,
    )


def placed(s: Schedule, solution: Solution) -> tuple[Schedule, int]:
    """The schedule's VNFs with the solution's starts and ends or reasons, and its span end."""
    vnfs = []
    for v, a in zip(s.vnfs, solution.assignments, strict=True):
        if a.start is None:
            reason = a.reason or Reason.AVAILABILITY
            vnfs.append(replace(v, reason=reason, start=None, end=None,
                                message=REASON_MESSAGES[reason]))
        else:
            start = a.start * MICROS
            vnfs.append(replace(v, reason=None, start=start, end=start + s.change_duration,
                                message=""))
    ends = [v.end for v in vnfs if v.end is not None]
    return replace(s, vnfs=tuple(vnfs)), max(ends, default=s.span_end)


class Planner(BackgroundTask):
    """Optimizes pending schedules, one at a time."""

    name = "scheduler-planner"

    def __init__(self, events: EventLog, tickets: TicketDriver, settings: PlannerSettings,
                 on_scheduled: Callable[[], None] = lambda: None) -> None:
        super().__init__()
        self.events = events
        self.tickets = tickets
        self.settings = settings
        self.on_scheduled = on_scheduled
        """Called when an immediate schedule has become SCHEDULED."""
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Tells the task a schedule is waiting."""
        self._wake.set()

    async def run(self) -> None:
        clock = self.events.clock
        while True:
            self._wake.clear()
            try:
                while await self.plan_next():
                    pass
            except Exception:
                log.exception("optimizing schedules failed")
            await sleep_until_woken(clock, clock.now() + int(_POLL_SECONDS * MICROS), self._wake)

    async def plan_next(self) -> bool:
        """Optimizes the oldest pending schedule; False when there is none."""
        async with self.events.db.read() as conn:
            waiting = await store.in_states(conn, [ScheduleState.PENDING_SCHEDULE,
                                                   ScheduleState.OPTIMIZATION_IN_PROGRESS])
        if not waiting:
            return False
        s = await self.claim(waiting[0].id)
        if s is not None:
            try:
                solution: Solution | str = await self.solve(s)
            except Exception as error:
                log.exception("optimizer failed", schedule_id=s.id)
                solution = f"optimizer failed: {error}"
            await self.finish(s.id, solution)
        return True

    async def claim(self, schedule_id: str) -> Schedule | None:
        """Moves the schedule to OPTIMIZATION_IN_PROGRESS; None if it is not to be optimized."""
        async with self.events.transaction() as tx:
            s = await store.get_schedule(tx.conn, schedule_id, lock=True)
            if s is None or not can_optimize(s.state):
                return None
            if s.state is ScheduleState.PENDING_SCHEDULE:
                s = await apply(tx, [start_optimizing(s)], self.tickets)
        return s

    async def solve(self, s: Schedule) -> Solution:
        """Optimizes `s` against the live schedules and blackouts as they are now."""
        now = self.events.clock.now()
        async with self.events.db.read() as conn:
            others = [o for o in await store.in_states(conn, sorted(LIVE)) if o.id != s.id]
            lo = now if s.immediate else min(now, s.windows[0].start)
            found = await store.blackouts_ending_after(conn, lo)
        blackouts = [Occupation(e, b.start // MICROS, _ceil_s(b.end))
                     for b in found for e in b.elements]
        problem = problem_of(s, now, self.settings.immediate_horizon, others, blackouts)
        return await asyncio.to_thread(optimize, problem, time_limit_s=self.settings.time_limit_s)

    async def finish(self, schedule_id: str, solution: Solution | str) -> bool:
        """Writes an optimization's outcome (a Solution, or why it failed). False when another
        process placed a conflicting change meanwhile: the schedule stays
        OPTIMIZATION_IN_PROGRESS and is optimized again."""
        async with self.events.transaction() as tx:
            s = await store.get_schedule(tx.conn, schedule_id, lock=True)
            if s is None or s.state is not ScheduleState.OPTIMIZATION_IN_PROGRESS:
                return True  # cancelled or deleted meanwhile: the result is dropped
            if isinstance(solution, str):
                await apply(tx, fail_optimization(s, solution), self.tickets)
                return True
            with_starts, span_end = placed(s, solution)
            # Taking the event head (no revision) waits for every writer before this one to
            # commit and holds off every later one, so the live schedules read next are all
            # there are until this commits: no two optimizations claim an element at once.
            await tx.next_revisions(0)
            others = [o for o in await store.in_states(tx.conn, sorted(LIVE)) if o.id != s.id]
            if conflicting(with_starts, others):
                log.info("placement conflicts with a newer one; optimizing again",
                         schedule_id=s.id)
                return False
            result = Optimization.of(solution, self.events.clock.now())
            after = await apply(tx, optimized(s, with_starts.vnfs, result, span_end),
                                self.tickets)
        if after is not None and after.state is ScheduleState.SCHEDULED:
            self.on_scheduled()
        return True


def conflicting(s: Schedule, others: list[Schedule]) -> bool:
    """Whether a change placed in `s` overlaps a placed change of `others` on an element."""
    busy: dict[str, list[tuple[int, int]]] = {}
    for o in others:
        for v in o.vnfs:
            if v.state in VNF_PLACED and v.start is not None and v.end is not None:
                for e in v.elements:
                    busy.setdefault(e, []).append((v.start, v.end))
    return any(
        a < v.end and v.start < b
        for v in s.vnfs if v.start is not None and v.end is not None
        for e in v.elements for a, b in busy.get(e, ()))

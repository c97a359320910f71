"""Background optimization: pending schedules are optimized one at a time, oldest first.

One background task the app owns. Optimizations are serialized so that each one sees the placed
changes of every live schedule (as `other_changes`) and every blackout, and two schedules never
claim the same element at the same time. The optimizer is CPU-bound and runs in a worker thread
(`asyncio.to_thread`) with a time limit, so the event loop keeps serving. A schedule cancelled or
deleted while it was being optimized keeps that state; the result is dropped. A schedule left in
OPTIMIZATION_IN_PROGRESS by a process that stopped is optimized again when the task starts.

The task also expires schedules: one still PENDING_APPROVAL when its last change window ends
(server clock) becomes EXPIRED, freeing its elements. It runs under its lease, so those writes,
as every one of its transactions, are fenced (`leases.fence`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Sequence
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
    Blackout,
    Optimization,
    Schedule,
    ScheduleState,
    can_optimize,
    expire,
    expires_at,
    fail_optimization,
    optimized,
    start_optimizing,
)
from switchboard.server.scheduler.model import Vnf as ScheduleVnf
from switchboard.server.scheduler.optimizer import (
    Assignment,
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


def _slots(vnfs: Sequence[ScheduleVnf]) -> list[tuple[ScheduleVnf, int, int]]:
    """The placed changes among `vnfs`, each with its slot in whole seconds (rounded out)."""
    return [(v, v.start // MICROS, _ceil_s(v.end)) for v in vnfs
            if v.state in VNF_PLACED and v.start is not None and v.end is not None]


def occupations(blackouts: Sequence[Blackout]) -> list[Occupation]:
    return [Occupation(e, b.start // MICROS, _ceil_s(b.end)) for b in blackouts
            for e in b.elements]


def problem_of(s: Schedule, now: int, horizon: int, others: list[Schedule],
               blackouts: list[Occupation], moving: Collection[str] | None = None) -> Problem:
    """The optimizer's problem for `s` at `now`: windows cut to start no earlier than now (an
    immediate schedule gets [now, now + horizon)), the changes of `others` as conflicts. With
    `moving`, only those VNFs are placed; the schedule's other placed changes stay where they
    are (`Problem.kept`, their elements busy)."""
    windows = [(now, now + horizon)] if s.immediate else [(w.start, w.end) for w in s.windows]
    cut = [Interval(_ceil_s(max(a, now)), z // MICROS) for a, z in windows]
    staying = [] if moving is None else _slots([v for v in s.vnfs if v.name not in moving])
    busy = tuple(Occupation(e, a, z) for o in others for v, a, z in _slots(o.vnfs)
                 for e in v.elements)
    busy += tuple(Occupation(e, a, z) for v, a, z in staying for e in v.elements)
    return Problem(
        vnfs=tuple(Vnf(v.name, frozenset(v.elements), v.time_zone) for v in s.vnfs
                   if moving is None or v.name in moving),
        duration_s=_ceil_s(s.change_duration),
        windows=tuple(w for w in cut if w.start < w.end),
        concurrency_limit=s.concurrency_limit,
        policy=s.policy.allowed() if s.policy else None,
        blackouts=tuple(blackouts), other_changes=busy,
        kept=tuple(Interval(a, z) for _, a, z in staying),
    )


def assigned(s: Schedule, v: ScheduleVnf, a: Assignment) -> ScheduleVnf:
    """`v` with the optimizer's start and end for it, or the reason it has none."""
    if a.start is None:
        reason = a.reason or Reason.AVAILABILITY
        return replace(v, reason=reason, start=None, end=None, message=REASON_MESSAGES[reason])
    start = a.start * MICROS
    return replace(v, reason=None, start=start, end=start + s.change_duration, message="")


def placed(s: Schedule, solution: Solution) -> tuple[Schedule, int]:
    """The schedule's VNFs with the solution's starts and ends or reasons, and its span end."""
    vnfs = [assigned(s, v, a) for v, a in zip(s.vnfs, solution.assignments, strict=True)]
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
            when = clock.now() + int(_POLL_SECONDS * MICROS)
            try:
                while await self.plan_next():
                    pass
                expiry = await self.expire_due()
                if expiry is not None:
                    when = min(when, expiry)
            except Exception:
                log.exception("optimizing schedules failed")
            await sleep_until_woken(clock, when, self._wake)

    async def expire_due(self) -> int | None:
        """Expires every schedule PENDING_APPROVAL whose last window has ended; returns when the
        next one would (None: there is none waiting)."""
        now = self.events.clock.now()
        async with self.events.db.read() as conn:
            waiting = await store.in_states(conn, [ScheduleState.PENDING_APPROVAL])
        later = []
        for s in waiting:
            end = expires_at(s)
            if end is None:
                continue
            if end > now:
                later.append(end)
                continue
            async with self.events.transaction() as tx:
                current = await store.get_schedule(tx.conn, s.id, lock=True)
                if current is not None and current.state is ScheduleState.PENDING_APPROVAL:
                    await apply(tx, expire(current), self.tickets)
                    log.info("schedule expired unapproved", schedule_id=s.id)
        return min(later, default=None)

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
        blackouts = occupations(found)
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
            blackouts = await store.blackouts_ending_after(tx.conn, self.events.clock.now())
            if conflicting(with_starts, others) or any(
                    v.hits(b) for v in with_starts.vnfs for b in blackouts):
                log.info("placement conflicts with a newer change or blackout; optimizing "
                         "again", schedule_id=s.id)
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

"""Blackouts are authoritative (an outage): what a new one does to the changes already placed,
and the checks ApproveSchedule makes again before it accepts.

CreateBlackout, in one transaction: the live schedules with a placed change it covers are
locked (before the event head, as every writer does), the blackout is written (taking the
head: every earlier writer has committed, every later one waits), and the live schedules are
read again. One the blackout covers that was not locked (placed meanwhile) makes the
transaction start over. Each covered change that has not started is placed again by the
optimizer, as the planner would place it (its windows from now, the policy, the other
schedules' changes and this schedule's others, its concurrency limit, every blackout), or
becomes NOT_SCHEDULED; schedules are handled in creation order, each seeing the ones moved
before it. A change sent to the SO, or due to be (SCHEDULED, its start passed), is reported and
left: the dispatcher may be sending it, and sends none into a blackout (`dispatch`).

An approved schedule stays approved when its changes move: the approval covers its windows and
policy, and the move is on its watch. The optimization holds the event head, so it gets a short
time limit (`REPLACE_TIME_LIMIT_S`).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.server.errors import FailedPrecondition, PreconditionViolation, Unavailable
from switchboard.server.eventlog import EventLog, Transaction
from switchboard.server.scheduler import changes, store
from switchboard.server.scheduler.changes import AREA, Check
from switchboard.server.scheduler.model import (
    APPROVED,
    LIVE,
    VNF_PLACED,
    Blackout,
    Hit,
    HitOutcome,
    Schedule,
    Vnf,
    VnfState,
    blackout_hit,
    past_due,
)
from switchboard.server.scheduler.optimizer import Occupation, optimize
from switchboard.server.scheduler.planner import (
    PlannerSettings,
    assigned,
    conflicting,
    occupations,
    problem_of,
)
from switchboard.server.scheduler.tickets import TicketDriver
from switchboard.server.timestamps import format_micros

REPLACE_TIME_LIMIT_S = 1.0
"""Most seconds the optimizer searches when placing one schedule's covered changes again."""
_ATTEMPTS = 5


class _Raced(Exception):
    """A change the blackout covers was placed after the locks were taken."""


def _covered(s: Schedule, b: Blackout) -> list[Vnf]:
    return [v for v in s.vnfs if v.state in VNF_PLACED and v.hits(b)]


def started(v: Vnf, now: int) -> bool:
    """Sent to the SO, or due to be (the dispatcher may be sending it)."""
    return v.state is VnfState.TRIGGERED or (
        v.state is VnfState.SCHEDULED and v.start is not None and v.start <= now)


async def create_blackout(log: EventLog, b: Blackout, check: Check[Blackout],
                          settings: PlannerSettings, tickets: TicketDriver
                          ) -> tuple[Blackout, list[Hit]]:
    """Writes the blackout and moves the placed changes it covers (see the module); returns it
    as stored and every hit."""
    for _ in range(_ATTEMPTS):
        try:
            async with log.transaction() as tx:
                return await _create(tx, b, check, settings, tickets)
        except _Raced:
            continue
    raise Unavailable(message="schedules kept changing under the blackout; try again",
                      reason="BLACKOUT_RACED", area=AREA)


async def _create(tx: Transaction, b: Blackout, check: Check[Blackout],
                  settings: PlannerSettings, tickets: TicketDriver
                  ) -> tuple[Blackout, list[Hit]]:
    candidates = [s.id for s in await store.in_states(tx.conn, sorted(LIVE)) if _covered(s, b)]
    for schedule_id in sorted(candidates):
        await store.get_schedule(tx.conn, schedule_id, lock=True)
    created = await changes.create_blackout_checked(tx, b, check)
    live = {s.id: s for s in await store.in_states(tx.conn, sorted(LIVE))}
    covered = [s for s in live.values() if _covered(s, created)]
    if any(s.id not in candidates for s in covered):
        raise _Raced
    blackouts = occupations(await store.blackouts_ending_after(tx.conn, tx.now))
    hits: list[Hit] = []
    for s in covered:
        others = [o for o in live.values() if o.id != s.id]
        vnfs, found = await _move(s, created, tx.now, others, blackouts, settings)
        after = await changes.apply(tx, blackout_hit(s, vnfs, found), tickets)
        live[s.id] = after or s
        hits.extend(found)
    return created, hits


async def _move(s: Schedule, b: Blackout, now: int, others: list[Schedule],
                blackouts: list[Occupation], settings: PlannerSettings
                ) -> tuple[tuple[Vnf, ...], tuple[Hit, ...]]:
    """The schedule's VNFs with the covered ones that have not started placed again (or
    NOT_SCHEDULED), and the hits."""
    covered = {v.name for v in _covered(s, b)}
    moving = {v.name for v in s.vnfs if v.name in covered and not started(v, now)}
    assignments = {}
    if moving:
        problem = problem_of(s, now, settings.immediate_horizon, others, blackouts, moving)
        solution = await asyncio.to_thread(
            optimize, problem, time_limit_s=min(settings.time_limit_s, REPLACE_TIME_LIMIT_S))
        assignments = {a.vnf: a for a in solution.assignments}
    vnfs, hits = [], []
    for v in s.vnfs:
        if v.name not in covered:
            vnfs.append(v)
            continue
        assert v.start is not None and v.end is not None
        hit = Hit(b.id, s.id, v.name, v.hits(b), v.start, v.end, HitOutcome.STARTED,
                  project=s.project)
        if v.name in moving:
            moved = assigned(s, v, assignments[v.name])
            if moved.start is None:
                moved = replace(moved, state=VnfState.NOT_SCHEDULED, dropped=s.state in APPROVED,
                                message=f"blackout {b.id} covers its slot; {moved.message}")
                hit = replace(hit, outcome=HitOutcome.NOT_SCHEDULED, reason=moved.reason)
            else:
                moved = replace(moved, message=f"placed again: blackout {b.id} covered its slot")
                hit = replace(hit, outcome=HitOutcome.PLACED_AGAIN, new_start=moved.start,
                              new_end=moved.end)
            v = moved
        vnfs.append(v)
        hits.append(hit)
    return tuple(vnfs), tuple(hits)


async def check_approvable(conn: AsyncConnection, s: Schedule, now: int, tolerance: int) -> None:
    """Raises FAILED_PRECONDITION naming each placed VNF of `s` that may not be approved: its
    start passed more than `tolerance` ago (PAST_DUE), or its change overlaps a blackout
    (BLACKOUT) or another live schedule's change on a common element (CONFLICT). The caller
    holds the schedule's row and the event head, so what it reads is current."""
    violations = [PreconditionViolation(
        "PAST_DUE", f"schedules/{s.id}/vnfs/{v.name}",
        f"its start {format_micros(v.start or 0)} passed more than {tolerance / 1e6:g} s ago")
        for v in past_due(s, now, tolerance)]
    late = bool(violations)
    blackouts = await store.blackouts_ending_after(conn, now)
    others = [o for o in await store.in_states(conn, sorted(LIVE)) if o.id != s.id]
    for v in s.vnfs:
        if v.state not in VNF_PLACED:
            continue
        subject = f"schedules/{s.id}/vnfs/{v.name}"
        for b in blackouts:
            if v.hits(b):
                violations.append(PreconditionViolation(
                    "BLACKOUT", subject, f"its change overlaps blackout {b.id} on "
                    f"{', '.join(v.hits(b))}"))
        if conflicting(replace(s, vnfs=(v,)), others):
            violations.append(PreconditionViolation(
                "CONFLICT", subject, "its change overlaps another schedule's on a common "
                "element"))
    if not violations:
        return
    names = sorted({x.subject.rpartition("/")[2] for x in violations})
    what = "are past due" if late else "no longer fit"
    raise FailedPrecondition(
        message=f"schedule {s.id}: VNFs {', '.join(names)} {what}; nothing was approved",
        reason="SCHEDULE_PAST_DUE" if late else "PLACEMENT_INVALID", area=AREA,
        violations=violations)

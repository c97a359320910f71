"""Schedules, their VNFs and blackouts, and the CMSO state rules: plain Python, no gRPC, no
database. Times are integer microseconds since the Unix epoch, as everywhere in the server."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import time
from enum import StrEnum
from typing import Any

from switchboard.server.scheduler.optimizer import Reason, Solution
from switchboard.server.scheduler.timepolicy import AllowedTimePolicy

MICROS = 1_000_000


class ScheduleState(StrEnum):
    PENDING_SCHEDULE = "PENDING_SCHEDULE"
    OPTIMIZATION_IN_PROGRESS = "OPTIMIZATION_IN_PROGRESS"
    PENDING_APPROVAL = "PENDING_APPROVAL"
    OPTIMIZATION_FAILED = "OPTIMIZATION_FAILED"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    SCHEDULED = "SCHEDULED"
    NOTIFICATIONS_INITIATED = "NOTIFICATIONS_INITIATED"
    COMPLETED = "COMPLETED"
    COMPLETED_WITH_ERRORS = "COMPLETED_WITH_ERRORS"
    CANCELLED = "CANCELLED"
    DELETED = "DELETED"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"


class VnfState(StrEnum):
    PENDING_SCHEDULE = "PENDING_SCHEDULE"
    PENDING_APPROVAL = "PENDING_APPROVAL"
    NOT_SCHEDULED = "NOT_SCHEDULED"
    SCHEDULED = "SCHEDULED"
    TRIGGERED = "TRIGGERED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    ERROR = "ERROR"
    PAST_DUE = "PAST_DUE"
    CANCELLED = "CANCELLED"
    DELETED = "DELETED"
    APPROVAL_REJECTED = "APPROVAL_REJECTED"


class Decision(StrEnum):
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"


S = ScheduleState
V = VnfState

ENDED = frozenset({S.OPTIMIZATION_FAILED, S.REJECTED, S.COMPLETED, S.COMPLETED_WITH_ERRORS,
                   S.CANCELLED, S.DELETED, S.FAILED, S.EXPIRED})
"""Schedule states nothing moves on from (but DeleteSchedule, which keeps the record)."""

LIVE = frozenset({S.PENDING_APPROVAL, S.ACCEPTED, S.SCHEDULED, S.NOTIFICATIONS_INITIATED})
"""Schedules whose placed changes hold their elements against other schedules."""

RUNNING = frozenset({S.NOTIFICATIONS_INITIATED})
"""Schedules whose changes are running: neither cancelled nor deleted."""

VNF_ENDED = frozenset({V.NOT_SCHEDULED, V.COMPLETED, V.FAILED, V.ERROR, V.PAST_DUE,
                       V.CANCELLED, V.DELETED, V.APPROVAL_REJECTED})
"""VNF states nothing moves on from."""

VNF_PLACED = frozenset({V.PENDING_APPROVAL, V.SCHEDULED, V.TRIGGERED})
"""VNFs whose change holds its elements at its planned time."""

APPROVED = frozenset({S.ACCEPTED, S.SCHEDULED, S.NOTIFICATIONS_INITIATED})
"""Live schedules an approver accepted."""


@dataclass(frozen=True)
class Window:
    """A half-open interval `[start, end)` in microseconds."""

    start: int
    end: int


@dataclass(frozen=True)
class Vnf:
    """One VNF of a schedule and where its change stands."""

    name: str
    group: str
    elements: tuple[str, ...]
    time_zone: str
    so_request: dict[str, Any]
    state: VnfState = V.PENDING_SCHEDULE
    reason: Reason | None = None
    start: int | None = None
    end: int | None = None
    message: str = ""
    so_request_id: str = ""
    trigger_time: int | None = None
    dropped: bool = False
    """NOT_SCHEDULED after its schedule was approved (a blackout took its slot): it counts as a
    change that did not complete."""

    def hits(self, b: Blackout) -> tuple[str, ...]:
        """The elements of its change (as planned, whatever its state) that blackout `b` covers
        while it runs."""
        if self.start is None or self.end is None:
            return ()
        if not (b.start < self.end and self.start < b.end):
            return ()
        return tuple(e for e in self.elements if e in b.elements)


@dataclass(frozen=True)
class Policy:
    """The allowed-time policy as given: weekdays 0 (Monday) to 6, local start and end."""

    weekdays: tuple[int, ...]
    start: time
    end: time

    def allowed(self) -> AllowedTimePolicy:
        return AllowedTimePolicy(frozenset(self.weekdays), self.start, self.end)


@dataclass(frozen=True)
class Optimization:
    """The optimizer's result as stored with the schedule."""

    scheduled: int
    count_bound: int
    finish: int | None
    finish_bound: int | None
    proven_optimal: bool
    gap: float
    gap_on: str
    method: str
    time: int

    @staticmethod
    def of(s: Solution, now: int) -> Optimization:
        return Optimization(
            scheduled=s.scheduled, count_bound=s.count_bound,
            finish=None if s.finish is None else s.finish * MICROS,
            finish_bound=None if s.finish_bound is None else s.finish_bound * MICROS,
            proven_optimal=s.proven_optimal, gap=s.gap, gap_on=s.gap_on.value,
            method=s.method, time=now,
        )


@dataclass(frozen=True)
class Approval:
    user: str
    decision: Decision
    comment: str
    time: int


@dataclass(frozen=True)
class Schedule:
    id: str
    name: str
    domain: str
    user: str
    workflow_name: str
    callback_data: str
    vnfs: tuple[Vnf, ...]
    windows: tuple[Window, ...]
    normal_duration: int
    additional_duration: int
    concurrency_limit: int
    policy: Policy | None
    state: ScheduleState
    message: str
    optimization: Optimization | None
    approval: Approval | None
    span_start: int
    """Start of what ListSchedules' time filter matches: the first window's start, or for an
    immediate schedule its creation."""
    span_end: int
    """End of it: the last window's end, or for an immediate schedule its planned finish."""
    create_time: int
    update_time: int
    created_revision: int
    revision: int
    created_by: str | None = None
    """The principal that created it (None: authorization was off), who may not approve it."""
    project: str = ""
    """The project it belongs to (`ownership`); "" for none."""

    @property
    def immediate(self) -> bool:
        """No change window: it runs as soon as it can, approved by its creator."""
        return not self.windows

    @property
    def change_duration(self) -> int:
        return self.normal_duration + self.additional_duration

    def overlaps(self, start: int | None, end: int | None) -> bool:
        """Whether one of its change windows (for an immediate schedule: its span, from its
        creation to its planned finish) overlaps `[start, end)`; None is unbounded."""
        spans = [(w.start, w.end) for w in self.windows] or [(self.span_start, self.span_end)]
        return any((end is None or a < end) and (start is None or start < b) for a, b in spans)


@dataclass(frozen=True)
class Blackout:
    id: str
    elements: tuple[str, ...]
    start: int
    end: int
    reason: str
    create_time: int
    revision: int
    project: str = ""
    """The project that declared it, whose members may remove it (`ownership`)."""


# -- the state rules -------------------------------------------------------------------------------


class NotAllowed(Exception):
    """An action the schedule's state does not allow; the message says why."""


def can_optimize(state: ScheduleState) -> bool:
    """Whether the optimizer may take (or keep working on) a schedule in `state`."""
    return state in (S.PENDING_SCHEDULE, S.OPTIMIZATION_IN_PROGRESS)


def check_approve(state: ScheduleState) -> None:
    if state is not S.PENDING_APPROVAL:
        raise NotAllowed(f"is {state.value}; only a schedule in PENDING_APPROVAL is approved "
                         "or rejected")


def check_cancel(state: ScheduleState) -> bool:
    """Whether cancelling moves the schedule (False: already CANCELLED); raises if refused."""
    if state is S.CANCELLED:
        return False
    if state in RUNNING:
        raise NotAllowed(f"is {state.value}: its changes are running")
    if state in ENDED:
        raise NotAllowed(f"is {state.value}: it has ended")
    return True


def check_delete(state: ScheduleState) -> bool:
    """Whether deleting moves the schedule (False: already DELETED); raises if refused."""
    if state is S.DELETED:
        return False
    if state in RUNNING:
        raise NotAllowed(f"is {state.value}: its changes are running")
    return True


class HitOutcome(StrEnum):
    """What a blackout did to a placed change it covers."""

    PLACED_AGAIN = "PLACED_AGAIN"
    NOT_SCHEDULED = "NOT_SCHEDULED"
    STARTED = "STARTED"
    """Sent to the SO, or due to be: not moved (the dispatcher sends none into a blackout)."""


@dataclass(frozen=True)
class Hit:
    """A placed change a new blackout covers, and what became of it."""

    blackout_id: str
    schedule_id: str
    vnf: str
    elements: tuple[str, ...]
    start: int
    end: int
    outcome: HitOutcome
    new_start: int | None = None
    new_end: int | None = None
    reason: Reason | None = None
    project: str = ""
    """The schedule's project (who may see the hit)."""


@dataclass(frozen=True)
class Step:
    """One state change of a schedule: the schedule after it, and the VNFs that moved."""

    schedule: Schedule
    previous: ScheduleState
    vnf_changes: tuple[tuple[str, VnfState, VnfState], ...]
    """(name, previous state, new state) per VNF that moved."""
    hits: tuple[Hit, ...] = ()
    """The blackout hits the step answers (its event is then a BLACKOUT_HIT)."""


def step(s: Schedule, state: ScheduleState, vnfs: tuple[Vnf, ...] | None = None,
         message: str = "", hits: tuple[Hit, ...] = (), **changes: Any) -> Step:
    """`s` moved to `state` (with new VNFs, if given), not yet stamped with time or revision."""
    vnfs = s.vnfs if vnfs is None else vnfs
    moved = tuple((old.name, old.state, new.state) for old, new in zip(s.vnfs, vnfs, strict=True)
                  if old.state is not new.state)
    return Step(replace(s, state=state, vnfs=vnfs, message=message, **changes), s.state, moved,
                hits)


def end_vnfs(vnfs: tuple[Vnf, ...], state: VnfState, message: str) -> tuple[Vnf, ...]:
    """Every VNF that has not ended, moved to `state`."""
    return tuple(v if v.state in VNF_ENDED else replace(v, state=state, message=message)
                 for v in vnfs)


def start_optimizing(s: Schedule) -> Step:
    return step(s, S.OPTIMIZATION_IN_PROGRESS)


def optimized(s: Schedule, vnfs: tuple[Vnf, ...], result: Optimization,
              span_end: int) -> list[Step]:
    """Where an optimization takes the schedule: PENDING_APPROVAL with its VNFs placed, or for
    an immediate schedule ACCEPTED by its creator and SCHEDULED; OPTIMIZATION_FAILED when no VNF
    could be placed. `vnfs` carry the placements (start, end) or the reasons."""
    placed = [v.start is not None for v in vnfs]
    with_reasons = tuple(
        replace(v, state=V.NOT_SCHEDULED) if v.start is None else v for v in vnfs)
    if not any(placed):
        return [step(s, S.OPTIMIZATION_FAILED, with_reasons, "no VNF could be placed",
                     optimization=result)]
    if not s.immediate:
        pending = tuple(replace(v, state=V.PENDING_APPROVAL) if v.start is not None else v
                        for v in with_reasons)
        return [step(s, S.PENDING_APPROVAL, pending, optimization=result)]
    approval = Approval(s.user, Decision.ACCEPTED, "immediate schedule, approved by its creator",
                        result.time)
    first = step(s, S.ACCEPTED, with_reasons, optimization=result, approval=approval,
                 span_end=span_end)
    return [first, schedule_approved(first.schedule)]


def schedule_approved(s: Schedule) -> Step:
    """ACCEPTED → SCHEDULED: every placed VNF (every one not ended) is SCHEDULED."""
    return step(s, S.SCHEDULED, tuple(
        v if v.state in VNF_ENDED else replace(v, state=V.SCHEDULED) for v in s.vnfs))


def approve(s: Schedule, approval: Approval) -> list[Step]:
    """ApproveSchedule's steps: ACCEPTED then SCHEDULED, or REJECTED."""
    check_approve(s.state)
    if approval.decision is Decision.REJECTED:
        vnfs = tuple(replace(v, state=V.APPROVAL_REJECTED) if v.state is V.PENDING_APPROVAL
                     else v for v in s.vnfs)
        return [step(s, S.REJECTED, vnfs, f"rejected by {approval.user}", approval=approval)]
    first = step(s, S.ACCEPTED, approval=approval)
    return [first, schedule_approved(first.schedule)]


def cancel(s: Schedule) -> list[Step]:
    if not check_cancel(s.state):
        return []
    return [step(s, S.CANCELLED, end_vnfs(s.vnfs, V.CANCELLED, "schedule cancelled"),
                 "cancelled by a client")]


def delete(s: Schedule) -> list[Step]:
    if not check_delete(s.state):
        return []
    return [step(s, S.DELETED, end_vnfs(s.vnfs, V.DELETED, "schedule deleted"),
                 "deleted by a client")]


def expire(s: Schedule) -> list[Step]:
    """PENDING_APPROVAL → EXPIRED once its last change window has ended unapproved: its placed
    VNFs become PAST_DUE and hold their elements no longer."""
    vnfs = tuple(replace(v, state=V.PAST_DUE, message="its schedule expired unapproved")
                 if v.state is V.PENDING_APPROVAL else v for v in s.vnfs)
    return [step(s, S.EXPIRED, vnfs, "not approved before its last change window ended")]


def expires_at(s: Schedule) -> int | None:
    """When a schedule waiting for approval expires: the end of its last change window."""
    return max((w.end for w in s.windows), default=None)


def past_due(s: Schedule, now: int, tolerance: int) -> list[Vnf]:
    """Its placed VNFs whose start passed more than `tolerance` ago: too late to approve."""
    return [v for v in s.vnfs if v.state in VNF_PLACED and v.start is not None
            and now - v.start > tolerance]


def blackout_hit(s: Schedule, vnfs: tuple[Vnf, ...], hits: tuple[Hit, ...]) -> list[Step]:
    """A blackout covered some of the schedule's placed changes: `vnfs` carry them placed
    again or NOT_SCHEDULED. The schedule keeps its state, but one waiting for approval with
    nothing left placed is OPTIMIZATION_FAILED, and an approved one whose every VNF has ended
    ends (COMPLETED_WITH_ERRORS: what was dropped did not complete)."""
    moved = sum(h.outcome is not HitOutcome.STARTED for h in hits)
    message = f"a blackout covered {len(hits)} placed change(s); {moved} moved"
    if s.state is S.PENDING_APPROVAL and not any(v.state in VNF_PLACED for v in vnfs):
        return [step(s, S.OPTIMIZATION_FAILED, vnfs, "a blackout left no VNF placed",
                     hits=hits)]
    steps = [step(s, s.state, vnfs, message, hits=hits)]
    end = _ending(steps[-1].schedule)
    return steps + ([end] if end else [])


def fail_optimization(s: Schedule, message: str) -> list[Step]:
    return [step(s, S.OPTIMIZATION_FAILED,
                 end_vnfs(s.vnfs, V.NOT_SCHEDULED, "optimization failed"), message)]


# -- dispatch --------------------------------------------------------------------------------------

DISPATCHING = (S.SCHEDULED, S.NOTIFICATIONS_INITIATED)
"""Schedules whose VNFs are sent to the SO as their starts come."""


def notifications_initiated(s: Schedule) -> list[Step]:
    """SCHEDULED → NOTIFICATIONS_INITIATED: its first change is due (no step if it is already)."""
    if s.state is S.SCHEDULED:
        return [step(s, S.NOTIFICATIONS_INITIATED)]
    return []


def vnf_moved(s: Schedule, name: str, state: VnfState, message: str = "",
              **fields: Any) -> list[Step]:
    """A VNF of a dispatching schedule moves (TRIGGERED, COMPLETED, FAILED, ERROR, PAST_DUE);
    the schedule is NOTIFICATIONS_INITIATED from the first, and when every VNF has ended it is
    COMPLETED if every placed VNF completed, otherwise COMPLETED_WITH_ERRORS."""
    vnfs = tuple(replace(v, state=state, message=message, **fields) if v.name == name else v
                 for v in s.vnfs)
    steps = [step(s, S.NOTIFICATIONS_INITIATED, vnfs, s.message)]
    end = _ending(steps[-1].schedule)
    return steps + ([end] if end else [])


def completed(v: Vnf) -> bool:
    """Whether a VNF counts as done when its schedule ends: COMPLETED, or never placed (and not
    dropped after approval)."""
    return v.state is V.COMPLETED or (v.state is V.NOT_SCHEDULED and not v.dropped)


def _ending(s: Schedule) -> Step | None:
    """When every VNF of an approved schedule has ended: COMPLETED if every one counts as done,
    otherwise COMPLETED_WITH_ERRORS."""
    if not all(v.state in VNF_ENDED for v in s.vnfs):
        return None
    ok = all(completed(v) for v in s.vnfs)
    return step(s, S.COMPLETED if ok else S.COMPLETED_WITH_ERRORS,
                message="" if ok else "some changes did not complete")


# -- tickets ---------------------------------------------------------------------------------------


class TicketState(StrEnum):
    OPEN = "OPEN"
    IN_PROGRESS = "IN_PROGRESS"
    CLOSED_SUCCESSFUL = "CLOSED_SUCCESSFUL"
    CLOSED_UNSUCCESSFUL = "CLOSED_UNSUCCESSFUL"
    CANCELLED = "CANCELLED"


TICKET_ENDED = frozenset({TicketState.CLOSED_SUCCESSFUL, TicketState.CLOSED_UNSUCCESSFUL,
                          TicketState.CANCELLED})


@dataclass(frozen=True)
class TicketUpdate:
    state: TicketState
    note: str
    time: int


@dataclass(frozen=True)
class Ticket:
    id: str
    schedule_id: str
    state: TicketState
    summary: str
    updates: tuple[TicketUpdate, ...]
    create_time: int
    update_time: int
    sequence: int
    """The revision of the change that opened it (list order)."""


def ticket_move(step: Step) -> tuple[TicketState, str] | None:
    """Where a schedule's step takes its ticket, with a note; None when it does not move it.
    ACCEPTED opens one; the changes starting set it IN_PROGRESS; their end closes it; CANCELLED
    or DELETED cancels it (the ticket driver ignores a move of a ticket that has ended or that
    does not exist, but for OPEN)."""
    s = step.schedule
    if s.state is step.previous:
        return None
    if s.state is S.ACCEPTED:
        who = s.approval.user if s.approval else s.user
        return TicketState.OPEN, f"schedule {s.id} accepted by {who}"
    if s.state is S.NOTIFICATIONS_INITIATED:
        return TicketState.IN_PROGRESS, "changes started"
    if s.state is S.COMPLETED:
        return TicketState.CLOSED_SUCCESSFUL, "every change completed"
    if s.state is S.COMPLETED_WITH_ERRORS:
        failed = [v.name for v in s.vnfs if not completed(v)]
        return TicketState.CLOSED_UNSUCCESSFUL, f"changes that did not complete: {failed}"
    if s.state in (S.CANCELLED, S.DELETED):
        return TicketState.CANCELLED, f"schedule {s.state.value.lower()}"
    return None

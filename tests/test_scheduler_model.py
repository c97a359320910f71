"""The schedule and VNF state rules, directly (no gRPC, no database)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from switchboard.server.scheduler import model
from switchboard.server.scheduler.model import (
    Approval,
    Decision,
    Optimization,
    Schedule,
    ScheduleState,
    Vnf,
    VnfState,
    Window,
)
from switchboard.server.scheduler.optimizer import Reason

S = ScheduleState
V = VnfState
RESULT = Optimization(scheduled=1, count_bound=2, finish=10, finish_bound=10,
                      proven_optimal=False, gap=0.5, gap_on="count", method="m", time=5)


def schedule(state: ScheduleState = S.PENDING_SCHEDULE, *vnf_states: VnfState,
             windows: tuple[Window, ...] = (Window(0, 100),)) -> Schedule:
    vnfs = tuple(Vnf(f"v{i}", "", (f"ne{i}",), "UTC", {}, state=s)
                 for i, s in enumerate(vnf_states or (V.PENDING_SCHEDULE,)))
    return Schedule(
        id="s", name="", domain="d", user="creator", workflow_name="w", callback_data="",
        vnfs=vnfs, windows=windows, normal_duration=5, additional_duration=1,
        concurrency_limit=1, policy=None, state=state, message="", optimization=None,
        approval=None, span_start=0, span_end=100, create_time=0, update_time=0,
        created_revision=1, revision=1)


def test_cancel_is_refused_while_changes_run_and_after_the_end() -> None:
    running = schedule(S.NOTIFICATIONS_INITIATED, V.TRIGGERED, V.SCHEDULED)
    with pytest.raises(model.NotAllowed, match="is NOTIFICATIONS_INITIATED: its changes are"):
        model.cancel(running)
    with pytest.raises(model.NotAllowed, match="is NOTIFICATIONS_INITIATED"):
        model.delete(running)
    for state in model.ENDED - {S.CANCELLED}:
        with pytest.raises(model.NotAllowed, match=f"is {state.value}: it has ended"):
            model.cancel(schedule(state))
    assert model.cancel(schedule(S.CANCELLED)) == []
    assert model.delete(schedule(S.DELETED)) == []


def test_cancel_ends_only_the_vnfs_that_have_not_ended() -> None:
    for state in (S.PENDING_SCHEDULE, S.OPTIMIZATION_IN_PROGRESS, S.PENDING_APPROVAL,
                  S.ACCEPTED, S.SCHEDULED):
        [step] = model.cancel(schedule(state, V.SCHEDULED, V.NOT_SCHEDULED))
        assert step.schedule.state is S.CANCELLED and step.previous is state
        assert [v.state for v in step.schedule.vnfs] == [V.CANCELLED, V.NOT_SCHEDULED]
        assert step.vnf_changes == (("v0", V.SCHEDULED, V.CANCELLED),)


def test_delete_is_allowed_from_every_state_but_running() -> None:
    for state in set(S) - {S.NOTIFICATIONS_INITIATED, S.DELETED}:
        [step] = model.delete(schedule(state, V.PENDING_APPROVAL, V.COMPLETED))
        assert step.schedule.state is S.DELETED
        assert [v.state for v in step.schedule.vnfs] == [V.DELETED, V.COMPLETED]


def test_approval_only_from_pending_approval() -> None:
    approval = Approval("u", Decision.ACCEPTED, "", 7)
    for state in set(S) - {S.PENDING_APPROVAL}:
        with pytest.raises(model.NotAllowed, match=f"is {state.value}"):
            model.approve(schedule(state), approval)
    accepted, scheduled = model.approve(
        schedule(S.PENDING_APPROVAL, V.PENDING_APPROVAL, V.NOT_SCHEDULED), approval)
    assert (accepted.schedule.state, scheduled.schedule.state) == (S.ACCEPTED, S.SCHEDULED)
    assert scheduled.schedule.approval == approval
    assert [v.state for v in scheduled.schedule.vnfs] == [V.SCHEDULED, V.NOT_SCHEDULED]
    [rejected] = model.approve(schedule(S.PENDING_APPROVAL, V.PENDING_APPROVAL, V.NOT_SCHEDULED),
                               replace(approval, decision=Decision.REJECTED))
    assert rejected.schedule.state is S.REJECTED
    assert [v.state for v in rejected.schedule.vnfs] == [V.APPROVAL_REJECTED, V.NOT_SCHEDULED]


def test_optimized_outcomes() -> None:
    s = schedule(S.OPTIMIZATION_IN_PROGRESS, V.PENDING_SCHEDULE, V.PENDING_SCHEDULE)
    placed = (replace(s.vnfs[0], start=10, end=16), replace(s.vnfs[1], reason=Reason.CONFLICT))
    [step] = model.optimized(s, placed, RESULT, 16)
    assert step.schedule.state is S.PENDING_APPROVAL and step.schedule.optimization == RESULT
    assert [v.state for v in step.schedule.vnfs] == [V.PENDING_APPROVAL, V.NOT_SCHEDULED]

    none = (replace(s.vnfs[0], reason=Reason.AVAILABILITY),
            replace(s.vnfs[1], reason=Reason.CONFLICT))
    [failed] = model.optimized(s, none, RESULT, 16)
    assert failed.schedule.state is S.OPTIMIZATION_FAILED
    assert [v.state for v in failed.schedule.vnfs] == [V.NOT_SCHEDULED] * 2

    immediate = replace(s, windows=())
    accepted, scheduled = model.optimized(immediate, placed, RESULT, 16)
    assert (accepted.schedule.state, scheduled.schedule.state) == (S.ACCEPTED, S.SCHEDULED)
    assert scheduled.schedule.approval == Approval(
        "creator", Decision.ACCEPTED, "immediate schedule, approved by its creator", 5)
    assert [v.state for v in scheduled.schedule.vnfs] == [V.SCHEDULED, V.NOT_SCHEDULED]
    assert scheduled.schedule.span_end == 16


def test_only_pending_schedules_are_optimized() -> None:
    assert {s for s in S if model.can_optimize(s)} == {S.PENDING_SCHEDULE,
                                                       S.OPTIMIZATION_IN_PROGRESS}


def test_ticket_moves() -> None:
    approval = Approval("approver", Decision.ACCEPTED, "", 7)
    accepted, scheduled = model.approve(schedule(S.PENDING_APPROVAL, V.PENDING_APPROVAL),
                                        approval)
    assert model.ticket_move(accepted) == (model.TicketState.OPEN,
                                           "schedule s accepted by approver")
    assert model.ticket_move(scheduled) is None
    [running, done] = model.vnf_moved(schedule(S.SCHEDULED, V.SCHEDULED), "v0", V.FAILED)
    assert model.ticket_move(running) == (model.TicketState.IN_PROGRESS, "changes started")
    assert done.schedule.state is S.COMPLETED_WITH_ERRORS
    assert model.ticket_move(done) == (model.TicketState.CLOSED_UNSUCCESSFUL,
                                       "changes that did not complete: ['v0']")
    [_, ok] = model.vnf_moved(schedule(S.NOTIFICATIONS_INITIATED, V.TRIGGERED, V.NOT_SCHEDULED),
                              "v0", V.COMPLETED)
    assert ok.schedule.state is S.COMPLETED
    assert model.ticket_move(ok) == (model.TicketState.CLOSED_SUCCESSFUL,
                                     "every change completed")
    [cancelled] = model.cancel(schedule(S.SCHEDULED, V.SCHEDULED))
    assert model.ticket_move(cancelled) == (model.TicketState.CANCELLED, "schedule cancelled")


def test_time_range_overlap() -> None:
    s = schedule(windows=(Window(10, 20), Window(30, 40)))
    assert s.overlaps(None, None) and s.overlaps(19, 21) and s.overlaps(0, 11)
    assert not s.overlaps(20, 30) and not s.overlaps(0, 10) and not s.overlaps(40, None)
    immediate = replace(schedule(windows=()), span_start=5, span_end=8)
    assert immediate.overlaps(7, None) and not immediate.overlaps(8, 9)

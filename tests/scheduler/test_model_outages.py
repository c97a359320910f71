"""The state rules for blackouts, expiry and past-due approval, directly (no gRPC, no
database)."""

from __future__ import annotations

from dataclasses import replace

from switchboard.server.scheduler import model
from switchboard.server.scheduler.model import (
    Blackout,
    Hit,
    HitOutcome,
    Schedule,
    ScheduleState,
    Vnf,
    VnfState,
    Window,
)
from switchboard.server.scheduler.optimizer import Reason

S = ScheduleState
V = VnfState


def schedule(state: ScheduleState, *vnfs: Vnf) -> Schedule:
    return Schedule(
        id="s", name="", domain="d", user="u", workflow_name="w", callback_data="", vnfs=vnfs,
        windows=(Window(0, 50), Window(60, 100)), normal_duration=5, additional_duration=0,
        concurrency_limit=1, policy=None, state=state, message="", optimization=None,
        approval=None, span_start=0, span_end=100, create_time=0, update_time=0,
        created_revision=1, revision=1)


def vnf(name: str, state: VnfState, start: int | None = 10) -> Vnf:
    return Vnf(name, "", (f"ne-{name}", "shared"), "UTC", {}, state=state, start=start,
               end=None if start is None else start + 5)


def hit(name: str, outcome: HitOutcome) -> Hit:
    return Hit("b", "s", name, ("shared",), 10, 15, outcome)


def test_a_vnf_is_hit_on_the_elements_the_blackout_covers_while_it_runs() -> None:
    b = Blackout("b", ("shared", "other"), 14, 20, "", 0, 1)
    assert vnf("a", V.SCHEDULED).hits(b) == ("shared",)
    assert vnf("a", V.SCHEDULED, start=15).hits(b) == ("shared",)
    assert vnf("a", V.SCHEDULED, start=9).hits(b) == ()  # ends at 14, as the blackout starts
    assert vnf("a", V.SCHEDULED, start=20).hits(b) == ()
    assert vnf("a", V.NOT_SCHEDULED, start=None).hits(b) == ()


def test_pending_schedule_with_nothing_left_placed_fails_optimization() -> None:
    s = schedule(S.PENDING_APPROVAL, vnf("a", V.PENDING_APPROVAL), vnf("b", V.NOT_SCHEDULED,
                                                                        start=None))
    dropped = (replace(s.vnfs[0], state=V.NOT_SCHEDULED, start=None, end=None,
                       reason=Reason.AVAILABILITY), s.vnfs[1])
    (only,) = model.blackout_hit(s, dropped, (hit("a", HitOutcome.NOT_SCHEDULED),))
    assert only.schedule.state is S.OPTIMIZATION_FAILED
    assert only.hits and only.vnf_changes == (("a", V.PENDING_APPROVAL, V.NOT_SCHEDULED),)


def test_moved_changes_keep_the_schedule_state() -> None:
    s = schedule(S.SCHEDULED, vnf("a", V.SCHEDULED))
    moved = (replace(s.vnfs[0], start=70, end=75),)
    (only,) = model.blackout_hit(s, moved, (hit("a", HitOutcome.PLACED_AGAIN),))
    assert (only.schedule.state, only.previous, only.vnf_changes) == (
        S.SCHEDULED, S.SCHEDULED, ())
    assert model.ticket_move(only) is None


def test_an_approved_change_dropped_is_not_completed() -> None:
    s = schedule(S.NOTIFICATIONS_INITIATED, vnf("a", V.COMPLETED), vnf("b", V.SCHEDULED))
    dropped = (s.vnfs[0], replace(s.vnfs[1], state=V.NOT_SCHEDULED, start=None, end=None,
                                  reason=Reason.AVAILABILITY, dropped=True))
    first, end = model.blackout_hit(s, dropped, (hit("b", HitOutcome.NOT_SCHEDULED),))
    assert first.hits and end.schedule.state is S.COMPLETED_WITH_ERRORS
    move = model.ticket_move(end)
    assert move is not None and move[0] is model.TicketState.CLOSED_UNSUCCESSFUL
    assert "b" in move[1]
    # Never placed (NOT_SCHEDULED at optimization) still counts as done.
    assert model.completed(replace(dropped[1], dropped=False))


def test_expiry_and_past_due() -> None:
    s = schedule(S.PENDING_APPROVAL, vnf("a", V.PENDING_APPROVAL, start=10),
                 vnf("b", V.PENDING_APPROVAL, start=70), vnf("c", V.NOT_SCHEDULED, start=None))
    assert model.expires_at(s) == 100
    assert [v.name for v in model.past_due(s, now=15, tolerance=4)] == ["a"]
    assert model.past_due(s, now=14, tolerance=4) == []
    (expired,) = model.expire(s)
    assert expired.schedule.state is S.EXPIRED
    assert [v.state for v in expired.schedule.vnfs] == [V.PAST_DUE, V.PAST_DUE, V.NOT_SCHEDULED]
    assert S.EXPIRED in model.ENDED and S.EXPIRED not in model.LIVE
    assert model.ticket_move(expired) is None

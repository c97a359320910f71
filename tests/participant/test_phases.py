"""Tests of phase-by-phase operations on an instance, and of priming per element type."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard.server.participant.phases import (
    Element,
    PhasedOperation,
    PrimingTracker,
    Step,
    plan,
)
from switchboard.server.participant.states import InstanceAction, StateChangeResult

A, R = InstanceAction, StateChangeResult
SECOND = 1_000_000
DEFAULT = 60 * SECOND

# Three phases on two participants' element types.
ELEMENTS = [
    Element("db", "k8s", 0),
    Element("cache", "k8s", 0),
    Element("app", "http", 1),
    Element("policy", "http", 2),
]


def ids(step: Step | None) -> list[str]:
    assert step is not None
    return [e.id for e in step.elements]


def operation(action: InstanceAction, finished: Iterable[str] = ()) -> PhasedOperation:
    return PhasedOperation(
        action, ELEMENTS, now_us=0, default_timeout_us=DEFAULT, finished=finished
    )


# plan


def test_plan_orders_phases_by_action() -> None:
    up = [["cache", "db"], ["app"], ["policy"]]
    for action in (A.DEPLOY, A.UNLOCK):
        assert [ids(s) for s in plan(action, ELEMENTS)] == up
    for action in (A.UNDEPLOY, A.LOCK, A.DELETE):
        assert [ids(s) for s in plan(action, ELEMENTS)] == up[::-1]
    (update,) = plan(A.UPDATE, ELEMENTS)
    assert ids(update) == ["app", "cache", "db", "policy"]
    assert update.start_phases == (0, 1, 2)


def test_plan_skips_finished_elements_and_empty_phases() -> None:
    steps = plan(A.DEPLOY, ELEMENTS, finished={"db", "cache", "policy"})
    assert [ids(s) for s in steps] == [["app"]]
    assert plan(A.UPDATE, ELEMENTS, finished=[e.id for e in ELEMENTS]) == ()


# operations


def test_deploy_goes_phase_by_phase_upwards() -> None:
    op = operation(A.DEPLOY)
    assert ids(op.step) == ["cache", "db"]
    assert op.acknowledge("app", True, 1) is None  # not messaged yet: ignored
    assert op.acknowledge("db", True, 2) is None
    assert op.acknowledge("db", False, 3) is None  # duplicate: the first answer stands
    assert op.acknowledge("ghost", True, 4) is None
    assert ids(op.acknowledge("cache", True, 5)) == ["app"]
    assert ids(op.acknowledge("app", True, 6)) == ["policy"]
    assert op.result is None
    assert op.acknowledge("policy", True, 7) is None
    assert op.result is R.NO_ERROR
    assert op.step is None and op.deadline_us is None
    assert op.finished == {"db", "cache", "app", "policy"} and not op.unfinished
    assert op.acknowledge("policy", False, 8) is None  # late
    assert op.result is R.NO_ERROR and not op.failed


def test_undeploy_goes_downwards() -> None:
    op = operation(A.UNDEPLOY)
    assert ids(op.step) == ["policy"]
    assert ids(op.acknowledge("policy", True, 1)) == ["app"]
    assert ids(op.acknowledge("app", True, 2)) == ["cache", "db"]


def test_update_messages_every_element_at_once() -> None:
    op = operation(A.UPDATE)
    assert ids(op.step) == ["app", "cache", "db", "policy"]
    for e in ELEMENTS:
        assert op.acknowledge(e.id, True, 1) is None
    assert op.result is R.NO_ERROR


def test_failure_awaits_the_rest_of_the_phase_then_fails() -> None:
    op = operation(A.DEPLOY)
    op.acknowledge("db", False, 1)
    assert op.result is None  # cache has still to answer
    assert op.acknowledge("cache", True, 2) is None  # the next phase does not start
    assert op.result is R.FAILED
    assert op.failed == {"db"}
    assert op.finished == {"cache"}
    assert op.unfinished == {"db", "app", "policy"}


def test_retry_messages_only_the_unfinished_elements() -> None:
    first = operation(A.DEPLOY)
    first.acknowledge("db", True, 1)
    first.acknowledge("cache", True, 2)
    first.acknowledge("app", False, 3)
    assert first.result is R.FAILED
    retry = operation(A.DEPLOY, finished=first.finished)
    assert [ids(s) for s in retry.steps] == [["app"], ["policy"]]
    assert ids(retry.step) == ["app"]
    retry.acknowledge("app", True, 4)
    retry.acknowledge("policy", True, 5)
    assert retry.result is R.NO_ERROR
    assert retry.finished == {e.id for e in ELEMENTS}


def test_retry_with_everything_finished_succeeds_at_once() -> None:
    op = operation(A.LOCK, finished=[e.id for e in ELEMENTS])
    assert op.result is R.NO_ERROR and op.step is None and op.steps == ()


def test_deadline_is_element_else_composition_else_default() -> None:
    elements = [Element("a", "t", 0, timeout_us=5), Element("b", "t", 0), Element("c", "t", 1)]
    op = PhasedOperation(
        A.DEPLOY, elements, now_us=100, default_timeout_us=50, composition_timeout_us=20
    )
    assert op.deadline_us == 105  # a's override is the earliest of the phase
    op.acknowledge("a", True, 104)
    assert op.deadline_us == 120  # b: the composition's timeout
    op.acknowledge("b", True, 110)
    assert op.deadline_us == 130  # c, from the start of its phase
    op = PhasedOperation(A.DEPLOY, elements, now_us=0, default_timeout_us=50)
    op.acknowledge("a", True, 1)
    assert op.deadline_us == 50  # b: the default


def test_a_phase_past_its_deadline_times_out() -> None:
    op = operation(A.DEPLOY)
    op.acknowledge("db", True, 1)
    op.tick(DEFAULT - 1)
    assert op.result is None
    op.tick(DEFAULT)
    assert op.result is R.TIMEOUT
    assert op.finished == {"db"} and not op.failed
    assert op.acknowledge("cache", True, DEFAULT + 1) is None  # late
    assert op.unfinished == {"cache", "app", "policy"}


def test_an_answer_after_the_deadline_is_late() -> None:
    op = operation(A.DEPLOY)
    op.acknowledge("db", True, 1)
    assert op.acknowledge("cache", True, DEFAULT) is None
    assert op.result is R.TIMEOUT and "cache" not in op.finished


def test_a_known_failure_wins_over_the_deadline() -> None:
    op = operation(A.DEPLOY)
    op.acknowledge("db", False, 1)
    op.tick(DEFAULT)
    assert op.result is R.FAILED
    assert op.unfinished == {"db", "cache", "app", "policy"}


def test_invalid_input_is_refused() -> None:
    with pytest.raises(ValueError, match="negative start phase"):
        Element("x", "t", -1)
    with pytest.raises(ValueError, match="timeout must be positive"):
        Element("x", "t", 0, timeout_us=0)
    with pytest.raises(ValueError, match="not unique"):
        PhasedOperation(A.DEPLOY, [ELEMENTS[0]] * 2, now_us=0, default_timeout_us=1)
    with pytest.raises(ValueError, match="not in the instance"):
        operation(A.DEPLOY, finished=["ghost"])
    with pytest.raises(ValueError, match="default timeout"):
        PhasedOperation(A.DEPLOY, ELEMENTS, now_us=0, default_timeout_us=0)
    with pytest.raises(ValueError, match="composition timeout"):
        PrimingTracker(["t"], now_us=0, default_timeout_us=1, composition_timeout_us=-1)


# property: any elements, any action, any answers in any order


ORDER_OF = {A.DEPLOY: 1, A.UNLOCK: 1, A.UNDEPLOY: -1, A.LOCK: -1, A.DELETE: -1, A.UPDATE: 0,
            A.MIGRATE: 1, A.MIGRATION_REVERT: 1, A.MIGRATE_PRECHECK: 0}

element_lists = st.lists(
    st.builds(
        Element,
        id=st.text("abcdefgh", min_size=1, max_size=3),
        type=st.sampled_from(["k8s", "http", "policy"]),
        start_phase=st.integers(0, 4),
        timeout_us=st.none() | st.integers(1, 100),
    ),
    max_size=10,
    unique_by=lambda e: e.id,
)


@settings(database=None, derandomize=True, max_examples=200, deadline=None)
@given(element_lists, st.sampled_from(A), st.data())
def test_any_answers_in_any_order(
    elements: list[Element], action: InstanceAction, data: st.DataObject
) -> None:
    """Steps follow the phase order; a step starts only once the previous one has answered;
    answers not awaited change nothing; each unfinished element is messaged at most once, and
    exactly once when all succeed; a retry messages exactly what the first attempt left
    unfinished, and can complete."""
    finished = data.draw(
        st.sets(st.sampled_from([e.id for e in elements]) if elements else st.nothing())
    )
    phase_of = {e.id: e.start_phase for e in elements}
    op = PhasedOperation(action, elements, now_us=0, default_timeout_us=1000, finished=finished)
    messaged: list[str] = []
    phases: list[int] = []
    step = op.step
    while step is not None:
        assert op.result is None
        messaged += ids(step)
        phases.append(step.elements[0].start_phase)
        if ORDER_OF[action]:
            assert {phase_of[i] for i in ids(step)} == {phases[-1]}
        awaited = ids(step)
        order = data.draw(st.permutations(awaited))
        outcomes = data.draw(
            st.lists(st.booleans() | st.just(True), min_size=len(order), max_size=len(order))
        )
        new_step = None
        for i, (element_id, success) in enumerate(zip(order, outcomes, strict=True)):
            assert new_step is None  # no step starts before every element has answered
            stray = sorted({*phase_of, "ghost"} - set(order[i:]))  # not awaited: ignored
            for other in data.draw(st.lists(st.sampled_from(stray), max_size=2)):
                assert op.acknowledge(other, data.draw(st.booleans()), 1) is None
                assert op.result is None
            new_step = op.acknowledge(element_id, success, 1)
        step = new_step
    if ORDER_OF[action]:
        assert phases == sorted(set(phases), reverse=ORDER_OF[action] < 0)
    else:
        assert len(phases) <= 1
    assert len(messaged) == len(set(messaged))
    assert not set(messaged) & finished
    unfinished = {e.id for e in elements} - finished
    if op.result is R.NO_ERROR:
        assert set(messaged) == unfinished and op.finished == {e.id for e in elements}
    else:
        assert op.result is R.FAILED and op.failed
        assert set(messaged) - op.finished == op.failed  # the failed step answered in full
        retry = PhasedOperation(
            action, elements, now_us=2, default_timeout_us=1, finished=op.finished
        )
        assert {e.id for s in retry.steps for e in s.elements} == op.unfinished
        while (step := retry.step) is not None:
            for element_id in ids(step):
                retry.acknowledge(element_id, True, 2)
        assert retry.result is R.NO_ERROR


# priming


def test_priming_ends_when_every_type_is_primed() -> None:
    tracker = PrimingTracker(["k8s", "http"], now_us=0, default_timeout_us=10)
    assert tracker.deadline_us == 10
    tracker.acknowledge("k8s", True, 1)
    tracker.acknowledge("k8s", True, 2)
    tracker.acknowledge("policy", True, 2)
    assert tracker.result is None and tracker.primed == {"k8s"}
    tracker.acknowledge("http", True, 3)
    assert tracker.result is R.NO_ERROR and tracker.primed == {"k8s", "http"}
    assert tracker.deadline_us is None


def test_priming_failure_and_timeout() -> None:
    tracker = PrimingTracker(["k8s", "http"], now_us=0, default_timeout_us=10)
    tracker.acknowledge("http", False, 1)
    assert tracker.result is None
    tracker.acknowledge("k8s", True, 2)
    assert tracker.result is R.FAILED and tracker.failed == {"http"}

    tracker = PrimingTracker(["k8s"], now_us=0, default_timeout_us=10, composition_timeout_us=3)
    tracker.tick(2)
    assert tracker.result is None
    tracker.acknowledge("k8s", True, 3)
    assert tracker.result is R.TIMEOUT and not tracker.primed


def test_priming_nothing_is_done_at_once() -> None:
    assert PrimingTracker([], now_us=0, default_timeout_us=1).result is R.NO_ERROR

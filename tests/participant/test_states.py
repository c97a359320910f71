"""Tests of the ACM state tables: allowed actions, transitional states, outcomes, retries."""

from __future__ import annotations

from itertools import product
from typing import Final

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard.server.participant.states import (
    COMPOSITION_ACTIONS_ALLOWED,
    INSTANCE_ACTIONS_ALLOWED,
    INSTANCE_OUTCOME,
    INSTANCE_TRANSITIONAL,
    MIGRATIONS,
    ActionRefused,
    CompositionAction,
    CompositionState,
    CompositionStatus,
    DeployState,
    InstanceAction,
    InstanceStatus,
    LockState,
    PrimingAction,
    StateChangeResult,
    check_composition_action,
    instance_action_allowed,
    settle_instance_action,
    settle_priming,
    start_instance_action,
    start_priming,
)

D, L, A, R, C = DeployState, LockState, InstanceAction, StateChangeResult, CompositionState
PRIME: Final = CompositionAction.PRIME
DEPRIME: Final = CompositionAction.DEPRIME
DELETE: Final = CompositionAction.DELETE
STABLE = {
    InstanceStatus(D.UNDEPLOYED, L.NONE),
    InstanceStatus(D.DEPLOYED, L.LOCKED),
    InstanceStatus(D.DEPLOYED, L.UNLOCKED),
    InstanceStatus(D.DELETED, L.NONE),
}


def run(
    status: InstanceStatus, action: InstanceAction, result: StateChangeResult
) -> InstanceStatus:
    return settle_instance_action(start_instance_action(status, action), action, result)


# instances


def test_the_table_is_acms() -> None:
    no_error = {(a, d, lk) for a, d, lk, r in INSTANCE_ACTIONS_ALLOWED if r is R.NO_ERROR}
    assert no_error == {
        (A.DEPLOY, D.UNDEPLOYED, L.NONE),
        (A.UNDEPLOY, D.DEPLOYED, L.LOCKED),
        (A.LOCK, D.DEPLOYED, L.UNLOCKED),
        (A.UNLOCK, D.DEPLOYED, L.LOCKED),
        (A.UPDATE, D.DEPLOYED, L.LOCKED),
        (A.DELETE, D.UNDEPLOYED, L.NONE),
        (A.MIGRATE, D.DEPLOYED, L.LOCKED),
        (A.MIGRATE_PRECHECK, D.DEPLOYED, L.LOCKED),
    }
    failed = {(a, d, lk) for a, d, lk, r in INSTANCE_ACTIONS_ALLOWED if r is R.FAILED}
    timeout = {(a, d, lk) for a, d, lk, r in INSTANCE_ACTIONS_ALLOWED if r is R.TIMEOUT}
    assert failed == timeout
    assert failed == {
        *product([A.DEPLOY, A.UNDEPLOY], [D.DEPLOYING, D.UNDEPLOYING], [L.NONE, L.LOCKED]),
        (A.UNDEPLOY, D.UPDATING, L.LOCKED),
        (A.UPDATE, D.UPDATING, L.LOCKED),
        *product([A.LOCK, A.UNLOCK], [D.DEPLOYED], [L.LOCKING, L.UNLOCKING]),
        (A.DELETE, D.DELETING, L.NONE),
        (A.UNDEPLOY, D.MIGRATION_REVERTING, L.LOCKED),
    }


def test_migration_states() -> None:
    """Migrate and precheck start from DEPLOYED LOCKED and end there; the revert is the
    runtime's only (no client may start it), and a failed revert can be undeployed."""
    deployed = InstanceStatus(D.DEPLOYED, L.LOCKED)
    assert start_instance_action(deployed, A.MIGRATE) == InstanceStatus(D.MIGRATING, L.LOCKED)
    assert start_instance_action(deployed, A.MIGRATE_PRECHECK) == InstanceStatus(
        D.MIGRATION_PRECHECKING, L.LOCKED)
    assert all(INSTANCE_OUTCOME[action] == deployed for action in MIGRATIONS)
    assert not any(a is A.MIGRATION_REVERT for a, *_ in INSTANCE_ACTIONS_ALLOWED)
    reverting = InstanceStatus(D.MIGRATION_REVERTING, L.LOCKED, R.FAILED)
    assert {a for a in A if instance_action_allowed(reverting, a)} == {A.UNDEPLOY}


def test_every_state_and_action_is_allowed_or_refused_by_name() -> None:
    for deploy, lock, result, action in product(D, L, R, A):
        status = InstanceStatus(deploy, lock, result)
        if instance_action_allowed(status, action):
            entered = start_instance_action(status, action)
            assert entered == INSTANCE_TRANSITIONAL[action]
            assert entered.result is R.NO_ERROR
        else:
            with pytest.raises(ActionRefused) as refused:
                start_instance_action(status, action)
            assert refused.value.status == status
            assert refused.value.action == action
            assert f"deploy state {deploy}, lock state {lock}, result {result}" in str(
                refused.value
            )


def test_refusals_name_the_current_state() -> None:
    deployed = "deploy state DEPLOYED, lock state LOCKED, result NO_ERROR"
    with pytest.raises(ActionRefused, match=rf"^cannot deploy: the instance is in {deployed}$"):
        start_instance_action(InstanceStatus(D.DEPLOYED, L.LOCKED), A.DEPLOY)
    with pytest.raises(ActionRefused, match=r"^cannot delete: "):
        start_instance_action(InstanceStatus(D.DEPLOYED, L.LOCKED), A.DELETE)
    with pytest.raises(ActionRefused, match=r"^cannot update: .* lock state UNLOCKED"):
        start_instance_action(InstanceStatus(D.DEPLOYED, L.UNLOCKED), A.UPDATE)


def test_nothing_is_allowed_while_an_operation_runs_or_after_delete() -> None:
    busy = [*INSTANCE_TRANSITIONAL.values(), InstanceStatus(D.DELETED, L.NONE)]
    for status, action in product(busy, A):
        assert not instance_action_allowed(status, action)


def test_a_lifecycle_ends_in_each_actions_outcome() -> None:
    status = InstanceStatus(D.UNDEPLOYED, L.NONE)
    for action, expected in [
        (A.DEPLOY, InstanceStatus(D.DEPLOYED, L.LOCKED)),
        (A.UNLOCK, InstanceStatus(D.DEPLOYED, L.UNLOCKED)),
        (A.LOCK, InstanceStatus(D.DEPLOYED, L.LOCKED)),
        (A.UPDATE, InstanceStatus(D.DEPLOYED, L.LOCKED)),
        (A.UNDEPLOY, InstanceStatus(D.UNDEPLOYED, L.NONE)),
        (A.DELETE, InstanceStatus(D.DELETED, L.NONE)),
    ]:
        status = run(status, action, R.NO_ERROR)
        assert status == expected == INSTANCE_OUTCOME[action]


@pytest.mark.parametrize("result", [R.FAILED, R.TIMEOUT])
def test_failure_keeps_the_transitional_state_and_allows_retry(result: StateChangeResult) -> None:
    failed = run(InstanceStatus(D.UNDEPLOYED, L.NONE), A.DEPLOY, result)
    assert failed == InstanceStatus(D.DEPLOYING, L.NONE, result)
    assert instance_action_allowed(failed, A.DEPLOY)
    assert instance_action_allowed(failed, A.UNDEPLOY)  # give up: undeploy what was deployed
    assert not instance_action_allowed(failed, A.DELETE)
    assert run(failed, A.DEPLOY, R.NO_ERROR) == InstanceStatus(D.DEPLOYED, L.LOCKED)

    updating = run(InstanceStatus(D.DEPLOYED, L.LOCKED), A.UPDATE, result)
    assert updating == InstanceStatus(D.UPDATING, L.LOCKED, result)
    assert {a for a in A if instance_action_allowed(updating, a)} == {A.UPDATE, A.UNDEPLOY}

    unlocking = run(InstanceStatus(D.DEPLOYED, L.LOCKED), A.UNLOCK, result)
    assert {a for a in A if instance_action_allowed(unlocking, a)} == {A.LOCK, A.UNLOCK}

    deleting = run(InstanceStatus(D.UNDEPLOYED, L.NONE), A.DELETE, result)
    assert {a for a in A if instance_action_allowed(deleting, a)} == {A.DELETE}


@settings(database=None, derandomize=True, max_examples=150)
@given(st.lists(st.tuples(st.sampled_from(sorted(set(A) - MIGRATIONS)), st.sampled_from(R)),
                max_size=30))
def test_random_walks_stay_consistent(
    steps: list[tuple[InstanceAction, StateChangeResult]],
) -> None:
    """From UNDEPLOYED, any allowed action with any result: the lock state is NONE exactly when
    not deployed, a failed action can always be retried, and only DELETED is a dead end.
    (Migrations settle in the runtime: a failure there is reverted, not retried.)"""
    status = InstanceStatus(D.UNDEPLOYED, L.NONE)
    for action, result in steps:
        if not instance_action_allowed(status, action):
            continue
        status = run(status, action, result)
        assert (status.lock is L.NONE) == (
            status.deploy in {D.UNDEPLOYED, D.DEPLOYING, D.UNDEPLOYING, D.DELETING, D.DELETED}
        )
        if result is R.NO_ERROR:
            assert status in STABLE
        else:
            assert instance_action_allowed(status, action)
        assert status.deploy is D.DELETED or any(instance_action_allowed(status, a) for a in A)


# compositions


def test_composition_table() -> None:
    assert {(a, s) for a, s, r in COMPOSITION_ACTIONS_ALLOWED if r is R.NO_ERROR} == {
        *product([PRIME, DEPRIME], [C.COMMISSIONED, C.PRIMED]),
        (DELETE, C.COMMISSIONED),
    }
    for result in (R.FAILED, R.TIMEOUT):
        assert {(a, s) for a, s, r in COMPOSITION_ACTIONS_ALLOWED if r is result} == set(
            product([PRIME, DEPRIME], [C.PRIMING, C.DEPRIMING])
        )


def test_every_composition_state_and_action_is_allowed_or_refused_by_name() -> None:
    for state, result, action in product(C, R, CompositionAction):
        status = CompositionStatus(state, result)
        if (action, state, result) in COMPOSITION_ACTIONS_ALLOWED:
            check_composition_action(status, action)
        else:
            with pytest.raises(ActionRefused, match=f"the composition is in state {state}, result"):
                check_composition_action(status, action)


def test_priming_and_depriming() -> None:
    priming = start_priming(CompositionStatus(C.COMMISSIONED), PRIME)
    assert priming == CompositionStatus(C.PRIMING)
    assert settle_priming(priming, PRIME, R.NO_ERROR) == CompositionStatus(C.PRIMED)
    failed = settle_priming(priming, PRIME, R.TIMEOUT)
    assert failed == CompositionStatus(C.PRIMING, R.TIMEOUT)
    depriming = start_priming(failed, DEPRIME)
    assert settle_priming(depriming, DEPRIME, R.NO_ERROR) == CompositionStatus(C.COMMISSIONED)
    with pytest.raises(ActionRefused, match="cannot delete: the composition is in state PRIMED"):
        check_composition_action(CompositionStatus(C.PRIMED), DELETE)
    with pytest.raises(ActionRefused, match="cannot prime: the composition is in state PRIMING"):
        start_priming(priming, PRIME)


@pytest.mark.parametrize("action", [PRIME, DEPRIME])
def test_priming_from_every_state(action: PrimingAction) -> None:
    for state, result in product(C, R):
        status = CompositionStatus(state, result)
        if (action, state, result) in COMPOSITION_ACTIONS_ALLOWED:
            assert start_priming(status, action).result is R.NO_ERROR
        else:
            with pytest.raises(ActionRefused):
                start_priming(status, action)

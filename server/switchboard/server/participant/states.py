"""ACM states of compositions and instances, and which action is allowed from which state.

Follows ONAP policy-clamp ACM (`AcTypeStateResolver`, `AcInstanceStateResolver`,
`SupervisionAcHandler`), without prepare/review and sub-states. An allowed action
enters a transitional state with result NO_ERROR; the operation then settles: on success in the
action's outcome, on failure or timeout in the same transitional state with result FAILED or
TIMEOUT, from which the table allows a retry (or, for some, the opposite action).

Instances, allowed from (deploy state, lock state, result), where F/T is FAILED or TIMEOUT:

    action    allowed from                                     enters              on success
    deploy    UNDEPLOYED NONE NO_ERROR;                        DEPLOYING NONE      DEPLOYED LOCKED
              DEPLOYING|UNDEPLOYING, NONE|LOCKED, F/T
    undeploy  DEPLOYED LOCKED NO_ERROR;                        UNDEPLOYING NONE    UNDEPLOYED NONE
              DEPLOYING|UNDEPLOYING, NONE|LOCKED, F/T;
              UPDATING LOCKED F/T
    lock      DEPLOYED UNLOCKED NO_ERROR;                      DEPLOYED LOCKING    DEPLOYED LOCKED
              DEPLOYED LOCKING|UNLOCKING F/T
    unlock    DEPLOYED LOCKED NO_ERROR;                        DEPLOYED UNLOCKING  DEPLOYED UNLOCKED
              DEPLOYED LOCKING|UNLOCKING F/T
    update    DEPLOYED LOCKED NO_ERROR; UPDATING LOCKED F/T    UPDATING LOCKED     DEPLOYED LOCKED
    delete    UNDEPLOYED NONE NO_ERROR; DELETING NONE F/T      DELETING NONE       DELETED NONE
    migrate   DEPLOYED LOCKED NO_ERROR                         MIGRATING LOCKED    DEPLOYED LOCKED
    precheck  DEPLOYED LOCKED NO_ERROR                         MIGRATION_          DEPLOYED LOCKED
                                                               PRECHECKING LOCKED
    revert    (the runtime's, after a failed migrate)          MIGRATION_          DEPLOYED LOCKED
                                                               REVERTING LOCKED

Migration (ACM's migrate, with its precheck): a failed or timed-out migrate is not left for a
retry; the runtime starts `MIGRATION_REVERT` at once; a failed revert is left in
MIGRATION_REVERTING LOCKED F/T, from which undeploy is allowed. A precheck ends DEPLOYED LOCKED
whatever the participants answer: its answer is recorded on the instance apart.

Compositions, allowed from (state, result):

    action    allowed from                                     enters              on success
    prime     COMMISSIONED|PRIMED NO_ERROR;                    PRIMING             PRIMED
              PRIMING|DEPRIMING F/T
    deprime   the same as prime                                DEPRIMING           COMMISSIONED
    delete    COMMISSIONED NO_ERROR                            (removed at once; nothing is sent)

The LOCKED variants of DEPLOYING and UNDEPLOYING are ACM's; this module never enters them.
TIMEOUT retries of prime and deprime mirror FAILED, as for instances.
Every other combination is refused with `ActionRefused`, which names the current state. What the
tables cannot see is the servicer's to check: deprime and composition delete need no instances.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from itertools import product
from typing import Literal


class CompositionState(StrEnum):
    """Priming state of a composition definition (ACM `AcTypeState`)."""

    COMMISSIONED = "COMMISSIONED"
    PRIMING = "PRIMING"
    PRIMED = "PRIMED"
    DEPRIMING = "DEPRIMING"


class DeployState(StrEnum):
    """Deploy state of an instance or one of its elements."""

    UNDEPLOYED = "UNDEPLOYED"
    DEPLOYING = "DEPLOYING"
    DEPLOYED = "DEPLOYED"
    UNDEPLOYING = "UNDEPLOYING"
    UPDATING = "UPDATING"
    DELETING = "DELETING"
    DELETED = "DELETED"
    MIGRATING = "MIGRATING"
    MIGRATION_PRECHECKING = "MIGRATION_PRECHECKING"
    MIGRATION_REVERTING = "MIGRATION_REVERTING"


class LockState(StrEnum):
    """Lock state of an instance or one of its elements; NONE while not deployed."""

    NONE = "NONE"
    LOCKED = "LOCKED"
    LOCKING = "LOCKING"
    UNLOCKED = "UNLOCKED"
    UNLOCKING = "UNLOCKING"


class StateChangeResult(StrEnum):
    """How the last operation ended: NO_ERROR also while one is in progress."""

    NO_ERROR = "NO_ERROR"
    FAILED = "FAILED"
    TIMEOUT = "TIMEOUT"


class CompositionAction(StrEnum):
    """A northbound action on a composition definition."""

    PRIME = "prime"
    DEPRIME = "deprime"
    DELETE = "delete"


class InstanceAction(StrEnum):
    """A northbound action on a composition instance."""

    DEPLOY = "deploy"
    UNDEPLOY = "undeploy"
    LOCK = "lock"
    UNLOCK = "unlock"
    UPDATE = "update"
    DELETE = "delete"
    MIGRATE = "migrate"
    MIGRATE_PRECHECK = "migrate_precheck"
    MIGRATION_REVERT = "migration_revert"
    """Not a client's: the runtime's, after a failed migrate."""


MIGRATIONS = frozenset({InstanceAction.MIGRATE, InstanceAction.MIGRATE_PRECHECK,
                        InstanceAction.MIGRATION_REVERT})
"""The actions that move (or ask about moving) an instance to another composition."""

PrimingAction = Literal[CompositionAction.PRIME, CompositionAction.DEPRIME]
"""The composition actions that message participants."""


@dataclass(frozen=True)
class CompositionStatus:
    """A composition's state and the result of its last prime or deprime."""

    state: CompositionState
    result: StateChangeResult = StateChangeResult.NO_ERROR

    def __str__(self) -> str:
        return f"state {self.state}, result {self.result}"


@dataclass(frozen=True)
class InstanceStatus:
    """An instance's deploy and lock state and the result of its last operation."""

    deploy: DeployState
    lock: LockState
    result: StateChangeResult = StateChangeResult.NO_ERROR

    def __str__(self) -> str:
        return f"deploy state {self.deploy}, lock state {self.lock}, result {self.result}"


class ActionRefused(Exception):
    """An action not allowed from the current status (FAILED_PRECONDITION to a client)."""

    def __init__(self, action: str, status: CompositionStatus | InstanceStatus) -> None:
        self.action = action
        self.status = status
        kind = "composition" if isinstance(status, CompositionStatus) else "instance"
        super().__init__(f"cannot {action}: the {kind} is in {status}")


InstanceKey = tuple[InstanceAction, DeployState, LockState, StateChangeResult]
CompositionKey = tuple[CompositionAction, CompositionState, StateChangeResult]

_RETRY = (StateChangeResult.FAILED, StateChangeResult.TIMEOUT)
_NO_ERROR = (StateChangeResult.NO_ERROR,)
_D, _L, _A, _C = DeployState, LockState, InstanceAction, CompositionState


def _instance_rows(
    actions: Iterable[InstanceAction],
    deploys: Iterable[DeployState],
    locks: Iterable[LockState],
    results: Iterable[StateChangeResult],
) -> set[InstanceKey]:
    return set(product(actions, deploys, locks, results))


INSTANCE_ACTIONS_ALLOWED: frozenset[InstanceKey] = frozenset(
    _instance_rows([_A.DEPLOY], [_D.UNDEPLOYED], [_L.NONE], _NO_ERROR)
    | _instance_rows([_A.UNDEPLOY], [_D.DEPLOYED], [_L.LOCKED], _NO_ERROR)
    | _instance_rows([_A.LOCK], [_D.DEPLOYED], [_L.UNLOCKED], _NO_ERROR)
    | _instance_rows([_A.UNLOCK, _A.UPDATE, _A.MIGRATE, _A.MIGRATE_PRECHECK], [_D.DEPLOYED],
                     [_L.LOCKED], _NO_ERROR)
    | _instance_rows([_A.UNDEPLOY], [_D.MIGRATION_REVERTING], [_L.LOCKED], _RETRY)
    | _instance_rows([_A.DELETE], [_D.UNDEPLOYED], [_L.NONE], _NO_ERROR)
    | _instance_rows(
        [_A.DEPLOY, _A.UNDEPLOY], [_D.DEPLOYING, _D.UNDEPLOYING], [_L.NONE, _L.LOCKED], _RETRY
    )
    | _instance_rows([_A.UNDEPLOY, _A.UPDATE], [_D.UPDATING], [_L.LOCKED], _RETRY)
    | _instance_rows([_A.LOCK, _A.UNLOCK], [_D.DEPLOYED], [_L.LOCKING, _L.UNLOCKING], _RETRY)
    | _instance_rows([_A.DELETE], [_D.DELETING], [_L.NONE], _RETRY)
)
"""Every (action, deploy state, lock state, result) from which the action is allowed."""

_PRIMING_ACTIONS = (CompositionAction.PRIME, CompositionAction.DEPRIME)
COMPOSITION_ACTIONS_ALLOWED: frozenset[CompositionKey] = frozenset(
    set(product(_PRIMING_ACTIONS, [_C.COMMISSIONED, _C.PRIMED], _NO_ERROR))
    | set(product(_PRIMING_ACTIONS, [_C.PRIMING, _C.DEPRIMING], _RETRY))
    | {(CompositionAction.DELETE, _C.COMMISSIONED, StateChangeResult.NO_ERROR)}
)
"""Every (action, state, result) from which the composition action is allowed."""

INSTANCE_TRANSITIONAL: Mapping[InstanceAction, InstanceStatus] = {
    _A.DEPLOY: InstanceStatus(_D.DEPLOYING, _L.NONE),
    _A.UNDEPLOY: InstanceStatus(_D.UNDEPLOYING, _L.NONE),
    _A.LOCK: InstanceStatus(_D.DEPLOYED, _L.LOCKING),
    _A.UNLOCK: InstanceStatus(_D.DEPLOYED, _L.UNLOCKING),
    _A.UPDATE: InstanceStatus(_D.UPDATING, _L.LOCKED),
    _A.DELETE: InstanceStatus(_D.DELETING, _L.NONE),
    _A.MIGRATE: InstanceStatus(_D.MIGRATING, _L.LOCKED),
    _A.MIGRATE_PRECHECK: InstanceStatus(_D.MIGRATION_PRECHECKING, _L.LOCKED),
    _A.MIGRATION_REVERT: InstanceStatus(_D.MIGRATION_REVERTING, _L.LOCKED),
}
"""The status an allowed instance action enters, whatever it starts from."""

INSTANCE_OUTCOME: Mapping[InstanceAction, InstanceStatus] = {
    _A.DEPLOY: InstanceStatus(_D.DEPLOYED, _L.LOCKED),
    _A.UNDEPLOY: InstanceStatus(_D.UNDEPLOYED, _L.NONE),
    _A.LOCK: InstanceStatus(_D.DEPLOYED, _L.LOCKED),
    _A.UNLOCK: InstanceStatus(_D.DEPLOYED, _L.UNLOCKED),
    _A.UPDATE: InstanceStatus(_D.DEPLOYED, _L.LOCKED),
    _A.DELETE: InstanceStatus(_D.DELETED, _L.NONE),
    _A.MIGRATE: InstanceStatus(_D.DEPLOYED, _L.LOCKED),
    _A.MIGRATE_PRECHECK: InstanceStatus(_D.DEPLOYED, _L.LOCKED),
    _A.MIGRATION_REVERT: InstanceStatus(_D.DEPLOYED, _L.LOCKED),
}
"""The status an instance action ends in on success (also each element's, once it succeeds)."""

PRIMING_TRANSITIONAL: Mapping[PrimingAction, CompositionStatus] = {
    CompositionAction.PRIME: CompositionStatus(_C.PRIMING),
    CompositionAction.DEPRIME: CompositionStatus(_C.DEPRIMING),
}
"""The status an allowed prime or deprime enters."""

PRIMING_OUTCOME: Mapping[PrimingAction, CompositionStatus] = {
    CompositionAction.PRIME: CompositionStatus(_C.PRIMED),
    CompositionAction.DEPRIME: CompositionStatus(_C.COMMISSIONED),
}
"""The status a prime or deprime ends in on success."""


def instance_action_allowed(status: InstanceStatus, action: InstanceAction) -> bool:
    """Whether `action` is allowed from `status`."""
    return (action, status.deploy, status.lock, status.result) in INSTANCE_ACTIONS_ALLOWED


def start_instance_action(status: InstanceStatus, action: InstanceAction) -> InstanceStatus:
    """The transitional status `action` enters from `status`; `ActionRefused` if not allowed."""
    if not instance_action_allowed(status, action):
        raise ActionRefused(action, status)
    return INSTANCE_TRANSITIONAL[action]


def settle_instance_action(
    status: InstanceStatus, action: InstanceAction, result: StateChangeResult
) -> InstanceStatus:
    """The status once `action`, started and now in `status`, has ended with `result`: its
    outcome on NO_ERROR, else the same transitional state with the result, awaiting a retry."""
    if result is StateChangeResult.NO_ERROR:
        return INSTANCE_OUTCOME[action]
    return dataclasses.replace(status, result=result)


def check_composition_action(status: CompositionStatus, action: CompositionAction) -> None:
    """Raise `ActionRefused` unless `action` is allowed from `status`."""
    if (action, status.state, status.result) not in COMPOSITION_ACTIONS_ALLOWED:
        raise ActionRefused(action, status)


def start_priming(status: CompositionStatus, action: PrimingAction) -> CompositionStatus:
    """The transitional status a prime or deprime enters; `ActionRefused` if not allowed."""
    check_composition_action(status, action)
    return PRIMING_TRANSITIONAL[action]


def settle_priming(
    status: CompositionStatus, action: PrimingAction, result: StateChangeResult
) -> CompositionStatus:
    """The status once a prime or deprime has ended with `result` (as `settle_instance_action`)."""
    if result is StateChangeResult.NO_ERROR:
        return PRIMING_OUTCOME[action]
    return dataclasses.replace(status, result=result)

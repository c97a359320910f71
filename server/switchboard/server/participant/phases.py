"""One operation on one instance, step by step over start phases; and priming per element type.

Order (ACM `ParticipantUtils.getFirstStartPhase`): deploy and unlock go from the lowest start
phase up; undeploy, lock and delete from the highest down. Update messages every element at once,
in one step: it changes the properties of elements that are all running, so there is no start or
stop order to respect, and ACM sends one properties-update message to all participants. Migrate,
and the revert after a failed one, go up like deploy (ACM migrates stage by stage, from the
first); its precheck messages every element at once, as it changes nothing. Priming is not
phased either: ACM primes every element type at once (`PrimingTracker`).

A step's elements are messaged in parallel; the next step starts only when every one of them has
answered. A retry (of the same action, or ACM's opposite one, such as undeploy after a failed
deploy) passes the elements already finished, those whose own state is the action's outcome
(`states.INSTANCE_OUTCOME`): only the others are messaged, and steps left empty are skipped.

Deadlines: each messaged element gets its own, from the step's start (as ACM restarts its clock at
each phase): its override for this operation, else the composition's, else the server default.
The step's deadline is the earliest of those of its elements not yet answered, so every override
binds its own element, and the deadline can only move later as elements answer. (ACM takes the
timeout of whichever element of the operation it finds first.)

Ending: all steps answered successfully is NO_ERROR. A failure stops the operation before the
next step, but the rest of the step is still awaited, so that what finished is known exactly;
it then ends FAILED, also when the deadline passes first (the failure is the cause). A deadline
that passes with no failure ends TIMEOUT. An element is finished once it acknowledged success.

Both keep their whole state in a JSON-able document (`to_doc`, `from_doc`), so that an operation
can be stored and carried on by whichever server replica handles its next answer or deadline.

Time is integer microseconds, passed in; nothing here reads a clock. An operation is past its
deadline from the deadline itself on. Answers that are duplicates, late (after the end or the
deadline), for unknown elements or for elements not in the current step are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from switchboard.server.participant.states import InstanceAction, StateChangeResult


class Order(StrEnum):
    """The order in which an operation goes through start phases."""

    ASCENDING = "ascending"
    DESCENDING = "descending"
    ALL_AT_ONCE = "all_at_once"


PHASE_ORDER: Mapping[InstanceAction, Order] = {
    InstanceAction.DEPLOY: Order.ASCENDING,
    InstanceAction.UNLOCK: Order.ASCENDING,
    InstanceAction.UNDEPLOY: Order.DESCENDING,
    InstanceAction.LOCK: Order.DESCENDING,
    InstanceAction.DELETE: Order.DESCENDING,
    InstanceAction.UPDATE: Order.ALL_AT_ONCE,
    InstanceAction.MIGRATE: Order.ASCENDING,
    InstanceAction.MIGRATION_REVERT: Order.ASCENDING,
    InstanceAction.MIGRATE_PRECHECK: Order.ALL_AT_ONCE,
}


@dataclass(frozen=True)
class Element:
    """An instance element: its id, its element type, its start phase and its timeout override
    for the operation at hand (None: the composition's or the server default)."""

    id: str
    type: str
    start_phase: int
    timeout_us: int | None = None

    def __post_init__(self) -> None:
        if self.start_phase < 0:
            raise ValueError(f"element {self.id!r} has a negative start phase")
        _require_positive(self.timeout_us, f"element {self.id!r} timeout")


@dataclass(frozen=True)
class Step:
    """Elements messaged together, in id order: one start phase, or all of them for update."""

    elements: tuple[Element, ...]

    @property
    def start_phases(self) -> tuple[int, ...]:
        return tuple(sorted({e.start_phase for e in self.elements}))


def _require_positive(timeout_us: int | None, what: str) -> None:
    if timeout_us is not None and timeout_us <= 0:
        raise ValueError(f"{what} must be positive")


def _first(override_us: int | None, fallback_us: int) -> int:
    return fallback_us if override_us is None else override_us


def plan(
    action: InstanceAction, elements: Iterable[Element], finished: Iterable[str] = ()
) -> tuple[Step, ...]:
    """The steps of `action` over the elements not in `finished`, in order; no empty step."""
    done = set(finished)
    todo = sorted((e for e in elements if e.id not in done), key=lambda e: e.id)
    order = PHASE_ORDER[action]
    if order is Order.ALL_AT_ONCE:
        return (Step(tuple(todo)),) if todo else ()
    phases = sorted({e.start_phase for e in todo}, reverse=order is Order.DESCENDING)
    return tuple(Step(tuple(e for e in todo if e.start_phase == p)) for p in phases)


class _Wave:
    """Keys messaged together, each with its deadline, awaiting one answer each."""

    def __init__(self, deadlines: Mapping[str, int]) -> None:
        self.pending = dict(deadlines)
        self.succeeded: set[str] = set()
        self.failed: set[str] = set()

    def answer(self, key: str, success: bool) -> bool:
        """Record the first answer of a pending key; False if the key is not pending."""
        if self.pending.pop(key, None) is None:
            return False
        (self.succeeded if success else self.failed).add(key)
        return True

    @property
    def deadline_us(self) -> int | None:
        return min(self.pending.values(), default=None)

    def to_doc(self) -> dict[str, Any]:
        return {"pending": self.pending, "succeeded": sorted(self.succeeded),
                "failed": sorted(self.failed)}

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> _Wave:
        wave = cls(doc["pending"])
        wave.succeeded = set(doc["succeeded"])
        wave.failed = set(doc["failed"])
        return wave

    def expired(self, now_us: int) -> bool:
        deadline = self.deadline_us
        return deadline is not None and now_us >= deadline

    def settled_result(self, now_us: int) -> StateChangeResult | None:
        """FAILED, TIMEOUT or None (not ended by this wave): see the module docstring."""
        if self.failed and (not self.pending or self.expired(now_us)):
            return StateChangeResult.FAILED
        if self.expired(now_us):
            return StateChangeResult.TIMEOUT
        return None


class PhasedOperation:
    """One attempt of an action on one instance. Read `step` for the elements to message (after
    construction, and whenever `acknowledge` returns a new step), feed answers and clock ticks,
    and watch `deadline_us`; `result` is None until the operation ends."""

    def __init__(
        self,
        action: InstanceAction,
        elements: Iterable[Element],
        *,
        now_us: int,
        default_timeout_us: int,
        composition_timeout_us: int | None = None,
        finished: Iterable[str] = (),
    ) -> None:
        members = list(elements)
        ids = {e.id for e in members}
        if len(ids) != len(members):
            raise ValueError("element ids are not unique")
        done = set(finished)
        if not done <= ids:
            raise ValueError(f"finished elements not in the instance: {sorted(done - ids)}")
        _require_positive(default_timeout_us, "default timeout")
        _require_positive(composition_timeout_us, "composition timeout")
        self.action = action
        self.steps = plan(action, members, done)
        self._default_us = _first(composition_timeout_us, default_timeout_us)
        self._all = frozenset(ids)
        self._finished = done
        self._index = -1
        self._wave = _Wave({})
        self.result: StateChangeResult | None = None
        self._advance(now_us)

    @property
    def step(self) -> Step | None:
        """The step in progress; None once the operation has ended."""
        return None if self.result is not None else self.steps[self._index]

    @property
    def deadline_us(self) -> int | None:
        """When the step in progress times out, unless answered; None once ended."""
        return None if self.result is not None else self._wave.deadline_us

    @property
    def finished(self) -> frozenset[str]:
        """Elements done: finished before this attempt, or acknowledged success in it."""
        return frozenset(self._finished)

    @property
    def failed(self) -> frozenset[str]:
        """Elements that acknowledged failure in this attempt."""
        return frozenset(self._wave.failed)

    @property
    def unfinished(self) -> frozenset[str]:
        """Elements a retry has to message."""
        return self._all - self._finished

    @property
    def index(self) -> int:
        """The position of the step in progress (or last in progress) in `steps`."""
        return self._index

    def to_doc(self) -> dict[str, Any]:
        """The whole state, as JSON-able values (`from_doc` makes it again)."""
        return {
            "action": self.action.value,
            "steps": [[[e.id, e.type, e.start_phase, e.timeout_us] for e in step.elements]
                      for step in self.steps],
            "default_us": self._default_us, "all": sorted(self._all),
            "finished": sorted(self._finished), "index": self._index,
            "wave": self._wave.to_doc(),
            "result": None if self.result is None else self.result.value,
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> PhasedOperation:
        op = cls.__new__(cls)
        op.action = InstanceAction(doc["action"])
        op.steps = tuple(Step(tuple(Element(*e) for e in step)) for step in doc["steps"])
        op._default_us = doc["default_us"]
        op._all = frozenset(doc["all"])
        op._finished = set(doc["finished"])
        op._index = doc["index"]
        op._wave = _Wave.from_doc(doc["wave"])
        op.result = None if doc["result"] is None else StateChangeResult(doc["result"])
        return op

    def acknowledge(self, element_id: str, success: bool, now_us: int) -> Step | None:
        """Record an element's answer at `now_us`; the step it starts, if it starts one."""
        self.tick(now_us)
        if self.result is not None or not self._wave.answer(element_id, success):
            return None
        if success:
            self._finished.add(element_id)
        self.result = self._wave.settled_result(now_us)
        if self.result is None and not self._wave.pending:
            return self._advance(now_us)
        return None

    def tick(self, now_us: int) -> None:
        """Let the clock reach `now_us`: a step past its deadline ends the operation."""
        if self.result is None:
            self.result = self._wave.settled_result(now_us)

    def _advance(self, now_us: int) -> Step | None:
        self._index += 1
        if self._index == len(self.steps):
            self.result = StateChangeResult.NO_ERROR
            return None
        step = self.steps[self._index]
        self._wave = _Wave(
            {e.id: now_us + _first(e.timeout_us, self._default_us) for e in step.elements}
        )
        return step


class PrimingTracker:
    """One prime or deprime of a composition, acknowledged per element type: it ends NO_ERROR
    (PRIMED, or COMMISSIONED for deprime) when every type has succeeded. Failures and the
    deadline (the composition's timeout, else the server default) end it as a step ends above.
    A retry starts a new tracker over every type: priming is idempotent on participants."""

    def __init__(
        self,
        element_types: Iterable[str],
        *,
        now_us: int,
        default_timeout_us: int,
        composition_timeout_us: int | None = None,
    ) -> None:
        _require_positive(default_timeout_us, "default timeout")
        _require_positive(composition_timeout_us, "composition timeout")
        deadline = now_us + _first(composition_timeout_us, default_timeout_us)
        self.element_types = frozenset(element_types)
        self._wave = _Wave(dict.fromkeys(self.element_types, deadline))
        self.result: StateChangeResult | None = None
        self._settle(now_us)

    @property
    def deadline_us(self) -> int | None:
        """When priming times out, unless answered; None once ended."""
        return None if self.result is not None else self._wave.deadline_us

    @property
    def primed(self) -> frozenset[str]:
        """Element types that acknowledged success."""
        return frozenset(self._wave.succeeded)

    @property
    def failed(self) -> frozenset[str]:
        """Element types that acknowledged failure."""
        return frozenset(self._wave.failed)

    def to_doc(self) -> dict[str, Any]:
        """The whole state, as JSON-able values (`from_doc` makes it again)."""
        return {"element_types": sorted(self.element_types), "wave": self._wave.to_doc(),
                "result": None if self.result is None else self.result.value}

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> PrimingTracker:
        tracker = cls.__new__(cls)
        tracker.element_types = frozenset(doc["element_types"])
        tracker._wave = _Wave.from_doc(doc["wave"])
        tracker.result = None if doc["result"] is None else StateChangeResult(doc["result"])
        return tracker

    def acknowledge(self, element_type: str, success: bool, now_us: int) -> None:
        """Record an element type's answer at `now_us`."""
        self.tick(now_us)
        if self.result is None and self._wave.answer(element_type, success):
            self._settle(now_us)

    def tick(self, now_us: int) -> None:
        """Let the clock reach `now_us`: past the deadline, priming ends."""
        if self.result is None:
            self._settle(now_us)

    def _settle(self, now_us: int) -> None:
        self.result = self._wave.settled_result(now_us)
        if self.result is None and not self._wave.pending:
            self.result = StateChangeResult.NO_ERROR

"""The automation-composition runtime: starts prime/deprime and instance operations, messages
participants step by step (`phases`), applies their acknowledgements, and ends operations on
their deadlines or when a participant they wait on goes offline (`supervision`), all on the
server clock.

Every change goes through one lock of this process and one database transaction: the rows, their
events and the messages the change sends commit together. Messages are durable rows; each goes to
one live replica of the participant owning the element types concerned, and stays pending until
acknowledged. When an operation ends, its unacknowledged messages are closed (a participant that
comes back later gets a sync instead). The unacknowledged messages are also held in memory (every
one was sent by this process: `recover` closes the others), and the streams are served from there.

Acknowledgements and instance actions that arrive together are applied in one transaction
(`_apply_batches`): the instances and compositions they concern are read at once at its start,
the instances they change are written at once at its end, and the messages it sends and
acknowledges are written at once before it commits.

Every event records who caused it: the caller of the call whose work it is (an instance action's
caller; the participant whose acknowledgement or status report it applies), or the server for
its own work (deadlines, participants gone offline, recovery). Batched work runs in the batch
loop's task, so each piece carries its call's principal and ownership (captured when it is
queued); an instance that several pieces of one batch change records the last of them.

Operations in progress live in this process's memory. On start, operations a previous process
left unfinished end in TIMEOUT (a retry picks them up), and their messages are closed.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import structlog

from switchboard.participant.v1 import participant_pb2 as pb
from switchboard.server import ownership
from switchboard.server.clock import sleep_until_woken
from switchboard.server.errors import (
    FailedPrecondition,
    NotFound,
    PreconditionViolation,
    SwitchboardError,
)
from switchboard.server.eventlog import EventLog, Transaction
from switchboard.server.ownership import Access
from switchboard.server.participant import changes, store
from switchboard.server.participant import phases as ph
from switchboard.server.participant.changes import AREA
from switchboard.server.participant.convert import (
    composition_pb,
    instance_pb,
    struct_dict,
    struct_pb,
)
from switchboard.server.participant.states import (
    INSTANCE_OUTCOME,
    INSTANCE_TRANSITIONAL,
    ActionRefused,
    CompositionAction,
    CompositionState,
    CompositionStatus,
    InstanceAction,
    InstanceStatus,
    PrimingAction,
    StateChangeResult,
    settle_instance_action,
    settle_priming,
    start_instance_action,
    start_priming,
)
from switchboard.server.participant.store import Composition, Element, Instance
from switchboard.server.participant.supervision import ElementTypeOwned, Supervisor
from switchboard.server.policy import caller
from switchboard.server.tasks import BackgroundTask
from switchboard.server.timestamps import from_micros

log = structlog.get_logger("switchboard.participant.runtime")

MESSAGE_TYPES: Mapping[InstanceAction | CompositionAction, pb.MessageType] = {
    CompositionAction.PRIME: pb.MESSAGE_TYPE_PRIME,
    CompositionAction.DEPRIME: pb.MESSAGE_TYPE_DEPRIME,
    InstanceAction.DEPLOY: pb.MESSAGE_TYPE_DEPLOY,
    InstanceAction.UNDEPLOY: pb.MESSAGE_TYPE_UNDEPLOY,
    InstanceAction.LOCK: pb.MESSAGE_TYPE_LOCK,
    InstanceAction.UNLOCK: pb.MESSAGE_TYPE_UNLOCK,
    InstanceAction.UPDATE: pb.MESSAGE_TYPE_UPDATE,
    InstanceAction.DELETE: pb.MESSAGE_TYPE_DELETE,
}
ACK_BATCH = 200
"""Most acknowledgements applied in one transaction."""
_TRANSITIONAL = frozenset(INSTANCE_TRANSITIONAL.values())


@dataclass(frozen=True)
class RuntimeSettings:
    heartbeat_bound_us: int
    default_timeout_us: int


@dataclass(frozen=True)
class Result:
    """One element's (or, for priming, one element type's) answer in an acknowledgement."""

    name: str
    success: bool
    message: str = ""
    out_properties: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class _Sent:
    """An unacknowledged message, as committed (`message.id` set)."""

    id: int
    participant_id: str
    replica_id: str
    subject: str
    attempt: int
    message: pb.ParticipantMessage


@dataclass
class _Work:
    """An acknowledgement or instance action for the batch loop, with the instance it
    concerns (if known) and the principal of the call that queued it (what it writes records
    that principal as its cause)."""

    apply: Callable[[Transaction], Awaitable[Any]]
    instance_id: str
    principal: str
    action: bool = False
    """An instance action: its result is the instance as written at the end of the batch."""
    done: asyncio.Future[Any] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future())


@dataclass
class _Operation:
    instance_id: str
    action: InstanceAction
    phased: ph.PhasedOperation
    attempt: int
    forced: str = ""
    """Why the operation ended TIMEOUT early (a participant it waits on is offline)."""
    current: ph.Step | None = None
    """The step messaged last."""

    @property
    def result(self) -> StateChangeResult | None:
        return StateChangeResult.TIMEOUT if self.forced else self.phased.result

    def pending(self) -> list[ph.Element]:
        """Elements of the current step that have not answered."""
        done = self.phased.finished | self.phased.failed
        step = self.current
        return [] if step is None else [e for e in step.elements if e.id not in done]


@dataclass
class _Priming:
    composition_id: str
    action: PrimingAction
    tracker: ph.PrimingTracker
    owners: dict[str, str]
    attempt: int
    forced: str = ""

    @property
    def result(self) -> StateChangeResult | None:
        return StateChangeResult.TIMEOUT if self.forced else self.tracker.result

    def pending(self) -> set[str]:
        return set(self.tracker.element_types - self.tracker.primed - self.tracker.failed)


def refused(error: ActionRefused, subject: str) -> FailedPrecondition:
    return FailedPrecondition(
        message=str(error), reason="STATE_NOT_ALLOWED", area=AREA,
        violations=[PreconditionViolation("STATE", subject, str(error))])


def composition_not_found(composition_id: str) -> NotFound:
    return NotFound(message=f"composition {composition_id!r} not found",
                    reason="COMPOSITION_NOT_FOUND", area=AREA, resource_type="composition",
                    resource_name=composition_id)


def instance_not_found(instance_id: str) -> NotFound:
    return NotFound(message=f"instance {instance_id!r} not found", reason="INSTANCE_NOT_FOUND",
                    area=AREA, resource_type="instance", resource_name=instance_id)


def visible_composition(c: Composition | None, seen: Access) -> Composition | None:
    """`c` if the caller sees it (`ownership`), else None: as if it did not exist."""
    return c if c is not None and seen.sees(c.project) else None


class Runtime(BackgroundTask):
    """Operations in progress, the participants' supervisor, and the message mailboxes."""

    name = "participant-runtime"

    def __init__(self, events: EventLog, settings: RuntimeSettings) -> None:
        super().__init__()
        self.events = events
        self.clock = events.clock
        self.settings = settings
        self.supervisor = Supervisor(settings.heartbeat_bound_us)
        self.lock = asyncio.Lock()
        self.operations: dict[str, _Operation] = {}
        self.primings: dict[str, _Priming] = {}
        self.closed = False
        self._attempts = itertools.count(1)
        self._wake = asyncio.Event()
        self._sleeping_until: int | None = None
        """When the clock loop wakes next by itself (None: only when woken)."""
        self._mailboxes: dict[tuple[str, str], set[asyncio.Event]] = {}
        self._outbox: set[tuple[str, str]] = set()
        self._unacknowledged: dict[int, _Sent] = {}
        """Every message of this process not yet acknowledged or closed, as committed (`recover`
        closes what a previous process sent, so this is exactly the database's pending set)."""
        self._by_replica: dict[tuple[str, str], dict[int, _Sent]] = {}
        self._by_subject: dict[str, set[int]] = {}
        self._staged: list[_Sent] = []
        """Messages the current transaction sends: inserted at its end, indexed once it
        commits."""
        self._closing: list[int] = []
        """Messages the current transaction acknowledged or closed: marked at its end."""
        self._deferred: dict[str, Instance] | None = None
        """While a batch is applied: the instances it changed, written together
        at the end of the batch."""
        self._deferred_by: dict[str, str] = {}
        """While a batch is applied: per changed instance, the principal that changed it
        last."""
        self._loaded: dict[str, Instance] = {}
        """While a batch is applied: the instances it concerns, read at once at the
        start of the batch."""
        self._compositions: dict[str, Composition] = {}
        """While a batch is applied: the compositions of the instances its actions concern."""
        self._next_message_id = 1
        """Message ids are handed out here (`recover` starts after the highest stored one):
        the rows of a transaction are then written in one statement at its end."""
        self._work: asyncio.Queue[_Work] = asyncio.Queue()

    # -- plumbing ----------------------------------------------------------------------------------

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Transaction]:
        """This process's lock, then a transaction (see `_transaction`)."""
        async with self.lock, self._transaction() as tx:
            yield tx

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Transaction]:
        """A transaction (the lock held already); once it has ended, the streams of replicas
        it messaged and the clock loop are woken."""
        committed = False
        try:
            async with self.events.transaction() as tx:
                yield tx
                await store.insert_messages(tx.conn, [
                    store.StoredMessage(m.id, m.participant_id, m.replica_id, m.subject,
                                        m.attempt, m.message.SerializeToString(), False)
                    for m in self._staged], tx.now)
                await store.acknowledge_many(tx.conn, self._closing)
            committed = True
        finally:
            if committed:
                for sent in self._staged:
                    self._index(sent)
            else:
                self._outbox.clear()
            self._staged.clear()
            self._closing.clear()
            for key in self._outbox:
                for event in self._mailboxes.get(key, ()):
                    event.set()
            self._outbox.clear()
            due = self._next_wake()
            if due is not None and (self._sleeping_until is None or due < self._sleeping_until):
                self._wake.set()

    @asynccontextmanager
    async def mailbox(self, participant_id: str, replica_id: str) -> AsyncIterator[asyncio.Event]:
        """An event set whenever a message for the replica is committed (or streams close)."""
        key = (participant_id, replica_id)
        event = asyncio.Event()
        self._mailboxes.setdefault(key, set()).add(event)
        try:
            yield event
        finally:
            self._mailboxes[key].discard(event)

    def pending(self, participant_id: str, replica_id: str, after: int
                ) -> list[pb.ParticipantMessage]:
        """A replica's unacknowledged messages with id > `after`, in id order (from memory: the
        same rows as `store.pending`)."""
        queue = self._by_replica.get((participant_id, replica_id))
        if not queue:
            return []
        return [s.message for message_id, s in queue.items() if message_id > after]

    def _index(self, sent: _Sent) -> None:
        self._unacknowledged[sent.id] = sent
        self._by_replica.setdefault((sent.participant_id, sent.replica_id), {})[sent.id] = sent
        if sent.subject:
            self._by_subject.setdefault(sent.subject, set()).add(sent.id)

    def _forget(self, message_id: int) -> None:
        sent = self._unacknowledged.pop(message_id, None)
        if sent is None:
            return
        key = (sent.participant_id, sent.replica_id)
        queue = self._by_replica.get(key)
        if queue is not None:
            queue.pop(message_id, None)
            if not queue:
                del self._by_replica[key]
        ids = self._by_subject.get(sent.subject)
        if ids is not None:
            ids.discard(message_id)
            if not ids:
                del self._by_subject[sent.subject]

    def _close_subject(self, subject: str) -> None:
        """Closes the unacknowledged messages about `subject`: its operation ended. (Those the
        current transaction was to send are not sent.)"""
        for message_id in list(self._by_subject.get(subject, ())):
            self._acknowledge(message_id)
        self._staged = [s for s in self._staged if s.subject != subject]

    def _acknowledge(self, message_id: int) -> None:
        """Marks a message acknowledged, in memory now and in its row with the transaction."""
        self._forget(message_id)
        self._closing.append(message_id)

    def close_streams(self) -> None:
        """Ends every ReceiveMessages stream (the server is stopping)."""
        self.closed = True
        for events in self._mailboxes.values():
            for event in events:
                event.set()

    async def _send(self, tx: Transaction, participant_id: str, replica_id: str, subject: str,
                    attempt: int, message: pb.ParticipantMessage) -> None:
        message.time.CopyFrom(from_micros(tx.now))
        message.id = self._next_message_id
        self._next_message_id += 1
        self._staged.append(_Sent(message.id, participant_id, replica_id, subject, attempt,
                                  message))
        self._outbox.add((participant_id, replica_id))

    def _check_ready(self, element_types: Iterable[str], now: int) -> None:
        readiness = self.supervisor.readiness(element_types, now)
        if readiness.ok:
            return
        violations = [
            PreconditionViolation("ELEMENT_TYPE", f"elementTypes/{t}",
                                  f"no participant owns element type {t!r}")
            for t in sorted(readiness.unowned)
        ] + [
            PreconditionViolation("PARTICIPANT", f"participants/{p}",
                                  f"participant {p!r} is offline")
            for p in sorted(readiness.offline)
        ]
        raise FailedPrecondition(
            message="; ".join(v.description for v in violations),
            reason="PARTICIPANT_UNAVAILABLE", area=AREA, violations=violations)

    # -- participants ------------------------------------------------------------------------------

    async def register(self, participant_id: str, replica_id: str,
                       element_types: Sequence[str]) -> bool:
        """Registers a replica; a participant registered already gets a sync. Returns whether
        it rejoined."""
        async with self.write() as tx:
            try:
                registration = self.supervisor.register(participant_id, replica_id,
                                                        element_types, tx.now)
            except ElementTypeOwned as error:
                raise FailedPrecondition(
                    message=str(error), reason="ELEMENT_TYPE_OWNED", area=AREA,
                    violations=[PreconditionViolation(
                        "ELEMENT_TYPE", f"elementTypes/{t}",
                        f"element type {t!r} belongs to participant {owner!r}")
                        for t, owner in error.conflicts.items()]) from error
            if registration.rejoined:
                await self._sync(tx, participant_id, replica_id)
        return registration.rejoined

    async def _sync(self, tx: Transaction, participant_id: str, replica_id: str) -> None:
        owned: set[str] = set()
        for view in self.supervisor.participants(tx.now):
            if view.id == participant_id:
                owned |= view.element_types
        primed = [c for c in await store.list_compositions(tx.conn, 0, 1_000_000,
                                                           [CompositionState.PRIMED])
                  if c.element_types & owned]
        message = pb.ParticipantMessage(
            type=pb.MESSAGE_TYPE_SYNC, compositions=[composition_pb(c) for c in primed])
        for c in primed:
            for i in await store.list_instances(tx.conn, c.id, 0, 1_000_000):
                if any(e.type in owned for e in i.elements):
                    message.instances.append(instance_pb(i))
        await self._send(tx, participant_id, replica_id, "", 0, message)

    async def request_status(self, participant_id: str) -> list[str]:
        """Sends a status request to every online replica of a participant; returns them."""
        async with self.write() as tx:
            view = next((v for v in self.supervisor.participants(tx.now)
                         if v.id == participant_id), None)
            if view is None:
                raise NotFound(
                    message=f"participant {participant_id!r} is not registered",
                    reason="PARTICIPANT_NOT_FOUND", area=AREA, resource_type="participant",
                    resource_name=participant_id)
            if not view.online_replicas:
                raise FailedPrecondition(
                    message=f"participant {participant_id!r} is offline",
                    reason="PARTICIPANT_UNAVAILABLE", area=AREA,
                    violations=[PreconditionViolation(
                        "PARTICIPANT", f"participants/{participant_id}",
                        f"participant {participant_id!r} is offline")])
            replicas = sorted(view.online_replicas)
            for replica_id in replicas:
                await self._send(tx, participant_id, replica_id, "", 0,
                                 pb.ParticipantMessage(type=pb.MESSAGE_TYPE_STATUS_REQUEST))
        return replicas

    def touch(self, participant_id: str, replica_id: str) -> None:
        """A sign of life from a replica; NotFound if it is not registered."""
        if not self.supervisor.touch(participant_id, replica_id, self.clock.now()):
            raise NotFound(
                message=f"replica {replica_id!r} of participant {participant_id!r} is not "
                        "registered; register again",
                reason="REPLICA_NOT_REGISTERED", area=AREA, resource_type="replica",
                resource_name=f"participants/{participant_id}/replicas/{replica_id}")

    async def report_status(self, participant_id: str, replica_id: str,
                            statuses: Sequence[pb.ElementStatus]) -> None:
        self.touch(participant_id, replica_id)
        if not statuses:
            return
        by_instance: dict[str, list[pb.ElementStatus]] = {}
        for s in statuses:
            by_instance.setdefault(s.instance_id, []).append(s)
        async with self.write() as tx:
            for instance_id in sorted(by_instance):
                i = await store.get_instance(tx.conn, instance_id, lock=True)
                if i is None:
                    continue
                elements = {e.name: e for e in i.elements}
                for s in by_instance[instance_id]:
                    e = elements.get(s.name)
                    if e is None or self.supervisor.owner(e.type) != participant_id:
                        continue
                    elements[s.name] = replace(
                        e, use_state=s.use_state, operational_state=s.operational_state,
                        out_properties=struct_dict(s.out_properties)
                        if s.HasField("out_properties") else e.out_properties)
                updated = tuple(elements[e.name] for e in i.elements)
                if updated != i.elements:
                    await changes.save_instance(tx, replace(i, elements=updated))

    # -- compositions ------------------------------------------------------------------------------

    async def prime(self, composition_id: str, action: PrimingAction) -> Composition:
        """Starts priming or depriming a composition on the participants owning its types."""
        async with self.write() as tx:
            c = visible_composition(
                await store.get_composition(tx.conn, composition_id, lock=True),
                ownership.current())
            if c is None:
                raise composition_not_found(composition_id)
            try:
                entered = start_priming(CompositionStatus(c.state, c.result), action)
            except ActionRefused as error:
                raise refused(error, f"compositions/{c.id}") from error
            if (action is CompositionAction.DEPRIME
                    and await store.count_instances(tx.conn, c.id)):
                raise FailedPrecondition(
                    message=f"cannot deprime: composition {c.id!r} has instances",
                    reason="COMPOSITION_IN_USE", area=AREA, violations=[PreconditionViolation(
                        "INSTANCES", f"compositions/{c.id}", "the composition has instances")])
            self._check_ready(c.element_types, tx.now)
            tracker = ph.PrimingTracker(
                c.element_types, now_us=tx.now,
                default_timeout_us=self.settings.default_timeout_us,
                composition_timeout_us=c.timeouts_us.get(action.value))
            owners = {t: self.supervisor.owner(t) or "" for t in c.element_types}
            priming = _Priming(c.id, action, tracker, owners, next(self._attempts))
            for participant_id in sorted(set(owners.values())):
                replica_id = self.supervisor.pick_replica(participant_id, tx.now)
                assert replica_id is not None  # every owner is online: checked above
                await self._send(tx, participant_id, replica_id, c.id, priming.attempt,
                                 pb.ParticipantMessage(
                                     type=MESSAGE_TYPES[action], composition_id=c.id,
                                     elements=[pb.ElementMessage(
                                         name=d.name, type=d.type, version=d.version,
                                         start_phase=d.start_phase,
                                         properties=struct_pb(d.properties))
                                         for d in c.elements
                                         if owners[d.type] == participant_id]))
            changed = await changes.save_composition(tx, replace(
                c, state=entered.state, result=entered.result, acknowledged_types=(),
                status_message=""))
            self.primings[c.id] = priming
        return changed

    async def _settle_priming(self, tx: Transaction, priming: _Priming, failures: str) -> None:
        c = await store.get_composition(tx.conn, priming.composition_id, lock=True)
        if c is None:
            self.primings.pop(priming.composition_id, None)
            return
        acknowledged = tuple(sorted(priming.tracker.primed))
        result = priming.result
        if result is None:
            if acknowledged != c.acknowledged_types:
                await changes.save_composition(tx, replace(c, acknowledged_types=acknowledged))
            return
        status = settle_priming(CompositionStatus(c.state, c.result), priming.action, result)
        message = ""
        if result is StateChangeResult.FAILED:
            message = f"element types failed: {failures}" if failures else "element types failed"
        elif result is StateChangeResult.TIMEOUT:
            message = priming.forced or (
                "no answer within the timeout from element types "
                + ", ".join(sorted(priming.pending())))
        self._close_subject(c.id)
        del self.primings[c.id]
        await changes.save_composition(tx, replace(
            c, state=status.state, result=status.result, acknowledged_types=acknowledged,
            status_message=message))

    # -- instances ---------------------------------------------------------------------------------

    async def instance_action(self, instance_id: str, action: InstanceAction,
                              properties: Mapping[str, dict[str, Any]] | None = None
                              ) -> Instance:
        """Starts an action on an instance; with `properties` (update), the new properties of
        the elements named. An instance the caller does not see is NOT_FOUND."""
        seen = ownership.current()

        async def apply(tx: Transaction) -> Instance:
            return await self._instance_action(tx, instance_id, action, properties, seen)

        return await self._batched(  # type: ignore[no-any-return]
            _Work(apply, instance_id, caller.get().name, action=True))

    async def _instance_action(self, tx: Transaction, instance_id: str, action: InstanceAction,
                               properties: Mapping[str, dict[str, Any]] | None,
                               seen: Access) -> Instance:
        """(Raises before writing anything.)"""
        i = ((self._deferred or {}).get(instance_id) or self._loaded.get(instance_id)
             or await store.get_instance(tx.conn, instance_id, lock=True))
        if i is None or not seen.sees(i.project):
            raise instance_not_found(instance_id)
        status = InstanceStatus(i.deploy, i.lock, i.result)
        try:
            entered = start_instance_action(status, action)
        except ActionRefused as error:
            raise refused(error, f"instances/{i.id}") from error
        c = self._compositions.get(i.composition_id) or await store.get_composition(
            tx.conn, i.composition_id)
        assert c is not None  # a composition with instances cannot be deleted
        self._check_ready({e.type for e in i.elements}, tx.now)
        defaults = {d.name: d for d in c.elements}
        if properties:
            i = replace(i, elements=tuple(
                replace(e, properties={**defaults[e.name].properties,
                                       **properties[e.name]})
                if e.name in properties else e for e in i.elements))
        outcome = INSTANCE_OUTCOME[action]
        finished = [] if status.result is StateChangeResult.NO_ERROR else [
            e.name for e in i.elements if (e.deploy, e.lock) == (outcome.deploy, outcome.lock)]
        phased = ph.PhasedOperation(
            action,
            [ph.Element(e.name, e.type, e.start_phase,
                        defaults[e.name].timeouts_us.get(action.value)) for e in i.elements],
            now_us=tx.now, default_timeout_us=self.settings.default_timeout_us,
            composition_timeout_us=c.timeouts_us.get(action.value), finished=finished)
        op = _Operation(i.id, action, phased, next(self._attempts))
        i = replace(i, deploy=entered.deploy, lock=entered.lock, result=entered.result,
                    status_message="")
        i = await self._message_step(tx, op, i, phased.step)
        self.operations[i.id] = op
        return await self._save(tx, op, i)

    async def _message_step(self, tx: Transaction, op: _Operation, i: Instance,
                            step: ph.Step | None) -> Instance:
        """Messages the elements of a step (one message per participant) and puts them in the
        action's transitional state; a participant with no live replica ends the operation."""
        if step is None or op.result is not None:
            return i
        op.current = step
        by_participant: dict[str, list[str]] = {}
        for e in step.elements:
            by_participant.setdefault(self.supervisor.owner(e.type) or "", []).append(e.id)
        elements = {e.name: e for e in i.elements}
        transitional = INSTANCE_TRANSITIONAL[op.action]
        for participant_id, names in sorted(by_participant.items()):
            replica_id = self.supervisor.pick_replica(participant_id, tx.now)
            if replica_id is None:
                op.forced = f"participant {participant_id!r} is offline"
                return i
            await self._send(tx, participant_id, replica_id, i.id, op.attempt,
                             pb.ParticipantMessage(
                                 type=MESSAGE_TYPES[op.action], composition_id=i.composition_id,
                                 instance_id=i.id, elements=[
                                     _element_message(elements[n]) for n in names]))
            for n in names:
                elements[n] = replace(elements[n], deploy=transitional.deploy,
                                      lock=transitional.lock, message="")
        return replace(i, elements=tuple(elements[e.name] for e in i.elements))

    async def _save(self, tx: Transaction, op: _Operation, i: Instance) -> Instance:
        """Writes the instance (in a batch, at the end of the batch); if its operation has
        ended, settles it first."""
        result = op.result
        if result is not None:
            status = settle_instance_action(InstanceStatus(i.deploy, i.lock, i.result),
                                            op.action, result)
            message = ""
            if result is StateChangeResult.FAILED:
                message = "; ".join(f"element {e.name!r} failed: {e.message}"
                                    for e in i.elements if e.name in op.phased.failed)
            elif result is StateChangeResult.TIMEOUT:
                message = op.forced or ("no answer within the timeout from elements "
                                        + ", ".join(e.id for e in op.pending()))
            i = replace(i, deploy=status.deploy, lock=status.lock, result=status.result,
                        status_message=message)
            self._close_subject(i.id)
            self.operations.pop(i.id, None)
        if self._deferred is None:
            return await changes.save_instance(tx, i)
        self._deferred[i.id] = i
        self._deferred_by[i.id] = tx.principal
        return i

    # -- acknowledgements and the clock ------------------------------------------------------------

    async def acknowledge(self, participant_id: str, replica_id: str, message_id: int,
                          results: Sequence[Result]) -> bool:
        """Applies an acknowledgement; False if the message was acknowledged before (or is not
        this participant's), and then nothing changes. Acknowledgements that arrive together
        are applied in one transaction, in arrival order."""
        self.touch(participant_id, replica_id)
        sent = self._unacknowledged.get(message_id)

        async def apply(tx: Transaction) -> bool:
            return await self._apply(tx, participant_id, message_id, results)

        return await self._batched(  # type: ignore[no-any-return]
            _Work(apply, sent.subject if sent is not None else "", caller.get().name))

    async def _batched(self, work: _Work) -> Any:
        self._work.put_nowait(work)
        return await work.done

    async def _apply_batches(self) -> None:
        """Applies acknowledgements and instance actions: those that arrive together in one
        transaction, in arrival order (an action refused raises before writing anything, and
        the others go on). The instances they concern are read at once at the start, and those
        acknowledgements change are written at once at the end."""
        while True:
            batch = [await self._work.get()]
            while not self._work.empty() and len(batch) < ACK_BATCH:
                batch.append(self._work.get_nowait())
            outcomes: list[tuple[bool, Any]] = []
            try:
                async with self.write() as tx:
                    self._deferred = {}
                    try:
                        self._loaded = await store.get_instances(tx.conn, [
                            w.instance_id for w in batch if w.instance_id], lock=True)
                        self._compositions = await store.get_compositions(tx.conn, [
                            i.composition_id for w in batch if w.action
                            and (i := self._loaded.get(w.instance_id)) is not None])
                        for w in batch:
                            try:
                                with tx.acting(w.principal):
                                    outcomes.append((True, await w.apply(tx)))
                            except SwitchboardError as error:
                                outcomes.append((False, error))
                        saved = {i.id: i for i in await changes.save_instances(
                            tx, list(self._deferred.values()), self._deferred_by)}
                        outcomes = [(ok, saved.get(w.instance_id, value) if ok and w.action
                                     else value) for w, (ok, value) in zip(batch, outcomes,
                                                                            strict=True)]
                    finally:
                        self._deferred = None
                        self._deferred_by = {}
                        self._loaded = {}
                        self._compositions = {}
            except Exception as error:
                log.exception("applying acknowledgements and actions failed")
                for w in batch:
                    if not w.done.done():
                        w.done.set_exception(error)
                continue
            for w, (ok, value) in zip(batch, outcomes, strict=True):
                if w.done.done():
                    continue
                if ok:
                    w.done.set_result(value)
                else:
                    w.done.set_exception(value)

    async def _apply(self, tx: Transaction, participant_id: str, message_id: int,
                     results: Sequence[Result]) -> bool:
        """Applies one acknowledgement. Whether a message is still unacknowledged is known
        from memory."""
        message = self._unacknowledged.get(message_id)
        if message is None or message.participant_id != participant_id:
            return False
        self._acknowledge(message_id)
        if message.subject in self.primings:
            await self._priming_answered(tx, message, results)
        elif message.subject in self.operations:
            await self._operation_answered(tx, message, results)
        return True

    async def _priming_answered(self, tx: Transaction, message: _Sent,
                                results: Sequence[Result]) -> None:
        priming = self.primings[message.subject]
        if priming.attempt != message.attempt:
            return
        for r in results:
            if priming.owners.get(r.name) == message.participant_id:
                priming.tracker.acknowledge(r.name, r.success, tx.now)
        failures = ", ".join(f"{r.name} ({r.message})" for r in results if not r.success)
        await self._settle_priming(tx, priming, failures)

    async def _operation_answered(self, tx: Transaction, message: _Sent,
                                  results: Sequence[Result]) -> None:
        op = self.operations[message.subject]
        if op.attempt != message.attempt:
            return
        i = (self._deferred or {}).get(op.instance_id) or self._loaded.get(op.instance_id)
        if i is None:
            i = await store.get_instance(tx.conn, op.instance_id, lock=True)
        if i is None:
            self.operations.pop(op.instance_id, None)
            return
        outcome = INSTANCE_OUTCOME[op.action]
        elements = {e.name: e for e in i.elements}
        steps = []
        for r in results:
            e = elements.get(r.name)
            if e is None or op.result is not None or r.name not in {
                    p.id for p in op.pending()}:
                continue
            step = op.phased.acknowledge(r.name, r.success, tx.now)
            elements[r.name] = replace(
                e, message=r.message,
                out_properties=dict(r.out_properties) if r.out_properties else e.out_properties,
                deploy=outcome.deploy if r.success else e.deploy,
                lock=outcome.lock if r.success else e.lock)
            if step is not None:
                steps.append(step)
        i = replace(i, elements=tuple(elements[e.name] for e in i.elements))
        for step in steps:
            i = await self._message_step(tx, op, i, step)
        await self._save(tx, op, i)

    def _offline_owner(self, element_types: Iterable[str], now: int) -> str:
        offline = self.supervisor.readiness(element_types, now).offline
        return f"participant {min(offline)!r} went offline" if offline else ""

    async def tick(self) -> None:
        """Lets the clock reach now: ends operations past their deadline or waiting on an
        offline participant."""
        async with self.lock:
            now = self.clock.now()
            for op in list(self.operations.values()):
                op.phased.tick(now)
                if op.result is None:
                    op.forced = self._offline_owner((e.type for e in op.pending()), now)
                if op.result is not None:
                    async with self._transaction() as tx:
                        i = await store.get_instance(tx.conn, op.instance_id, lock=True)
                        if i is None:
                            self.operations.pop(op.instance_id, None)
                        else:
                            await self._save(tx, op, i)
            for priming in list(self.primings.values()):
                priming.tracker.tick(now)
                if priming.result is None:
                    priming.forced = self._offline_owner(priming.pending(), now)
                if priming.result is not None:
                    async with self._transaction() as tx:
                        await self._settle_priming(tx, priming, "")
            if self.operations or self.primings:
                await self._move_stranded_messages(now)

    async def _move_stranded_messages(self, now: int) -> None:
        """Sends the unacknowledged messages of offline replicas again, each to a live replica
        of the same participant (as a new message; the old one is closed)."""
        stranded = [(view.id, replica_id) for view in self.supervisor.participants(now)
                    if view.online for replica_id in view.offline_replicas]
        if not stranded:
            return
        async with self._transaction() as tx:
            for participant_id, replica_id in stranded:
                queue = self._by_replica.get((participant_id, replica_id), {})
                for m in list(queue.values()):
                    target = self.supervisor.pick_replica(participant_id, now)
                    assert target is not None  # the participant is online
                    self._acknowledge(m.id)
                    moved = pb.ParticipantMessage()
                    moved.CopyFrom(m.message)
                    await self._send(tx, participant_id, target, m.subject, m.attempt, moved)

    def _next_wake(self) -> int | None:
        deadlines = [op.phased.deadline_us for op in self.operations.values()]
        deadlines += [p.tracker.deadline_us for p in self.primings.values()]
        due = [d for d in deadlines if d is not None]
        if not due:
            return None
        # While operations wait, check every half bound whether their participants went offline.
        return min(*due, self.clock.now() + self.settings.heartbeat_bound_us // 2)

    async def recover(self) -> None:
        """Ends what a previous process left in progress with TIMEOUT and closes its messages."""
        async with self.write() as tx:
            await store.close_all(tx.conn)
            self._next_message_id = await store.max_message_id(tx.conn) + 1
            for c in await store.list_compositions(
                    tx.conn, 0, 1_000_000, [CompositionState.PRIMING, CompositionState.DEPRIMING]):
                if c.result is StateChangeResult.NO_ERROR:
                    await changes.save_composition(tx, replace(
                        c, result=StateChangeResult.TIMEOUT,
                        status_message="the server restarted during the operation"))
            for i in await store.in_progress(tx.conn):
                status = InstanceStatus(i.deploy, i.lock)
                if status in _TRANSITIONAL:
                    await changes.save_instance(tx, replace(
                        i, result=StateChangeResult.TIMEOUT,
                        status_message="the server restarted during the operation"))

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self._follow_clock())
            group.create_task(self._apply_batches())

    async def _follow_clock(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.tick()
            except Exception:
                log.exception("participant runtime tick failed")
            self._sleeping_until = self._next_wake()
            await sleep_until_woken(self.clock, self._sleeping_until, self._wake)


def _element_message(e: Element) -> pb.ElementMessage:
    return pb.ElementMessage(name=e.name, type=e.type, version=e.version,
                             start_phase=e.start_phase, properties=struct_pb(e.properties))

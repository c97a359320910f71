"""The automation-composition runtime: starts prime/deprime and instance operations, messages
participants step by step (`phases`), applies their acknowledgements, and ends operations on
their deadlines or when a participant they wait on goes offline (`supervision`), all on the
server clock.

What the runtime knows lives in the database, so every server replica sharing it works alike:
the registered participant replicas and their last signs of life, element-type ownership, the
operations in progress (each on the row of its instance, or composition, with its state and
deadline) and the messages. An operation started through one server goes on through whichever
server an acknowledgement reaches, or whose clock finds its deadline passed: the row it is on
is locked and read, so two servers never apply the same step twice; of two acknowledgements
of one message exactly one applies (`store.claim`). The registered replicas are read once per
transaction that needs them.

Every change goes through one lock of this process and one database transaction: the rows, their
events and the messages the change sends commit together. Messages are durable rows; each goes to
one live replica of the participant owning the element types concerned, and stays pending until
acknowledged. When an operation ends, its unacknowledged messages are closed (a participant that
comes back later gets a sync instead). A ReceiveMessages stream reads its replica's pending rows
when it starts; then it is handed the messages this process commits for it, and reads the rows
again when a poll (every `poll_interval`) finds one it has not sent: one that another server
committed. (Polling the rows finds every message, including those no event accompanies: syncs,
status requests, moved messages; it costs one query per poll for all the streams of this
process.)

Acknowledgements and instance actions that arrive together are applied in one transaction
(`_apply_batches`): the instances and compositions they concern are read at once at its start,
the instances they change are written at once at its end, and the messages it sends are
written at once before it commits.

Every event records who caused it: the caller of the call whose work it is (an instance action's
caller; the participant whose acknowledgement or status report it applies), or the server for
its own work (deadlines, participants gone offline). Batched work runs in the batch
loop's task, so each piece carries its call's principal and ownership (captured when it is
queued); an instance that several pieces of one batch change records the last of them.

Operations in progress outlive the server process that started them: after a restart they go
on, and their unacknowledged messages reach the participants when they reconnect.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import structlog

from switchboard.participant.v1 import participant_pb2 as pb
from switchboard.server import idempotency, ownership
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
    MIGRATIONS,
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
from switchboard.server.participant.supervision import (
    ElementTypeOwned,
    ParticipantView,
    Supervisor,
)
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
    InstanceAction.MIGRATE: pb.MESSAGE_TYPE_MIGRATE,
    InstanceAction.MIGRATE_PRECHECK: pb.MESSAGE_TYPE_MIGRATE_PRECHECK,
    InstanceAction.MIGRATION_REVERT: pb.MESSAGE_TYPE_MIGRATE,
}
ACK_BATCH = 200
"""Most acknowledgements applied in one transaction."""
TOUCH_SLACK = 10
"""An acknowledgement refreshes its replica's last sign of life when that is older than this
part of the heartbeat bound (heartbeats always do): one write in a while, not one per batch."""
_TRANSITIONAL = frozenset(INSTANCE_TRANSITIONAL.values())


@dataclass(frozen=True)
class RuntimeSettings:
    heartbeat_bound_us: int
    default_timeout_us: int
    poll_interval: float = 0.2
    """Seconds between looks for messages other servers committed for this one's streams."""


@dataclass(frozen=True)
class Result:
    """One element's (or, for priming, one element type's) answer in an acknowledgement."""

    name: str
    success: bool
    message: str = ""
    out_properties: Mapping[str, Any] | None = None


@dataclass
class _Staged:
    """A message the current transaction sends (its id is given when it is inserted)."""

    participant_id: str
    replica_id: str
    subject: str
    attempt: int
    message: pb.ParticipantMessage


@dataclass(eq=False)
class Mailbox:
    """One ReceiveMessages stream: `event` is set when it may have something new to send;
    `queue` holds the messages this process committed for it since, and `look` says that the
    database may hold others (at the start, and when a poll finds some); `delivered` holds the
    ids of the pending messages it has sent."""

    participant_id: str
    replica_id: str
    event: asyncio.Event = field(default_factory=asyncio.Event)
    queue: list[pb.ParticipantMessage] = field(default_factory=list)
    look: bool = True
    delivered: set[int] = field(default_factory=set)


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
    acknowledged: tuple[int, str, str] | None = None
    """An acknowledgement: the message id, participant id and replica id."""
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
    source: str = ""
    """A migration (or its revert, or precheck): the composition it moves from..."""
    target: str = ""
    """... the one it moves to ..."""
    versions: dict[str, str] = field(default_factory=dict)
    """... and each element's version in the target."""
    cause: str = ""
    """A revert: why the migration failed."""
    kind = "instance"

    @property
    def subject(self) -> str:
        return self.instance_id

    @property
    def deadline_us(self) -> int | None:
        return self.phased.deadline_us

    def to_doc(self) -> dict[str, Any]:
        return {"action": self.action.value, "attempt": self.attempt, "forced": self.forced,
                "current": None if self.current is None
                else self.phased.steps.index(self.current),
                "phased": self.phased.to_doc(), "source": self.source, "target": self.target,
                "versions": self.versions, "cause": self.cause}

    @classmethod
    def from_doc(cls, subject: str, doc: Mapping[str, Any]) -> _Operation:
        phased = ph.PhasedOperation.from_doc(doc["phased"])
        return cls(subject, InstanceAction(doc["action"]), phased, doc["attempt"],
                   doc["forced"], None if doc["current"] is None
                   else phased.steps[doc["current"]], doc.get("source", ""),
                   doc.get("target", ""), dict(doc.get("versions", {})), doc.get("cause", ""))

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
    kind = "priming"

    @property
    def subject(self) -> str:
        return self.composition_id

    @property
    def deadline_us(self) -> int | None:
        return self.tracker.deadline_us

    def to_doc(self) -> dict[str, Any]:
        return {"action": self.action.value, "attempt": self.attempt, "forced": self.forced,
                "owners": self.owners, "tracker": self.tracker.to_doc()}

    @classmethod
    def from_doc(cls, subject: str, doc: Mapping[str, Any]) -> _Priming:
        action: PrimingAction = (CompositionAction.PRIME if doc["action"] == "prime"
                                 else CompositionAction.DEPRIME)
        return cls(subject, action, ph.PrimingTracker.from_doc(doc["tracker"]),
                   dict(doc["owners"]), doc["attempt"], doc["forced"])

    @property
    def result(self) -> StateChangeResult | None:
        return StateChangeResult.TIMEOUT if self.forced else self.tracker.result

    def pending(self) -> set[str]:
        return set(self.tracker.element_types - self.tracker.primed - self.tracker.failed)


_Op = _Operation | _Priming


def _decode(stored: store.StoredOperation) -> _Op:
    if stored.kind == _Priming.kind:
        return _Priming.from_doc(stored.subject, stored.body)
    return _Operation.from_doc(stored.subject, stored.body)


def _attempt() -> int:
    """A new attempt's number: messages of another attempt on the same subject are not its
    own."""
    return secrets.randbits(52)


def not_registered(participant_id: str, replica_id: str) -> NotFound:
    return NotFound(
        message=f"replica {replica_id!r} of participant {participant_id!r} is not "
                "registered; register again",
        reason="REPLICA_NOT_REGISTERED", area=AREA, resource_type="replica",
        resource_name=f"participants/{participant_id}/replicas/{replica_id}")


def owned(error: ElementTypeOwned) -> FailedPrecondition:
    return FailedPrecondition(
        message=str(error), reason="ELEMENT_TYPE_OWNED", area=AREA,
        violations=[PreconditionViolation(
            "ELEMENT_TYPE", f"elementTypes/{t}",
            f"element type {t!r} belongs to participant {owner!r}")
            for t, owner in error.conflicts.items()])


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
    """Operations in progress, the participants' supervisor, and the message mailboxes: all
    read from and written to the database, so that any server replica may carry them on."""

    name = "participant-runtime"

    def __init__(self, events: EventLog, settings: RuntimeSettings) -> None:
        super().__init__()
        self.events = events
        self.db = events.db
        self.clock = events.clock
        self.settings = settings
        self.lock = asyncio.Lock()
        self.closed = False
        self._wake = asyncio.Event()
        self._sleeping_until: int | None = None
        """When the clock loop wakes next by itself (None: it is awake)."""
        self._due_written: int | None = None
        """The earliest deadline transactions wrote while the clock loop was awake."""
        self._mailboxes: dict[tuple[str, str], set[Mailbox]] = {}
        self._work: asyncio.Queue[_Work] = asyncio.Queue()
        # What the current transaction has read and is to write (the lock is held):
        self._supervisor: Supervisor | None = None
        """The registered replicas, read once per transaction when first needed."""
        self._touched: dict[tuple[str, str], int] = {}
        """Replicas seen (acknowledgements): their rows are written at the end."""
        self._picked: set[tuple[str, str]] = set()
        """Replicas picked to receive a message: their rows are written at the end."""
        self._staged: list[_Staged] = []
        """Messages the current transaction sends: inserted at its end."""
        self._closed_subjects: set[str] = set()
        """Subjects whose operations ended: their unacknowledged messages are closed at the
        end (before the staged messages are inserted)."""
        self._outbox: set[tuple[str, str]] = set()
        self._ops: dict[tuple[str, str], _Op] = {}
        """Operations in progress read (or started) by the current transaction, by kind and
        subject: each is written with its subject's row."""
        self._due_min: int | None = None
        """The earliest deadline the current transaction wrote."""
        self._messages: dict[int, store.StoredMessage] = {}
        """While a batch is applied: the messages it acknowledged (not acknowledged before)
        and has not applied yet."""
        self._deferred: dict[str, Instance] | None = None
        """While a batch is applied: the instances it changed, written together
        at the end of the batch."""
        self._deferred_by: dict[str, str] = {}
        """While a batch is applied: per changed instance, the principal that changed it
        last."""
        self._loaded: dict[str, Instance] = {}
        """While a batch is applied: the instances it concerns, read (locked) at once at the
        start of the batch."""
        self._compositions: dict[str, Composition] = {}
        """While a batch is applied: the compositions of the instances its actions concern."""
        self._locked_compositions: dict[str, Composition] = {}
        """While a batch is applied: the compositions its acknowledgements of priming concern,
        locked at the start of the batch."""

    # -- plumbing ----------------------------------------------------------------------------------

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Transaction]:
        """This process's lock, then a transaction (see `_transaction`)."""
        async with self.lock, self._transaction() as tx:
            yield tx

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Transaction]:
        """A transaction (the lock held already) that writes, at its end, the messages it sent
        and closed, the operations it changed and the replicas it saw or picked; once it has
        committed, the streams of replicas it messaged and the clock loop are woken."""
        committed = False
        due: int | None = None
        try:
            async with self.events.transaction() as tx:
                yield tx
                due = await self._flush(tx)
            committed = True
        finally:
            staged = self._staged
            self._supervisor = None
            self._touched, self._picked, self._staged = {}, set(), []
            self._closed_subjects, self._outbox = set(), set()
            self._ops, self._due_min = {}, None
            if committed:
                for m in staged:
                    for box in self._mailboxes.get((m.participant_id, m.replica_id), ()):
                        box.queue.append(m.message)
                        box.event.set()
                if due is not None:
                    self._due(due)

    async def _flush(self, tx: Transaction) -> int | None:
        """Writes what the transaction kept for its end (the messages now, with their ids;
        the rest with the commit); returns the earliest deadline of the operations it wrote."""
        await store.close_subjects(tx.conn, self._closed_subjects)
        ids = await store.insert_messages(tx.conn, [
            store.NewMessage(m.participant_id, m.replica_id, m.subject, m.attempt,
                             m.message.SerializeToString()) for m in self._staged], tx.now)
        for m, message_id in zip(self._staged, ids, strict=True):
            m.message.id = message_id
        supervisor = self._supervisor
        if supervisor is not None:
            tx.defer(store.SEEN, *(
                store.seen_row(*key, self._touched.get(key, -1),
                               r.last_picked if key in self._picked else -1)
                for key in sorted(self._touched.keys() | self._picked)
                if (r := supervisor.record(*key)) is not None))
        return self._due_min

    def _due(self, deadline: int) -> None:
        """An operation's deadline was written: the clock loop wakes for it if it is earlier
        than it would."""
        if self._sleeping_until is None:
            if self._due_written is None or deadline < self._due_written:
                self._due_written = deadline
        elif deadline < self._sleeping_until:
            self._wake.set()

    async def _sup(self, tx: Transaction) -> Supervisor:
        """The registered replicas, as the current transaction sees them."""
        if self._supervisor is None:
            self._supervisor = Supervisor.of(self.settings.heartbeat_bound_us,
                                             await store.get_replicas(tx.conn))
        return self._supervisor

    async def _pick(self, tx: Transaction, participant_id: str) -> str | None:
        """The replica of `participant_id` to message; None if it has none online."""
        supervisor = await self._sup(tx)
        replica_id = supervisor.pick_replica(participant_id, tx.now)
        if replica_id is not None and supervisor.replica_count(participant_id) > 1:
            self._picked.add((participant_id, replica_id))  # (with one, there is no choice)
        return replica_id

    def _note(self, op: _Op) -> dict[str, Any]:
        """What to write on the row of the operation's subject: its document and deadline
        while it is in progress, none once it has ended."""
        key = (op.kind, op.subject)
        if op.result is not None:
            self._ops.pop(key, None)
            return {"operation": None, "deadline": None}
        self._ops[key] = op
        deadline = op.deadline_us
        if deadline is not None and (self._due_min is None or deadline < self._due_min):
            self._due_min = deadline
        return {"operation": op.to_doc(), "deadline": deadline}

    def _read_ops(self, rows: Iterable[Instance | Composition]) -> None:
        """Takes the operations in progress on rows read (locked) by the current transaction."""
        for row in rows:
            if row.operation is not None:
                op = (_Operation.from_doc(row.id, row.operation) if isinstance(row, Instance)
                      else _Priming.from_doc(row.id, row.operation))
                self._ops[(op.kind, op.subject)] = op

    @asynccontextmanager
    async def mailbox(self, participant_id: str, replica_id: str) -> AsyncIterator[Mailbox]:
        """A stream's mailbox, woken whenever a message for the replica may have been
        committed (or streams close)."""
        key = (participant_id, replica_id)
        box = Mailbox(participant_id, replica_id)
        self._mailboxes.setdefault(key, set()).add(box)
        try:
            yield box
        finally:
            self._mailboxes[key].discard(box)
            if not self._mailboxes[key]:
                del self._mailboxes[key]

    async def pending(self, box: Mailbox) -> list[pb.ParticipantMessage]:
        """The replica's unacknowledged messages the stream has not sent (marked sent): from
        the database if it is to look there, then those this process committed since."""
        found = []
        if box.look:
            box.look = False
            async with self.db.read() as conn:
                rows = await store.pending(conn, box.participant_id, box.replica_id)
            box.delivered &= {m.id for m in rows}
            for m in rows:
                if m.id not in box.delivered:
                    message = pb.ParticipantMessage.FromString(m.payload)
                    message.id = m.id
                    found.append(message)
                    box.delivered.add(m.id)
        queued, box.queue = box.queue, []
        for message in queued:
            if message.id not in box.delivered:
                found.append(message)
                box.delivered.add(message.id)
        return found

    async def _poll_messages(self) -> None:
        """Wakes the streams of this process that have pending messages they have not sent:
        those other servers committed."""
        while True:
            await asyncio.sleep(self.settings.poll_interval)
            if not self._mailboxes:
                continue
            try:
                async with self.db.read() as conn:
                    found = await store.pending_ids(conn, {p for p, _ in self._mailboxes})
            except Exception:
                log.exception("looking for messages failed")
                continue
            for key, boxes in self._mailboxes.items():
                ids = found.get(key, set())
                for box in boxes:
                    box.delivered &= ids | {m.id for m in box.queue}  # (forget acknowledged)
                    if ids - box.delivered:
                        box.look = True
                        box.event.set()

    def _close_subject(self, subject: str, result: StateChangeResult) -> None:
        """Closes the unacknowledged messages about `subject`: its operation ended with
        `result`. (Those the current transaction was to send are not sent. An operation that
        succeeded has none left: every one of its messages was acknowledged.)"""
        if result is not StateChangeResult.NO_ERROR:
            self._closed_subjects.add(subject)
        self._staged = [s for s in self._staged if s.subject != subject]

    def close_streams(self) -> None:
        """Ends every ReceiveMessages stream (the server is stopping)."""
        self.closed = True
        for boxes in self._mailboxes.values():
            for box in boxes:
                box.event.set()

    async def _send(self, tx: Transaction, participant_id: str, replica_id: str, subject: str,
                    attempt: int, message: pb.ParticipantMessage) -> None:
        message.time.CopyFrom(from_micros(tx.now))
        message.ClearField("id")
        self._staged.append(_Staged(participant_id, replica_id, subject, attempt, message))
        self._outbox.add((participant_id, replica_id))

    async def _check_ready(self, tx: Transaction, element_types: Iterable[str]) -> None:
        supervisor = await self._sup(tx)
        readiness = supervisor.readiness(element_types, tx.now)
        if readiness.ok:
            return

        def offline(p: str) -> str:
            if supervisor.replica_count(p):
                return f"participant {p!r} is offline"
            return (f"participant {p!r} is offline: it deregistered and keeps its element types "
                    f"{', '.join(sorted(supervisor.element_types_of(p)))} until it registers "
                    "again")

        violations = [
            PreconditionViolation("ELEMENT_TYPE", f"elementTypes/{t}",
                                  f"no participant owns element type {t!r}")
            for t in sorted(readiness.unowned)
        ] + [
            PreconditionViolation("PARTICIPANT", f"participants/{p}", offline(p))
            for p in sorted(readiness.offline)
        ]
        raise FailedPrecondition(
            message="; ".join(v.description for v in violations),
            reason="PARTICIPANT_UNAVAILABLE", area=AREA, violations=violations)

    # -- participants ------------------------------------------------------------------------------

    async def register(self, participant_id: str, replica_id: str,
                       element_types: Sequence[str]) -> bool:
        """Registers a replica; a participant registered already (or retaining element types
        since its last replica deregistered) gets a sync. Returns whether it rejoined."""
        async with self.write() as tx:
            supervisor = await self._sup(tx)
            in_use = await store.element_types_in_use(tx.conn)
            try:
                registration = supervisor.register(participant_id, replica_id, element_types,
                                                   tx.now, in_use)
            except ElementTypeOwned as error:
                raise owned(error) from error
            record = supervisor.record(participant_id, replica_id)
            assert record is not None
            await store.put_replica(tx.conn, record)
            for other in sorted(registration.released):
                await store.put_retained(tx.conn, other, supervisor.retained(other))
                await store.own(tx.conn, other, supervisor.element_types_of(other))
            await store.put_retained(tx.conn, participant_id, supervisor.retained(participant_id))
            conflicts = await store.own(tx.conn, participant_id,
                                        supervisor.element_types_of(participant_id))
            if conflicts:  # registered meanwhile through another server
                raise owned(ElementTypeOwned(conflicts))
            if registration.rejoined:
                await self._sync(tx, supervisor, participant_id, replica_id)
        return registration.rejoined

    async def deregister(self, participant_id: str, replica_id: str) -> None:
        """Removes a replica. Its participant keeps the element types that primed compositions
        use (`supervision`); its unacknowledged messages go to another live replica, if any."""
        async with self.write() as tx:
            supervisor = await self._sup(tx)
            in_use = await store.element_types_in_use(tx.conn)
            if supervisor.deregister(participant_id, replica_id, in_use):
                await store.delete_replica(tx.conn, participant_id, replica_id)
                await store.put_retained(tx.conn, participant_id,
                                         supervisor.retained(participant_id))
                await store.own(tx.conn, participant_id,
                                supervisor.element_types_of(participant_id))
                await self._move_messages(tx, participant_id, replica_id)

    async def participants(self) -> tuple[ParticipantView, ...]:
        """Every registered participant, now."""
        async with self.db.read() as conn:
            records = await store.get_replicas(conn)
        return Supervisor.of(self.settings.heartbeat_bound_us, records).participants(
            self.clock.now())

    async def _sync(self, tx: Transaction, supervisor: Supervisor, participant_id: str,
                    replica_id: str) -> None:
        owned_types = supervisor.element_types_of(participant_id)
        primed = [c for c in await store.list_compositions(tx.conn, 0, 1_000_000,
                                                           [CompositionState.PRIMED])
                  if c.element_types & owned_types]
        message = pb.ParticipantMessage(
            type=pb.MESSAGE_TYPE_SYNC, compositions=[composition_pb(c) for c in primed])
        for c in primed:
            for i in await store.list_instances(tx.conn, c.id, 0, 1_000_000):
                if any(e.type in owned_types for e in i.elements):
                    message.instances.append(instance_pb(i))
        await self._send(tx, participant_id, replica_id, "", 0, message)

    async def request_status(self, participant_id: str) -> list[str]:
        """Sends a status request to every online replica of a participant; returns them."""
        async with self.write() as tx:
            view = next((v for v in (await self._sup(tx)).participants(tx.now)
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

    async def touch(self, participant_id: str, replica_id: str) -> None:
        """A sign of life from a replica; NotFound if it is not registered."""
        async with self.db.write() as conn:
            registered = await store.touch(conn, participant_id, replica_id, self.clock.now())
        if not registered:
            raise not_registered(participant_id, replica_id)

    async def report_status(self, participant_id: str, replica_id: str,
                            statuses: Sequence[pb.ElementStatus]) -> list[pb.RejectedStatus]:
        """Applies a heartbeat's element statuses; returns those it did not apply (of an
        unknown instance or element, or of an element type the participant does not own)."""
        if not statuses:
            await self.touch(participant_id, replica_id)
            return []
        by_instance: dict[str, list[pb.ElementStatus]] = {}
        for s in statuses:
            by_instance.setdefault(s.instance_id, []).append(s)
        rejected: dict[int, pb.RejectedStatus] = {}

        def reject(s: pb.ElementStatus, reason: str, message: str) -> None:
            rejected[id(s)] = pb.RejectedStatus(instance_id=s.instance_id, name=s.name,
                                                reason=reason, message=message)

        async with self.write() as tx:
            supervisor = await self._sup(tx)
            if supervisor.record(participant_id, replica_id) is None:
                raise not_registered(participant_id, replica_id)
            self._touched[(participant_id, replica_id)] = tx.now
            found = await store.get_instances(tx.conn, sorted(by_instance), lock=True)
            for instance_id in sorted(by_instance):
                i = found.get(instance_id)
                if i is None:
                    for s in by_instance[instance_id]:
                        reject(s, "INSTANCE_NOT_FOUND", f"instance {instance_id!r} not found")
                    continue
                elements = {e.name: e for e in i.elements}
                for s in by_instance[instance_id]:
                    e = elements.get(s.name)
                    if e is None:
                        reject(s, "ELEMENT_NOT_FOUND",
                               f"instance {instance_id!r} has no element {s.name!r}")
                        continue
                    owner = supervisor.owner(e.type)
                    if owner != participant_id:
                        reject(s, "ELEMENT_NOT_OWNED",
                               f"element {s.name!r} is of type {e.type!r}, which "
                               + (f"belongs to participant {owner!r}" if owner
                                  else "no participant owns"))
                        continue
                    elements[s.name] = replace(
                        e, use_state=s.use_state, operational_state=s.operational_state,
                        out_properties=struct_dict(s.out_properties)
                        if s.HasField("out_properties") else e.out_properties,
                        statistics=struct_dict(s.statistics)
                        if s.HasField("statistics") else e.statistics, report_time=tx.now)
                updated = tuple(elements[e.name] for e in i.elements)
                if updated != i.elements:
                    await changes.save_instance(tx, replace(i, elements=updated))
        return [rejected[id(s)] for s in statuses if id(s) in rejected]

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
            await self._check_ready(tx, c.element_types)
            supervisor = await self._sup(tx)
            tracker = ph.PrimingTracker(
                c.element_types, now_us=tx.now,
                default_timeout_us=self.settings.default_timeout_us,
                composition_timeout_us=c.timeouts_us.get(action.value))
            owners = {t: supervisor.owner(t) or "" for t in c.element_types}
            priming = _Priming(c.id, action, tracker, owners, _attempt())
            for participant_id in sorted(set(owners.values())):
                replica_id = await self._pick(tx, participant_id)
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
                status_message="", **self._note(priming)))
        return changed

    async def _settle_priming(self, tx: Transaction, priming: _Priming, failures: str) -> None:
        c = self._locked_compositions.get(priming.composition_id) or await store.get_composition(
            tx.conn, priming.composition_id, lock=True)
        if c is None:
            self._ops.pop((priming.kind, priming.subject), None)
            return
        acknowledged = tuple(sorted(priming.tracker.primed))
        result = priming.result
        if result is None:
            going = replace(c, **self._note(priming))
            if acknowledged != c.acknowledged_types:
                going = await changes.save_composition(tx, replace(
                    going, acknowledged_types=acknowledged))
            else:  # only the operation's state changed: no event
                await store.save_composition(tx.conn, going)
            if c.id in self._locked_compositions:
                self._locked_compositions[c.id] = going
            return
        status = settle_priming(CompositionStatus(c.state, c.result), priming.action, result)
        message = ""
        if result is StateChangeResult.FAILED:
            message = f"element types failed: {failures}" if failures else "element types failed"
        elif result is StateChangeResult.TIMEOUT:
            message = priming.forced or (
                "no answer within the timeout from element types "
                + ", ".join(sorted(priming.pending())))
        self._close_subject(c.id, result)
        c = await changes.save_composition(tx, replace(
            c, state=status.state, result=status.result, acknowledged_types=acknowledged,
            status_message=message, **self._note(priming)))
        if c.id in self._locked_compositions:
            self._locked_compositions[c.id] = c

    # -- instances ---------------------------------------------------------------------------------

    async def instance_action(self, instance_id: str, action: InstanceAction,
                              properties: Mapping[str, dict[str, Any]] | None = None,
                              target: str = "", request_id: str = "") -> Instance:
        """Starts an action on an instance; with `properties` (update), the new properties of
        the elements named; with `target` (migrate, precheck), the composition to move to. An
        instance (or target) the caller does not see is NOT_FOUND. A `request_id` used before
        (by a call on this instance) starts nothing: the instance is returned as it is."""
        seen = ownership.current()

        async def apply(tx: Transaction) -> Instance:
            method = f"Instance.{action.value}"
            earlier = await idempotency.claim(tx.conn, method, request_id)
            if earlier is not None:
                if earlier != instance_id:
                    raise idempotency.in_use(request_id, AREA)
                found = await store.get_instance(tx.conn, instance_id)
                if found is None or not seen.sees(found.project):
                    raise instance_not_found(instance_id)
                return found
            try:
                started = await self._instance_action(tx, instance_id, action, properties,
                                                      seen, target)
            except SwitchboardError:
                idempotency.release(tx, method, request_id)
                raise
            idempotency.remember(tx, method, request_id, instance_id)
            return started

        return await self._batched(  # type: ignore[no-any-return]
            _Work(apply, instance_id, caller.get().name, action=True))

    async def _instance_action(self, tx: Transaction, instance_id: str, action: InstanceAction,
                               properties: Mapping[str, dict[str, Any]] | None,
                               seen: Access, target: str = "") -> Instance:
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
        versions: dict[str, str] = {}
        if action in MIGRATIONS:
            versions = await self._migration_target(tx, i, target, seen)
        await self._check_ready(tx, {e.type for e in i.elements})
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
        op = _Operation(i.id, action, phased, _attempt(), source=i.composition_id if versions
                        else "", target=target, versions=versions)
        i = replace(i, deploy=entered.deploy, lock=entered.lock, result=entered.result,
                    status_message="", composition_target_id=target)
        i = await self._message_step(tx, op, i, phased.step)
        return await self._save(tx, op, i)

    async def _migration_target(self, tx: Transaction, i: Instance, target: str,
                                seen: Access) -> dict[str, str]:
        """Checks that `target` can take the instance: another composition, PRIMED, with the
        same element names and types; returns the elements' versions in it."""
        t = visible_composition(await store.get_composition(tx.conn, target), seen)
        if t is None:
            raise composition_not_found(target)
        problems = []
        if t.id == i.composition_id:
            problems.append(f"the instance is on composition {t.id!r} already")
        if (t.state, t.result) != (CompositionState.PRIMED, StateChangeResult.NO_ERROR):
            problems.append(f"composition {t.id!r} is not primed: it is in {t.state}, "
                            f"result {t.result}")
        mine = {e.name: e.type for e in i.elements}
        theirs = {d.name: d.type for d in t.elements}
        if mine != theirs:
            problems.append(f"composition {t.id!r} does not have the same elements "
                            "(names and types) as the instance")
        if problems:
            raise FailedPrecondition(
                message="cannot migrate: " + "; ".join(problems),
                reason="MIGRATION_TARGET_UNSUITABLE", area=AREA,
                violations=[PreconditionViolation("COMPOSITION", f"compositions/{t.id}", p)
                            for p in problems])
        return {d.name: d.version for d in t.elements}

    async def _message_step(self, tx: Transaction, op: _Operation, i: Instance,
                            step: ph.Step | None) -> Instance:
        """Messages the elements of a step (one message per participant) and puts them in the
        action's transitional state; a participant with no live replica ends the operation."""
        if step is None or op.result is not None:
            return i
        op.current = step
        supervisor = await self._sup(tx)
        by_participant: dict[str, list[str]] = {}
        for e in step.elements:
            by_participant.setdefault(supervisor.owner(e.type) or "", []).append(e.id)
        elements = {e.name: e for e in i.elements}
        transitional = INSTANCE_TRANSITIONAL[op.action]
        for participant_id, names in sorted(by_participant.items()):
            replica_id = await self._pick(tx, participant_id)
            if replica_id is None:
                op.forced = f"participant {participant_id!r} is offline"
                return i
            message = pb.ParticipantMessage(
                type=MESSAGE_TYPES[op.action], composition_id=op.source or i.composition_id,
                composition_target_id=op.target, instance_id=i.id,
                elements=[_element_message(elements[n]) for n in names])
            for m in message.elements:
                m.version = op.versions.get(m.name, m.version)
            await self._send(tx, participant_id, replica_id, i.id, op.attempt, message)
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
            self._close_subject(i.id, result)
            if op.action in MIGRATIONS:
                return await self._migration_ended(tx, op, i, result, message)
            i = replace(i, deploy=status.deploy, lock=status.lock, result=status.result,
                        status_message=message)
        return await self._keep(tx, op, i)

    async def _keep(self, tx: Transaction, op: _Operation, i: Instance) -> Instance:
        """Saves `i` with `op`'s note, or defers the save to the end of the batch."""
        i = replace(i, **self._note(op))
        if self._deferred is None:
            return await changes.save_instance(tx, i)
        self._deferred[i.id] = i
        self._deferred_by[i.id] = tx.principal
        return i

    async def _migration_ended(self, tx: Transaction, op: _Operation, i: Instance,
                               result: StateChangeResult, message: str) -> Instance:
        """Settles a migration, its precheck or its revert (`states`): a failed migration
        starts the revert, every element messaged again."""
        outcome = INSTANCE_OUTCOME[op.action]
        settled = replace(i, deploy=outcome.deploy, lock=outcome.lock,
                          result=StateChangeResult.NO_ERROR, composition_target_id="",
                          elements=tuple(replace(e, deploy=outcome.deploy, lock=outcome.lock)
                                         for e in i.elements))
        if op.action is InstanceAction.MIGRATE_PRECHECK:
            i = replace(settled, precheck_result=result, precheck_message=message)
        elif op.action is InstanceAction.MIGRATE and result is StateChangeResult.NO_ERROR:
            i = replace(settled, composition_id=op.target, status_message="", elements=tuple(
                replace(e, version=op.versions.get(e.name, e.version))
                for e in settled.elements))
        elif op.action is InstanceAction.MIGRATE:
            c = self._compositions.get(i.composition_id) or await store.get_composition(
                tx.conn, i.composition_id)
            timeouts = {} if c is None else {d.name: d.timeouts_us for d in c.elements}
            action = InstanceAction.MIGRATION_REVERT
            revert = _Operation(
                i.id, action, ph.PhasedOperation(
                    action, [ph.Element(e.name, e.type, e.start_phase,
                                        timeouts.get(e.name, {}).get(action.value))
                             for e in i.elements],
                    now_us=tx.now, default_timeout_us=self.settings.default_timeout_us,
                    composition_timeout_us=None if c is None
                    else c.timeouts_us.get(action.value)),
                _attempt(), source=op.target, target=i.composition_id,
                versions={e.name: e.version for e in i.elements},
                cause=f"migration to composition {op.target!r} failed: {message}")
            entered = INSTANCE_TRANSITIONAL[action]
            i = replace(i, deploy=entered.deploy, lock=entered.lock,
                        result=StateChangeResult.NO_ERROR, status_message=revert.cause,
                        composition_target_id="")
            i = await self._message_step(tx, revert, i, revert.phased.step)
            return await self._save(tx, revert, i)
        elif result is StateChangeResult.NO_ERROR:
            i = replace(settled, status_message=f"{op.cause}; reverted")
        else:
            i = replace(i, result=result, status_message=f"{op.cause}; revert: {message}")
        return await self._keep(tx, op, i)

    # -- acknowledgements and the clock ------------------------------------------------------------

    async def acknowledge(self, participant_id: str, replica_id: str, message_id: int,
                          results: Sequence[Result]) -> bool:
        """Applies an acknowledgement; False if the message was acknowledged before (or is not
        this participant's), and then nothing changes; NotFound if the replica is not
        registered. Acknowledgements that arrive together are applied in one transaction, in
        arrival order."""

        async def apply(tx: Transaction) -> bool:
            return await self._apply(tx, participant_id, replica_id, message_id, results)

        return await self._batched(  # type: ignore[no-any-return]
            _Work(apply, "", caller.get().name,
                  acknowledged=(message_id, participant_id, replica_id)))

    async def _batched(self, work: _Work) -> Any:
        self._work.put_nowait(work)
        return await work.done

    async def _apply_batches(self) -> None:
        """Applies acknowledgements and instance actions: those that arrive together in one
        transaction, in arrival order (an action refused raises before writing anything, and
        the others go on). The instances and compositions they concern are locked at once at
        the start, then their operations read and their messages acknowledged; the instances
        they change are written at once at the end."""
        while True:
            batch = [await self._work.get()]
            while not self._work.empty() and len(batch) < ACK_BATCH:
                batch.append(self._work.get_nowait())
            outcomes: list[tuple[bool, Any]] = []
            try:
                async with self.write() as tx:
                    self._deferred = {}
                    try:
                        await self._begin_batch(tx, batch)
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
                        self._locked_compositions = {}
                        self._messages = {}
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

    async def _begin_batch(self, tx: Transaction, batch: Sequence[_Work]) -> None:
        """Reads what a batch concerns: acknowledges its messages (those of registered replicas
        not acknowledged before), then reads (locked, in id order) the instances and
        compositions they and its actions concern, with their operations."""
        acks = [w.acknowledged for w in batch if w.acknowledged is not None]
        if acks:
            supervisor = await self._sup(tx)
            self._messages = await store.claim(tx.conn, [
                (m, p) for m, p, r in acks if supervisor.record(p, r) is not None])
        subjects = {w.instance_id for w in batch if w.instance_id} | {
            m.subject for m in self._messages.values() if m.subject}
        self._loaded = await store.get_instances(tx.conn, sorted(subjects), lock=True)
        primings = {m.subject for m in self._messages.values() if m.subject} - set(self._loaded)
        self._locked_compositions = await store.get_compositions(tx.conn, sorted(primings),
                                                                 lock=True)
        self._read_ops([*self._loaded.values(), *self._locked_compositions.values()])
        self._compositions = await store.get_compositions(tx.conn, [
            i.composition_id for w in batch if w.action
            and (i := self._loaded.get(w.instance_id)) is not None])

    async def _apply(self, tx: Transaction, participant_id: str, replica_id: str,
                     message_id: int, results: Sequence[Result]) -> bool:
        """Applies one acknowledgement (in a batch: see `_begin_batch`)."""
        supervisor = await self._sup(tx)
        record = supervisor.record(participant_id, replica_id)
        if record is None:
            raise not_registered(participant_id, replica_id)
        if tx.now - record.last_seen_us > self.settings.heartbeat_bound_us // TOUCH_SLACK:
            supervisor.touch(participant_id, replica_id, tx.now)
            self._touched[(participant_id, replica_id)] = tx.now
        message = self._messages.pop(message_id, None)
        if message is None:
            return False
        priming = self._ops.get((_Priming.kind, message.subject))
        op = self._ops.get((_Operation.kind, message.subject))
        if isinstance(priming, _Priming):
            await self._priming_answered(tx, priming, message, results)
        elif isinstance(op, _Operation):
            await self._operation_answered(tx, op, message, results)
        return True

    async def _priming_answered(self, tx: Transaction, priming: _Priming,
                                message: store.StoredMessage,
                                results: Sequence[Result]) -> None:
        if priming.attempt != message.attempt:
            return
        for r in results:
            if priming.owners.get(r.name) == message.participant_id:
                priming.tracker.acknowledge(r.name, r.success, tx.now)
        failures = ", ".join(f"{r.name} ({r.message})" for r in results if not r.success)
        await self._settle_priming(tx, priming, failures)

    async def _operation_answered(self, tx: Transaction, op: _Operation,
                                  message: store.StoredMessage,
                                  results: Sequence[Result]) -> None:
        if op.attempt != message.attempt:
            return
        i = (self._deferred or {}).get(op.instance_id) or self._loaded.get(op.instance_id)
        if i is None:  # (its row was read at the start of the batch)
            self._ops.pop((op.kind, op.subject), None)
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

    def _offline_owner(self, supervisor: Supervisor, element_types: Iterable[str],
                       now: int) -> str:
        offline = supervisor.readiness(element_types, now).offline
        return f"participant {min(offline)!r} went offline" if offline else ""

    def _ends(self, supervisor: Supervisor, op: _Op, now: int) -> bool:
        """Lets the clock reach `now` for an operation: whether it has ended (its deadline
        passed, or a participant it waits on is offline)."""
        if isinstance(op, _Operation):
            op.phased.tick(now)
            if op.result is None:
                op.forced = self._offline_owner(supervisor, (e.type for e in op.pending()), now)
        else:
            op.tracker.tick(now)
            if op.result is None:
                op.forced = self._offline_owner(supervisor, op.pending(), now)
        return op.result is not None

    async def tick(self) -> int:
        """Lets the clock reach now: ends operations past their deadline or waiting on an
        offline participant, whichever server started them. Each is ended in a transaction of
        its own that locks its instance (or composition) and reads it again: if another
        server ended it first, nothing is written. Returns the time it let the clock reach."""
        async with self.lock:
            now = self.clock.now()
            async with self.db.read() as conn:
                supervisor = Supervisor.of(self.settings.heartbeat_bound_us,
                                           await store.get_replicas(conn))
                views = supervisor.participants(now)
                stranded = any(v.online and v.offline_replicas for v in views)
                every = stranded or not all(v.online for v in views)
                found = await store.operations_due(conn, now, every)
            for stored in found:
                if not self._ends(supervisor, _decode(stored), now):
                    continue
                async with self._transaction() as tx:
                    await self._end_if_due(tx, stored.kind, stored.subject)
            if found and stranded:
                await self._move_stranded_messages(now)
        return now

    async def _end_if_due(self, tx: Transaction, kind: str, subject: str) -> None:
        if kind == _Priming.kind:
            c = await store.get_composition(tx.conn, subject, lock=True)
            if c is None or c.operation is None:
                return  # ended meanwhile
            priming = _Priming.from_doc(c.id, c.operation)
            if self._ends(await self._sup(tx), priming, tx.now):
                await self._settle_priming(tx, priming, "")
            return
        i = await store.get_instance(tx.conn, subject, lock=True)
        if i is None or i.operation is None:
            return  # ended meanwhile
        op = _Operation.from_doc(i.id, i.operation)
        if self._ends(await self._sup(tx), op, tx.now):
            await self._save(tx, op, i)

    async def _move_stranded_messages(self, now: int) -> None:
        """Sends the unacknowledged messages of offline replicas again, each to a live replica
        of the same participant (as a new message; the old one is closed)."""
        async with self._transaction() as tx:
            supervisor = await self._sup(tx)
            for view in supervisor.participants(now):
                if not view.online:
                    continue
                for replica_id in view.offline_replicas:
                    await self._move_messages(tx, view.id, replica_id)

    async def _move_messages(self, tx: Transaction, participant_id: str,
                             replica_id: str) -> None:
        """Sends the replica's unacknowledged messages again, each to a live replica of its
        participant (as a new message; the old one is closed); none if it has none live. A sync
        or status request is not moved: it was for that replica."""
        if not (await self._sup(tx)).online(participant_id, tx.now):
            return
        rows = await store.pending(tx.conn, participant_id, replica_id)
        claimed = await store.claim(tx.conn, [(m.id, participant_id) for m in rows])
        for m in rows:
            if m.id not in claimed or not m.subject:
                continue
            target = await self._pick(tx, participant_id)
            assert target is not None  # the participant is online
            await self._send(tx, participant_id, target, m.subject, m.attempt,
                             pb.ParticipantMessage.FromString(m.payload))

    async def _next_wake(self, ticked: int) -> int:
        """The earliest deadline of an operation in progress; at the latest, half a heartbeat
        bound after the last tick (to see participants go offline, and operations other
        servers started)."""
        async with self.db.read() as conn:
            deadline = await store.next_deadline(conn)
        latest = ticked + self.settings.heartbeat_bound_us // 2
        return latest if deadline is None else min(deadline, latest)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self._apply_batches())
            group.create_task(self._poll_messages())

    async def follow_clock(self) -> None:
        """Ends operations as their deadlines pass (`tick`), in one replica at a time (the app
        runs it under a lease)."""
        while True:
            self._wake.clear()
            self._sleeping_until, self._due_written = None, None
            try:
                until = await self._next_wake(await self.tick())
            except Exception:
                log.exception("participant runtime tick failed")
                until = self.clock.now() + self.settings.heartbeat_bound_us // 2
            if self._due_written is not None:
                until = min(until, self._due_written)
            self._sleeping_until = until
            await sleep_until_woken(self.clock, until, self._wake)


def _element_message(e: Element) -> pb.ElementMessage:
    return pb.ElementMessage(name=e.name, type=e.type, version=e.version,
                             start_phase=e.start_phase, properties=struct_pb(e.properties))

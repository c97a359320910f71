"""Participant-protocol storage: composition definitions, instances, the durable messages to
participants, the registered participant replicas and the operations in progress, with the
records the runtime and the servicers pass around. Everything the runtime knows is here, so that
every server replica sharing the database sees the same participants and operations.

A composition's elements and timeouts, and an instance's elements, are one JSON document on the
row; what queries filter on has its own column. An instance belongs to its composition's
project (`ownership`), copied onto its row so that lists filter on it in SQL. Messages are rows
with an increasing id (given by the database): a replica's unacknowledged ones, in id order, are
what it receives when it (re)connects; acknowledging one is a conditional update, so of two
acknowledgements of the same message (through two server replicas) exactly one applies.

Element-type ownership has its own table keyed by type beside the replicas' rows: two
participants registering the same type through two server replicas cannot both hold it.
The operation in progress on an instance (or the priming of a composition) is on its row: its
state as a JSON document (`phases`) and its deadline, read and written with the row, under its
lock; no operation, no deadline.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    bindparam,
    case,
    delete,
    func,
    literal_column,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.server.db import BulkWrite, insert_if_absent, metadata
from switchboard.server.participant.states import (
    CompositionState,
    DeployState,
    LockState,
    StateChangeResult,
)
from switchboard.server.participant.supervision import RETAINED, ReplicaRecord

OPERATIONS = ("prime", "deprime", "deploy", "undeploy", "lock", "unlock", "update", "delete")
"""The operations a timeout can be set for."""


@dataclass(frozen=True)
class ElementDefinition:
    name: str
    type: str
    version: str
    start_phase: int
    properties: dict[str, Any]
    required_properties: tuple[str, ...]
    timeouts_us: dict[str, int]


@dataclass(frozen=True)
class Composition:
    id: str
    elements: tuple[ElementDefinition, ...]
    timeouts_us: dict[str, int]
    state: CompositionState = CompositionState.COMMISSIONED
    result: StateChangeResult = StateChangeResult.NO_ERROR
    acknowledged_types: tuple[str, ...] = ()
    status_message: str = ""
    create_time: int = 0
    update_time: int = 0
    created_revision: int = 0
    revision: int = 0
    project: str = ""
    operation: dict[str, Any] | None = None
    """The prime or deprime in progress (the runtime's document), if any."""
    deadline: int | None = None
    """When that operation times out."""

    @property
    def element_types(self) -> frozenset[str]:
        return frozenset(e.type for e in self.elements)


@dataclass(frozen=True)
class Element:
    name: str
    type: str
    version: str
    start_phase: int
    properties: dict[str, Any]
    deploy: DeployState = DeployState.UNDEPLOYED
    lock: LockState = LockState.NONE
    use_state: str = ""
    operational_state: str = ""
    out_properties: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    statistics: dict[str, Any] = field(default_factory=dict)
    """What the participant last reported as the element's statistics."""
    report_time: int = 0
    """When the participant last reported the element's status (0: never)."""


@dataclass(frozen=True)
class Instance:
    id: str
    composition_id: str
    elements: tuple[Element, ...]
    deploy: DeployState = DeployState.UNDEPLOYED
    lock: LockState = LockState.NONE
    result: StateChangeResult = StateChangeResult.NO_ERROR
    status_message: str = ""
    create_time: int = 0
    update_time: int = 0
    created_revision: int = 0
    revision: int = 0
    project: str = ""
    """Its composition's project."""
    operation: dict[str, Any] | None = None
    """The operation in progress (the runtime's document), if any."""
    deadline: int | None = None
    """When that operation's current step times out."""
    composition_target_id: str = ""
    """While migrating or prechecking: the composition it is to move to."""
    precheck_result: StateChangeResult | None = None
    """How its last migration precheck ended (None: none yet)."""
    precheck_message: str = ""

    def element(self, name: str) -> Element | None:
        return next((e for e in self.elements if e.name == name), None)


compositions = Table(
    "acm_compositions",
    metadata,
    Column("id", String(63), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("result", String(16), nullable=False),
    Column("body", JSON, nullable=False),
    Column("create_time", BigInteger, nullable=False),
    Column("update_time", BigInteger, nullable=False),
    Column("created_revision", BigInteger, nullable=False, unique=True),
    Column("revision", BigInteger, nullable=False),
    Column("project", String(63), nullable=False, server_default=""),
    Column("operation", JSON(none_as_null=True), nullable=True),
    Column("deadline", BigInteger, nullable=True),
    Index("acm_compositions_deadline", "deadline"),
)

instances = Table(
    "acm_instances",
    metadata,
    Column("id", String(63), primary_key=True),
    Column("composition_id", String(63), nullable=False),
    Column("deploy_state", String(24), nullable=False),
    Column("lock_state", String(16), nullable=False),
    Column("result", String(16), nullable=False),
    Column("body", JSON, nullable=False),
    Column("create_time", BigInteger, nullable=False),
    Column("update_time", BigInteger, nullable=False),
    Column("created_revision", BigInteger, nullable=False, unique=True),
    Column("revision", BigInteger, nullable=False),
    Column("project", String(63), nullable=False, server_default=""),
    Column("operation", JSON(none_as_null=True), nullable=True),
    Column("deadline", BigInteger, nullable=True),
    Index("acm_instances_composition", "composition_id", "created_revision"),
    Index("acm_instances_deadline", "deadline"),
)

messages = Table(
    "acm_messages",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("participant_id", String(255), nullable=False),
    Column("replica_id", String(255), nullable=False),
    Column("subject", String(63), nullable=False),
    Column("attempt", BigInteger, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("acknowledged", Boolean, nullable=False),
    Column("time", BigInteger, nullable=False),
    Index("acm_messages_replica", "participant_id", "replica_id", "acknowledged", "id"),
    Index("acm_messages_subject", "subject", "acknowledged"),
)

replicas = Table(
    "acm_replicas",
    metadata,
    Column("participant_id", String(255), primary_key=True),
    Column("replica_id", String(255), primary_key=True),
    Column("element_types", JSON, nullable=False),
    Column("last_seen", BigInteger, nullable=False),
    Column("last_picked", BigInteger, nullable=False),
)

element_owners = Table(
    "acm_element_owners",
    metadata,
    Column("element_type", String(255), primary_key=True),
    Column("participant_id", String(255), nullable=False),
)

operations = Table(
    "acm_operations",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("subject", String(63), primary_key=True),
    Column("deadline", BigInteger, nullable=True),
    Column("body", JSON, nullable=False),
    Index("acm_operations_deadline", "deadline"),
)


# -- compositions ----------------------------------------------------------------------------------


def _composition_body(c: Composition) -> dict[str, Any]:
    return {
        "elements": [{"name": e.name, "type": e.type, "version": e.version,
                      "start_phase": e.start_phase, "properties": e.properties,
                      "required_properties": list(e.required_properties),
                      "timeouts_us": e.timeouts_us} for e in c.elements],
        "timeouts_us": c.timeouts_us, "acknowledged_types": list(c.acknowledged_types),
        "status_message": c.status_message,
    }


def _composition(row: Any) -> Composition:
    body = row.body
    return Composition(
        id=row.id,
        elements=tuple(ElementDefinition(
            name=e["name"], type=e["type"], version=e["version"], start_phase=e["start_phase"],
            properties=e["properties"], required_properties=tuple(e["required_properties"]),
            timeouts_us=e["timeouts_us"]) for e in body["elements"]),
        timeouts_us=body["timeouts_us"], state=CompositionState(row.state),
        result=StateChangeResult(row.result),
        acknowledged_types=tuple(body["acknowledged_types"]),
        status_message=body["status_message"], create_time=row.create_time,
        update_time=row.update_time, created_revision=row.created_revision,
        revision=row.revision, project=row.project, operation=row.operation,
        deadline=row.deadline,
    )


def _composition_values(c: Composition) -> dict[str, Any]:
    return {"id": c.id, "state": c.state.value, "result": c.result.value,
            "body": _composition_body(c), "create_time": c.create_time,
            "update_time": c.update_time, "created_revision": c.created_revision,
            "revision": c.revision, "project": c.project, "operation": c.operation,
            "deadline": c.deadline}


async def insert_composition(conn: AsyncConnection, c: Composition) -> None:
    await conn.execute(compositions.insert().values(_composition_values(c)))


async def save_composition(conn: AsyncConnection, c: Composition) -> None:
    await conn.execute(update(compositions).where(compositions.c.id == c.id)
                       .values(_composition_values(c)))


async def delete_composition(conn: AsyncConnection, composition_id: str) -> None:
    await conn.execute(delete(compositions).where(compositions.c.id == composition_id))


async def get_composition(conn: AsyncConnection, composition_id: str, lock: bool = False
                          ) -> Composition | None:
    query = select(compositions).where(compositions.c.id == composition_id)
    if lock:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return None if row is None else _composition(row)


async def get_compositions(conn: AsyncConnection, composition_ids: Sequence[str],
                           lock: bool = False) -> dict[str, Composition]:
    """The compositions with these ids that exist, by id, in one query (`lock`: locked, in id
    order)."""
    if not composition_ids:
        return {}
    query = select(compositions).where(compositions.c.id.in_(sorted(set(composition_ids))))
    if lock:
        query = query.order_by(compositions.c.id).with_for_update()
    return {c.id: c for c in (_composition(r) for r in await conn.execute(query))}


async def list_compositions(conn: AsyncConnection, after_revision: int, limit: int,
                            states: Sequence[CompositionState] = (),
                            projects: Collection[str] | None = None) -> list[Composition]:
    """Compositions created after `after_revision`, in creation order (in one of `states`, if
    any; of one of `projects`, if not None)."""
    query = select(compositions).where(compositions.c.created_revision > after_revision)
    if states:
        query = query.where(compositions.c.state.in_([s.value for s in states]))
    if projects is not None:
        query = query.where(compositions.c.project.in_(sorted(projects)))
    query = query.order_by(compositions.c.created_revision).limit(limit)
    return [_composition(r) for r in await conn.execute(query)]


# -- instances -------------------------------------------------------------------------------------


def _element_doc(e: Element) -> dict[str, Any]:
    return {"name": e.name, "type": e.type, "version": e.version, "start_phase": e.start_phase,
            "properties": e.properties, "deploy": e.deploy.value, "lock": e.lock.value,
            "use_state": e.use_state, "operational_state": e.operational_state,
            "out_properties": e.out_properties, "message": e.message,
            "statistics": e.statistics, "report_time": e.report_time}


def _element(d: dict[str, Any]) -> Element:
    return Element(name=d["name"], type=d["type"], version=d["version"],
                   start_phase=d["start_phase"], properties=d["properties"],
                   deploy=DeployState(d["deploy"]), lock=LockState(d["lock"]),
                   use_state=d["use_state"], operational_state=d["operational_state"],
                   out_properties=d["out_properties"], message=d["message"],
                   statistics=d.get("statistics", {}), report_time=d.get("report_time", 0))


def _instance(row: Any) -> Instance:
    return Instance(
        id=row.id, composition_id=row.composition_id,
        elements=tuple(_element(d) for d in row.body["elements"]),
        deploy=DeployState(row.deploy_state), lock=LockState(row.lock_state),
        result=StateChangeResult(row.result), status_message=row.body["status_message"],
        create_time=row.create_time, update_time=row.update_time,
        created_revision=row.created_revision, revision=row.revision, project=row.project,
        operation=row.operation, deadline=row.deadline,
        composition_target_id=row.body.get("composition_target_id", ""),
        precheck_result=None if (r := row.body.get("precheck_result")) is None
        else StateChangeResult(r), precheck_message=row.body.get("precheck_message", ""),
    )


def _instance_values(i: Instance) -> dict[str, Any]:
    return {"id": i.id, "composition_id": i.composition_id, "deploy_state": i.deploy.value,
            "lock_state": i.lock.value, "result": i.result.value,
            "body": {"elements": [_element_doc(e) for e in i.elements],
                     "status_message": i.status_message,
                     "composition_target_id": i.composition_target_id,
                     "precheck_result": None if i.precheck_result is None
                     else i.precheck_result.value, "precheck_message": i.precheck_message},
            "create_time": i.create_time, "update_time": i.update_time,
            "created_revision": i.created_revision, "revision": i.revision,
            "project": i.project, "operation": i.operation, "deadline": i.deadline}


async def insert_instance(conn: AsyncConnection, i: Instance) -> None:
    await conn.execute(instances.insert().values(_instance_values(i)))


async def save_instance(conn: AsyncConnection, i: Instance) -> None:
    await conn.execute(update(instances).where(instances.c.id == i.id)
                       .values(_instance_values(i)))


async def save_instances(conn: AsyncConnection, changed: Sequence[Instance]) -> None:
    """Writes several changed instances in one statement."""
    if not changed:
        return
    columns = [c for c in _instance_values(changed[0]) if c != "id"]
    statement = update(instances).where(instances.c.id == bindparam("b_id")).values(
        {c: bindparam(f"b_{c}") for c in columns})
    await conn.execute(statement, [
        {f"b_{k}": v for k, v in _instance_values(i).items()} for i in changed])


async def delete_instance(conn: AsyncConnection, instance_id: str) -> None:
    await conn.execute(delete(instances).where(instances.c.id == instance_id))


async def get_instance(conn: AsyncConnection, instance_id: str, lock: bool = False
                       ) -> Instance | None:
    query = select(instances).where(instances.c.id == instance_id)
    if lock:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return None if row is None else _instance(row)


async def get_instances(conn: AsyncConnection, instance_ids: Sequence[str], lock: bool = False
                        ) -> dict[str, Instance]:
    """The instances with these ids that exist, by id, in one query (`lock`: locked, in id
    order, so that two transactions locking some of the same never wait on each other)."""
    if not instance_ids:
        return {}
    query = select(instances).where(instances.c.id.in_(sorted(set(instance_ids))))
    if lock:
        query = query.order_by(instances.c.id).with_for_update()
    return {i.id: i for i in (_instance(r) for r in await conn.execute(query))}


async def list_instances(conn: AsyncConnection, composition_id: str, after_revision: int,
                         limit: int, projects: Collection[str] | None = None) -> list[Instance]:
    """Instances created after `after_revision`, in creation order (of `composition_id`, if
    set; of one of `projects`, if not None)."""
    query = select(instances).where(instances.c.created_revision > after_revision)
    if composition_id:
        query = query.where(instances.c.composition_id == composition_id)
    if projects is not None:
        query = query.where(instances.c.project.in_(sorted(projects)))
    query = query.order_by(instances.c.created_revision).limit(limit)
    return [_instance(r) for r in await conn.execute(query)]


async def count_instances(conn: AsyncConnection, composition_id: str) -> int:
    query = select(func.count()).select_from(instances).where(
        instances.c.composition_id == composition_id)
    return int((await conn.execute(query)).scalar_one())


# -- messages --------------------------------------------------------------------------------------
# The statements of the acknowledgement path are built once (building and keying one each time
# costs about as much as running it).


@dataclass(frozen=True)
class NewMessage:
    participant_id: str
    replica_id: str
    subject: str
    attempt: int
    payload: bytes


@dataclass(frozen=True)
class StoredMessage:
    id: int
    participant_id: str
    replica_id: str
    subject: str
    attempt: int
    payload: bytes


def _message(row: Any) -> StoredMessage:
    return StoredMessage(row.id, row.participant_id, row.replica_id, row.subject, row.attempt,
                         row.payload)


_INSERT_MESSAGES = messages.insert().returning(messages.c.id, sort_by_parameter_order=True)
_UNACKNOWLEDGED = messages.c.acknowledged.is_(False)
_CLAIM = update(messages).where(messages.c.id.in_(
    select(messages.c.id).where(messages.c.id.in_(bindparam("ids", expanding=True)),
                                _UNACKNOWLEDGED).order_by(messages.c.id).with_for_update()
    .scalar_subquery()), _UNACKNOWLEDGED).values(acknowledged=True).returning(
    messages.c.id, messages.c.participant_id, messages.c.replica_id, messages.c.subject,
    messages.c.attempt)
_UNCLAIM = update(messages).where(messages.c.id.in_(bindparam("ids", expanding=True))).values(
    acknowledged=False)
_CLOSE = update(messages).where(messages.c.id.in_(
    select(messages.c.id).where(messages.c.subject.in_(bindparam("subjects", expanding=True)),
                                _UNACKNOWLEDGED).with_for_update(skip_locked=True)
    .scalar_subquery())).values(acknowledged=True)
_PENDING = select(messages).where(
    messages.c.participant_id == bindparam("participant_id"),
    messages.c.replica_id == bindparam("replica_id"), _UNACKNOWLEDGED).order_by(messages.c.id)
_PENDING_IDS = select(messages.c.participant_id, messages.c.replica_id, messages.c.id).where(
    messages.c.participant_id.in_(bindparam("participants", expanding=True)), _UNACKNOWLEDGED)


async def insert_messages(conn: AsyncConnection, rows: Sequence[NewMessage], now: int
                          ) -> list[int]:
    """Inserts messages, unacknowledged; returns the ids the database gave them, in order."""
    if not rows:
        return []
    result = await conn.execute(_INSERT_MESSAGES, [
        {"participant_id": m.participant_id, "replica_id": m.replica_id, "subject": m.subject,
         "attempt": m.attempt, "payload": m.payload, "acknowledged": False, "time": now}
        for m in rows])
    return [int(r.id) for r in result]


async def claim(conn: AsyncConnection, keys: Collection[tuple[int, str]]
                ) -> dict[int, StoredMessage]:
    """Acknowledges the messages (id, participant id) not acknowledged yet, locking them in id
    order; returns those it acknowledged (without their payloads), by id: not one of another
    participant, nor one acknowledged before (or meanwhile, through another server)."""
    wanted = set(keys)
    if not wanted:
        return {}
    rows = await conn.execute(_CLAIM, {"ids": sorted({m for m, _ in wanted})})
    claimed = {r.id: StoredMessage(r.id, r.participant_id, r.replica_id, r.subject, r.attempt,
                                   b"") for r in rows}
    others = [m for m, c in claimed.items() if (m, c.participant_id) not in wanted]
    if others:  # (rows this transaction holds: as if never changed)
        await conn.execute(_UNCLAIM, {"ids": others})
    return {m: c for m, c in claimed.items() if m not in others}


async def close_subjects(conn: AsyncConnection, subjects: Collection[str]) -> None:
    """Acknowledges every unacknowledged message about these subjects (their operations
    ended), but those another transaction holds: that one is acknowledging them (`claim`)."""
    if subjects:
        await conn.execute(_CLOSE, {"subjects": sorted(set(subjects))})


async def pending(conn: AsyncConnection, participant_id: str, replica_id: str
                  ) -> list[StoredMessage]:
    """A replica's unacknowledged messages, in id order."""
    rows = await conn.execute(_PENDING, {"participant_id": participant_id,
                                         "replica_id": replica_id})
    return [_message(r) for r in rows]


async def pending_ids(conn: AsyncConnection, participant_ids: Collection[str]
                      ) -> dict[tuple[str, str], set[int]]:
    """The ids of the unacknowledged messages of these participants, by replica."""
    found: dict[tuple[str, str], set[int]] = {}
    if not participant_ids:
        return found
    for r in await conn.execute(_PENDING_IDS, {"participants": sorted(set(participant_ids))}):
        found.setdefault((r.participant_id, r.replica_id), set()).add(int(r.id))
    return found


# -- participant replicas --------------------------------------------------------------------------

_GET_REPLICAS = select(replicas)
_REPLICA_KEY = (replicas.c.participant_id == bindparam("key_participant"),
                replicas.c.replica_id == bindparam("key_replica"))
SEEN = BulkWrite(update(replicas).where(*_REPLICA_KEY).values(
    last_seen=case((replicas.c.last_seen < bindparam("seen"), bindparam("seen")),
                   else_=replicas.c.last_seen),
    last_picked=case((bindparam("picked") >= literal_column("0"), bindparam("picked")),
                     else_=replicas.c.last_picked)))
"""Moves replicas' last signs of life forward and stores when they were last picked (rows
from `seen_row`), one statement for both so that rows are locked in key order."""


def seen_row(participant_id: str, replica_id: str, seen: int, picked: int) -> dict[str, Any]:
    """`seen` -1: not seen; `picked` -1: not picked."""
    return {"key_participant": participant_id, "key_replica": replica_id, "seen": seen,
            "picked": picked}


async def get_replicas(conn: AsyncConnection) -> list[ReplicaRecord]:
    """Every registered replica."""
    return [ReplicaRecord(r.participant_id, r.replica_id, frozenset(r.element_types),
                          r.last_seen, r.last_picked)
            for r in await conn.execute(_GET_REPLICAS)]


async def put_replica(conn: AsyncConnection, r: ReplicaRecord) -> None:
    """Registers (or registers again) a replica."""
    await delete_replica(conn, r.participant_id, r.replica_id)
    await conn.execute(replicas.insert().values(
        participant_id=r.participant_id, replica_id=r.replica_id,
        element_types=sorted(r.element_types), last_seen=r.last_seen_us,
        last_picked=r.last_picked))


async def put_retained(conn: AsyncConnection, participant_id: str,
                       element_types: Collection[str]) -> None:
    """Stores the element types a participant retains (`supervision.RETAINED`): none, no
    record."""
    await delete_replica(conn, participant_id, RETAINED)
    if element_types:
        await conn.execute(replicas.insert().values(
            participant_id=participant_id, replica_id=RETAINED,
            element_types=sorted(element_types), last_seen=-1, last_picked=-1))


async def element_types_in_use(conn: AsyncConnection) -> frozenset[str]:
    """The element types of the compositions that are primed (or being primed or deprimed):
    something primed or deployed depends on their owners."""
    rows = await conn.execute(select(compositions.c.body).where(
        compositions.c.state != CompositionState.COMMISSIONED.value))
    return frozenset(e["type"] for r in rows for e in r.body["elements"])


async def delete_replica(conn: AsyncConnection, participant_id: str, replica_id: str) -> None:
    await conn.execute(delete(replicas).where(replicas.c.participant_id == participant_id,
                                              replicas.c.replica_id == replica_id))


async def touch(conn: AsyncConnection, participant_id: str, replica_id: str, now: int) -> bool:
    """Moves a replica's last sign of life forward to `now` (never back); False if it is not
    registered."""
    result = await conn.execute(
        update(replicas).where(replicas.c.participant_id == participant_id,
                               replicas.c.replica_id == replica_id,
                               replicas.c.last_seen <= now).values(last_seen=now))
    if result.rowcount:
        return True
    found = await conn.execute(select(replicas.c.replica_id).where(
        replicas.c.participant_id == participant_id, replicas.c.replica_id == replica_id))
    return found.first() is not None


async def own(conn: AsyncConnection, participant_id: str, element_types: Collection[str]
              ) -> dict[str, str]:
    """Makes `element_types` exactly the types `participant_id` owns, unless another
    participant owns one of them: then returns those (type -> owner), and the caller rolls
    back. (A concurrent claim of the same type waits for the other transaction.)"""
    await conn.execute(delete(element_owners).where(
        element_owners.c.participant_id == participant_id,
        element_owners.c.element_type.not_in(sorted(element_types))))
    if not element_types:
        return {}
    await conn.execute(insert_if_absent(conn, element_owners, *(
        {"element_type": t, "participant_id": participant_id} for t in sorted(element_types))))
    query = select(element_owners).where(element_owners.c.element_type.in_(
        sorted(element_types)), element_owners.c.participant_id != participant_id)
    return {r.element_type: r.participant_id for r in await conn.execute(query)}


# -- operations in progress ------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredOperation:
    """An operation in progress: on an instance (`kind` "instance") or a composition
    ("priming")."""

    kind: str
    subject: str
    body: dict[str, Any]


async def operations_due(conn: AsyncConnection, now: int, every: bool
                         ) -> list[StoredOperation]:
    """The operations in progress whose deadline has come (`every`: all of them)."""
    found = []
    for table, kind in ((compositions, "priming"), (instances, "instance")):
        query = select(table.c.id, table.c.operation).where(table.c.deadline.is_not(None))
        if not every:
            query = query.where(table.c.deadline <= now)
        found += [StoredOperation(kind, r.id, r.operation)
                  for r in await conn.execute(query.order_by(table.c.id))]
    return found


async def next_deadline(conn: AsyncConnection) -> int | None:
    """The earliest deadline of an operation in progress."""
    found = [d for table in (compositions, instances)
             if (d := (await conn.execute(select(func.min(table.c.deadline)))).scalar())
             is not None]
    return min(found, default=None)

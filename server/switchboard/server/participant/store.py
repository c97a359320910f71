"""Participant-protocol storage: composition definitions, instances and the durable messages to
participants, with the records the runtime and the servicers pass around.

A composition's elements and timeouts, and an instance's elements, are one JSON document on the
row; what queries filter on has its own column. An instance belongs to its composition's
project (`ownership`), copied onto its row so that lists filter on it in SQL. Messages are rows
with an increasing id: a replica's unacknowledged ones, in id order, are what it receives when
it (re)connects.
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
    delete,
    func,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.server.db import metadata
from switchboard.server.participant.states import (
    CompositionState,
    DeployState,
    LockState,
    StateChangeResult,
)

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
)

instances = Table(
    "acm_instances",
    metadata,
    Column("id", String(63), primary_key=True),
    Column("composition_id", String(63), nullable=False),
    Column("deploy_state", String(16), nullable=False),
    Column("lock_state", String(16), nullable=False),
    Column("result", String(16), nullable=False),
    Column("body", JSON, nullable=False),
    Column("create_time", BigInteger, nullable=False),
    Column("update_time", BigInteger, nullable=False),
    Column("created_revision", BigInteger, nullable=False, unique=True),
    Column("revision", BigInteger, nullable=False),
    Column("project", String(63), nullable=False, server_default=""),
    Index("acm_instances_composition", "composition_id", "created_revision"),
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
        revision=row.revision, project=row.project,
    )


def _composition_values(c: Composition) -> dict[str, Any]:
    return {"id": c.id, "state": c.state.value, "result": c.result.value,
            "body": _composition_body(c), "create_time": c.create_time,
            "update_time": c.update_time, "created_revision": c.created_revision,
            "revision": c.revision, "project": c.project}


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


async def get_compositions(conn: AsyncConnection, composition_ids: Sequence[str]
                           ) -> dict[str, Composition]:
    """The compositions with these ids that exist, by id, in one query."""
    if not composition_ids:
        return {}
    query = select(compositions).where(compositions.c.id.in_(sorted(set(composition_ids))))
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
            "out_properties": e.out_properties, "message": e.message}


def _element(d: dict[str, Any]) -> Element:
    return Element(name=d["name"], type=d["type"], version=d["version"],
                   start_phase=d["start_phase"], properties=d["properties"],
                   deploy=DeployState(d["deploy"]), lock=LockState(d["lock"]),
                   use_state=d["use_state"], operational_state=d["operational_state"],
                   out_properties=d["out_properties"], message=d["message"])


def _instance(row: Any) -> Instance:
    return Instance(
        id=row.id, composition_id=row.composition_id,
        elements=tuple(_element(d) for d in row.body["elements"]),
        deploy=DeployState(row.deploy_state), lock=LockState(row.lock_state),
        result=StateChangeResult(row.result), status_message=row.body["status_message"],
        create_time=row.create_time, update_time=row.update_time,
        created_revision=row.created_revision, revision=row.revision, project=row.project,
    )


def _instance_values(i: Instance) -> dict[str, Any]:
    return {"id": i.id, "composition_id": i.composition_id, "deploy_state": i.deploy.value,
            "lock_state": i.lock.value, "result": i.result.value,
            "body": {"elements": [_element_doc(e) for e in i.elements],
                     "status_message": i.status_message},
            "create_time": i.create_time, "update_time": i.update_time,
            "created_revision": i.created_revision, "revision": i.revision,
            "project": i.project}


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
    """The instances with these ids that exist, by id, in one query."""
    if not instance_ids:
        return {}
    query = select(instances).where(instances.c.id.in_(sorted(set(instance_ids))))
    if lock:
        query = query.with_for_update()
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


@dataclass(frozen=True)
class StoredMessage:
    id: int
    participant_id: str
    replica_id: str
    subject: str
    attempt: int
    payload: bytes
    acknowledged: bool


def _message(row: Any) -> StoredMessage:
    return StoredMessage(row.id, row.participant_id, row.replica_id, row.subject, row.attempt,
                         row.payload, row.acknowledged)


async def insert_messages(conn: AsyncConnection, rows: Sequence[StoredMessage],
                          now: int) -> None:
    """Inserts messages with the ids given (the runtime hands them out)."""
    if rows:
        await conn.execute(messages.insert(), [
            {"id": m.id, "participant_id": m.participant_id, "replica_id": m.replica_id,
             "subject": m.subject, "attempt": m.attempt, "payload": m.payload,
             "acknowledged": m.acknowledged, "time": now} for m in rows])


async def max_message_id(conn: AsyncConnection) -> int:
    return int((await conn.execute(select(func.max(messages.c.id)))).scalar() or 0)


async def acknowledge_many(conn: AsyncConnection, message_ids: Sequence[int]) -> None:
    if message_ids:
        await conn.execute(update(messages).where(messages.c.id.in_(message_ids))
                           .values(acknowledged=True))


async def pending(conn: AsyncConnection, participant_id: str, replica_id: str, after: int,
                  limit: int) -> list[StoredMessage]:
    """A replica's unacknowledged messages with id > `after`, in id order."""
    query = select(messages).where(
        messages.c.participant_id == participant_id, messages.c.replica_id == replica_id,
        messages.c.acknowledged.is_(False), messages.c.id > after,
    ).order_by(messages.c.id).limit(limit)
    return [_message(r) for r in await conn.execute(query)]


async def close_all(conn: AsyncConnection) -> None:
    """Marks every unacknowledged message acknowledged (what a previous process sent)."""
    await conn.execute(update(messages).where(messages.c.acknowledged.is_(False))
                       .values(acknowledged=True))


async def in_progress(conn: AsyncConnection) -> list[Instance]:
    """Instances whose last operation has not ended (result NO_ERROR, state transitional)."""
    query = select(instances).where(instances.c.result == StateChangeResult.NO_ERROR.value).where(
        instances.c.deploy_state.in_([DeployState.DEPLOYING.value, DeployState.UNDEPLOYING.value,
                                      DeployState.UPDATING.value, DeployState.DELETING.value])
        | instances.c.lock_state.in_([LockState.LOCKING.value, LockState.UNLOCKING.value])
    ).order_by(instances.c.created_revision)
    return [_instance(r) for r in await conn.execute(query)]

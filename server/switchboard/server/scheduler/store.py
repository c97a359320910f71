"""Scheduler storage: the schedules and blackouts tables and the queries on them.

A schedule's VNFs, windows, policy, optimization result and approval are one JSON document on
its row (they are read and written with it); what the queries filter on has its own column.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import asdict
from datetime import time
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    String,
    Table,
    delete,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.server.db import metadata
from switchboard.server.scheduler.model import (
    Approval,
    Blackout,
    Decision,
    Optimization,
    Policy,
    Schedule,
    ScheduleState,
    Vnf,
    VnfState,
    Window,
)
from switchboard.server.scheduler.optimizer import Reason

schedules = Table(
    "schedules",
    metadata,
    Column("id", String(63), primary_key=True),
    Column("domain", String(255), nullable=False),
    Column("user", String(255), nullable=False),
    Column("workflow_name", String(255), nullable=False),
    Column("state", String(32), nullable=False),
    Column("span_start", BigInteger, nullable=False),
    Column("span_end", BigInteger, nullable=False),
    Column("body", JSON, nullable=False),
    Column("create_time", BigInteger, nullable=False),
    Column("update_time", BigInteger, nullable=False),
    Column("created_revision", BigInteger, nullable=False, unique=True),
    Column("revision", BigInteger, nullable=False),
    Column("created_by", String(255), nullable=True),
    Column("project", String(63), nullable=False, server_default=""),
    Index("schedules_state", "state", "created_revision"),
    Index("schedules_project", "project", "created_revision"),
)

blackouts = Table(
    "blackouts",
    metadata,
    Column("id", String(63), primary_key=True),
    Column("elements", JSON, nullable=False),
    Column("start_time", BigInteger, nullable=False),
    Column("end_time", BigInteger, nullable=False),
    Column("reason", String(1024), nullable=False),
    Column("create_time", BigInteger, nullable=False),
    Column("revision", BigInteger, nullable=False, unique=True),
    Column("project", String(63), nullable=False, server_default=""),
)

blackout_elements = Table(
    "blackout_elements",
    metadata,
    Column("blackout_id", String(63), primary_key=True),
    Column("element", String(255), primary_key=True),
    Index("blackout_elements_element", "element"),
)


# -- schedules -------------------------------------------------------------------------------------


def _vnf_doc(v: Vnf) -> dict[str, Any]:
    return {"name": v.name, "group": v.group, "elements": list(v.elements),
            "time_zone": v.time_zone, "so_request": v.so_request, "state": v.state.value,
            "reason": v.reason.value if v.reason else None, "start": v.start, "end": v.end,
            "message": v.message, "so_request_id": v.so_request_id,
            "trigger_time": v.trigger_time, "dropped": v.dropped}


def _vnf(d: dict[str, Any]) -> Vnf:
    return Vnf(name=d["name"], group=d["group"], elements=tuple(d["elements"]),
               time_zone=d["time_zone"], so_request=d["so_request"], state=VnfState(d["state"]),
               reason=Reason(d["reason"]) if d["reason"] else None, start=d["start"],
               end=d["end"], message=d["message"], so_request_id=d["so_request_id"],
               trigger_time=d["trigger_time"], dropped=d.get("dropped", False))


def _body(s: Schedule) -> dict[str, Any]:
    return {
        "name": s.name, "callback_data": s.callback_data,
        "vnfs": [_vnf_doc(v) for v in s.vnfs],
        "windows": [[w.start, w.end] for w in s.windows],
        "normal_duration": s.normal_duration, "additional_duration": s.additional_duration,
        "concurrency_limit": s.concurrency_limit,
        "policy": None if s.policy is None else {
            "weekdays": list(s.policy.weekdays), "start": s.policy.start.isoformat(),
            "end": s.policy.end.isoformat()},
        "message": s.message,
        "optimization": None if s.optimization is None else asdict(s.optimization),
        "approval": None if s.approval is None else {**asdict(s.approval),
                                                     "decision": s.approval.decision.value},
    }


def schedule_values(s: Schedule) -> dict[str, Any]:
    return {
        "id": s.id, "domain": s.domain, "user": s.user, "workflow_name": s.workflow_name,
        "state": s.state.value, "span_start": s.span_start, "span_end": s.span_end,
        "body": _body(s), "create_time": s.create_time, "update_time": s.update_time,
        "created_revision": s.created_revision, "revision": s.revision,
        "created_by": s.created_by, "project": s.project,
    }


def _schedule(row: Any) -> Schedule:
    b = row.body
    policy = b["policy"]
    approval = b["approval"]
    return Schedule(
        id=row.id, name=b["name"], domain=row.domain, user=row.user,
        workflow_name=row.workflow_name, callback_data=b["callback_data"],
        vnfs=tuple(_vnf(v) for v in b["vnfs"]),
        windows=tuple(Window(a, z) for a, z in b["windows"]),
        normal_duration=b["normal_duration"], additional_duration=b["additional_duration"],
        concurrency_limit=b["concurrency_limit"],
        policy=None if policy is None else Policy(
            tuple(policy["weekdays"]), time.fromisoformat(policy["start"]),
            time.fromisoformat(policy["end"])),
        state=ScheduleState(row.state), message=b["message"],
        optimization=None if b["optimization"] is None else Optimization(**b["optimization"]),
        approval=None if approval is None else Approval(
            approval["user"], Decision(approval["decision"]), approval["comment"],
            approval["time"]),
        span_start=row.span_start, span_end=row.span_end, create_time=row.create_time,
        update_time=row.update_time, created_revision=row.created_revision,
        revision=row.revision, created_by=row.created_by, project=row.project,
    )


async def insert_schedule(conn: AsyncConnection, s: Schedule) -> None:
    await conn.execute(schedules.insert().values(schedule_values(s)))


async def get_schedule(conn: AsyncConnection, schedule_id: str, lock: bool = False
                       ) -> Schedule | None:
    query = select(schedules).where(schedules.c.id == schedule_id)
    if lock:
        query = query.with_for_update()
    row = (await conn.execute(query)).one_or_none()
    return None if row is None else _schedule(row)


async def save_schedule(conn: AsyncConnection, s: Schedule) -> None:
    """Writes everything of a schedule that changes."""
    values = schedule_values(s)
    await conn.execute(update(schedules).where(schedules.c.id == s.id).values(
        {k: values[k] for k in ("state", "span_end", "body", "update_time", "revision")}))


async def list_schedules(
    conn: AsyncConnection, *, states: Sequence[ScheduleState], domain: str, user: str,
    workflow_name: str, start: int | None, end: int | None, after_revision: int, limit: int,
    projects: Collection[str] | None,
) -> list[Schedule]:
    """Schedules matching the filters (of `projects` only, unless None), in creation order."""
    query = select(schedules).where(schedules.c.created_revision > after_revision)
    if projects is not None:
        query = query.where(schedules.c.project.in_(sorted(projects)))
    if states:
        query = query.where(schedules.c.state.in_([s.value for s in states]))
    if domain:
        query = query.where(schedules.c.domain == domain)
    if user:
        query = query.where(schedules.c.user == user)
    if workflow_name:
        query = query.where(schedules.c.workflow_name == workflow_name)
    if start is not None:
        query = query.where(schedules.c.span_end > start)
    if end is not None:
        query = query.where(schedules.c.span_start < end)
    query = query.order_by(schedules.c.created_revision).limit(limit)
    return [_schedule(r) for r in await conn.execute(query)]


async def in_states(conn: AsyncConnection, states: Sequence[ScheduleState]) -> list[Schedule]:
    """Every schedule in one of `states`, oldest first."""
    query = (select(schedules).where(schedules.c.state.in_([s.value for s in states]))
             .order_by(schedules.c.created_revision))
    return [_schedule(r) for r in await conn.execute(query)]


# -- blackouts -------------------------------------------------------------------------------------


def _blackout(row: Any) -> Blackout:
    return Blackout(id=row.id, elements=tuple(row.elements), start=row.start_time,
                    end=row.end_time, reason=row.reason, create_time=row.create_time,
                    revision=row.revision, project=row.project)


async def insert_blackout(conn: AsyncConnection, b: Blackout) -> None:
    await conn.execute(blackouts.insert().values(
        id=b.id, elements=list(b.elements), start_time=b.start, end_time=b.end, reason=b.reason,
        create_time=b.create_time, revision=b.revision, project=b.project))
    await conn.execute(blackout_elements.insert(),
                       [{"blackout_id": b.id, "element": e} for e in b.elements])


async def get_blackout(conn: AsyncConnection, blackout_id: str, lock: bool = False
                       ) -> Blackout | None:
    query = select(blackouts).where(blackouts.c.id == blackout_id)
    if lock:
        query = query.with_for_update()
    row = (await conn.execute(query)).one_or_none()
    return None if row is None else _blackout(row)


async def delete_blackout(conn: AsyncConnection, blackout_id: str) -> None:
    await conn.execute(delete(blackout_elements).where(
        blackout_elements.c.blackout_id == blackout_id))
    await conn.execute(delete(blackouts).where(blackouts.c.id == blackout_id))


async def list_blackouts(
    conn: AsyncConnection, *, element: str, start: int | None, end: int | None,
    after_revision: int, limit: int,
) -> list[Blackout]:
    query = select(blackouts).where(blackouts.c.revision > after_revision)
    if element:
        query = query.where(blackouts.c.id.in_(
            select(blackout_elements.c.blackout_id).where(blackout_elements.c.element == element)))
    if start is not None:
        query = query.where(blackouts.c.end_time > start)
    if end is not None:
        query = query.where(blackouts.c.start_time < end)
    query = query.order_by(blackouts.c.revision).limit(limit)
    return [_blackout(r) for r in await conn.execute(query)]


async def blackouts_ending_after(conn: AsyncConnection, start: int) -> list[Blackout]:
    """Every blackout that ends after `start` (what an optimization from then must respect)."""
    query = select(blackouts).where(blackouts.c.end_time > start).order_by(blackouts.c.revision)
    return [_blackout(r) for r in await conn.execute(query)]

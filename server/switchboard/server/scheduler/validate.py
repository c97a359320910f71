"""Request validation for the scheduler: every bad field is collected, then raised; what is
valid comes back as domain records."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import time

from google.protobuf.duration_pb2 import Duration
from google.protobuf.json_format import MessageToDict

from switchboard.scheduler.v1 import scheduler_pb2 as pb
from switchboard.server.errors import Violations
from switchboard.server.ownership import Access
from switchboard.server.scheduler.changes import AREA
from switchboard.server.scheduler.convert import WEEKDAY_FROM_PB
from switchboard.server.scheduler.model import (
    Blackout,
    Policy,
    Schedule,
    ScheduleState,
    Vnf,
    Window,
)
from switchboard.server.scheduler.timepolicy import time_zone
from switchboard.server.timestamps import to_micros

ID = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def check_id(value: str, path: str, v: Violations) -> None:
    if not value:
        v.add(path, "is required")
    elif not ID.match(value):
        v.add(path, "must be 1-63 lower-case letters, digits or '-', not starting or ending in '-'")


def _micros(d: Duration) -> int:
    return d.seconds * 1_000_000 + d.nanos // 1000


def _local_time(t: pb.LocalTime, path: str, v: Violations) -> time:
    if not 0 <= t.hours <= 23:
        v.add(f"{path}.hours", "must be 0 to 23")
    if not 0 <= t.minutes <= 59:
        v.add(f"{path}.minutes", "must be 0 to 59")
    return time(min(max(t.hours, 0), 23), min(max(t.minutes, 0), 59))


def _policy(p: pb.AllowedTimePolicy, v: Violations) -> Policy:
    path = "schedule.allowed_time_policy"
    if not p.weekdays:
        v.add(f"{path}.weekdays", "at least one weekday is required")
    days = []
    for i, day in enumerate(p.weekdays):
        if day not in WEEKDAY_FROM_PB:
            v.add(f"{path}.weekdays[{i}]", "must be a weekday")
        else:
            days.append(WEEKDAY_FROM_PB[day])
    start = _local_time(p.start_time, f"{path}.start_time", v)
    end = _local_time(p.end_time, f"{path}.end_time", v)
    return Policy(tuple(sorted(set(days))), start, end)


def _elements(path: str, elements: Sequence[str], v: Violations) -> None:
    """Network element names: each a name, none twice."""
    listed: dict[str, int] = {}
    for i, element in enumerate(elements):
        v.name(f"{path}[{i}]", element)
        if element and element in listed:
            v.add(f"{path}[{i}]", f"duplicates [{listed[element]}] {element!r}")
        listed.setdefault(element, i)


def _vnfs(body: pb.Schedule, v: Violations) -> tuple[Vnf, ...]:
    if not body.vnfs:
        v.add("schedule.vnfs", "at least one VNF is required")
    seen: dict[str, int] = {}
    out = []
    for i, vnf in enumerate(body.vnfs):
        path = f"schedule.vnfs[{i}]"
        v.name(f"{path}.name", vnf.name)
        if vnf.name and vnf.name in seen:
            v.add(f"{path}.name", f"duplicates vnfs[{seen[vnf.name]}].name {vnf.name!r}")
        seen.setdefault(vnf.name, i)
        v.name(f"{path}.group", vnf.group, required=False)
        _elements(f"{path}.network_elements", vnf.network_elements, v)
        zone = vnf.time_zone or "UTC"
        try:
            time_zone(zone)
        except ValueError:
            v.add(f"{path}.time_zone", f"unknown IANA time zone {vnf.time_zone!r}")
        elements = tuple(sorted(set(vnf.network_elements))) or (vnf.name,)
        out.append(Vnf(name=vnf.name, group=vnf.group, elements=elements, time_zone=zone,
                       so_request=MessageToDict(vnf.so_request)))
    return tuple(out)


def _windows(body: pb.Schedule, now: int, v: Violations) -> tuple[Window, ...]:
    out = []
    for i, w in enumerate(body.change_windows):
        path = f"schedule.change_windows[{i}]"
        if not w.HasField("start_time"):
            v.add(f"{path}.start_time", "is required")
        if not w.HasField("end_time"):
            v.add(f"{path}.end_time", "is required")
        if not (w.HasField("start_time") and w.HasField("end_time")):
            continue
        start, end = to_micros(w.start_time), to_micros(w.end_time)
        if end <= start:
            v.add(f"{path}.end_time", "must be after start_time")
        else:
            out.append(Window(start, end))
    if out and len(out) == len(body.change_windows) and all(w.end <= now for w in out):
        v.add("schedule.change_windows", "every change window has ended")
    return tuple(sorted(out, key=lambda w: (w.start, w.end)))


def new_schedule(request: pb.CreateScheduleRequest, now: int, access: Access,
                 created_by: str | None = None) -> Schedule:
    """The schedule a CreateSchedule asks for, in PENDING_SCHEDULE, in the project `access`
    may create it in; raises InvalidArgument (PermissionDenied for a project not the
    caller's)."""
    v = Violations(AREA)
    if not request.HasField("schedule"):
        v.add("schedule", "is required")
    body = request.schedule
    check_id(body.id, "schedule.id", v)
    v.name("schedule.domain", body.domain)
    v.name("schedule.user", body.user)
    v.name("schedule.workflow_name", body.workflow_name)
    vnfs = _vnfs(body, v)
    windows = _windows(body, now, v)
    normal = _micros(body.normal_duration)
    additional = _micros(body.additional_duration)
    if not body.HasField("normal_duration"):
        v.add("schedule.normal_duration", "is required")
    elif normal <= 0:
        v.add("schedule.normal_duration", "must be positive")
    if additional < 0:
        v.add("schedule.additional_duration", "must not be negative")
    total = normal + max(additional, 0)
    if normal > 0 and windows and len(windows) == len(body.change_windows) and all(
            w.end - w.start < total for w in windows):
        v.add("schedule.normal_duration",
              f"normal plus additional duration ({total / 1_000_000:g} s) is longer than "
              "every change window")
    if body.concurrency_limit < 1:
        v.add("schedule.concurrency_limit", "must be at least 1")
    policy = _policy(body.allowed_time_policy, v) if body.HasField("allowed_time_policy") \
        else None
    project = access.project_for(request.project, v)
    v.raise_if_any()
    span = (windows[0].start, max(w.end for w in windows)) if windows else (now, now + total)
    return Schedule(
        id=body.id, name=body.name, domain=body.domain, user=body.user,
        workflow_name=body.workflow_name, callback_data=body.callback_data, vnfs=vnfs,
        windows=windows, normal_duration=normal, additional_duration=additional,
        concurrency_limit=body.concurrency_limit, policy=policy,
        state=ScheduleState.PENDING_SCHEDULE, message="", optimization=None, approval=None,
        span_start=span[0], span_end=span[1], create_time=now, update_time=now,
        created_revision=0, revision=0, created_by=created_by, project=project,
    )


def new_blackout(request: pb.CreateBlackoutRequest, access: Access) -> Blackout:
    """The blackout a CreateBlackout asks for, kept by the project `access` may create it in."""
    v = Violations(AREA)
    if not request.HasField("blackout"):
        v.add("blackout", "is required")
    body = request.blackout
    check_id(body.id, "blackout.id", v)
    if not body.network_elements:
        v.add("blackout.network_elements", "at least one network element is required")
    _elements("blackout.network_elements", body.network_elements, v)
    for name in ("start_time", "end_time"):
        if not body.HasField(name):
            v.add(f"blackout.{name}", "is required")
    start, end = to_micros(body.start_time), to_micros(body.end_time)
    if body.HasField("start_time") and body.HasField("end_time") and end <= start:
        v.add("blackout.end_time", "must be after start_time")
    project = access.project_for(request.project, v)
    v.raise_if_any()
    return Blackout(id=body.id, elements=tuple(sorted(set(body.network_elements))), start=start,
                    end=end, reason=body.reason, create_time=0, revision=0, project=project)

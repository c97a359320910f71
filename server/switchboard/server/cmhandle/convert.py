"""Conversions between CM handle records and their protobuf messages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from switchboard.cmhandle.v1 import cmhandle_pb2 as pb
from switchboard.server.cmhandle.lcm import LcmEvent, Operation, Values
from switchboard.server.cmhandle.model import (
    CmHandle,
    HandleState,
    LockReason,
    ModuleRef,
    ResultCode,
    TrustLevel,
)
from switchboard.server.cmhandle.registration import HandleResult
from switchboard.server.timestamps import from_micros

STATE_TO_PB = {
    HandleState.ADVISED: pb.CM_HANDLE_STATE_ADVISED,
    HandleState.READY: pb.CM_HANDLE_STATE_READY,
    HandleState.LOCKED: pb.CM_HANDLE_STATE_LOCKED,
    HandleState.DELETING: pb.CM_HANDLE_STATE_DELETING,
    HandleState.DELETED: pb.CM_HANDLE_STATE_DELETED,
}
STATE_FROM_PB = {v: k for k, v in STATE_TO_PB.items()}
LOCK_TO_PB = {
    None: pb.LOCK_REASON_UNSPECIFIED,
    LockReason.MODULE_SYNC_FAILED: pb.LOCK_REASON_MODULE_SYNC_FAILED,
    LockReason.MODULE_UPGRADE: pb.LOCK_REASON_MODULE_UPGRADE,
    LockReason.MODULE_UPGRADE_FAILED: pb.LOCK_REASON_MODULE_UPGRADE_FAILED,
}
TRUST_TO_PB = {
    TrustLevel.NONE: pb.TRUST_LEVEL_NONE,
    TrustLevel.COMPLETE: pb.TRUST_LEVEL_COMPLETE,
}
TRUST_FROM_PB = {v: k for k, v in TRUST_TO_PB.items()}
CODE_TO_PB = {
    None: pb.REGISTRATION_ERROR_UNSPECIFIED,
    ResultCode.CM_HANDLES_NOT_FOUND: pb.REGISTRATION_ERROR_CM_HANDLES_NOT_FOUND,
    ResultCode.CM_HANDLES_NOT_READY: pb.REGISTRATION_ERROR_CM_HANDLES_NOT_READY,
    ResultCode.CM_HANDLE_ALREADY_EXIST: pb.REGISTRATION_ERROR_CM_HANDLE_ALREADY_EXIST,
    ResultCode.CM_HANDLE_INVALID_ID: pb.REGISTRATION_ERROR_CM_HANDLE_INVALID_ID,
    ResultCode.UNKNOWN_ERROR: pb.REGISTRATION_ERROR_UNKNOWN_ERROR,
}
_STATE_NAME_TO_PB = {k.value: v for k, v in STATE_TO_PB.items()}
_LOCK_NAME_TO_PB = {(k.value if k else None): v for k, v in LOCK_TO_PB.items()}
_TRUST_NAME_TO_PB = {k.value: v for k, v in TRUST_TO_PB.items()}
OPERATION_TO_PB = {
    Operation.CREATE: pb.LCM_OPERATION_CREATE,
    Operation.UPDATE: pb.LCM_OPERATION_UPDATE,
    Operation.DELETE: pb.LCM_OPERATION_DELETE,
}


def modules_pb(modules: frozenset[ModuleRef] | tuple[ModuleRef, ...]) -> list[pb.ModuleReference]:
    return [pb.ModuleReference(name=m.name, revision=m.revision) for m in sorted(modules)]


def handle_pb(h: CmHandle, effective: TrustLevel) -> pb.CmHandle:
    return pb.CmHandle(
        id=h.id, dmi_plugin=h.dmi_plugin, dmi_properties=dict(h.dmi_properties),
        public_properties=dict(h.public_properties), module_set_tag=h.module_set_tag,
        alternate_id=h.alternate_id, state=STATE_TO_PB[h.state],
        lock_reason=LOCK_TO_PB[h.lock_reason], modules=modules_pb(h.modules),
        trust_level=TRUST_TO_PB[h.trust], effective_trust_level=TRUST_TO_PB[effective])


def row_pb(row: Any) -> pb.CmHandle:
    """A `cm_handles` row (store.search) as its message, as `handle_pb` gives it."""
    body = row.body
    return pb.CmHandle(
        id=row.id, dmi_plugin=row.dmi_plugin, dmi_properties=body["dmi"],
        public_properties=body["public"], module_set_tag=row.module_set_tag,
        alternate_id=row.alternate_id or "", state=_STATE_NAME_TO_PB[row.state],
        lock_reason=_LOCK_NAME_TO_PB[row.lock_reason],
        modules=[pb.ModuleReference(name=n, revision=r) for n, r in body["modules"]],
        trust_level=_TRUST_NAME_TO_PB[row.trust],
        effective_trust_level=_TRUST_NAME_TO_PB[row.effective_trust])


def result_pb(r: HandleResult) -> pb.RegistrationResult:
    return pb.RegistrationResult(cm_handle_id=r.id, error=CODE_TO_PB[r.code], message=r.message)


def _properties_pb(props: Mapping[str, object]) -> pb.PublicProperties:
    return pb.PublicProperties(properties={
        name: pb.PropertyValue(value=value) if isinstance(value, str)
        else pb.PropertyValue(removed=True)
        for name, value in props.items()})


def _values_pb(v: Values | None) -> pb.LcmValues | None:
    if v is None:
        return None
    out = pb.LcmValues()
    if v.state is not None:
        out.state.CopyFrom(pb.StateValue(state=STATE_TO_PB[v.state.state],
                                         lock_reason=LOCK_TO_PB[v.state.lock_reason]))
    if v.public_properties is not None:
        out.public_properties.CopyFrom(_properties_pb(v.public_properties))
    if v.schema_set is not None:
        out.schema_set.CopyFrom(pb.SchemaSet(modules=modules_pb(v.schema_set)))
    return out


def lcm_event_pb(e: LcmEvent, revision: int) -> pb.LcmEvent:
    return pb.LcmEvent(
        id=e.id, source=e.source, type=e.type, schema=e.schema,
        observed_time=from_micros(e.observed_time), cm_handle_id=e.cm_handle_id,
        operation=OPERATION_TO_PB[e.operation], old_values=_values_pb(e.old_values),
        new_values=_values_pb(e.new_values), revision=revision)

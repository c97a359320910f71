"""Conversions between CM handle records and their protobuf messages."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from google.protobuf.struct_pb2 import ListValue, Struct

from switchboard.cmhandle.v1 import cmhandle_pb2 as pb
from switchboard.server.cmhandle.lcm import LcmEvent, Operation, Values
from switchboard.server.cmhandle.model import (
    CmHandle,
    DataSyncState,
    HandleState,
    LockReason,
    ModuleRef,
    ResultCode,
    TrustLevel,
)
from switchboard.server.cmhandle.registration import HandleResult

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
DATA_SYNC_TO_PB = {
    DataSyncState.NONE_REQUESTED: pb.DATA_SYNC_STATE_NONE_REQUESTED,
    DataSyncState.UNSYNCHRONIZED: pb.DATA_SYNC_STATE_UNSYNCHRONIZED,
    DataSyncState.SYNCHRONIZED: pb.DATA_SYNC_STATE_SYNCHRONIZED,
}
DATA_SYNC_FROM_PB = {v: k for k, v in DATA_SYNC_TO_PB.items()}
_STATE_NAME_TO_PB = {k.value: v for k, v in STATE_TO_PB.items()}
_LOCK_NAME_TO_PB = {(k.value if k else None): v for k, v in LOCK_TO_PB.items()}
_TRUST_NAME_TO_PB = {k.value: v for k, v in TRUST_TO_PB.items()}
_DATA_SYNC_NAME_TO_PB = {k.value: v for k, v in DATA_SYNC_TO_PB.items()}


def modules_pb(modules: frozenset[ModuleRef] | tuple[ModuleRef, ...]) -> list[pb.ModuleReference]:
    return [pb.ModuleReference(name=m.name, revision=m.revision) for m in sorted(modules)]


def handle_pb(h: CmHandle, effective: TrustLevel) -> pb.CmHandle:
    return pb.CmHandle(
        id=h.id, dmi_plugin=h.dmi_plugin, dmi_properties=dict(h.dmi_properties),
        public_properties=dict(h.public_properties), module_set_tag=h.module_set_tag,
        alternate_id=h.alternate_id, state=STATE_TO_PB[h.state],
        lock_reason=LOCK_TO_PB[h.lock_reason], modules=modules_pb(h.modules),
        trust_level=TRUST_TO_PB[h.trust], effective_trust_level=TRUST_TO_PB[effective],
        data_sync_enabled=h.data_sync_enabled,
        data_sync_state=DATA_SYNC_TO_PB[h.data_sync_state])


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
        effective_trust_level=_TRUST_NAME_TO_PB[row.effective_trust],
        data_sync_enabled=row.data_sync_enabled,
        data_sync_state=_DATA_SYNC_NAME_TO_PB[row.data_sync_state])


def result_pb(r: HandleResult) -> pb.RegistrationResult:
    return pb.RegistrationResult(cm_handle_id=r.id, error=CODE_TO_PB[r.code], message=r.message)


def card_time(micros: int) -> str:
    """A time as the card writes it: 2020-12-01T00:00:00.000+0000 (UTC, milliseconds)."""
    t = datetime.fromtimestamp(micros // 1000 / 1000, UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}+0000"


def _properties_pb(props: Mapping[str, object]) -> list[Struct]:
    """The card's properties: one object, a removed property null."""
    out = Struct()
    out.update({name: value if isinstance(value, str) else None
                for name, value in props.items()})
    return [out]


def schema_names(modules: tuple[ModuleRef, ...]) -> list[str]:
    """A module set as the card's schema set: "name@revision" strings (YANG's file naming)."""
    return [f"{m.name}@{m.revision}" if m.revision else m.name for m in sorted(modules)]


def _values_pb(v: Values) -> pb.LcmValues:
    out = pb.LcmValues()
    if v.state is not None:
        out.state.CopyFrom(pb.LcmState(
            cm_handle_state=v.state.state.value,
            lock_reason=v.state.lock_reason.value if v.state.lock_reason else ""))
    if v.public_properties is not None:
        out.public_properties.extend(_properties_pb(v.public_properties))
    if v.schema_set is not None:
        schema_set = ListValue()
        schema_set.extend(schema_names(v.schema_set))
        out.schema_set.CopyFrom(schema_set)
    if v.data_sync_enabled is not None:
        out.data_sync_enabled = v.data_sync_enabled
    if v.data_sync_state is not None:
        out.data_sync_state = v.data_sync_state.value
    return out


def _data_pb(e: LcmEvent) -> pb.LcmData | None:
    if e.operation is Operation.DELETE:
        return None
    if e.operation is Operation.UPDATE:
        assert e.old_values is not None and e.new_values is not None
        return pb.LcmData(old_values=_values_pb(e.old_values),
                          new_values=_values_pb(e.new_values))
    v = e.new_values
    assert v is not None and v.state is not None and v.public_properties is not None
    return pb.LcmData(public_properties=_properties_pb(v.public_properties),
                      state=v.state.state.value, data_sync_enabled=v.data_sync_enabled,
                      data_sync_state=v.data_sync_state.value if v.data_sync_state else None)


def lcm_event_pb(e: LcmEvent, revision: int) -> pb.LcmEvent:
    """The card's event (`revision` and `caused_by` are ours, beside it)."""
    return pb.LcmEvent(
        schema=e.schema, id=e.id, source=e.source, type=e.type, revision=revision,
        content=pb.LcmContent(
            observed_timestamp=card_time(e.observed_time), dataspace_name=e.dataspace_name,
            schema_set="" if e.operation is Operation.CREATE else None,
            cm_handle_id=e.cm_handle_id, operation=e.operation.value, data=_data_pb(e)))

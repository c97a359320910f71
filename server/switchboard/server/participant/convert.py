"""Conversions between participant-protocol records and their protobuf messages."""

from __future__ import annotations

from typing import Any

from google.protobuf.duration_pb2 import Duration
from google.protobuf.json_format import MessageToDict
from google.protobuf.struct_pb2 import Struct

from switchboard.participant.v1 import participant_pb2 as pb
from switchboard.server.participant.states import (
    CompositionState,
    DeployState,
    LockState,
    StateChangeResult,
)
from switchboard.server.participant.store import (
    OPERATIONS,
    Composition,
    Element,
    ElementDefinition,
    Instance,
)
from switchboard.server.participant.supervision import ParticipantView
from switchboard.server.timestamps import from_micros

COMPOSITION_STATE_TO_PB = {
    CompositionState.COMMISSIONED: pb.COMPOSITION_STATE_COMMISSIONED,
    CompositionState.PRIMING: pb.COMPOSITION_STATE_PRIMING,
    CompositionState.PRIMED: pb.COMPOSITION_STATE_PRIMED,
    CompositionState.DEPRIMING: pb.COMPOSITION_STATE_DEPRIMING,
}
DEPLOY_STATE_TO_PB = {
    DeployState.UNDEPLOYED: pb.DEPLOY_STATE_UNDEPLOYED,
    DeployState.DEPLOYING: pb.DEPLOY_STATE_DEPLOYING,
    DeployState.DEPLOYED: pb.DEPLOY_STATE_DEPLOYED,
    DeployState.UNDEPLOYING: pb.DEPLOY_STATE_UNDEPLOYING,
    DeployState.UPDATING: pb.DEPLOY_STATE_UPDATING,
    DeployState.DELETING: pb.DEPLOY_STATE_DELETING,
    DeployState.DELETED: pb.DEPLOY_STATE_DELETED,
    DeployState.MIGRATING: pb.DEPLOY_STATE_MIGRATING,
    DeployState.MIGRATION_PRECHECKING: pb.DEPLOY_STATE_MIGRATION_PRECHECKING,
    DeployState.MIGRATION_REVERTING: pb.DEPLOY_STATE_MIGRATION_REVERTING,
}
LOCK_STATE_TO_PB = {
    LockState.NONE: pb.LOCK_STATE_NONE,
    LockState.LOCKED: pb.LOCK_STATE_LOCKED,
    LockState.LOCKING: pb.LOCK_STATE_LOCKING,
    LockState.UNLOCKED: pb.LOCK_STATE_UNLOCKED,
    LockState.UNLOCKING: pb.LOCK_STATE_UNLOCKING,
}
RESULT_TO_PB = {
    StateChangeResult.NO_ERROR: pb.STATE_CHANGE_RESULT_NO_ERROR,
    StateChangeResult.FAILED: pb.STATE_CHANGE_RESULT_FAILED,
    StateChangeResult.TIMEOUT: pb.STATE_CHANGE_RESULT_TIMEOUT,
}


def struct_pb(values: dict[str, Any]) -> Struct:
    s = Struct()
    s.update(values)
    return s


def struct_dict(s: Struct) -> dict[str, Any]:
    return MessageToDict(s)


def duration_us(d: Duration) -> int:
    return d.seconds * 1_000_000 + d.nanos // 1000


def timeouts_pb(timeouts_us: dict[str, int]) -> pb.OperationTimeouts:
    out = pb.OperationTimeouts()
    for name, value in timeouts_us.items():
        getattr(out, name).FromMicroseconds(value)
    return out


def timeouts_us(t: pb.OperationTimeouts) -> dict[str, int]:
    return {name: duration_us(getattr(t, name)) for name in OPERATIONS if t.HasField(name)}


def definition_pb(e: ElementDefinition) -> pb.ElementDefinition:
    return pb.ElementDefinition(
        name=e.name, type=e.type, version=e.version, start_phase=e.start_phase,
        properties=struct_pb(e.properties), required_properties=e.required_properties,
        timeouts=timeouts_pb(e.timeouts_us))


def composition_pb(c: Composition) -> pb.Composition:
    return pb.Composition(
        id=c.id, elements=[definition_pb(e) for e in c.elements],
        timeouts=timeouts_pb(c.timeouts_us), state=COMPOSITION_STATE_TO_PB[c.state],
        result=RESULT_TO_PB[c.result], acknowledged_types=c.acknowledged_types,
        status_message=c.status_message, create_time=from_micros(c.create_time),
        update_time=from_micros(c.update_time), revision=c.revision, project=c.project)


def element_pb(e: Element) -> pb.InstanceElement:
    out = pb.InstanceElement(
        name=e.name, type=e.type, start_phase=e.start_phase, properties=struct_pb(e.properties),
        deploy_state=DEPLOY_STATE_TO_PB[e.deploy], lock_state=LOCK_STATE_TO_PB[e.lock],
        use_state=e.use_state, operational_state=e.operational_state,
        out_properties=struct_pb(e.out_properties), message=e.message)
    if e.statistics:
        out.statistics.CopyFrom(struct_pb(e.statistics))
    if e.report_time:
        out.report_time.CopyFrom(from_micros(e.report_time))
    return out


def instance_pb(i: Instance) -> pb.Instance:
    return pb.Instance(
        id=i.id, composition_id=i.composition_id, elements=[element_pb(e) for e in i.elements],
        deploy_state=DEPLOY_STATE_TO_PB[i.deploy], lock_state=LOCK_STATE_TO_PB[i.lock],
        result=RESULT_TO_PB[i.result], status_message=i.status_message,
        create_time=from_micros(i.create_time), update_time=from_micros(i.update_time),
        revision=i.revision, project=i.project, composition_target_id=i.composition_target_id,
        precheck_result=RESULT_TO_PB[i.precheck_result] if i.precheck_result is not None
        else pb.STATE_CHANGE_RESULT_UNSPECIFIED, precheck_message=i.precheck_message)


def participant_pb(p: ParticipantView) -> pb.Participant:
    return pb.Participant(id=p.id, element_types=sorted(p.element_types), online=p.online,
                          online_replicas=p.online_replicas, offline_replicas=p.offline_replicas)

import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from switchboard.options.v1 import bounds_pb2 as _bounds_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CompositionState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COMPOSITION_STATE_UNSPECIFIED: _ClassVar[CompositionState]
    COMPOSITION_STATE_COMMISSIONED: _ClassVar[CompositionState]
    COMPOSITION_STATE_PRIMING: _ClassVar[CompositionState]
    COMPOSITION_STATE_PRIMED: _ClassVar[CompositionState]
    COMPOSITION_STATE_DEPRIMING: _ClassVar[CompositionState]

class DeployState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEPLOY_STATE_UNSPECIFIED: _ClassVar[DeployState]
    DEPLOY_STATE_UNDEPLOYED: _ClassVar[DeployState]
    DEPLOY_STATE_DEPLOYING: _ClassVar[DeployState]
    DEPLOY_STATE_DEPLOYED: _ClassVar[DeployState]
    DEPLOY_STATE_UNDEPLOYING: _ClassVar[DeployState]
    DEPLOY_STATE_UPDATING: _ClassVar[DeployState]
    DEPLOY_STATE_DELETING: _ClassVar[DeployState]
    DEPLOY_STATE_DELETED: _ClassVar[DeployState]
    DEPLOY_STATE_MIGRATING: _ClassVar[DeployState]
    DEPLOY_STATE_MIGRATION_PRECHECKING: _ClassVar[DeployState]
    DEPLOY_STATE_MIGRATION_REVERTING: _ClassVar[DeployState]

class LockState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LOCK_STATE_UNSPECIFIED: _ClassVar[LockState]
    LOCK_STATE_NONE: _ClassVar[LockState]
    LOCK_STATE_LOCKED: _ClassVar[LockState]
    LOCK_STATE_LOCKING: _ClassVar[LockState]
    LOCK_STATE_UNLOCKED: _ClassVar[LockState]
    LOCK_STATE_UNLOCKING: _ClassVar[LockState]

class StateChangeResult(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STATE_CHANGE_RESULT_UNSPECIFIED: _ClassVar[StateChangeResult]
    STATE_CHANGE_RESULT_NO_ERROR: _ClassVar[StateChangeResult]
    STATE_CHANGE_RESULT_FAILED: _ClassVar[StateChangeResult]
    STATE_CHANGE_RESULT_TIMEOUT: _ClassVar[StateChangeResult]

class CompositionEventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COMPOSITION_EVENT_TYPE_UNSPECIFIED: _ClassVar[CompositionEventType]
    COMPOSITION_EVENT_TYPE_CREATED: _ClassVar[CompositionEventType]
    COMPOSITION_EVENT_TYPE_CHANGED: _ClassVar[CompositionEventType]
    COMPOSITION_EVENT_TYPE_DELETED: _ClassVar[CompositionEventType]

class InstanceEventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INSTANCE_EVENT_TYPE_UNSPECIFIED: _ClassVar[InstanceEventType]
    INSTANCE_EVENT_TYPE_CREATED: _ClassVar[InstanceEventType]
    INSTANCE_EVENT_TYPE_CHANGED: _ClassVar[InstanceEventType]
    INSTANCE_EVENT_TYPE_DELETED: _ClassVar[InstanceEventType]

class MessageType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MESSAGE_TYPE_UNSPECIFIED: _ClassVar[MessageType]
    MESSAGE_TYPE_PRIME: _ClassVar[MessageType]
    MESSAGE_TYPE_DEPRIME: _ClassVar[MessageType]
    MESSAGE_TYPE_DEPLOY: _ClassVar[MessageType]
    MESSAGE_TYPE_UNDEPLOY: _ClassVar[MessageType]
    MESSAGE_TYPE_LOCK: _ClassVar[MessageType]
    MESSAGE_TYPE_UNLOCK: _ClassVar[MessageType]
    MESSAGE_TYPE_UPDATE: _ClassVar[MessageType]
    MESSAGE_TYPE_DELETE: _ClassVar[MessageType]
    MESSAGE_TYPE_SYNC: _ClassVar[MessageType]
    MESSAGE_TYPE_STATUS_REQUEST: _ClassVar[MessageType]
    MESSAGE_TYPE_MIGRATE: _ClassVar[MessageType]
    MESSAGE_TYPE_MIGRATE_PRECHECK: _ClassVar[MessageType]
COMPOSITION_STATE_UNSPECIFIED: CompositionState
COMPOSITION_STATE_COMMISSIONED: CompositionState
COMPOSITION_STATE_PRIMING: CompositionState
COMPOSITION_STATE_PRIMED: CompositionState
COMPOSITION_STATE_DEPRIMING: CompositionState
DEPLOY_STATE_UNSPECIFIED: DeployState
DEPLOY_STATE_UNDEPLOYED: DeployState
DEPLOY_STATE_DEPLOYING: DeployState
DEPLOY_STATE_DEPLOYED: DeployState
DEPLOY_STATE_UNDEPLOYING: DeployState
DEPLOY_STATE_UPDATING: DeployState
DEPLOY_STATE_DELETING: DeployState
DEPLOY_STATE_DELETED: DeployState
DEPLOY_STATE_MIGRATING: DeployState
DEPLOY_STATE_MIGRATION_PRECHECKING: DeployState
DEPLOY_STATE_MIGRATION_REVERTING: DeployState
LOCK_STATE_UNSPECIFIED: LockState
LOCK_STATE_NONE: LockState
LOCK_STATE_LOCKED: LockState
LOCK_STATE_LOCKING: LockState
LOCK_STATE_UNLOCKED: LockState
LOCK_STATE_UNLOCKING: LockState
STATE_CHANGE_RESULT_UNSPECIFIED: StateChangeResult
STATE_CHANGE_RESULT_NO_ERROR: StateChangeResult
STATE_CHANGE_RESULT_FAILED: StateChangeResult
STATE_CHANGE_RESULT_TIMEOUT: StateChangeResult
COMPOSITION_EVENT_TYPE_UNSPECIFIED: CompositionEventType
COMPOSITION_EVENT_TYPE_CREATED: CompositionEventType
COMPOSITION_EVENT_TYPE_CHANGED: CompositionEventType
COMPOSITION_EVENT_TYPE_DELETED: CompositionEventType
INSTANCE_EVENT_TYPE_UNSPECIFIED: InstanceEventType
INSTANCE_EVENT_TYPE_CREATED: InstanceEventType
INSTANCE_EVENT_TYPE_CHANGED: InstanceEventType
INSTANCE_EVENT_TYPE_DELETED: InstanceEventType
MESSAGE_TYPE_UNSPECIFIED: MessageType
MESSAGE_TYPE_PRIME: MessageType
MESSAGE_TYPE_DEPRIME: MessageType
MESSAGE_TYPE_DEPLOY: MessageType
MESSAGE_TYPE_UNDEPLOY: MessageType
MESSAGE_TYPE_LOCK: MessageType
MESSAGE_TYPE_UNLOCK: MessageType
MESSAGE_TYPE_UPDATE: MessageType
MESSAGE_TYPE_DELETE: MessageType
MESSAGE_TYPE_SYNC: MessageType
MESSAGE_TYPE_STATUS_REQUEST: MessageType
MESSAGE_TYPE_MIGRATE: MessageType
MESSAGE_TYPE_MIGRATE_PRECHECK: MessageType

class OperationTimeouts(_message.Message):
    __slots__ = ("prime", "deprime", "deploy", "undeploy", "lock", "unlock", "update", "delete")
    PRIME_FIELD_NUMBER: _ClassVar[int]
    DEPRIME_FIELD_NUMBER: _ClassVar[int]
    DEPLOY_FIELD_NUMBER: _ClassVar[int]
    UNDEPLOY_FIELD_NUMBER: _ClassVar[int]
    LOCK_FIELD_NUMBER: _ClassVar[int]
    UNLOCK_FIELD_NUMBER: _ClassVar[int]
    UPDATE_FIELD_NUMBER: _ClassVar[int]
    DELETE_FIELD_NUMBER: _ClassVar[int]
    prime: _duration_pb2.Duration
    deprime: _duration_pb2.Duration
    deploy: _duration_pb2.Duration
    undeploy: _duration_pb2.Duration
    lock: _duration_pb2.Duration
    unlock: _duration_pb2.Duration
    update: _duration_pb2.Duration
    delete: _duration_pb2.Duration
    def __init__(self, prime: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., deprime: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., deploy: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., undeploy: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., lock: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., unlock: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., update: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., delete: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class ElementDefinition(_message.Message):
    __slots__ = ("name", "type", "version", "start_phase", "properties", "required_properties", "timeouts")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    START_PHASE_FIELD_NUMBER: _ClassVar[int]
    PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    TIMEOUTS_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: str
    version: str
    start_phase: int
    properties: _struct_pb2.Struct
    required_properties: _containers.RepeatedScalarFieldContainer[str]
    timeouts: OperationTimeouts
    def __init__(self, name: _Optional[str] = ..., type: _Optional[str] = ..., version: _Optional[str] = ..., start_phase: _Optional[int] = ..., properties: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., required_properties: _Optional[_Iterable[str]] = ..., timeouts: _Optional[_Union[OperationTimeouts, _Mapping]] = ...) -> None: ...

class Composition(_message.Message):
    __slots__ = ("id", "elements", "timeouts", "state", "result", "acknowledged_types", "status_message", "create_time", "update_time", "revision", "project")
    ID_FIELD_NUMBER: _ClassVar[int]
    ELEMENTS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUTS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGED_TYPES_FIELD_NUMBER: _ClassVar[int]
    STATUS_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    id: str
    elements: _containers.RepeatedCompositeFieldContainer[ElementDefinition]
    timeouts: OperationTimeouts
    state: CompositionState
    result: StateChangeResult
    acknowledged_types: _containers.RepeatedScalarFieldContainer[str]
    status_message: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    revision: int
    project: str
    def __init__(self, id: _Optional[str] = ..., elements: _Optional[_Iterable[_Union[ElementDefinition, _Mapping]]] = ..., timeouts: _Optional[_Union[OperationTimeouts, _Mapping]] = ..., state: _Optional[_Union[CompositionState, str]] = ..., result: _Optional[_Union[StateChangeResult, str]] = ..., acknowledged_types: _Optional[_Iterable[str]] = ..., status_message: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revision: _Optional[int] = ..., project: _Optional[str] = ...) -> None: ...

class InstanceElement(_message.Message):
    __slots__ = ("name", "type", "start_phase", "properties", "deploy_state", "lock_state", "use_state", "operational_state", "out_properties", "message", "statistics", "report_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    START_PHASE_FIELD_NUMBER: _ClassVar[int]
    PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    DEPLOY_STATE_FIELD_NUMBER: _ClassVar[int]
    LOCK_STATE_FIELD_NUMBER: _ClassVar[int]
    USE_STATE_FIELD_NUMBER: _ClassVar[int]
    OPERATIONAL_STATE_FIELD_NUMBER: _ClassVar[int]
    OUT_PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    STATISTICS_FIELD_NUMBER: _ClassVar[int]
    REPORT_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: str
    start_phase: int
    properties: _struct_pb2.Struct
    deploy_state: DeployState
    lock_state: LockState
    use_state: str
    operational_state: str
    out_properties: _struct_pb2.Struct
    message: str
    statistics: _struct_pb2.Struct
    report_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., type: _Optional[str] = ..., start_phase: _Optional[int] = ..., properties: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., deploy_state: _Optional[_Union[DeployState, str]] = ..., lock_state: _Optional[_Union[LockState, str]] = ..., use_state: _Optional[str] = ..., operational_state: _Optional[str] = ..., out_properties: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., message: _Optional[str] = ..., statistics: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., report_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Instance(_message.Message):
    __slots__ = ("id", "composition_id", "elements", "deploy_state", "lock_state", "result", "status_message", "create_time", "update_time", "revision", "project", "composition_target_id", "precheck_result", "precheck_message")
    ID_FIELD_NUMBER: _ClassVar[int]
    COMPOSITION_ID_FIELD_NUMBER: _ClassVar[int]
    ELEMENTS_FIELD_NUMBER: _ClassVar[int]
    DEPLOY_STATE_FIELD_NUMBER: _ClassVar[int]
    LOCK_STATE_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    STATUS_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    COMPOSITION_TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    PRECHECK_RESULT_FIELD_NUMBER: _ClassVar[int]
    PRECHECK_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    id: str
    composition_id: str
    elements: _containers.RepeatedCompositeFieldContainer[InstanceElement]
    deploy_state: DeployState
    lock_state: LockState
    result: StateChangeResult
    status_message: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    revision: int
    project: str
    composition_target_id: str
    precheck_result: StateChangeResult
    precheck_message: str
    def __init__(self, id: _Optional[str] = ..., composition_id: _Optional[str] = ..., elements: _Optional[_Iterable[_Union[InstanceElement, _Mapping]]] = ..., deploy_state: _Optional[_Union[DeployState, str]] = ..., lock_state: _Optional[_Union[LockState, str]] = ..., result: _Optional[_Union[StateChangeResult, str]] = ..., status_message: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revision: _Optional[int] = ..., project: _Optional[str] = ..., composition_target_id: _Optional[str] = ..., precheck_result: _Optional[_Union[StateChangeResult, str]] = ..., precheck_message: _Optional[str] = ...) -> None: ...

class Participant(_message.Message):
    __slots__ = ("id", "element_types", "online", "online_replicas", "offline_replicas")
    ID_FIELD_NUMBER: _ClassVar[int]
    ELEMENT_TYPES_FIELD_NUMBER: _ClassVar[int]
    ONLINE_FIELD_NUMBER: _ClassVar[int]
    ONLINE_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    OFFLINE_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    id: str
    element_types: _containers.RepeatedScalarFieldContainer[str]
    online: bool
    online_replicas: _containers.RepeatedScalarFieldContainer[str]
    offline_replicas: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., element_types: _Optional[_Iterable[str]] = ..., online: _Optional[bool] = ..., online_replicas: _Optional[_Iterable[str]] = ..., offline_replicas: _Optional[_Iterable[str]] = ...) -> None: ...

class CreateCompositionRequest(_message.Message):
    __slots__ = ("composition", "request_id", "project")
    COMPOSITION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    composition: Composition
    request_id: str
    project: str
    def __init__(self, composition: _Optional[_Union[Composition, _Mapping]] = ..., request_id: _Optional[str] = ..., project: _Optional[str] = ...) -> None: ...

class CreateCompositionResponse(_message.Message):
    __slots__ = ("composition",)
    COMPOSITION_FIELD_NUMBER: _ClassVar[int]
    composition: Composition
    def __init__(self, composition: _Optional[_Union[Composition, _Mapping]] = ...) -> None: ...

class GetCompositionRequest(_message.Message):
    __slots__ = ("composition_id",)
    COMPOSITION_ID_FIELD_NUMBER: _ClassVar[int]
    composition_id: str
    def __init__(self, composition_id: _Optional[str] = ...) -> None: ...

class GetCompositionResponse(_message.Message):
    __slots__ = ("composition",)
    COMPOSITION_FIELD_NUMBER: _ClassVar[int]
    composition: Composition
    def __init__(self, composition: _Optional[_Union[Composition, _Mapping]] = ...) -> None: ...

class ListCompositionsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListCompositionsResponse(_message.Message):
    __slots__ = ("compositions", "next_page_token")
    COMPOSITIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    compositions: _containers.RepeatedCompositeFieldContainer[Composition]
    next_page_token: str
    def __init__(self, compositions: _Optional[_Iterable[_Union[Composition, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteCompositionRequest(_message.Message):
    __slots__ = ("composition_id",)
    COMPOSITION_ID_FIELD_NUMBER: _ClassVar[int]
    composition_id: str
    def __init__(self, composition_id: _Optional[str] = ...) -> None: ...

class DeleteCompositionResponse(_message.Message):
    __slots__ = ("composition",)
    COMPOSITION_FIELD_NUMBER: _ClassVar[int]
    composition: Composition
    def __init__(self, composition: _Optional[_Union[Composition, _Mapping]] = ...) -> None: ...

class PrimeCompositionRequest(_message.Message):
    __slots__ = ("composition_id",)
    COMPOSITION_ID_FIELD_NUMBER: _ClassVar[int]
    composition_id: str
    def __init__(self, composition_id: _Optional[str] = ...) -> None: ...

class PrimeCompositionResponse(_message.Message):
    __slots__ = ("composition",)
    COMPOSITION_FIELD_NUMBER: _ClassVar[int]
    composition: Composition
    def __init__(self, composition: _Optional[_Union[Composition, _Mapping]] = ...) -> None: ...

class DeprimeCompositionRequest(_message.Message):
    __slots__ = ("composition_id",)
    COMPOSITION_ID_FIELD_NUMBER: _ClassVar[int]
    composition_id: str
    def __init__(self, composition_id: _Optional[str] = ...) -> None: ...

class DeprimeCompositionResponse(_message.Message):
    __slots__ = ("composition",)
    COMPOSITION_FIELD_NUMBER: _ClassVar[int]
    composition: Composition
    def __init__(self, composition: _Optional[_Union[Composition, _Mapping]] = ...) -> None: ...

class CreateInstanceRequest(_message.Message):
    __slots__ = ("instance", "request_id")
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    instance: Instance
    request_id: str
    def __init__(self, instance: _Optional[_Union[Instance, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateInstanceResponse(_message.Message):
    __slots__ = ("instance",)
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    instance: Instance
    def __init__(self, instance: _Optional[_Union[Instance, _Mapping]] = ...) -> None: ...

class GetInstanceRequest(_message.Message):
    __slots__ = ("instance_id",)
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    instance_id: str
    def __init__(self, instance_id: _Optional[str] = ...) -> None: ...

class GetInstanceResponse(_message.Message):
    __slots__ = ("instance",)
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    instance: Instance
    def __init__(self, instance: _Optional[_Union[Instance, _Mapping]] = ...) -> None: ...

class ListInstancesRequest(_message.Message):
    __slots__ = ("composition_id", "page_size", "page_token")
    COMPOSITION_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    composition_id: str
    page_size: int
    page_token: str
    def __init__(self, composition_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListInstancesResponse(_message.Message):
    __slots__ = ("instances", "next_page_token")
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    instances: _containers.RepeatedCompositeFieldContainer[Instance]
    next_page_token: str
    def __init__(self, instances: _Optional[_Iterable[_Union[Instance, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeployInstanceRequest(_message.Message):
    __slots__ = ("instance_id",)
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    instance_id: str
    def __init__(self, instance_id: _Optional[str] = ...) -> None: ...

class DeployInstanceResponse(_message.Message):
    __slots__ = ("instance",)
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    instance: Instance
    def __init__(self, instance: _Optional[_Union[Instance, _Mapping]] = ...) -> None: ...

class UndeployInstanceRequest(_message.Message):
    __slots__ = ("instance_id",)
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    instance_id: str
    def __init__(self, instance_id: _Optional[str] = ...) -> None: ...

class UndeployInstanceResponse(_message.Message):
    __slots__ = ("instance",)
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    instance: Instance
    def __init__(self, instance: _Optional[_Union[Instance, _Mapping]] = ...) -> None: ...

class LockInstanceRequest(_message.Message):
    __slots__ = ("instance_id",)
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    instance_id: str
    def __init__(self, instance_id: _Optional[str] = ...) -> None: ...

class LockInstanceResponse(_message.Message):
    __slots__ = ("instance",)
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    instance: Instance
    def __init__(self, instance: _Optional[_Union[Instance, _Mapping]] = ...) -> None: ...

class UnlockInstanceRequest(_message.Message):
    __slots__ = ("instance_id",)
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    instance_id: str
    def __init__(self, instance_id: _Optional[str] = ...) -> None: ...

class UnlockInstanceResponse(_message.Message):
    __slots__ = ("instance",)
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    instance: Instance
    def __init__(self, instance: _Optional[_Union[Instance, _Mapping]] = ...) -> None: ...

class UpdateInstanceRequest(_message.Message):
    __slots__ = ("instance_id", "elements")
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    ELEMENTS_FIELD_NUMBER: _ClassVar[int]
    instance_id: str
    elements: _containers.RepeatedCompositeFieldContainer[InstanceElement]
    def __init__(self, instance_id: _Optional[str] = ..., elements: _Optional[_Iterable[_Union[InstanceElement, _Mapping]]] = ...) -> None: ...

class UpdateInstanceResponse(_message.Message):
    __slots__ = ("instance",)
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    instance: Instance
    def __init__(self, instance: _Optional[_Union[Instance, _Mapping]] = ...) -> None: ...

class MigrateInstanceRequest(_message.Message):
    __slots__ = ("instance_id", "composition_id", "precheck", "request_id")
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    COMPOSITION_ID_FIELD_NUMBER: _ClassVar[int]
    PRECHECK_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    instance_id: str
    composition_id: str
    precheck: bool
    request_id: str
    def __init__(self, instance_id: _Optional[str] = ..., composition_id: _Optional[str] = ..., precheck: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...

class MigrateInstanceResponse(_message.Message):
    __slots__ = ("instance",)
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    instance: Instance
    def __init__(self, instance: _Optional[_Union[Instance, _Mapping]] = ...) -> None: ...

class DeleteInstanceRequest(_message.Message):
    __slots__ = ("instance_id",)
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    instance_id: str
    def __init__(self, instance_id: _Optional[str] = ...) -> None: ...

class DeleteInstanceResponse(_message.Message):
    __slots__ = ("instance",)
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    instance: Instance
    def __init__(self, instance: _Optional[_Union[Instance, _Mapping]] = ...) -> None: ...

class ListParticipantsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListParticipantsResponse(_message.Message):
    __slots__ = ("participants",)
    PARTICIPANTS_FIELD_NUMBER: _ClassVar[int]
    participants: _containers.RepeatedCompositeFieldContainer[Participant]
    def __init__(self, participants: _Optional[_Iterable[_Union[Participant, _Mapping]]] = ...) -> None: ...

class RequestParticipantStatusRequest(_message.Message):
    __slots__ = ("participant_id",)
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    def __init__(self, participant_id: _Optional[str] = ...) -> None: ...

class RequestParticipantStatusResponse(_message.Message):
    __slots__ = ("replica_ids",)
    REPLICA_IDS_FIELD_NUMBER: _ClassVar[int]
    replica_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, replica_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class CompositionEvent(_message.Message):
    __slots__ = ("revision", "type", "composition", "time", "caused_by")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    COMPOSITION_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    CAUSED_BY_FIELD_NUMBER: _ClassVar[int]
    revision: int
    type: CompositionEventType
    composition: Composition
    time: _timestamp_pb2.Timestamp
    caused_by: str
    def __init__(self, revision: _Optional[int] = ..., type: _Optional[_Union[CompositionEventType, str]] = ..., composition: _Optional[_Union[Composition, _Mapping]] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., caused_by: _Optional[str] = ...) -> None: ...

class InstanceEvent(_message.Message):
    __slots__ = ("revision", "type", "instance", "time", "caused_by")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    CAUSED_BY_FIELD_NUMBER: _ClassVar[int]
    revision: int
    type: InstanceEventType
    instance: Instance
    time: _timestamp_pb2.Timestamp
    caused_by: str
    def __init__(self, revision: _Optional[int] = ..., type: _Optional[_Union[InstanceEventType, str]] = ..., instance: _Optional[_Union[Instance, _Mapping]] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., caused_by: _Optional[str] = ...) -> None: ...

class WatchCompositionsRequest(_message.Message):
    __slots__ = ("start_revision", "composition_id")
    START_REVISION_FIELD_NUMBER: _ClassVar[int]
    COMPOSITION_ID_FIELD_NUMBER: _ClassVar[int]
    start_revision: int
    composition_id: str
    def __init__(self, start_revision: _Optional[int] = ..., composition_id: _Optional[str] = ...) -> None: ...

class WatchCompositionsResponse(_message.Message):
    __slots__ = ("events", "revision")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[CompositionEvent]
    revision: int
    def __init__(self, events: _Optional[_Iterable[_Union[CompositionEvent, _Mapping]]] = ..., revision: _Optional[int] = ...) -> None: ...

class WatchInstancesRequest(_message.Message):
    __slots__ = ("start_revision", "instance_id", "composition_id")
    START_REVISION_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    COMPOSITION_ID_FIELD_NUMBER: _ClassVar[int]
    start_revision: int
    instance_id: str
    composition_id: str
    def __init__(self, start_revision: _Optional[int] = ..., instance_id: _Optional[str] = ..., composition_id: _Optional[str] = ...) -> None: ...

class WatchInstancesResponse(_message.Message):
    __slots__ = ("events", "revision")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[InstanceEvent]
    revision: int
    def __init__(self, events: _Optional[_Iterable[_Union[InstanceEvent, _Mapping]]] = ..., revision: _Optional[int] = ...) -> None: ...

class RegisterRequest(_message.Message):
    __slots__ = ("participant_id", "replica_id", "element_types")
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    REPLICA_ID_FIELD_NUMBER: _ClassVar[int]
    ELEMENT_TYPES_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    replica_id: str
    element_types: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, participant_id: _Optional[str] = ..., replica_id: _Optional[str] = ..., element_types: _Optional[_Iterable[str]] = ...) -> None: ...

class RegisterResponse(_message.Message):
    __slots__ = ("rejoined", "heartbeat_interval")
    REJOINED_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    rejoined: bool
    heartbeat_interval: _duration_pb2.Duration
    def __init__(self, rejoined: _Optional[bool] = ..., heartbeat_interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class DeregisterRequest(_message.Message):
    __slots__ = ("participant_id", "replica_id")
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    REPLICA_ID_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    replica_id: str
    def __init__(self, participant_id: _Optional[str] = ..., replica_id: _Optional[str] = ...) -> None: ...

class DeregisterResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ReceiveMessagesRequest(_message.Message):
    __slots__ = ("participant_id", "replica_id")
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    REPLICA_ID_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    replica_id: str
    def __init__(self, participant_id: _Optional[str] = ..., replica_id: _Optional[str] = ...) -> None: ...

class ReceiveMessagesResponse(_message.Message):
    __slots__ = ("message",)
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    message: ParticipantMessage
    def __init__(self, message: _Optional[_Union[ParticipantMessage, _Mapping]] = ...) -> None: ...

class ElementMessage(_message.Message):
    __slots__ = ("name", "type", "version", "start_phase", "properties")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    START_PHASE_FIELD_NUMBER: _ClassVar[int]
    PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: str
    version: str
    start_phase: int
    properties: _struct_pb2.Struct
    def __init__(self, name: _Optional[str] = ..., type: _Optional[str] = ..., version: _Optional[str] = ..., start_phase: _Optional[int] = ..., properties: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ParticipantMessage(_message.Message):
    __slots__ = ("id", "type", "composition_id", "instance_id", "elements", "compositions", "instances", "time", "composition_target_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    COMPOSITION_ID_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    ELEMENTS_FIELD_NUMBER: _ClassVar[int]
    COMPOSITIONS_FIELD_NUMBER: _ClassVar[int]
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    COMPOSITION_TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    id: int
    type: MessageType
    composition_id: str
    instance_id: str
    elements: _containers.RepeatedCompositeFieldContainer[ElementMessage]
    compositions: _containers.RepeatedCompositeFieldContainer[Composition]
    instances: _containers.RepeatedCompositeFieldContainer[Instance]
    time: _timestamp_pb2.Timestamp
    composition_target_id: str
    def __init__(self, id: _Optional[int] = ..., type: _Optional[_Union[MessageType, str]] = ..., composition_id: _Optional[str] = ..., instance_id: _Optional[str] = ..., elements: _Optional[_Iterable[_Union[ElementMessage, _Mapping]]] = ..., compositions: _Optional[_Iterable[_Union[Composition, _Mapping]]] = ..., instances: _Optional[_Iterable[_Union[Instance, _Mapping]]] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., composition_target_id: _Optional[str] = ...) -> None: ...

class ElementResult(_message.Message):
    __slots__ = ("name", "success", "message", "out_properties")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    OUT_PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    name: str
    success: bool
    message: str
    out_properties: _struct_pb2.Struct
    def __init__(self, name: _Optional[str] = ..., success: _Optional[bool] = ..., message: _Optional[str] = ..., out_properties: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class AcknowledgeRequest(_message.Message):
    __slots__ = ("participant_id", "replica_id", "message_id", "results")
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    REPLICA_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    replica_id: str
    message_id: int
    results: _containers.RepeatedCompositeFieldContainer[ElementResult]
    def __init__(self, participant_id: _Optional[str] = ..., replica_id: _Optional[str] = ..., message_id: _Optional[int] = ..., results: _Optional[_Iterable[_Union[ElementResult, _Mapping]]] = ...) -> None: ...

class AcknowledgeResponse(_message.Message):
    __slots__ = ("duplicate",)
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    duplicate: bool
    def __init__(self, duplicate: _Optional[bool] = ...) -> None: ...

class ElementStatus(_message.Message):
    __slots__ = ("instance_id", "name", "use_state", "operational_state", "out_properties", "statistics")
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    USE_STATE_FIELD_NUMBER: _ClassVar[int]
    OPERATIONAL_STATE_FIELD_NUMBER: _ClassVar[int]
    OUT_PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    STATISTICS_FIELD_NUMBER: _ClassVar[int]
    instance_id: str
    name: str
    use_state: str
    operational_state: str
    out_properties: _struct_pb2.Struct
    statistics: _struct_pb2.Struct
    def __init__(self, instance_id: _Optional[str] = ..., name: _Optional[str] = ..., use_state: _Optional[str] = ..., operational_state: _Optional[str] = ..., out_properties: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., statistics: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class RejectedStatus(_message.Message):
    __slots__ = ("instance_id", "name", "reason", "message")
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    instance_id: str
    name: str
    reason: str
    message: str
    def __init__(self, instance_id: _Optional[str] = ..., name: _Optional[str] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class ReportStatusRequest(_message.Message):
    __slots__ = ("participant_id", "replica_id", "elements")
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    REPLICA_ID_FIELD_NUMBER: _ClassVar[int]
    ELEMENTS_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    replica_id: str
    elements: _containers.RepeatedCompositeFieldContainer[ElementStatus]
    def __init__(self, participant_id: _Optional[str] = ..., replica_id: _Optional[str] = ..., elements: _Optional[_Iterable[_Union[ElementStatus, _Mapping]]] = ...) -> None: ...

class ReportStatusResponse(_message.Message):
    __slots__ = ("rejected",)
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    rejected: _containers.RepeatedCompositeFieldContainer[RejectedStatus]
    def __init__(self, rejected: _Optional[_Iterable[_Union[RejectedStatus, _Mapping]]] = ...) -> None: ...

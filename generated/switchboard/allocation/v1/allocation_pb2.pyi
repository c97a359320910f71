import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from switchboard.options.v1 import bounds_pb2 as _bounds_pb2
from switchboard.reservation.v1 import reservation_pb2 as _reservation_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class InstanceStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INSTANCE_STATUS_UNSPECIFIED: _ClassVar[InstanceStatus]
    INSTANCE_STATUS_BUILDING: _ClassVar[InstanceStatus]
    INSTANCE_STATUS_ACTIVE: _ClassVar[InstanceStatus]
    INSTANCE_STATUS_ERROR: _ClassVar[InstanceStatus]
    INSTANCE_STATUS_DELETING: _ClassVar[InstanceStatus]
    INSTANCE_STATUS_DELETED: _ClassVar[InstanceStatus]

class InstanceEventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INSTANCE_EVENT_TYPE_UNSPECIFIED: _ClassVar[InstanceEventType]
    INSTANCE_EVENT_TYPE_CREATED: _ClassVar[InstanceEventType]
    INSTANCE_EVENT_TYPE_STATUS_CHANGED: _ClassVar[InstanceEventType]
INSTANCE_STATUS_UNSPECIFIED: InstanceStatus
INSTANCE_STATUS_BUILDING: InstanceStatus
INSTANCE_STATUS_ACTIVE: InstanceStatus
INSTANCE_STATUS_ERROR: InstanceStatus
INSTANCE_STATUS_DELETING: InstanceStatus
INSTANCE_STATUS_DELETED: InstanceStatus
INSTANCE_EVENT_TYPE_UNSPECIFIED: InstanceEventType
INSTANCE_EVENT_TYPE_CREATED: InstanceEventType
INSTANCE_EVENT_TYPE_STATUS_CHANGED: InstanceEventType

class Flavor(_message.Message):
    __slots__ = ("name", "vcpus", "ram_mb", "disk_gb")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VCPUS_FIELD_NUMBER: _ClassVar[int]
    RAM_MB_FIELD_NUMBER: _ClassVar[int]
    DISK_GB_FIELD_NUMBER: _ClassVar[int]
    name: str
    vcpus: int
    ram_mb: int
    disk_gb: int
    def __init__(self, name: _Optional[str] = ..., vcpus: _Optional[int] = ..., ram_mb: _Optional[int] = ..., disk_gb: _Optional[int] = ...) -> None: ...

class Instance(_message.Message):
    __slots__ = ("id", "name", "pool_id", "flavor", "image", "networks", "reservation_id", "status", "status_message", "vim_server_id", "resources", "create_time", "update_time", "revision", "project")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    POOL_ID_FIELD_NUMBER: _ClassVar[int]
    FLAVOR_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    NETWORKS_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    VIM_SERVER_ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    pool_id: str
    flavor: str
    image: str
    networks: _containers.RepeatedScalarFieldContainer[str]
    reservation_id: str
    status: InstanceStatus
    status_message: str
    vim_server_id: str
    resources: _reservation_pb2.Resources
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    revision: int
    project: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., pool_id: _Optional[str] = ..., flavor: _Optional[str] = ..., image: _Optional[str] = ..., networks: _Optional[_Iterable[str]] = ..., reservation_id: _Optional[str] = ..., status: _Optional[_Union[InstanceStatus, str]] = ..., status_message: _Optional[str] = ..., vim_server_id: _Optional[str] = ..., resources: _Optional[_Union[_reservation_pb2.Resources, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revision: _Optional[int] = ..., project: _Optional[str] = ...) -> None: ...

class ListFlavorsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListFlavorsResponse(_message.Message):
    __slots__ = ("flavors",)
    FLAVORS_FIELD_NUMBER: _ClassVar[int]
    flavors: _containers.RepeatedCompositeFieldContainer[Flavor]
    def __init__(self, flavors: _Optional[_Iterable[_Union[Flavor, _Mapping]]] = ...) -> None: ...

class CreateInstanceRequest(_message.Message):
    __slots__ = ("instance", "request_id", "project")
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    instance: Instance
    request_id: str
    project: str
    def __init__(self, instance: _Optional[_Union[Instance, _Mapping]] = ..., request_id: _Optional[str] = ..., project: _Optional[str] = ...) -> None: ...

class CreateInstanceResponse(_message.Message):
    __slots__ = ("instance",)
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    instance: Instance
    def __init__(self, instance: _Optional[_Union[Instance, _Mapping]] = ...) -> None: ...

class AllocationShortfall(_message.Message):
    __slots__ = ("pool_id", "reservation_id", "requested", "available", "binding_time", "binding_reservation_ids")
    POOL_ID_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    BINDING_TIME_FIELD_NUMBER: _ClassVar[int]
    BINDING_RESERVATION_IDS_FIELD_NUMBER: _ClassVar[int]
    pool_id: str
    reservation_id: str
    requested: _reservation_pb2.Resources
    available: _reservation_pb2.Resources
    binding_time: _timestamp_pb2.Timestamp
    binding_reservation_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, pool_id: _Optional[str] = ..., reservation_id: _Optional[str] = ..., requested: _Optional[_Union[_reservation_pb2.Resources, _Mapping]] = ..., available: _Optional[_Union[_reservation_pb2.Resources, _Mapping]] = ..., binding_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., binding_reservation_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class DestroyInstanceRequest(_message.Message):
    __slots__ = ("instance_id",)
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    instance_id: str
    def __init__(self, instance_id: _Optional[str] = ...) -> None: ...

class DestroyInstanceResponse(_message.Message):
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
    __slots__ = ("pool_id", "reservation_id", "statuses", "page_size", "page_token")
    POOL_ID_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    pool_id: str
    reservation_id: str
    statuses: _containers.RepeatedScalarFieldContainer[InstanceStatus]
    page_size: int
    page_token: str
    def __init__(self, pool_id: _Optional[str] = ..., reservation_id: _Optional[str] = ..., statuses: _Optional[_Iterable[_Union[InstanceStatus, str]]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListInstancesResponse(_message.Message):
    __slots__ = ("instances", "next_page_token")
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    instances: _containers.RepeatedCompositeFieldContainer[Instance]
    next_page_token: str
    def __init__(self, instances: _Optional[_Iterable[_Union[Instance, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class InstanceEvent(_message.Message):
    __slots__ = ("revision", "type", "instance", "previous_status", "time", "caused_by")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_STATUS_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    CAUSED_BY_FIELD_NUMBER: _ClassVar[int]
    revision: int
    type: InstanceEventType
    instance: Instance
    previous_status: InstanceStatus
    time: _timestamp_pb2.Timestamp
    caused_by: str
    def __init__(self, revision: _Optional[int] = ..., type: _Optional[_Union[InstanceEventType, str]] = ..., instance: _Optional[_Union[Instance, _Mapping]] = ..., previous_status: _Optional[_Union[InstanceStatus, str]] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., caused_by: _Optional[str] = ...) -> None: ...

class WatchInstancesRequest(_message.Message):
    __slots__ = ("start_revision", "pool_id", "instance_id", "reservation_id")
    START_REVISION_FIELD_NUMBER: _ClassVar[int]
    POOL_ID_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    start_revision: int
    pool_id: str
    instance_id: str
    reservation_id: str
    def __init__(self, start_revision: _Optional[int] = ..., pool_id: _Optional[str] = ..., instance_id: _Optional[str] = ..., reservation_id: _Optional[str] = ...) -> None: ...

class WatchInstancesResponse(_message.Message):
    __slots__ = ("events", "revision")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[InstanceEvent]
    revision: int
    def __init__(self, events: _Optional[_Iterable[_Union[InstanceEvent, _Mapping]]] = ..., revision: _Optional[int] = ...) -> None: ...

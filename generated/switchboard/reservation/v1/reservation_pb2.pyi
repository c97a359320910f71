import datetime

from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from switchboard.options.v1 import bounds_pb2 as _bounds_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CapacityChangeType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CAPACITY_CHANGE_TYPE_UNSPECIFIED: _ClassVar[CapacityChangeType]
    CAPACITY_CHANGE_TYPE_INCREASE: _ClassVar[CapacityChangeType]
    CAPACITY_CHANGE_TYPE_DECREASE: _ClassVar[CapacityChangeType]

class Priority(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRIORITY_UNSPECIFIED: _ClassVar[Priority]
    PRIORITY_HIGH: _ClassVar[Priority]
    PRIORITY_NORMAL: _ClassVar[Priority]
    PRIORITY_LOW: _ClassVar[Priority]

class ReservationStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESERVATION_STATUS_UNSPECIFIED: _ClassVar[ReservationStatus]
    RESERVATION_STATUS_PENDING: _ClassVar[ReservationStatus]
    RESERVATION_STATUS_ACTIVE: _ClassVar[ReservationStatus]
    RESERVATION_STATUS_EXPIRED: _ClassVar[ReservationStatus]
    RESERVATION_STATUS_CANCELLED: _ClassVar[ReservationStatus]
    RESERVATION_STATUS_IMPAIRED: _ClassVar[ReservationStatus]

class CapacityEventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CAPACITY_EVENT_TYPE_UNSPECIFIED: _ClassVar[CapacityEventType]
    CAPACITY_EVENT_TYPE_POOL_CREATED: _ClassVar[CapacityEventType]
    CAPACITY_EVENT_TYPE_CAPACITY_INCREASED: _ClassVar[CapacityEventType]
    CAPACITY_EVENT_TYPE_CAPACITY_DECREASED: _ClassVar[CapacityEventType]
    CAPACITY_EVENT_TYPE_OVER_ALLOCATED: _ClassVar[CapacityEventType]
    CAPACITY_EVENT_TYPE_POOL_UPDATED: _ClassVar[CapacityEventType]
    CAPACITY_EVENT_TYPE_POOL_DELETED: _ClassVar[CapacityEventType]

class ReservationEventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESERVATION_EVENT_TYPE_UNSPECIFIED: _ClassVar[ReservationEventType]
    RESERVATION_EVENT_TYPE_CREATED: _ClassVar[ReservationEventType]
    RESERVATION_EVENT_TYPE_UPDATED: _ClassVar[ReservationEventType]
    RESERVATION_EVENT_TYPE_STATUS_CHANGED: _ClassVar[ReservationEventType]
CAPACITY_CHANGE_TYPE_UNSPECIFIED: CapacityChangeType
CAPACITY_CHANGE_TYPE_INCREASE: CapacityChangeType
CAPACITY_CHANGE_TYPE_DECREASE: CapacityChangeType
PRIORITY_UNSPECIFIED: Priority
PRIORITY_HIGH: Priority
PRIORITY_NORMAL: Priority
PRIORITY_LOW: Priority
RESERVATION_STATUS_UNSPECIFIED: ReservationStatus
RESERVATION_STATUS_PENDING: ReservationStatus
RESERVATION_STATUS_ACTIVE: ReservationStatus
RESERVATION_STATUS_EXPIRED: ReservationStatus
RESERVATION_STATUS_CANCELLED: ReservationStatus
RESERVATION_STATUS_IMPAIRED: ReservationStatus
CAPACITY_EVENT_TYPE_UNSPECIFIED: CapacityEventType
CAPACITY_EVENT_TYPE_POOL_CREATED: CapacityEventType
CAPACITY_EVENT_TYPE_CAPACITY_INCREASED: CapacityEventType
CAPACITY_EVENT_TYPE_CAPACITY_DECREASED: CapacityEventType
CAPACITY_EVENT_TYPE_OVER_ALLOCATED: CapacityEventType
CAPACITY_EVENT_TYPE_POOL_UPDATED: CapacityEventType
CAPACITY_EVENT_TYPE_POOL_DELETED: CapacityEventType
RESERVATION_EVENT_TYPE_UNSPECIFIED: ReservationEventType
RESERVATION_EVENT_TYPE_CREATED: ReservationEventType
RESERVATION_EVENT_TYPE_UPDATED: ReservationEventType
RESERVATION_EVENT_TYPE_STATUS_CHANGED: ReservationEventType

class Resources(_message.Message):
    __slots__ = ("cores", "ram_mb", "instances", "gigabytes", "volumes", "snapshots", "networks", "ports", "routers", "subnets", "addresses")
    CORES_FIELD_NUMBER: _ClassVar[int]
    RAM_MB_FIELD_NUMBER: _ClassVar[int]
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    GIGABYTES_FIELD_NUMBER: _ClassVar[int]
    VOLUMES_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOTS_FIELD_NUMBER: _ClassVar[int]
    NETWORKS_FIELD_NUMBER: _ClassVar[int]
    PORTS_FIELD_NUMBER: _ClassVar[int]
    ROUTERS_FIELD_NUMBER: _ClassVar[int]
    SUBNETS_FIELD_NUMBER: _ClassVar[int]
    ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    cores: int
    ram_mb: int
    instances: int
    gigabytes: int
    volumes: int
    snapshots: int
    networks: int
    ports: int
    routers: int
    subnets: int
    addresses: int
    def __init__(self, cores: _Optional[int] = ..., ram_mb: _Optional[int] = ..., instances: _Optional[int] = ..., gigabytes: _Optional[int] = ..., volumes: _Optional[int] = ..., snapshots: _Optional[int] = ..., networks: _Optional[int] = ..., ports: _Optional[int] = ..., routers: _Optional[int] = ..., subnets: _Optional[int] = ..., addresses: _Optional[int] = ...) -> None: ...

class Pool(_message.Message):
    __slots__ = ("id", "provider", "availability_zone", "create_time", "project")
    ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    AVAILABILITY_ZONE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    id: str
    provider: str
    availability_zone: str
    create_time: _timestamp_pb2.Timestamp
    project: str
    def __init__(self, id: _Optional[str] = ..., provider: _Optional[str] = ..., availability_zone: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., project: _Optional[str] = ...) -> None: ...

class CapacityChange(_message.Message):
    __slots__ = ("id", "pool_id", "type", "resources", "start_time", "end_time", "reason", "create_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    POOL_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    pool_id: str
    type: CapacityChangeType
    resources: Resources
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    reason: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., pool_id: _Optional[str] = ..., type: _Optional[_Union[CapacityChangeType, str]] = ..., resources: _Optional[_Union[Resources, _Mapping]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Reservation(_message.Message):
    __slots__ = ("id", "name", "pool_id", "start_time", "end_time", "resources", "priority", "status", "create_time", "update_time", "revision", "impairment", "project")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    POOL_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    IMPAIRMENT_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    pool_id: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    resources: Resources
    priority: Priority
    status: ReservationStatus
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    revision: int
    impairment: Impairment
    project: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., pool_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., resources: _Optional[_Union[Resources, _Mapping]] = ..., priority: _Optional[_Union[Priority, str]] = ..., status: _Optional[_Union[ReservationStatus, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revision: _Optional[int] = ..., impairment: _Optional[_Union[Impairment, _Mapping]] = ..., project: _Optional[str] = ...) -> None: ...

class Impairment(_message.Message):
    __slots__ = ("capacity_change_id", "missing")
    CAPACITY_CHANGE_ID_FIELD_NUMBER: _ClassVar[int]
    MISSING_FIELD_NUMBER: _ClassVar[int]
    capacity_change_id: str
    missing: Resources
    def __init__(self, capacity_change_id: _Optional[str] = ..., missing: _Optional[_Union[Resources, _Mapping]] = ...) -> None: ...

class CreatePoolRequest(_message.Message):
    __slots__ = ("pool", "request_id", "project")
    POOL_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    pool: Pool
    request_id: str
    project: str
    def __init__(self, pool: _Optional[_Union[Pool, _Mapping]] = ..., request_id: _Optional[str] = ..., project: _Optional[str] = ...) -> None: ...

class CreatePoolResponse(_message.Message):
    __slots__ = ("pool",)
    POOL_FIELD_NUMBER: _ClassVar[int]
    pool: Pool
    def __init__(self, pool: _Optional[_Union[Pool, _Mapping]] = ...) -> None: ...

class GetPoolRequest(_message.Message):
    __slots__ = ("pool_id",)
    POOL_ID_FIELD_NUMBER: _ClassVar[int]
    pool_id: str
    def __init__(self, pool_id: _Optional[str] = ...) -> None: ...

class GetPoolResponse(_message.Message):
    __slots__ = ("pool",)
    POOL_FIELD_NUMBER: _ClassVar[int]
    pool: Pool
    def __init__(self, pool: _Optional[_Union[Pool, _Mapping]] = ...) -> None: ...

class ListPoolsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListPoolsResponse(_message.Message):
    __slots__ = ("pools", "next_page_token")
    POOLS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    pools: _containers.RepeatedCompositeFieldContainer[Pool]
    next_page_token: str
    def __init__(self, pools: _Optional[_Iterable[_Union[Pool, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdatePoolRequest(_message.Message):
    __slots__ = ("pool", "update_mask")
    POOL_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    pool: Pool
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, pool: _Optional[_Union[Pool, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdatePoolResponse(_message.Message):
    __slots__ = ("pool",)
    POOL_FIELD_NUMBER: _ClassVar[int]
    pool: Pool
    def __init__(self, pool: _Optional[_Union[Pool, _Mapping]] = ...) -> None: ...

class DeletePoolRequest(_message.Message):
    __slots__ = ("pool_id",)
    POOL_ID_FIELD_NUMBER: _ClassVar[int]
    pool_id: str
    def __init__(self, pool_id: _Optional[str] = ...) -> None: ...

class DeletePoolResponse(_message.Message):
    __slots__ = ("pool",)
    POOL_FIELD_NUMBER: _ClassVar[int]
    pool: Pool
    def __init__(self, pool: _Optional[_Union[Pool, _Mapping]] = ...) -> None: ...

class IncreaseCapacityRequest(_message.Message):
    __slots__ = ("pool_id", "resources", "start_time", "end_time", "reason", "request_id")
    POOL_ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    pool_id: str
    resources: Resources
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    reason: str
    request_id: str
    def __init__(self, pool_id: _Optional[str] = ..., resources: _Optional[_Union[Resources, _Mapping]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class IncreaseCapacityResponse(_message.Message):
    __slots__ = ("change", "restored_reservations")
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    RESTORED_RESERVATIONS_FIELD_NUMBER: _ClassVar[int]
    change: CapacityChange
    restored_reservations: _containers.RepeatedCompositeFieldContainer[Reservation]
    def __init__(self, change: _Optional[_Union[CapacityChange, _Mapping]] = ..., restored_reservations: _Optional[_Iterable[_Union[Reservation, _Mapping]]] = ...) -> None: ...

class DecreaseCapacityRequest(_message.Message):
    __slots__ = ("pool_id", "resources", "start_time", "end_time", "reason", "request_id")
    POOL_ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    pool_id: str
    resources: Resources
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    reason: str
    request_id: str
    def __init__(self, pool_id: _Optional[str] = ..., resources: _Optional[_Union[Resources, _Mapping]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class DecreaseCapacityResponse(_message.Message):
    __slots__ = ("change", "impaired_reservations", "over_allocated")
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    IMPAIRED_RESERVATIONS_FIELD_NUMBER: _ClassVar[int]
    OVER_ALLOCATED_FIELD_NUMBER: _ClassVar[int]
    change: CapacityChange
    impaired_reservations: _containers.RepeatedCompositeFieldContainer[Reservation]
    over_allocated: Resources
    def __init__(self, change: _Optional[_Union[CapacityChange, _Mapping]] = ..., impaired_reservations: _Optional[_Iterable[_Union[Reservation, _Mapping]]] = ..., over_allocated: _Optional[_Union[Resources, _Mapping]] = ...) -> None: ...

class QueryCapacityRequest(_message.Message):
    __slots__ = ("pool_ids", "start_time", "end_time")
    POOL_IDS_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    pool_ids: _containers.RepeatedScalarFieldContainer[str]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, pool_ids: _Optional[_Iterable[str]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CapacityFigures(_message.Message):
    __slots__ = ("total", "reserved", "allocated", "available", "over_allocated")
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    RESERVED_FIELD_NUMBER: _ClassVar[int]
    ALLOCATED_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    OVER_ALLOCATED_FIELD_NUMBER: _ClassVar[int]
    total: Resources
    reserved: Resources
    allocated: Resources
    available: Resources
    over_allocated: Resources
    def __init__(self, total: _Optional[_Union[Resources, _Mapping]] = ..., reserved: _Optional[_Union[Resources, _Mapping]] = ..., allocated: _Optional[_Union[Resources, _Mapping]] = ..., available: _Optional[_Union[Resources, _Mapping]] = ..., over_allocated: _Optional[_Union[Resources, _Mapping]] = ...) -> None: ...

class CapacityStep(_message.Message):
    __slots__ = ("time", "figures")
    TIME_FIELD_NUMBER: _ClassVar[int]
    FIGURES_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    figures: CapacityFigures
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., figures: _Optional[_Union[CapacityFigures, _Mapping]] = ...) -> None: ...

class PoolCapacity(_message.Message):
    __slots__ = ("pool_id", "minimum", "maximum", "timeline")
    POOL_ID_FIELD_NUMBER: _ClassVar[int]
    MINIMUM_FIELD_NUMBER: _ClassVar[int]
    MAXIMUM_FIELD_NUMBER: _ClassVar[int]
    TIMELINE_FIELD_NUMBER: _ClassVar[int]
    pool_id: str
    minimum: CapacityFigures
    maximum: CapacityFigures
    timeline: _containers.RepeatedCompositeFieldContainer[CapacityStep]
    def __init__(self, pool_id: _Optional[str] = ..., minimum: _Optional[_Union[CapacityFigures, _Mapping]] = ..., maximum: _Optional[_Union[CapacityFigures, _Mapping]] = ..., timeline: _Optional[_Iterable[_Union[CapacityStep, _Mapping]]] = ...) -> None: ...

class QueryCapacityResponse(_message.Message):
    __slots__ = ("pools",)
    POOLS_FIELD_NUMBER: _ClassVar[int]
    pools: _containers.RepeatedCompositeFieldContainer[PoolCapacity]
    def __init__(self, pools: _Optional[_Iterable[_Union[PoolCapacity, _Mapping]]] = ...) -> None: ...

class CreateReservationRequest(_message.Message):
    __slots__ = ("reservation", "request_id", "project")
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    reservation: Reservation
    request_id: str
    project: str
    def __init__(self, reservation: _Optional[_Union[Reservation, _Mapping]] = ..., request_id: _Optional[str] = ..., project: _Optional[str] = ...) -> None: ...

class CreateReservationResponse(_message.Message):
    __slots__ = ("reservation",)
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    reservation: Reservation
    def __init__(self, reservation: _Optional[_Union[Reservation, _Mapping]] = ...) -> None: ...

class ReservationShortfall(_message.Message):
    __slots__ = ("pool_id", "max_reservable", "earliest_window_found", "earliest_start_time", "earliest_end_time", "search_horizon", "binding_time", "binding_reservation_ids")
    POOL_ID_FIELD_NUMBER: _ClassVar[int]
    MAX_RESERVABLE_FIELD_NUMBER: _ClassVar[int]
    EARLIEST_WINDOW_FOUND_FIELD_NUMBER: _ClassVar[int]
    EARLIEST_START_TIME_FIELD_NUMBER: _ClassVar[int]
    EARLIEST_END_TIME_FIELD_NUMBER: _ClassVar[int]
    SEARCH_HORIZON_FIELD_NUMBER: _ClassVar[int]
    BINDING_TIME_FIELD_NUMBER: _ClassVar[int]
    BINDING_RESERVATION_IDS_FIELD_NUMBER: _ClassVar[int]
    pool_id: str
    max_reservable: Resources
    earliest_window_found: bool
    earliest_start_time: _timestamp_pb2.Timestamp
    earliest_end_time: _timestamp_pb2.Timestamp
    search_horizon: _timestamp_pb2.Timestamp
    binding_time: _timestamp_pb2.Timestamp
    binding_reservation_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, pool_id: _Optional[str] = ..., max_reservable: _Optional[_Union[Resources, _Mapping]] = ..., earliest_window_found: _Optional[bool] = ..., earliest_start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., earliest_end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., search_horizon: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., binding_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., binding_reservation_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class UpdateReservationRequest(_message.Message):
    __slots__ = ("reservation", "update_mask")
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    reservation: Reservation
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, reservation: _Optional[_Union[Reservation, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateReservationResponse(_message.Message):
    __slots__ = ("reservation",)
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    reservation: Reservation
    def __init__(self, reservation: _Optional[_Union[Reservation, _Mapping]] = ...) -> None: ...

class CancelReservationRequest(_message.Message):
    __slots__ = ("reservation_id",)
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    def __init__(self, reservation_id: _Optional[str] = ...) -> None: ...

class CancelReservationResponse(_message.Message):
    __slots__ = ("reservation",)
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    reservation: Reservation
    def __init__(self, reservation: _Optional[_Union[Reservation, _Mapping]] = ...) -> None: ...

class GetReservationRequest(_message.Message):
    __slots__ = ("reservation_id",)
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    def __init__(self, reservation_id: _Optional[str] = ...) -> None: ...

class GetReservationResponse(_message.Message):
    __slots__ = ("reservation",)
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    reservation: Reservation
    def __init__(self, reservation: _Optional[_Union[Reservation, _Mapping]] = ...) -> None: ...

class ListReservationsRequest(_message.Message):
    __slots__ = ("pool_id", "statuses", "window_start", "window_end", "include_utilization", "page_size", "page_token")
    POOL_ID_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    WINDOW_START_FIELD_NUMBER: _ClassVar[int]
    WINDOW_END_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_UTILIZATION_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    pool_id: str
    statuses: _containers.RepeatedScalarFieldContainer[ReservationStatus]
    window_start: _timestamp_pb2.Timestamp
    window_end: _timestamp_pb2.Timestamp
    include_utilization: bool
    page_size: int
    page_token: str
    def __init__(self, pool_id: _Optional[str] = ..., statuses: _Optional[_Iterable[_Union[ReservationStatus, str]]] = ..., window_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., window_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., include_utilization: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListReservationsResponse(_message.Message):
    __slots__ = ("reservations", "next_page_token", "utilization")
    RESERVATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    UTILIZATION_FIELD_NUMBER: _ClassVar[int]
    reservations: _containers.RepeatedCompositeFieldContainer[Reservation]
    next_page_token: str
    utilization: _containers.RepeatedCompositeFieldContainer[PoolCapacity]
    def __init__(self, reservations: _Optional[_Iterable[_Union[Reservation, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., utilization: _Optional[_Iterable[_Union[PoolCapacity, _Mapping]]] = ...) -> None: ...

class CapacityEvent(_message.Message):
    __slots__ = ("revision", "type", "pool", "change", "time", "over_allocated", "caused_by")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    POOL_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    OVER_ALLOCATED_FIELD_NUMBER: _ClassVar[int]
    CAUSED_BY_FIELD_NUMBER: _ClassVar[int]
    revision: int
    type: CapacityEventType
    pool: Pool
    change: CapacityChange
    time: _timestamp_pb2.Timestamp
    over_allocated: Resources
    caused_by: str
    def __init__(self, revision: _Optional[int] = ..., type: _Optional[_Union[CapacityEventType, str]] = ..., pool: _Optional[_Union[Pool, _Mapping]] = ..., change: _Optional[_Union[CapacityChange, _Mapping]] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., over_allocated: _Optional[_Union[Resources, _Mapping]] = ..., caused_by: _Optional[str] = ...) -> None: ...

class WatchCapacityRequest(_message.Message):
    __slots__ = ("start_revision", "pool_id")
    START_REVISION_FIELD_NUMBER: _ClassVar[int]
    POOL_ID_FIELD_NUMBER: _ClassVar[int]
    start_revision: int
    pool_id: str
    def __init__(self, start_revision: _Optional[int] = ..., pool_id: _Optional[str] = ...) -> None: ...

class WatchCapacityResponse(_message.Message):
    __slots__ = ("events", "revision")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[CapacityEvent]
    revision: int
    def __init__(self, events: _Optional[_Iterable[_Union[CapacityEvent, _Mapping]]] = ..., revision: _Optional[int] = ...) -> None: ...

class ReservationEvent(_message.Message):
    __slots__ = ("revision", "type", "reservation", "previous_status", "time", "caused_by")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_STATUS_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    CAUSED_BY_FIELD_NUMBER: _ClassVar[int]
    revision: int
    type: ReservationEventType
    reservation: Reservation
    previous_status: ReservationStatus
    time: _timestamp_pb2.Timestamp
    caused_by: str
    def __init__(self, revision: _Optional[int] = ..., type: _Optional[_Union[ReservationEventType, str]] = ..., reservation: _Optional[_Union[Reservation, _Mapping]] = ..., previous_status: _Optional[_Union[ReservationStatus, str]] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., caused_by: _Optional[str] = ...) -> None: ...

class WatchReservationsRequest(_message.Message):
    __slots__ = ("start_revision", "pool_id", "reservation_id")
    START_REVISION_FIELD_NUMBER: _ClassVar[int]
    POOL_ID_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    start_revision: int
    pool_id: str
    reservation_id: str
    def __init__(self, start_revision: _Optional[int] = ..., pool_id: _Optional[str] = ..., reservation_id: _Optional[str] = ...) -> None: ...

class WatchReservationsResponse(_message.Message):
    __slots__ = ("events", "revision")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[ReservationEvent]
    revision: int
    def __init__(self, events: _Optional[_Iterable[_Union[ReservationEvent, _Mapping]]] = ..., revision: _Optional[int] = ...) -> None: ...

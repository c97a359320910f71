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

class ScheduleState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCHEDULE_STATE_UNSPECIFIED: _ClassVar[ScheduleState]
    SCHEDULE_STATE_PENDING_SCHEDULE: _ClassVar[ScheduleState]
    SCHEDULE_STATE_OPTIMIZATION_IN_PROGRESS: _ClassVar[ScheduleState]
    SCHEDULE_STATE_PENDING_APPROVAL: _ClassVar[ScheduleState]
    SCHEDULE_STATE_OPTIMIZATION_FAILED: _ClassVar[ScheduleState]
    SCHEDULE_STATE_ACCEPTED: _ClassVar[ScheduleState]
    SCHEDULE_STATE_REJECTED: _ClassVar[ScheduleState]
    SCHEDULE_STATE_SCHEDULED: _ClassVar[ScheduleState]
    SCHEDULE_STATE_NOTIFICATIONS_INITIATED: _ClassVar[ScheduleState]
    SCHEDULE_STATE_COMPLETED: _ClassVar[ScheduleState]
    SCHEDULE_STATE_COMPLETED_WITH_ERRORS: _ClassVar[ScheduleState]
    SCHEDULE_STATE_CANCELLED: _ClassVar[ScheduleState]
    SCHEDULE_STATE_DELETED: _ClassVar[ScheduleState]
    SCHEDULE_STATE_FAILED: _ClassVar[ScheduleState]
    SCHEDULE_STATE_EXPIRED: _ClassVar[ScheduleState]

class VnfState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VNF_STATE_UNSPECIFIED: _ClassVar[VnfState]
    VNF_STATE_PENDING_SCHEDULE: _ClassVar[VnfState]
    VNF_STATE_PENDING_APPROVAL: _ClassVar[VnfState]
    VNF_STATE_NOT_SCHEDULED: _ClassVar[VnfState]
    VNF_STATE_SCHEDULED: _ClassVar[VnfState]
    VNF_STATE_TRIGGERED: _ClassVar[VnfState]
    VNF_STATE_COMPLETED: _ClassVar[VnfState]
    VNF_STATE_FAILED: _ClassVar[VnfState]
    VNF_STATE_ERROR: _ClassVar[VnfState]
    VNF_STATE_PAST_DUE: _ClassVar[VnfState]
    VNF_STATE_CANCELLED: _ClassVar[VnfState]
    VNF_STATE_DELETED: _ClassVar[VnfState]
    VNF_STATE_APPROVAL_REJECTED: _ClassVar[VnfState]

class NotScheduledReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NOT_SCHEDULED_REASON_UNSPECIFIED: _ClassVar[NotScheduledReason]
    NOT_SCHEDULED_REASON_CONCURRENCY: _ClassVar[NotScheduledReason]
    NOT_SCHEDULED_REASON_AVAILABILITY: _ClassVar[NotScheduledReason]
    NOT_SCHEDULED_REASON_CONFLICT: _ClassVar[NotScheduledReason]

class Weekday(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WEEKDAY_UNSPECIFIED: _ClassVar[Weekday]
    WEEKDAY_MONDAY: _ClassVar[Weekday]
    WEEKDAY_TUESDAY: _ClassVar[Weekday]
    WEEKDAY_WEDNESDAY: _ClassVar[Weekday]
    WEEKDAY_THURSDAY: _ClassVar[Weekday]
    WEEKDAY_FRIDAY: _ClassVar[Weekday]
    WEEKDAY_SATURDAY: _ClassVar[Weekday]
    WEEKDAY_SUNDAY: _ClassVar[Weekday]

class ApprovalDecision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    APPROVAL_DECISION_UNSPECIFIED: _ClassVar[ApprovalDecision]
    APPROVAL_DECISION_ACCEPTED: _ClassVar[ApprovalDecision]
    APPROVAL_DECISION_REJECTED: _ClassVar[ApprovalDecision]

class GapObjective(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GAP_OBJECTIVE_UNSPECIFIED: _ClassVar[GapObjective]
    GAP_OBJECTIVE_COUNT: _ClassVar[GapObjective]
    GAP_OBJECTIVE_FINISH: _ClassVar[GapObjective]

class TicketState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TICKET_STATE_UNSPECIFIED: _ClassVar[TicketState]
    TICKET_STATE_OPEN: _ClassVar[TicketState]
    TICKET_STATE_IN_PROGRESS: _ClassVar[TicketState]
    TICKET_STATE_CLOSED_SUCCESSFUL: _ClassVar[TicketState]
    TICKET_STATE_CLOSED_UNSUCCESSFUL: _ClassVar[TicketState]
    TICKET_STATE_CANCELLED: _ClassVar[TicketState]

class BlackoutHitOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BLACKOUT_HIT_OUTCOME_UNSPECIFIED: _ClassVar[BlackoutHitOutcome]
    BLACKOUT_HIT_OUTCOME_PLACED_AGAIN: _ClassVar[BlackoutHitOutcome]
    BLACKOUT_HIT_OUTCOME_NOT_SCHEDULED: _ClassVar[BlackoutHitOutcome]
    BLACKOUT_HIT_OUTCOME_STARTED: _ClassVar[BlackoutHitOutcome]

class ScheduleEventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCHEDULE_EVENT_TYPE_UNSPECIFIED: _ClassVar[ScheduleEventType]
    SCHEDULE_EVENT_TYPE_CREATED: _ClassVar[ScheduleEventType]
    SCHEDULE_EVENT_TYPE_STATE_CHANGED: _ClassVar[ScheduleEventType]
    SCHEDULE_EVENT_TYPE_BLACKOUT_CREATED: _ClassVar[ScheduleEventType]
    SCHEDULE_EVENT_TYPE_BLACKOUT_DELETED: _ClassVar[ScheduleEventType]
    SCHEDULE_EVENT_TYPE_BLACKOUT_HIT: _ClassVar[ScheduleEventType]
SCHEDULE_STATE_UNSPECIFIED: ScheduleState
SCHEDULE_STATE_PENDING_SCHEDULE: ScheduleState
SCHEDULE_STATE_OPTIMIZATION_IN_PROGRESS: ScheduleState
SCHEDULE_STATE_PENDING_APPROVAL: ScheduleState
SCHEDULE_STATE_OPTIMIZATION_FAILED: ScheduleState
SCHEDULE_STATE_ACCEPTED: ScheduleState
SCHEDULE_STATE_REJECTED: ScheduleState
SCHEDULE_STATE_SCHEDULED: ScheduleState
SCHEDULE_STATE_NOTIFICATIONS_INITIATED: ScheduleState
SCHEDULE_STATE_COMPLETED: ScheduleState
SCHEDULE_STATE_COMPLETED_WITH_ERRORS: ScheduleState
SCHEDULE_STATE_CANCELLED: ScheduleState
SCHEDULE_STATE_DELETED: ScheduleState
SCHEDULE_STATE_FAILED: ScheduleState
SCHEDULE_STATE_EXPIRED: ScheduleState
VNF_STATE_UNSPECIFIED: VnfState
VNF_STATE_PENDING_SCHEDULE: VnfState
VNF_STATE_PENDING_APPROVAL: VnfState
VNF_STATE_NOT_SCHEDULED: VnfState
VNF_STATE_SCHEDULED: VnfState
VNF_STATE_TRIGGERED: VnfState
VNF_STATE_COMPLETED: VnfState
VNF_STATE_FAILED: VnfState
VNF_STATE_ERROR: VnfState
VNF_STATE_PAST_DUE: VnfState
VNF_STATE_CANCELLED: VnfState
VNF_STATE_DELETED: VnfState
VNF_STATE_APPROVAL_REJECTED: VnfState
NOT_SCHEDULED_REASON_UNSPECIFIED: NotScheduledReason
NOT_SCHEDULED_REASON_CONCURRENCY: NotScheduledReason
NOT_SCHEDULED_REASON_AVAILABILITY: NotScheduledReason
NOT_SCHEDULED_REASON_CONFLICT: NotScheduledReason
WEEKDAY_UNSPECIFIED: Weekday
WEEKDAY_MONDAY: Weekday
WEEKDAY_TUESDAY: Weekday
WEEKDAY_WEDNESDAY: Weekday
WEEKDAY_THURSDAY: Weekday
WEEKDAY_FRIDAY: Weekday
WEEKDAY_SATURDAY: Weekday
WEEKDAY_SUNDAY: Weekday
APPROVAL_DECISION_UNSPECIFIED: ApprovalDecision
APPROVAL_DECISION_ACCEPTED: ApprovalDecision
APPROVAL_DECISION_REJECTED: ApprovalDecision
GAP_OBJECTIVE_UNSPECIFIED: GapObjective
GAP_OBJECTIVE_COUNT: GapObjective
GAP_OBJECTIVE_FINISH: GapObjective
TICKET_STATE_UNSPECIFIED: TicketState
TICKET_STATE_OPEN: TicketState
TICKET_STATE_IN_PROGRESS: TicketState
TICKET_STATE_CLOSED_SUCCESSFUL: TicketState
TICKET_STATE_CLOSED_UNSUCCESSFUL: TicketState
TICKET_STATE_CANCELLED: TicketState
BLACKOUT_HIT_OUTCOME_UNSPECIFIED: BlackoutHitOutcome
BLACKOUT_HIT_OUTCOME_PLACED_AGAIN: BlackoutHitOutcome
BLACKOUT_HIT_OUTCOME_NOT_SCHEDULED: BlackoutHitOutcome
BLACKOUT_HIT_OUTCOME_STARTED: BlackoutHitOutcome
SCHEDULE_EVENT_TYPE_UNSPECIFIED: ScheduleEventType
SCHEDULE_EVENT_TYPE_CREATED: ScheduleEventType
SCHEDULE_EVENT_TYPE_STATE_CHANGED: ScheduleEventType
SCHEDULE_EVENT_TYPE_BLACKOUT_CREATED: ScheduleEventType
SCHEDULE_EVENT_TYPE_BLACKOUT_DELETED: ScheduleEventType
SCHEDULE_EVENT_TYPE_BLACKOUT_HIT: ScheduleEventType

class LocalTime(_message.Message):
    __slots__ = ("hours", "minutes")
    HOURS_FIELD_NUMBER: _ClassVar[int]
    MINUTES_FIELD_NUMBER: _ClassVar[int]
    hours: int
    minutes: int
    def __init__(self, hours: _Optional[int] = ..., minutes: _Optional[int] = ...) -> None: ...

class AllowedTimePolicy(_message.Message):
    __slots__ = ("weekdays", "start_time", "end_time")
    WEEKDAYS_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    weekdays: _containers.RepeatedScalarFieldContainer[Weekday]
    start_time: LocalTime
    end_time: LocalTime
    def __init__(self, weekdays: _Optional[_Iterable[_Union[Weekday, str]]] = ..., start_time: _Optional[_Union[LocalTime, _Mapping]] = ..., end_time: _Optional[_Union[LocalTime, _Mapping]] = ...) -> None: ...

class TimeWindow(_message.Message):
    __slots__ = ("start_time", "end_time")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Vnf(_message.Message):
    __slots__ = ("name", "group", "network_elements", "time_zone", "so_request", "state", "not_scheduled_reason", "start_time", "end_time", "status_message", "so_request_id", "trigger_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    NETWORK_ELEMENTS_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    SO_REQUEST_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    NOT_SCHEDULED_REASON_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    STATUS_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SO_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    group: str
    network_elements: _containers.RepeatedScalarFieldContainer[str]
    time_zone: str
    so_request: _struct_pb2.Struct
    state: VnfState
    not_scheduled_reason: NotScheduledReason
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    status_message: str
    so_request_id: str
    trigger_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., group: _Optional[str] = ..., network_elements: _Optional[_Iterable[str]] = ..., time_zone: _Optional[str] = ..., so_request: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., state: _Optional[_Union[VnfState, str]] = ..., not_scheduled_reason: _Optional[_Union[NotScheduledReason, str]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status_message: _Optional[str] = ..., so_request_id: _Optional[str] = ..., trigger_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class OptimizationResult(_message.Message):
    __slots__ = ("scheduled_count", "count_bound", "finish_time", "finish_bound", "proven_optimal", "gap", "gap_on", "method", "optimize_time")
    SCHEDULED_COUNT_FIELD_NUMBER: _ClassVar[int]
    COUNT_BOUND_FIELD_NUMBER: _ClassVar[int]
    FINISH_TIME_FIELD_NUMBER: _ClassVar[int]
    FINISH_BOUND_FIELD_NUMBER: _ClassVar[int]
    PROVEN_OPTIMAL_FIELD_NUMBER: _ClassVar[int]
    GAP_FIELD_NUMBER: _ClassVar[int]
    GAP_ON_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    OPTIMIZE_TIME_FIELD_NUMBER: _ClassVar[int]
    scheduled_count: int
    count_bound: int
    finish_time: _timestamp_pb2.Timestamp
    finish_bound: _timestamp_pb2.Timestamp
    proven_optimal: bool
    gap: float
    gap_on: GapObjective
    method: str
    optimize_time: _timestamp_pb2.Timestamp
    def __init__(self, scheduled_count: _Optional[int] = ..., count_bound: _Optional[int] = ..., finish_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finish_bound: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., proven_optimal: _Optional[bool] = ..., gap: _Optional[float] = ..., gap_on: _Optional[_Union[GapObjective, str]] = ..., method: _Optional[str] = ..., optimize_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Approval(_message.Message):
    __slots__ = ("user", "decision", "comment", "approve_time")
    USER_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    APPROVE_TIME_FIELD_NUMBER: _ClassVar[int]
    user: str
    decision: ApprovalDecision
    comment: str
    approve_time: _timestamp_pb2.Timestamp
    def __init__(self, user: _Optional[str] = ..., decision: _Optional[_Union[ApprovalDecision, str]] = ..., comment: _Optional[str] = ..., approve_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Schedule(_message.Message):
    __slots__ = ("id", "name", "domain", "user", "workflow_name", "callback_data", "vnfs", "change_windows", "normal_duration", "additional_duration", "concurrency_limit", "allowed_time_policy", "state", "status_message", "optimization", "approval", "create_time", "update_time", "revision", "project")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DOMAIN_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_NAME_FIELD_NUMBER: _ClassVar[int]
    CALLBACK_DATA_FIELD_NUMBER: _ClassVar[int]
    VNFS_FIELD_NUMBER: _ClassVar[int]
    CHANGE_WINDOWS_FIELD_NUMBER: _ClassVar[int]
    NORMAL_DURATION_FIELD_NUMBER: _ClassVar[int]
    ADDITIONAL_DURATION_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_LIMIT_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_TIME_POLICY_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STATUS_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    OPTIMIZATION_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    domain: str
    user: str
    workflow_name: str
    callback_data: str
    vnfs: _containers.RepeatedCompositeFieldContainer[Vnf]
    change_windows: _containers.RepeatedCompositeFieldContainer[TimeWindow]
    normal_duration: _duration_pb2.Duration
    additional_duration: _duration_pb2.Duration
    concurrency_limit: int
    allowed_time_policy: AllowedTimePolicy
    state: ScheduleState
    status_message: str
    optimization: OptimizationResult
    approval: Approval
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    revision: int
    project: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., domain: _Optional[str] = ..., user: _Optional[str] = ..., workflow_name: _Optional[str] = ..., callback_data: _Optional[str] = ..., vnfs: _Optional[_Iterable[_Union[Vnf, _Mapping]]] = ..., change_windows: _Optional[_Iterable[_Union[TimeWindow, _Mapping]]] = ..., normal_duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., additional_duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., concurrency_limit: _Optional[int] = ..., allowed_time_policy: _Optional[_Union[AllowedTimePolicy, _Mapping]] = ..., state: _Optional[_Union[ScheduleState, str]] = ..., status_message: _Optional[str] = ..., optimization: _Optional[_Union[OptimizationResult, _Mapping]] = ..., approval: _Optional[_Union[Approval, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revision: _Optional[int] = ..., project: _Optional[str] = ...) -> None: ...

class Blackout(_message.Message):
    __slots__ = ("id", "network_elements", "start_time", "end_time", "reason", "create_time", "revision", "project")
    ID_FIELD_NUMBER: _ClassVar[int]
    NETWORK_ELEMENTS_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    id: str
    network_elements: _containers.RepeatedScalarFieldContainer[str]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    reason: str
    create_time: _timestamp_pb2.Timestamp
    revision: int
    project: str
    def __init__(self, id: _Optional[str] = ..., network_elements: _Optional[_Iterable[str]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revision: _Optional[int] = ..., project: _Optional[str] = ...) -> None: ...

class TicketUpdate(_message.Message):
    __slots__ = ("state", "note", "update_time")
    STATE_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    state: TicketState
    note: str
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, state: _Optional[_Union[TicketState, str]] = ..., note: _Optional[str] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Ticket(_message.Message):
    __slots__ = ("id", "schedule_id", "state", "summary", "updates", "create_time", "update_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    UPDATES_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    schedule_id: str
    state: TicketState
    summary: str
    updates: _containers.RepeatedCompositeFieldContainer[TicketUpdate]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., schedule_id: _Optional[str] = ..., state: _Optional[_Union[TicketState, str]] = ..., summary: _Optional[str] = ..., updates: _Optional[_Iterable[_Union[TicketUpdate, _Mapping]]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListTicketsRequest(_message.Message):
    __slots__ = ("schedule_id", "states", "page_size", "page_token")
    SCHEDULE_ID_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    schedule_id: str
    states: _containers.RepeatedScalarFieldContainer[TicketState]
    page_size: int
    page_token: str
    def __init__(self, schedule_id: _Optional[str] = ..., states: _Optional[_Iterable[_Union[TicketState, str]]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListTicketsResponse(_message.Message):
    __slots__ = ("tickets", "next_page_token")
    TICKETS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tickets: _containers.RepeatedCompositeFieldContainer[Ticket]
    next_page_token: str
    def __init__(self, tickets: _Optional[_Iterable[_Union[Ticket, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CreateScheduleRequest(_message.Message):
    __slots__ = ("schedule", "project")
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    schedule: Schedule
    project: str
    def __init__(self, schedule: _Optional[_Union[Schedule, _Mapping]] = ..., project: _Optional[str] = ...) -> None: ...

class CreateScheduleResponse(_message.Message):
    __slots__ = ("schedule",)
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    schedule: Schedule
    def __init__(self, schedule: _Optional[_Union[Schedule, _Mapping]] = ...) -> None: ...

class GetScheduleRequest(_message.Message):
    __slots__ = ("schedule_id",)
    SCHEDULE_ID_FIELD_NUMBER: _ClassVar[int]
    schedule_id: str
    def __init__(self, schedule_id: _Optional[str] = ...) -> None: ...

class GetScheduleResponse(_message.Message):
    __slots__ = ("schedule",)
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    schedule: Schedule
    def __init__(self, schedule: _Optional[_Union[Schedule, _Mapping]] = ...) -> None: ...

class ListSchedulesRequest(_message.Message):
    __slots__ = ("states", "domain", "user", "workflow_name", "start_time", "end_time", "page_size", "page_token")
    STATES_FIELD_NUMBER: _ClassVar[int]
    DOMAIN_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_NAME_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    states: _containers.RepeatedScalarFieldContainer[ScheduleState]
    domain: str
    user: str
    workflow_name: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, states: _Optional[_Iterable[_Union[ScheduleState, str]]] = ..., domain: _Optional[str] = ..., user: _Optional[str] = ..., workflow_name: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSchedulesResponse(_message.Message):
    __slots__ = ("schedules", "next_page_token")
    SCHEDULES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    schedules: _containers.RepeatedCompositeFieldContainer[Schedule]
    next_page_token: str
    def __init__(self, schedules: _Optional[_Iterable[_Union[Schedule, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ApproveScheduleRequest(_message.Message):
    __slots__ = ("schedule_id", "user", "decision", "comment")
    SCHEDULE_ID_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    schedule_id: str
    user: str
    decision: ApprovalDecision
    comment: str
    def __init__(self, schedule_id: _Optional[str] = ..., user: _Optional[str] = ..., decision: _Optional[_Union[ApprovalDecision, str]] = ..., comment: _Optional[str] = ...) -> None: ...

class ApproveScheduleResponse(_message.Message):
    __slots__ = ("schedule",)
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    schedule: Schedule
    def __init__(self, schedule: _Optional[_Union[Schedule, _Mapping]] = ...) -> None: ...

class CancelScheduleRequest(_message.Message):
    __slots__ = ("schedule_id",)
    SCHEDULE_ID_FIELD_NUMBER: _ClassVar[int]
    schedule_id: str
    def __init__(self, schedule_id: _Optional[str] = ...) -> None: ...

class CancelScheduleResponse(_message.Message):
    __slots__ = ("schedule",)
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    schedule: Schedule
    def __init__(self, schedule: _Optional[_Union[Schedule, _Mapping]] = ...) -> None: ...

class DeleteScheduleRequest(_message.Message):
    __slots__ = ("schedule_id",)
    SCHEDULE_ID_FIELD_NUMBER: _ClassVar[int]
    schedule_id: str
    def __init__(self, schedule_id: _Optional[str] = ...) -> None: ...

class DeleteScheduleResponse(_message.Message):
    __slots__ = ("schedule",)
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    schedule: Schedule
    def __init__(self, schedule: _Optional[_Union[Schedule, _Mapping]] = ...) -> None: ...

class CreateBlackoutRequest(_message.Message):
    __slots__ = ("blackout", "project")
    BLACKOUT_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    blackout: Blackout
    project: str
    def __init__(self, blackout: _Optional[_Union[Blackout, _Mapping]] = ..., project: _Optional[str] = ...) -> None: ...

class CreateBlackoutResponse(_message.Message):
    __slots__ = ("blackout", "hits")
    BLACKOUT_FIELD_NUMBER: _ClassVar[int]
    HITS_FIELD_NUMBER: _ClassVar[int]
    blackout: Blackout
    hits: _containers.RepeatedCompositeFieldContainer[BlackoutHit]
    def __init__(self, blackout: _Optional[_Union[Blackout, _Mapping]] = ..., hits: _Optional[_Iterable[_Union[BlackoutHit, _Mapping]]] = ...) -> None: ...

class BlackoutHit(_message.Message):
    __slots__ = ("blackout_id", "schedule_id", "vnf_name", "network_elements", "placed", "outcome", "placed_again", "not_scheduled_reason")
    BLACKOUT_ID_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_ID_FIELD_NUMBER: _ClassVar[int]
    VNF_NAME_FIELD_NUMBER: _ClassVar[int]
    NETWORK_ELEMENTS_FIELD_NUMBER: _ClassVar[int]
    PLACED_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    PLACED_AGAIN_FIELD_NUMBER: _ClassVar[int]
    NOT_SCHEDULED_REASON_FIELD_NUMBER: _ClassVar[int]
    blackout_id: str
    schedule_id: str
    vnf_name: str
    network_elements: _containers.RepeatedScalarFieldContainer[str]
    placed: TimeWindow
    outcome: BlackoutHitOutcome
    placed_again: TimeWindow
    not_scheduled_reason: NotScheduledReason
    def __init__(self, blackout_id: _Optional[str] = ..., schedule_id: _Optional[str] = ..., vnf_name: _Optional[str] = ..., network_elements: _Optional[_Iterable[str]] = ..., placed: _Optional[_Union[TimeWindow, _Mapping]] = ..., outcome: _Optional[_Union[BlackoutHitOutcome, str]] = ..., placed_again: _Optional[_Union[TimeWindow, _Mapping]] = ..., not_scheduled_reason: _Optional[_Union[NotScheduledReason, str]] = ...) -> None: ...

class DeleteBlackoutRequest(_message.Message):
    __slots__ = ("blackout_id",)
    BLACKOUT_ID_FIELD_NUMBER: _ClassVar[int]
    blackout_id: str
    def __init__(self, blackout_id: _Optional[str] = ...) -> None: ...

class DeleteBlackoutResponse(_message.Message):
    __slots__ = ("blackout",)
    BLACKOUT_FIELD_NUMBER: _ClassVar[int]
    blackout: Blackout
    def __init__(self, blackout: _Optional[_Union[Blackout, _Mapping]] = ...) -> None: ...

class ListBlackoutsRequest(_message.Message):
    __slots__ = ("network_element", "start_time", "end_time", "page_size", "page_token")
    NETWORK_ELEMENT_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    network_element: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, network_element: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListBlackoutsResponse(_message.Message):
    __slots__ = ("blackouts", "next_page_token")
    BLACKOUTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    blackouts: _containers.RepeatedCompositeFieldContainer[Blackout]
    next_page_token: str
    def __init__(self, blackouts: _Optional[_Iterable[_Union[Blackout, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class VnfStateChange(_message.Message):
    __slots__ = ("vnf_name", "previous_state", "state")
    VNF_NAME_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_STATE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    vnf_name: str
    previous_state: VnfState
    state: VnfState
    def __init__(self, vnf_name: _Optional[str] = ..., previous_state: _Optional[_Union[VnfState, str]] = ..., state: _Optional[_Union[VnfState, str]] = ...) -> None: ...

class ScheduleEvent(_message.Message):
    __slots__ = ("revision", "type", "schedule", "previous_state", "vnf_changes", "blackout", "time", "ticket", "caused_by", "blackout_hits")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_STATE_FIELD_NUMBER: _ClassVar[int]
    VNF_CHANGES_FIELD_NUMBER: _ClassVar[int]
    BLACKOUT_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    TICKET_FIELD_NUMBER: _ClassVar[int]
    CAUSED_BY_FIELD_NUMBER: _ClassVar[int]
    BLACKOUT_HITS_FIELD_NUMBER: _ClassVar[int]
    revision: int
    type: ScheduleEventType
    schedule: Schedule
    previous_state: ScheduleState
    vnf_changes: _containers.RepeatedCompositeFieldContainer[VnfStateChange]
    blackout: Blackout
    time: _timestamp_pb2.Timestamp
    ticket: Ticket
    caused_by: str
    blackout_hits: _containers.RepeatedCompositeFieldContainer[BlackoutHit]
    def __init__(self, revision: _Optional[int] = ..., type: _Optional[_Union[ScheduleEventType, str]] = ..., schedule: _Optional[_Union[Schedule, _Mapping]] = ..., previous_state: _Optional[_Union[ScheduleState, str]] = ..., vnf_changes: _Optional[_Iterable[_Union[VnfStateChange, _Mapping]]] = ..., blackout: _Optional[_Union[Blackout, _Mapping]] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ticket: _Optional[_Union[Ticket, _Mapping]] = ..., caused_by: _Optional[str] = ..., blackout_hits: _Optional[_Iterable[_Union[BlackoutHit, _Mapping]]] = ...) -> None: ...

class WatchSchedulesRequest(_message.Message):
    __slots__ = ("start_revision", "schedule_id", "domain")
    START_REVISION_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_ID_FIELD_NUMBER: _ClassVar[int]
    DOMAIN_FIELD_NUMBER: _ClassVar[int]
    start_revision: int
    schedule_id: str
    domain: str
    def __init__(self, start_revision: _Optional[int] = ..., schedule_id: _Optional[str] = ..., domain: _Optional[str] = ...) -> None: ...

class WatchSchedulesResponse(_message.Message):
    __slots__ = ("events", "revision")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[ScheduleEvent]
    revision: int
    def __init__(self, events: _Optional[_Iterable[_Union[ScheduleEvent, _Mapping]]] = ..., revision: _Optional[int] = ...) -> None: ...

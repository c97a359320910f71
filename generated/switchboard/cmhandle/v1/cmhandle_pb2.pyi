import datetime

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

class CmHandleState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CM_HANDLE_STATE_UNSPECIFIED: _ClassVar[CmHandleState]
    CM_HANDLE_STATE_ADVISED: _ClassVar[CmHandleState]
    CM_HANDLE_STATE_READY: _ClassVar[CmHandleState]
    CM_HANDLE_STATE_LOCKED: _ClassVar[CmHandleState]
    CM_HANDLE_STATE_DELETING: _ClassVar[CmHandleState]
    CM_HANDLE_STATE_DELETED: _ClassVar[CmHandleState]

class LockReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LOCK_REASON_UNSPECIFIED: _ClassVar[LockReason]
    LOCK_REASON_MODULE_SYNC_FAILED: _ClassVar[LockReason]
    LOCK_REASON_MODULE_UPGRADE: _ClassVar[LockReason]
    LOCK_REASON_MODULE_UPGRADE_FAILED: _ClassVar[LockReason]

class TrustLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRUST_LEVEL_UNSPECIFIED: _ClassVar[TrustLevel]
    TRUST_LEVEL_NONE: _ClassVar[TrustLevel]
    TRUST_LEVEL_COMPLETE: _ClassVar[TrustLevel]

class DataSyncState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DATA_SYNC_STATE_UNSPECIFIED: _ClassVar[DataSyncState]
    DATA_SYNC_STATE_NONE_REQUESTED: _ClassVar[DataSyncState]
    DATA_SYNC_STATE_UNSYNCHRONIZED: _ClassVar[DataSyncState]
    DATA_SYNC_STATE_SYNCHRONIZED: _ClassVar[DataSyncState]

class RegistrationError(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REGISTRATION_ERROR_UNSPECIFIED: _ClassVar[RegistrationError]
    REGISTRATION_ERROR_CM_HANDLES_NOT_FOUND: _ClassVar[RegistrationError]
    REGISTRATION_ERROR_CM_HANDLES_NOT_READY: _ClassVar[RegistrationError]
    REGISTRATION_ERROR_CM_HANDLE_ALREADY_EXIST: _ClassVar[RegistrationError]
    REGISTRATION_ERROR_CM_HANDLE_INVALID_ID: _ClassVar[RegistrationError]
    REGISTRATION_ERROR_UNKNOWN_ERROR: _ClassVar[RegistrationError]
CM_HANDLE_STATE_UNSPECIFIED: CmHandleState
CM_HANDLE_STATE_ADVISED: CmHandleState
CM_HANDLE_STATE_READY: CmHandleState
CM_HANDLE_STATE_LOCKED: CmHandleState
CM_HANDLE_STATE_DELETING: CmHandleState
CM_HANDLE_STATE_DELETED: CmHandleState
LOCK_REASON_UNSPECIFIED: LockReason
LOCK_REASON_MODULE_SYNC_FAILED: LockReason
LOCK_REASON_MODULE_UPGRADE: LockReason
LOCK_REASON_MODULE_UPGRADE_FAILED: LockReason
TRUST_LEVEL_UNSPECIFIED: TrustLevel
TRUST_LEVEL_NONE: TrustLevel
TRUST_LEVEL_COMPLETE: TrustLevel
DATA_SYNC_STATE_UNSPECIFIED: DataSyncState
DATA_SYNC_STATE_NONE_REQUESTED: DataSyncState
DATA_SYNC_STATE_UNSYNCHRONIZED: DataSyncState
DATA_SYNC_STATE_SYNCHRONIZED: DataSyncState
REGISTRATION_ERROR_UNSPECIFIED: RegistrationError
REGISTRATION_ERROR_CM_HANDLES_NOT_FOUND: RegistrationError
REGISTRATION_ERROR_CM_HANDLES_NOT_READY: RegistrationError
REGISTRATION_ERROR_CM_HANDLE_ALREADY_EXIST: RegistrationError
REGISTRATION_ERROR_CM_HANDLE_INVALID_ID: RegistrationError
REGISTRATION_ERROR_UNKNOWN_ERROR: RegistrationError

class ModuleReference(_message.Message):
    __slots__ = ("name", "revision")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    name: str
    revision: str
    def __init__(self, name: _Optional[str] = ..., revision: _Optional[str] = ...) -> None: ...

class CmHandle(_message.Message):
    __slots__ = ("id", "dmi_plugin", "dmi_properties", "public_properties", "module_set_tag", "alternate_id", "state", "lock_reason", "modules", "trust_level", "effective_trust_level", "data_sync_enabled", "data_sync_state")
    class DmiPropertiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class PublicPropertiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    DMI_PLUGIN_FIELD_NUMBER: _ClassVar[int]
    DMI_PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    MODULE_SET_TAG_FIELD_NUMBER: _ClassVar[int]
    ALTERNATE_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    LOCK_REASON_FIELD_NUMBER: _ClassVar[int]
    MODULES_FIELD_NUMBER: _ClassVar[int]
    TRUST_LEVEL_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_TRUST_LEVEL_FIELD_NUMBER: _ClassVar[int]
    DATA_SYNC_ENABLED_FIELD_NUMBER: _ClassVar[int]
    DATA_SYNC_STATE_FIELD_NUMBER: _ClassVar[int]
    id: str
    dmi_plugin: str
    dmi_properties: _containers.ScalarMap[str, str]
    public_properties: _containers.ScalarMap[str, str]
    module_set_tag: str
    alternate_id: str
    state: CmHandleState
    lock_reason: LockReason
    modules: _containers.RepeatedCompositeFieldContainer[ModuleReference]
    trust_level: TrustLevel
    effective_trust_level: TrustLevel
    data_sync_enabled: bool
    data_sync_state: DataSyncState
    def __init__(self, id: _Optional[str] = ..., dmi_plugin: _Optional[str] = ..., dmi_properties: _Optional[_Mapping[str, str]] = ..., public_properties: _Optional[_Mapping[str, str]] = ..., module_set_tag: _Optional[str] = ..., alternate_id: _Optional[str] = ..., state: _Optional[_Union[CmHandleState, str]] = ..., lock_reason: _Optional[_Union[LockReason, str]] = ..., modules: _Optional[_Iterable[_Union[ModuleReference, _Mapping]]] = ..., trust_level: _Optional[_Union[TrustLevel, str]] = ..., effective_trust_level: _Optional[_Union[TrustLevel, str]] = ..., data_sync_enabled: _Optional[bool] = ..., data_sync_state: _Optional[_Union[DataSyncState, str]] = ...) -> None: ...

class NewCmHandle(_message.Message):
    __slots__ = ("id", "dmi_properties", "public_properties", "module_set_tag", "alternate_id", "trust_level", "data_sync_enabled")
    class DmiPropertiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class PublicPropertiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    DMI_PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    MODULE_SET_TAG_FIELD_NUMBER: _ClassVar[int]
    ALTERNATE_ID_FIELD_NUMBER: _ClassVar[int]
    TRUST_LEVEL_FIELD_NUMBER: _ClassVar[int]
    DATA_SYNC_ENABLED_FIELD_NUMBER: _ClassVar[int]
    id: str
    dmi_properties: _containers.ScalarMap[str, str]
    public_properties: _containers.ScalarMap[str, str]
    module_set_tag: str
    alternate_id: str
    trust_level: TrustLevel
    data_sync_enabled: bool
    def __init__(self, id: _Optional[str] = ..., dmi_properties: _Optional[_Mapping[str, str]] = ..., public_properties: _Optional[_Mapping[str, str]] = ..., module_set_tag: _Optional[str] = ..., alternate_id: _Optional[str] = ..., trust_level: _Optional[_Union[TrustLevel, str]] = ..., data_sync_enabled: _Optional[bool] = ...) -> None: ...

class CmHandleUpdate(_message.Message):
    __slots__ = ("id", "dmi_properties", "public_properties", "removed_dmi_properties", "removed_public_properties", "alternate_id", "data_sync_enabled")
    class DmiPropertiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class PublicPropertiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    DMI_PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    REMOVED_DMI_PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    REMOVED_PUBLIC_PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    ALTERNATE_ID_FIELD_NUMBER: _ClassVar[int]
    DATA_SYNC_ENABLED_FIELD_NUMBER: _ClassVar[int]
    id: str
    dmi_properties: _containers.ScalarMap[str, str]
    public_properties: _containers.ScalarMap[str, str]
    removed_dmi_properties: _containers.RepeatedScalarFieldContainer[str]
    removed_public_properties: _containers.RepeatedScalarFieldContainer[str]
    alternate_id: str
    data_sync_enabled: bool
    def __init__(self, id: _Optional[str] = ..., dmi_properties: _Optional[_Mapping[str, str]] = ..., public_properties: _Optional[_Mapping[str, str]] = ..., removed_dmi_properties: _Optional[_Iterable[str]] = ..., removed_public_properties: _Optional[_Iterable[str]] = ..., alternate_id: _Optional[str] = ..., data_sync_enabled: _Optional[bool] = ...) -> None: ...

class CmHandleUpgrade(_message.Message):
    __slots__ = ("id", "module_set_tag")
    ID_FIELD_NUMBER: _ClassVar[int]
    MODULE_SET_TAG_FIELD_NUMBER: _ClassVar[int]
    id: str
    module_set_tag: str
    def __init__(self, id: _Optional[str] = ..., module_set_tag: _Optional[str] = ...) -> None: ...

class RegistrationResult(_message.Message):
    __slots__ = ("cm_handle_id", "error", "message")
    CM_HANDLE_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    cm_handle_id: str
    error: RegistrationError
    message: str
    def __init__(self, cm_handle_id: _Optional[str] = ..., error: _Optional[_Union[RegistrationError, str]] = ..., message: _Optional[str] = ...) -> None: ...

class UpdateRegistrationRequest(_message.Message):
    __slots__ = ("dmi_plugin", "created", "updated", "removed", "upgraded")
    DMI_PLUGIN_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    UPDATED_FIELD_NUMBER: _ClassVar[int]
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    UPGRADED_FIELD_NUMBER: _ClassVar[int]
    dmi_plugin: str
    created: _containers.RepeatedCompositeFieldContainer[NewCmHandle]
    updated: _containers.RepeatedCompositeFieldContainer[CmHandleUpdate]
    removed: _containers.RepeatedScalarFieldContainer[str]
    upgraded: _containers.RepeatedCompositeFieldContainer[CmHandleUpgrade]
    def __init__(self, dmi_plugin: _Optional[str] = ..., created: _Optional[_Iterable[_Union[NewCmHandle, _Mapping]]] = ..., updated: _Optional[_Iterable[_Union[CmHandleUpdate, _Mapping]]] = ..., removed: _Optional[_Iterable[str]] = ..., upgraded: _Optional[_Iterable[_Union[CmHandleUpgrade, _Mapping]]] = ...) -> None: ...

class UpdateRegistrationResponse(_message.Message):
    __slots__ = ("created", "updated", "removed", "upgraded")
    CREATED_FIELD_NUMBER: _ClassVar[int]
    UPDATED_FIELD_NUMBER: _ClassVar[int]
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    UPGRADED_FIELD_NUMBER: _ClassVar[int]
    created: _containers.RepeatedCompositeFieldContainer[RegistrationResult]
    updated: _containers.RepeatedCompositeFieldContainer[RegistrationResult]
    removed: _containers.RepeatedCompositeFieldContainer[RegistrationResult]
    upgraded: _containers.RepeatedCompositeFieldContainer[RegistrationResult]
    def __init__(self, created: _Optional[_Iterable[_Union[RegistrationResult, _Mapping]]] = ..., updated: _Optional[_Iterable[_Union[RegistrationResult, _Mapping]]] = ..., removed: _Optional[_Iterable[_Union[RegistrationResult, _Mapping]]] = ..., upgraded: _Optional[_Iterable[_Union[RegistrationResult, _Mapping]]] = ...) -> None: ...

class ReregisterRequest(_message.Message):
    __slots__ = ("dmi_plugin", "cm_handles")
    DMI_PLUGIN_FIELD_NUMBER: _ClassVar[int]
    CM_HANDLES_FIELD_NUMBER: _ClassVar[int]
    dmi_plugin: str
    cm_handles: _containers.RepeatedCompositeFieldContainer[NewCmHandle]
    def __init__(self, dmi_plugin: _Optional[str] = ..., cm_handles: _Optional[_Iterable[_Union[NewCmHandle, _Mapping]]] = ...) -> None: ...

class ReregisterResponse(_message.Message):
    __slots__ = ("results", "untrusted_cm_handle_ids")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    UNTRUSTED_CM_HANDLE_IDS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[RegistrationResult]
    untrusted_cm_handle_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, results: _Optional[_Iterable[_Union[RegistrationResult, _Mapping]]] = ..., untrusted_cm_handle_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class CmHandleTrustLevel(_message.Message):
    __slots__ = ("cm_handle_id", "trust_level")
    CM_HANDLE_ID_FIELD_NUMBER: _ClassVar[int]
    TRUST_LEVEL_FIELD_NUMBER: _ClassVar[int]
    cm_handle_id: str
    trust_level: TrustLevel
    def __init__(self, cm_handle_id: _Optional[str] = ..., trust_level: _Optional[_Union[TrustLevel, str]] = ...) -> None: ...

class ReportTrustLevelsRequest(_message.Message):
    __slots__ = ("dmi_plugin", "trust_levels")
    DMI_PLUGIN_FIELD_NUMBER: _ClassVar[int]
    TRUST_LEVELS_FIELD_NUMBER: _ClassVar[int]
    dmi_plugin: str
    trust_levels: _containers.RepeatedCompositeFieldContainer[CmHandleTrustLevel]
    def __init__(self, dmi_plugin: _Optional[str] = ..., trust_levels: _Optional[_Iterable[_Union[CmHandleTrustLevel, _Mapping]]] = ...) -> None: ...

class ReportTrustLevelsResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[RegistrationResult]
    def __init__(self, results: _Optional[_Iterable[_Union[RegistrationResult, _Mapping]]] = ...) -> None: ...

class GetModuleSetRequest(_message.Message):
    __slots__ = ("cm_handle_id", "module_set_tag", "dmi_properties")
    class DmiPropertiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CM_HANDLE_ID_FIELD_NUMBER: _ClassVar[int]
    MODULE_SET_TAG_FIELD_NUMBER: _ClassVar[int]
    DMI_PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    cm_handle_id: str
    module_set_tag: str
    dmi_properties: _containers.ScalarMap[str, str]
    def __init__(self, cm_handle_id: _Optional[str] = ..., module_set_tag: _Optional[str] = ..., dmi_properties: _Optional[_Mapping[str, str]] = ...) -> None: ...

class GetModuleSetResponse(_message.Message):
    __slots__ = ("modules",)
    MODULES_FIELD_NUMBER: _ClassVar[int]
    modules: _containers.RepeatedCompositeFieldContainer[ModuleReference]
    def __init__(self, modules: _Optional[_Iterable[_Union[ModuleReference, _Mapping]]] = ...) -> None: ...

class RequestReregistrationRequest(_message.Message):
    __slots__ = ("dmi_plugin",)
    DMI_PLUGIN_FIELD_NUMBER: _ClassVar[int]
    dmi_plugin: str
    def __init__(self, dmi_plugin: _Optional[str] = ...) -> None: ...

class RequestReregistrationResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SyncDataRequest(_message.Message):
    __slots__ = ("cm_handle_id", "dmi_properties")
    class DmiPropertiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CM_HANDLE_ID_FIELD_NUMBER: _ClassVar[int]
    DMI_PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    cm_handle_id: str
    dmi_properties: _containers.ScalarMap[str, str]
    def __init__(self, cm_handle_id: _Optional[str] = ..., dmi_properties: _Optional[_Mapping[str, str]] = ...) -> None: ...

class SyncDataResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetCmHandleRequest(_message.Message):
    __slots__ = ("cm_handle_id",)
    CM_HANDLE_ID_FIELD_NUMBER: _ClassVar[int]
    cm_handle_id: str
    def __init__(self, cm_handle_id: _Optional[str] = ...) -> None: ...

class GetCmHandleResponse(_message.Message):
    __slots__ = ("cm_handle",)
    CM_HANDLE_FIELD_NUMBER: _ClassVar[int]
    cm_handle: CmHandle
    def __init__(self, cm_handle: _Optional[_Union[CmHandle, _Mapping]] = ...) -> None: ...

class SearchCmHandlesRequest(_message.Message):
    __slots__ = ("public_properties", "module_names", "state", "trust_level", "dmi_plugin", "ids_only", "page_size", "page_token", "data_sync_state")
    class PublicPropertiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PUBLIC_PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    MODULE_NAMES_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TRUST_LEVEL_FIELD_NUMBER: _ClassVar[int]
    DMI_PLUGIN_FIELD_NUMBER: _ClassVar[int]
    IDS_ONLY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    DATA_SYNC_STATE_FIELD_NUMBER: _ClassVar[int]
    public_properties: _containers.ScalarMap[str, str]
    module_names: _containers.RepeatedScalarFieldContainer[str]
    state: CmHandleState
    trust_level: TrustLevel
    dmi_plugin: str
    ids_only: bool
    page_size: int
    page_token: str
    data_sync_state: DataSyncState
    def __init__(self, public_properties: _Optional[_Mapping[str, str]] = ..., module_names: _Optional[_Iterable[str]] = ..., state: _Optional[_Union[CmHandleState, str]] = ..., trust_level: _Optional[_Union[TrustLevel, str]] = ..., dmi_plugin: _Optional[str] = ..., ids_only: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., data_sync_state: _Optional[_Union[DataSyncState, str]] = ...) -> None: ...

class SearchCmHandlesResponse(_message.Message):
    __slots__ = ("cm_handle_ids", "cm_handles", "next_page_token")
    CM_HANDLE_IDS_FIELD_NUMBER: _ClassVar[int]
    CM_HANDLES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    cm_handle_ids: _containers.RepeatedScalarFieldContainer[str]
    cm_handles: _containers.RepeatedCompositeFieldContainer[CmHandle]
    next_page_token: str
    def __init__(self, cm_handle_ids: _Optional[_Iterable[str]] = ..., cm_handles: _Optional[_Iterable[_Union[CmHandle, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetTrustLevelsRequest(_message.Message):
    __slots__ = ("cm_handle_ids",)
    CM_HANDLE_IDS_FIELD_NUMBER: _ClassVar[int]
    cm_handle_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, cm_handle_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class GetTrustLevelsResponse(_message.Message):
    __slots__ = ("trust_levels", "unknown_cm_handle_ids")
    TRUST_LEVELS_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_CM_HANDLE_IDS_FIELD_NUMBER: _ClassVar[int]
    trust_levels: _containers.RepeatedCompositeFieldContainer[CmHandleTrustLevel]
    unknown_cm_handle_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, trust_levels: _Optional[_Iterable[_Union[CmHandleTrustLevel, _Mapping]]] = ..., unknown_cm_handle_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class LcmState(_message.Message):
    __slots__ = ("cm_handle_state", "lock_reason")
    CM_HANDLE_STATE_FIELD_NUMBER: _ClassVar[int]
    LOCK_REASON_FIELD_NUMBER: _ClassVar[int]
    cm_handle_state: str
    lock_reason: str
    def __init__(self, cm_handle_state: _Optional[str] = ..., lock_reason: _Optional[str] = ...) -> None: ...

class LcmValues(_message.Message):
    __slots__ = ("state", "public_properties", "schema_set", "data_sync_enabled", "data_sync_state")
    STATE_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_SET_FIELD_NUMBER: _ClassVar[int]
    DATA_SYNC_ENABLED_FIELD_NUMBER: _ClassVar[int]
    DATA_SYNC_STATE_FIELD_NUMBER: _ClassVar[int]
    state: LcmState
    public_properties: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Struct]
    schema_set: _struct_pb2.ListValue
    data_sync_enabled: bool
    data_sync_state: str
    def __init__(self, state: _Optional[_Union[LcmState, _Mapping]] = ..., public_properties: _Optional[_Iterable[_Union[_struct_pb2.Struct, _Mapping]]] = ..., schema_set: _Optional[_Union[_struct_pb2.ListValue, _Mapping]] = ..., data_sync_enabled: _Optional[bool] = ..., data_sync_state: _Optional[str] = ...) -> None: ...

class LcmData(_message.Message):
    __slots__ = ("public_properties", "state", "data_sync_enabled", "data_sync_state", "old_values", "new_values")
    PUBLIC_PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DATA_SYNC_ENABLED_FIELD_NUMBER: _ClassVar[int]
    DATA_SYNC_STATE_FIELD_NUMBER: _ClassVar[int]
    OLD_VALUES_FIELD_NUMBER: _ClassVar[int]
    NEW_VALUES_FIELD_NUMBER: _ClassVar[int]
    public_properties: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Struct]
    state: str
    data_sync_enabled: bool
    data_sync_state: str
    old_values: LcmValues
    new_values: LcmValues
    def __init__(self, public_properties: _Optional[_Iterable[_Union[_struct_pb2.Struct, _Mapping]]] = ..., state: _Optional[str] = ..., data_sync_enabled: _Optional[bool] = ..., data_sync_state: _Optional[str] = ..., old_values: _Optional[_Union[LcmValues, _Mapping]] = ..., new_values: _Optional[_Union[LcmValues, _Mapping]] = ...) -> None: ...

class LcmContent(_message.Message):
    __slots__ = ("observed_timestamp", "dataspace_name", "schema_set", "cm_handle_id", "operation", "data")
    OBSERVED_TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    DATASPACE_NAME_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_SET_FIELD_NUMBER: _ClassVar[int]
    CM_HANDLE_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    observed_timestamp: str
    dataspace_name: str
    schema_set: str
    cm_handle_id: str
    operation: str
    data: LcmData
    def __init__(self, observed_timestamp: _Optional[str] = ..., dataspace_name: _Optional[str] = ..., schema_set: _Optional[str] = ..., cm_handle_id: _Optional[str] = ..., operation: _Optional[str] = ..., data: _Optional[_Union[LcmData, _Mapping]] = ...) -> None: ...

class LcmEvent(_message.Message):
    __slots__ = ("schema", "id", "source", "type", "content", "revision", "caused_by")
    SCHEMA_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    CAUSED_BY_FIELD_NUMBER: _ClassVar[int]
    schema: str
    id: str
    source: str
    type: str
    content: LcmContent
    revision: int
    caused_by: str
    def __init__(self, schema: _Optional[str] = ..., id: _Optional[str] = ..., source: _Optional[str] = ..., type: _Optional[str] = ..., content: _Optional[_Union[LcmContent, _Mapping]] = ..., revision: _Optional[int] = ..., caused_by: _Optional[str] = ...) -> None: ...

class WatchLcmEventsRequest(_message.Message):
    __slots__ = ("start_revision", "cm_handle_id")
    START_REVISION_FIELD_NUMBER: _ClassVar[int]
    CM_HANDLE_ID_FIELD_NUMBER: _ClassVar[int]
    start_revision: int
    cm_handle_id: str
    def __init__(self, start_revision: _Optional[int] = ..., cm_handle_id: _Optional[str] = ...) -> None: ...

class WatchLcmEventsResponse(_message.Message):
    __slots__ = ("events", "revision")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[LcmEvent]
    revision: int
    def __init__(self, events: _Optional[_Iterable[_Union[LcmEvent, _Mapping]]] = ..., revision: _Optional[int] = ...) -> None: ...

class TrustLevelEvent(_message.Message):
    __slots__ = ("cm_handle_id", "old_trust_level", "trust_level", "time", "revision", "caused_by")
    CM_HANDLE_ID_FIELD_NUMBER: _ClassVar[int]
    OLD_TRUST_LEVEL_FIELD_NUMBER: _ClassVar[int]
    TRUST_LEVEL_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    CAUSED_BY_FIELD_NUMBER: _ClassVar[int]
    cm_handle_id: str
    old_trust_level: TrustLevel
    trust_level: TrustLevel
    time: _timestamp_pb2.Timestamp
    revision: int
    caused_by: str
    def __init__(self, cm_handle_id: _Optional[str] = ..., old_trust_level: _Optional[_Union[TrustLevel, str]] = ..., trust_level: _Optional[_Union[TrustLevel, str]] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revision: _Optional[int] = ..., caused_by: _Optional[str] = ...) -> None: ...

class WatchTrustLevelsRequest(_message.Message):
    __slots__ = ("start_revision", "cm_handle_id")
    START_REVISION_FIELD_NUMBER: _ClassVar[int]
    CM_HANDLE_ID_FIELD_NUMBER: _ClassVar[int]
    start_revision: int
    cm_handle_id: str
    def __init__(self, start_revision: _Optional[int] = ..., cm_handle_id: _Optional[str] = ...) -> None: ...

class WatchTrustLevelsResponse(_message.Message):
    __slots__ = ("events", "revision")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[TrustLevelEvent]
    revision: int
    def __init__(self, events: _Optional[_Iterable[_Union[TrustLevelEvent, _Mapping]]] = ..., revision: _Optional[int] = ...) -> None: ...

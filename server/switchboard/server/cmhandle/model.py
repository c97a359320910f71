"""CM handles, their states and trust, and the NCMP rules that move a handle between states:
plain Python, no gRPC, no database. Times are integer microseconds since the Unix epoch.

ADVISED --synced--> READY --upgrade--> LOCKED(MODULE_UPGRADE) --synced--> READY
ADVISED --sync_failed--> LOCKED(MODULE_SYNC_FAILED) --synced--> READY
LOCKED(MODULE_UPGRADE) --sync_failed--> LOCKED(MODULE_UPGRADE_FAILED) --synced--> READY
any live state --remove--> DELETING --deleted--> DELETED

Data sync (NCMP's dataSyncEnabled), beside the state: disabled NONE_REQUESTED; enabled
UNSYNCHRONIZED --data_synced (READY only)--> SYNCHRONIZED; disabling gives NONE_REQUESTED again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum, StrEnum


class HandleState(StrEnum):
    ADVISED = "ADVISED"
    READY = "READY"
    LOCKED = "LOCKED"
    DELETING = "DELETING"
    DELETED = "DELETED"


class LockReason(StrEnum):
    MODULE_SYNC_FAILED = "MODULE_SYNC_FAILED"
    MODULE_UPGRADE = "MODULE_UPGRADE"
    MODULE_UPGRADE_FAILED = "MODULE_UPGRADE_FAILED"


class TrustLevel(StrEnum):
    """Ordered by `rank`: NONE < COMPLETE (NCMP's PARTIAL and POOR may come between later)."""

    NONE = "NONE"
    COMPLETE = "COMPLETE"

    @property
    def rank(self) -> int:
        return list(TrustLevel).index(self)


class DataSyncState(StrEnum):
    NONE_REQUESTED = "NONE_REQUESTED"
    UNSYNCHRONIZED = "UNSYNCHRONIZED"
    SYNCHRONIZED = "SYNCHRONIZED"


class ResultCode(StrEnum):
    """NCMP's per-handle registration error codes."""

    CM_HANDLES_NOT_FOUND = "CM_HANDLES_NOT_FOUND"
    CM_HANDLES_NOT_READY = "CM_HANDLES_NOT_READY"
    CM_HANDLE_ALREADY_EXIST = "CM_HANDLE_ALREADY_EXIST"
    CM_HANDLE_INVALID_ID = "CM_HANDLE_INVALID_ID"
    UNKNOWN_ERROR = "UNKNOWN_ERROR"
    """Any other failure of one entry (a trust report without its level, say)."""


class Removed(Enum):
    """Marks a removed property: in an update, remove this key; in an LCM event, it was removed."""

    REMOVED = "REMOVED"


REMOVED = Removed.REMOVED

PropertyChanges = Mapping[str, str | Removed]
"""New values of properties by name; REMOVED removes one; names not given stay as they are."""

GONE = frozenset({HandleState.DELETING, HandleState.DELETED})
"""States of a handle that no operation but `deleted` applies to any more."""

INVALID_ID_CHARACTERS = frozenset("!\" #$%&'()*+,./\\:;<=>?@[]^`{|}~")
"""NCMP's rule for names and ids (CpsValidator): none of these; and, here, not empty."""


class Refused(Exception):
    """An operation NCMP refuses for this handle, with its result code."""

    def __init__(self, code: ResultCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, order=True)
class ModuleRef:
    """One module of a handle's module set."""

    name: str
    revision: str


@dataclass(frozen=True)
class CmHandle:
    """One CM handle as the inventory holds it.

    `module_set_tag`: handles with equal non-empty tags have the same module set; while LOCKED
    for an upgrade it is the tag upgraded to. `trust` is the handle's own (device) trust; see
    `effective_trust`. `sync_failures` counts the module syncs failed since the last success, the
    last at `failed_at`. `heartbeat_at`: the last device heartbeat (None: none yet, so none can
    be overdue).
    """

    id: str
    dmi_plugin: str
    """The gRPC address of the DMI plugin that registered the handle."""
    dmi_properties: Mapping[str, str] = field(default_factory=dict)
    public_properties: Mapping[str, str] = field(default_factory=dict)
    module_set_tag: str = ""
    alternate_id: str = ""
    """"" if none; once set it never changes."""
    state: HandleState = HandleState.ADVISED
    lock_reason: LockReason | None = None
    """Set exactly when `state` is LOCKED."""
    modules: frozenset[ModuleRef] = frozenset()
    trust: TrustLevel = TrustLevel.COMPLETE
    sync_failures: int = 0
    failed_at: int | None = None
    data_sync_enabled: bool = False
    data_sync_state: DataSyncState = DataSyncState.NONE_REQUESTED
    heartbeat_at: int | None = None


def effective_trust(plugin: TrustLevel, handle: TrustLevel) -> TrustLevel:
    """The trust applications see: the lower of the handle's plugin's and the handle's own."""
    return min(plugin, handle, key=lambda t: t.rank)


def check_id(handle_id: str) -> None:
    """Refuses an id NCMP refuses: empty, or with a character of `INVALID_ID_CHARACTERS`."""
    bad = sorted(INVALID_ID_CHARACTERS.intersection(handle_id))
    if not handle_id or bad:
        what = f"contains {''.join(bad)!r}" if bad else "is empty"
        raise Refused(ResultCode.CM_HANDLE_INVALID_ID, f"cm handle id {handle_id!r} {what}")


def _check_live(h: CmHandle) -> None:
    if h.state in GONE:
        raise Refused(ResultCode.CM_HANDLES_NOT_FOUND, f"cm handle {h.id!r} is {h.state.value}")


def _merged(current: Mapping[str, str], changes: PropertyChanges) -> dict[str, str]:
    out = dict(current)
    for name, value in changes.items():
        if isinstance(value, str):
            out[name] = value
        else:
            out.pop(name, None)
    return out


def register(
    handle_id: str,
    dmi_plugin: str,
    *,
    dmi_properties: Mapping[str, str] | None = None,
    public_properties: Mapping[str, str] | None = None,
    module_set_tag: str = "",
    trust: TrustLevel = TrustLevel.COMPLETE,
    data_sync_enabled: bool = False,
) -> CmHandle:
    """A new handle, ADVISED: its module set is still to be fetched. (Its alternate id is set
    by `set_alternate_id`.)"""
    check_id(handle_id)
    return set_data_sync(CmHandle(
        id=handle_id, dmi_plugin=dmi_plugin, dmi_properties=dict(dmi_properties or {}),
        public_properties=dict(public_properties or {}), module_set_tag=module_set_tag,
        trust=trust,
    ), data_sync_enabled)


def set_data_sync(h: CmHandle, enabled: bool) -> CmHandle:
    """NCMP's dataSyncEnabled set: disabled is NONE_REQUESTED; enabling a disabled handle makes
    it UNSYNCHRONIZED (an enabled one keeps its state)."""
    _check_live(h)
    if enabled == h.data_sync_enabled:
        return h
    state = DataSyncState.UNSYNCHRONIZED if enabled else DataSyncState.NONE_REQUESTED
    return replace(h, data_sync_enabled=enabled, data_sync_state=state)


def awaiting_data_sync(h: CmHandle) -> bool:
    """Whether the data sync round syncs `h`: enabled, UNSYNCHRONIZED and READY."""
    return (h.data_sync_state is DataSyncState.UNSYNCHRONIZED
            and h.state is HandleState.READY)


def data_synced(h: CmHandle) -> CmHandle:
    """UNSYNCHRONIZED → SYNCHRONIZED, once its plugin synced a READY handle's data."""
    if not awaiting_data_sync(h):
        raise ValueError(f"cm handle {h.id!r} is not awaiting a data sync")
    return replace(h, data_sync_state=DataSyncState.SYNCHRONIZED)


def heartbeat(h: CmHandle, trust: TrustLevel, now: int) -> CmHandle:
    """A device heartbeat at `now` reporting the handle's own trust."""
    _check_live(h)
    return replace(h, trust=trust, heartbeat_at=now)


def heartbeat_overdue(h: CmHandle, now: int, limit: int) -> bool:
    """Whether `h` is trusted and its last heartbeat is more than `limit` before `now`."""
    return (h.trust is TrustLevel.COMPLETE and h.heartbeat_at is not None
            and h.heartbeat_at + limit < now and h.state not in GONE)


def update_properties(
    h: CmHandle, dmi_properties: PropertyChanges, public_properties: PropertyChanges
) -> CmHandle:
    """`h` with its properties changed as given (NCMP merges: names not given are kept)."""
    _check_live(h)
    return replace(h, dmi_properties=_merged(h.dmi_properties, dmi_properties),
                   public_properties=_merged(h.public_properties, public_properties))


def set_alternate_id(h: CmHandle, alternate_id: str) -> CmHandle:
    """`h` with its alternate id set; refused if it has another one already. Uniqueness across
    the inventory is the caller's to check (`registration`)."""
    _check_live(h)
    if h.alternate_id and h.alternate_id != alternate_id:
        raise Refused(ResultCode.CM_HANDLE_ALREADY_EXIST,
                      f"cm handle {h.id!r} has alternate id {h.alternate_id!r} already")
    return replace(h, alternate_id=alternate_id)


def upgrade(h: CmHandle, module_set_tag: str) -> CmHandle:
    """READY → LOCKED(MODULE_UPGRADE) with the new tag, to sync the module set again. As in
    NCMP, only a READY handle upgrades, and the same non-empty tag leaves it unchanged."""
    _check_live(h)
    if h.state is not HandleState.READY:
        raise Refused(ResultCode.CM_HANDLES_NOT_READY,
                      f"cm handle {h.id!r} is {h.state.value}, not READY")
    if module_set_tag and module_set_tag == h.module_set_tag:
        return h
    return replace(h, state=HandleState.LOCKED, lock_reason=LockReason.MODULE_UPGRADE,
                   module_set_tag=module_set_tag)


def awaiting_sync(h: CmHandle) -> bool:
    """Whether a module sync's outcome applies to `h`: it is ADVISED or LOCKED."""
    return h.state in (HandleState.ADVISED, HandleState.LOCKED)


def _check_awaiting_sync(h: CmHandle) -> None:
    if not awaiting_sync(h):
        raise ValueError(f"cm handle {h.id!r} is {h.state.value}: no module sync applies")


def synced(h: CmHandle, modules: Iterable[ModuleRef]) -> CmHandle:
    """ADVISED or LOCKED → READY with the module set fetched."""
    _check_awaiting_sync(h)
    return replace(h, state=HandleState.READY, lock_reason=None, modules=frozenset(modules),
                   sync_failures=0, failed_at=None)


def sync_failed(h: CmHandle, now: int) -> CmHandle:
    """A failed module sync at `now`: LOCKED(MODULE_UPGRADE_FAILED) if it was an upgrade,
    LOCKED(MODULE_SYNC_FAILED) otherwise; the module set stays as it was."""
    _check_awaiting_sync(h)
    upgrading = h.lock_reason in (LockReason.MODULE_UPGRADE, LockReason.MODULE_UPGRADE_FAILED)
    reason = LockReason.MODULE_UPGRADE_FAILED if upgrading else LockReason.MODULE_SYNC_FAILED
    return replace(h, state=HandleState.LOCKED, lock_reason=reason,
                   sync_failures=h.sync_failures + 1, failed_at=now)


def remove(h: CmHandle) -> CmHandle:
    """Any live state → DELETING."""
    _check_live(h)
    return replace(h, state=HandleState.DELETING, lock_reason=None)


def deleted(h: CmHandle) -> CmHandle:
    """DELETING → DELETED, once the handle's data is gone."""
    if h.state is not HandleState.DELETING:
        raise ValueError(f"cm handle {h.id!r} is {h.state.value}, not DELETING")
    return replace(h, state=HandleState.DELETED)

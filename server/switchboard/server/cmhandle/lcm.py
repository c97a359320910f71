"""LCM events of CM handles, as the NCMP card (seeds/003) describes them: one event per handle
change an application can see, with the values before and after.

- CREATE: `new_values` carries everything: state, public properties, data sync (enabled and
  state) and schema set (empty: the handle is ADVISED).
- UPDATE: only what changed, on both sides: the state (with its lock reason), the public
  properties that changed (added: in `new_values` only; modified: old and new value; removed:
  REMOVED on both sides, as the card marks them), data sync enabled and state, and the whole
  schema set before and after. Nothing an application sees changed (only DMI properties,
  trust, tag...): no event.
- DELETE: no values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from switchboard.server.cmhandle.model import (
    REMOVED,
    CmHandle,
    DataSyncState,
    HandleState,
    LockReason,
    ModuleRef,
    Removed,
)

EVENT_SCHEMA = "urn:cps:org.onap.ncmp:cmhandle-lcm-event-schema:v2"
EVENT_SOURCE = "urn:cps:org.onap.ncmp"
EVENT_TYPE = "org.onap.cps.cmhandle-lcm-event"
DATASPACE_NAME = "NCMP-Admin"
"""The card's values (seed 003), and the dataspace NCMP keeps CM handles in."""


class Operation(StrEnum):
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    DELETE = "DELETE"


@dataclass(frozen=True)
class StateValue:
    """The card's `state` object: the handle state, and the lock reason when LOCKED."""

    state: HandleState
    lock_reason: LockReason | None = None


@dataclass(frozen=True)
class Values:
    """Old or new values; None: not part of this event."""

    state: StateValue | None = None
    public_properties: Mapping[str, str | Removed] | None = None
    schema_set: tuple[ModuleRef, ...] | None = None
    """The whole module set, sorted by name and revision."""
    data_sync_enabled: bool | None = None
    data_sync_state: DataSyncState | None = None


@dataclass(frozen=True)
class LcmEvent:
    id: str
    source: str
    type: str
    schema: str
    observed_time: int
    """Microseconds since the Unix epoch."""
    cm_handle_id: str
    operation: Operation
    dataspace_name: str
    old_values: Values | None = None
    new_values: Values | None = None


def _state(h: CmHandle) -> StateValue:
    return StateValue(h.state, h.lock_reason)


def _schema_set(h: CmHandle) -> tuple[ModuleRef, ...]:
    return tuple(sorted(h.modules))


def _property_changes(
    old: Mapping[str, str], new: Mapping[str, str]
) -> tuple[dict[str, str | Removed], dict[str, str | Removed]]:
    before: dict[str, str | Removed] = {}
    after: dict[str, str | Removed] = {}
    for name in sorted(old.keys() | new.keys()):
        if name not in new:
            before[name] = after[name] = REMOVED
        elif name not in old:
            after[name] = new[name]
        elif old[name] != new[name]:
            before[name], after[name] = old[name], new[name]
    return before, after


def lcm_event(
    old: CmHandle | None, new: CmHandle | None, observed_time: int, new_id: Callable[[], str]
) -> LcmEvent | None:
    """The event for a handle going from `old` (None or DELETED: it did not exist) to `new` (None
    or DELETED: it is gone), or None when nothing an event carries changed. `new_id` gives the
    event id."""
    if new is None:
        if old is None:
            raise ValueError("no handle before or after")
        return _event(old.id, Operation.DELETE, observed_time, new_id)
    if old is not None and old.id != new.id:
        raise ValueError(f"cm handle {old.id!r} cannot become {new.id!r}")
    if new.state is HandleState.DELETED:
        return _event(new.id, Operation.DELETE, observed_time, new_id)
    if old is None or old.state is HandleState.DELETED:
        created = Values(_state(new), dict(new.public_properties), _schema_set(new),
                         new.data_sync_enabled, new.data_sync_state)
        return _event(new.id, Operation.CREATE, observed_time, new_id, new_values=created)
    state = _state(old) != _state(new)
    old_props, new_props = _property_changes(old.public_properties, new.public_properties)
    schema_set = old.modules != new.modules
    enabled = old.data_sync_enabled != new.data_sync_enabled
    sync_state = old.data_sync_state != new.data_sync_state
    if not (state or new_props or schema_set or enabled or sync_state):
        return None

    def values(h: CmHandle, props: Mapping[str, str | Removed]) -> Values:
        return Values(_state(h) if state else None, props if new_props else None,
                      _schema_set(h) if schema_set else None,
                      h.data_sync_enabled if enabled else None,
                      h.data_sync_state if sync_state else None)

    return _event(new.id, Operation.UPDATE, observed_time, new_id, values(old, old_props),
                  values(new, new_props))


def _event(
    handle_id: str,
    operation: Operation,
    observed_time: int,
    new_id: Callable[[], str],
    old_values: Values | None = None,
    new_values: Values | None = None,
) -> LcmEvent:
    return LcmEvent(
        id=new_id(), source=EVENT_SOURCE, type=EVENT_TYPE, schema=EVENT_SCHEMA,
        observed_time=observed_time, cm_handle_id=handle_id, operation=operation,
        dataspace_name=DATASPACE_NAME, old_values=old_values, new_values=new_values,
    )

"""Reading LCM events (the NCMP card's structure) in tests."""

from __future__ import annotations

from datetime import datetime

from switchboard.cmhandle.v1 import cmhandle_pb2 as cpb


def hid(e: cpb.LcmEvent) -> str:
    return e.content.cm_handle_id


def op(e: cpb.LcmEvent) -> str:
    return e.content.operation


def old(e: cpb.LcmEvent) -> cpb.LcmValues:
    return e.content.data.old_values


def new(e: cpb.LcmEvent) -> cpb.LcmValues:
    return e.content.data.new_values


def state(v: cpb.LcmValues) -> tuple[str, str]:
    """(state, lock reason) of an UPDATE's values."""
    return v.state.cm_handle_state, v.state.lock_reason


def props(v: cpb.LcmValues | cpb.LcmData) -> dict[str, str | None]:
    """Public properties of an event's values (or CREATE data); None marks a removed one."""
    if not v.public_properties:
        return {}
    (only,) = v.public_properties
    return {k: None if x.HasField("null_value") else x.string_value
            for k, x in only.fields.items()}


def modules(v: cpb.LcmValues) -> list[tuple[str, str]]:
    return [tuple(x.string_value.split("@", 1)) for x in v.schema_set.values]  # type: ignore[misc]


def observed(e: cpb.LcmEvent) -> int:
    """The observed time in microseconds (the card's text has milliseconds)."""
    t = datetime.strptime(e.content.observed_timestamp, "%Y-%m-%dT%H:%M:%S.%f%z")
    return int(t.timestamp() * 1000) * 1000


def ready(e: cpb.LcmEvent) -> bool:
    """An UPDATE to READY."""
    return op(e) == "UPDATE" and new(e).state.cm_handle_state == "READY"

"""LCM events field by field against the NCMP card (seeds/003): CREATE, the three UPDATE
examples (ADVISED → READY with the schema set; state and public properties with a removed, a
modified and an added one; a schema-set change), DELETE, and no event when nothing shown
changed."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard.server.cmhandle.lcm import (
    EVENT_SCHEMA,
    EVENT_SOURCE,
    EVENT_TYPE,
    LcmEvent,
    Operation,
    StateValue,
    Values,
    lcm_event,
)
from switchboard.server.cmhandle.model import (
    REMOVED,
    CmHandle,
    DataSyncState,
    HandleState,
    LockReason,
    ModuleRef,
    Removed,
    TrustLevel,
    deleted,
    register,
    remove,
    sync_failed,
    synced,
    upgrade,
)

T = 1_606_780_800_000_000  # the card's 2020-12-01T00:00:00.000+0000, in µs
ID = "43t345tbnfd85435"  # the card's cmhandleId
S = HandleState


def ids() -> Callable[[], str]:
    counter = itertools.count(1)
    return lambda: f"77b8f114-{next(counter)}"


def schemas(*names: str) -> list[ModuleRef]:
    return [ModuleRef(name, "2024-01-01") for name in names]


def advised(**public: str) -> CmHandle:
    return register(ID, "dmi-a:50051", public_properties=public, dmi_properties={"pw": "x"})


def header(event: LcmEvent, operation: Operation, event_id: str = "77b8f114-1") -> None:
    assert (event.schema, event.id, event.source, event.type) == (
        EVENT_SCHEMA, event_id, EVENT_SOURCE, EVENT_TYPE)
    assert (EVENT_SCHEMA, EVENT_SOURCE, EVENT_TYPE) == (
        "urn:cps:org.onap.ncmp:cmhandle-lcm-event-schema:v2", "urn:cps:org.onap.ncmp",
        "org.onap.cps.cmhandle-lcm-event")  # the card's
    assert event.dataspace_name == "NCMP-Admin"
    assert (event.observed_time, event.cm_handle_id, event.operation) == (T, ID, operation)


def test_create_carries_everything_in_new_values() -> None:
    event = lcm_event(None, advised(**{"property-name-1": "property-value-1"}), T, ids())
    assert event is not None
    header(event, Operation.CREATE)
    assert event.old_values is None
    assert event.new_values == Values(
        state=StateValue(S.ADVISED, None),
        public_properties={"property-name-1": "property-value-1"},
        schema_set=(),
        data_sync_enabled=False,
        data_sync_state=DataSyncState.NONE_REQUESTED,
    )


def test_update_advised_to_ready_carries_state_and_schema_set() -> None:
    old = advised(**{"property-name-1": "property-value-1"})
    names = [f"schema-name-{i}" for i in range(1, 6)]
    new = synced(old, reversed(schemas(*names)))
    event = lcm_event(old, new, T, ids())
    assert event is not None
    header(event, Operation.UPDATE)
    assert event.old_values == Values(state=StateValue(S.ADVISED), schema_set=())
    assert event.new_values == Values(state=StateValue(S.READY), schema_set=tuple(schemas(*names)))


def test_update_of_state_and_public_properties_marks_the_removed_one() -> None:
    old = advised(**{"property-name-1": "x", "property-name-2": "some-prop-value-2-a"})
    new = replace(synced(old, []), public_properties={
        "property-name-2": "some-prop-value-2-b", "property-name-3": "some-prop-value-3"})
    event = lcm_event(old, new, T, ids())
    assert event is not None
    header(event, Operation.UPDATE)
    assert event.old_values == Values(
        state=StateValue(S.ADVISED),
        public_properties={"property-name-1": REMOVED, "property-name-2": "some-prop-value-2-a"},
    )
    assert event.new_values == Values(
        state=StateValue(S.READY),
        public_properties={"property-name-1": REMOVED, "property-name-2": "some-prop-value-2-b",
                           "property-name-3": "some-prop-value-3"},
    )


def test_update_of_the_schema_set_only() -> None:
    before = schemas("schema-name-1", "schema-name-2", "schema-name-3", "schema-name-4",
                     "schema-name-5.1")
    after = schemas("schema-name-1", "schema-name-2", "schema-name-3", "schema-name-4",
                    "schema-name-5.2", "schema-name-6")
    old = synced(advised(), before)
    event = lcm_event(old, replace(old, modules=frozenset(after)), T, ids())
    assert event is not None
    header(event, Operation.UPDATE)
    assert event.old_values == Values(schema_set=tuple(before))
    assert event.new_values == Values(schema_set=tuple(after))


def test_an_upgrade_is_a_state_event_then_state_and_schema_set() -> None:
    ready = synced(advised(), schemas("a", "b"))
    locked = upgrade(ready, "tag-2")
    first = lcm_event(ready, locked, T, ids())
    assert first is not None
    assert first.old_values == Values(state=StateValue(S.READY))
    assert first.new_values == Values(state=StateValue(S.LOCKED, LockReason.MODULE_UPGRADE))
    failed = lcm_event(locked, sync_failed(locked, T), T, ids())
    assert failed is not None
    assert failed.new_values == Values(
        state=StateValue(S.LOCKED, LockReason.MODULE_UPGRADE_FAILED))
    second = lcm_event(locked, synced(locked, schemas("a", "c")), T, ids())
    assert second is not None
    assert second.old_values == Values(state=StateValue(S.LOCKED, LockReason.MODULE_UPGRADE),
                                       schema_set=tuple(schemas("a", "b")))
    assert second.new_values == Values(state=StateValue(S.READY),
                                       schema_set=tuple(schemas("a", "c")))


def test_removal_is_an_update_to_deleting_then_a_delete_without_values() -> None:
    ready = synced(advised(), schemas("a"))
    deleting = remove(ready)
    update = lcm_event(ready, deleting, T, ids())
    assert update is not None
    assert (update.old_values, update.new_values) == (
        Values(state=StateValue(S.READY)), Values(state=StateValue(S.DELETING)))
    for new in (deleted(deleting), None):
        event = lcm_event(deleting, new, T, ids())
        assert event is not None
        header(event, Operation.DELETE)
        assert (event.old_values, event.new_values) == (None, None)


def test_no_event_when_nothing_an_application_sees_changed() -> None:
    h = synced(advised(p="1"), schemas("a"))
    for new in (h, replace(h, dmi_properties={"pw": "y"}), replace(h, trust=TrustLevel.NONE),
                replace(h, alternate_id="me=1"), replace(h, module_set_tag="t")):
        assert lcm_event(h, new, T, ids()) is None


def test_a_handle_registered_again_after_deletion_is_created() -> None:
    gone = deleted(remove(advised()))
    event = lcm_event(gone, advised(p="1"), T, ids())
    assert event is not None and event.operation is Operation.CREATE


def test_event_ids_come_from_the_source_and_bad_pairs_are_refused() -> None:
    source = ids()
    h = advised()
    assert [e.id for e in (lcm_event(None, h, T, source), lcm_event(h, None, T, source))
            if e is not None] == ["77b8f114-1", "77b8f114-2"]
    with pytest.raises(ValueError):
        lcm_event(None, None, T, source)
    with pytest.raises(ValueError):
        lcm_event(h, replace(h, id="other"), T, source)


# -- an update's values take the old view to the new one -----------------------------------------

PROPS = st.dictionaries(st.sampled_from("abcd"), st.sampled_from(["1", "2"]), max_size=4)
MODULES = st.frozensets(st.sampled_from(schemas("m1", "m2", "m3")))
STATES = st.sampled_from([(S.ADVISED, None), (S.READY, None),
                          (S.LOCKED, LockReason.MODULE_SYNC_FAILED),
                          (S.LOCKED, LockReason.MODULE_UPGRADE), (S.DELETING, None)])


@st.composite
def handles(draw: st.DrawFn) -> CmHandle:
    state, reason = draw(STATES)
    return replace(advised(), state=state, lock_reason=reason, public_properties=draw(PROPS),
                   modules=draw(MODULES))


def view(h: CmHandle) -> tuple[StateValue, dict[str, str], tuple[ModuleRef, ...]]:
    return StateValue(h.state, h.lock_reason), dict(h.public_properties), tuple(sorted(h.modules))


def applied(old: CmHandle, values: Values) -> tuple[StateValue, dict[str, str],
                                                    tuple[ModuleRef, ...]]:
    state, props, modules = view(old)
    changes: Mapping[str, str | Removed] = values.public_properties or {}
    for name, value in changes.items():
        if isinstance(value, str):
            props[name] = value
        else:
            props.pop(name)
    return (values.state or state, props,
            modules if values.schema_set is None else values.schema_set)


@settings(database=None, derandomize=True, max_examples=300)
@given(handles(), handles())
def test_update_values_are_exactly_the_difference(old: CmHandle, new: CmHandle) -> None:
    event = lcm_event(old, new, T, ids())
    if view(old) == view(new):
        assert event is None
        return
    assert event is not None and event.operation is Operation.UPDATE
    assert event.old_values is not None and event.new_values is not None
    assert applied(old, event.new_values) == view(new)
    old_v, new_v = event.old_values, event.new_values
    assert (old_v.state is None) == (new_v.state is None) == (view(old)[0] == view(new)[0])
    assert (old_v.schema_set is None) == (new_v.schema_set is None) == (old.modules == new.modules)
    old_props, new_props = old_v.public_properties or {}, new_v.public_properties or {}
    assert set(old_props) <= set(new_props)
    for name, value in new_props.items():
        assert new.public_properties.get(name, REMOVED) == value
        if name in old.public_properties:
            assert old_props[name] == (value if value is REMOVED else old.public_properties[name])
            assert value is REMOVED or value != old.public_properties[name]

"""CM handle states, transitions and refusals, ids, properties and trust."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard.server.cmhandle.model import (
    INVALID_ID_CHARACTERS,
    REMOVED,
    CmHandle,
    HandleState,
    LockReason,
    ModuleRef,
    Refused,
    ResultCode,
    TrustLevel,
    awaiting_sync,
    check_id,
    deleted,
    effective_trust,
    register,
    remove,
    set_alternate_id,
    sync_failed,
    synced,
    update_properties,
    upgrade,
)

S = HandleState
L = LockReason
MODULES = [ModuleRef("ietf-interfaces", "2018-02-20"), ModuleRef("o-ran-hw", "2024-01-01")]


def advised(**fields: Any) -> CmHandle:
    return replace(register("ch-1", "dmi-a:50051", module_set_tag="tag-1"), **fields)


def ready() -> CmHandle:
    return synced(advised(), MODULES)


def refused(code: ResultCode) -> pytest.RaisesExc[Refused]:
    return pytest.raises(Refused, check=lambda e: e.code is code)


def test_register_is_advised_with_complete_trust_and_no_modules() -> None:
    h = register("ch-1", "dmi-a:50051", dmi_properties={"user": "x"},
                 public_properties={"site": "north"}, module_set_tag="t")
    assert h == CmHandle(id="ch-1", dmi_plugin="dmi-a:50051", dmi_properties={"user": "x"},
                         public_properties={"site": "north"}, module_set_tag="t",
                         alternate_id="", state=S.ADVISED, lock_reason=None,
                         modules=frozenset(), trust=TrustLevel.COMPLETE, sync_failures=0,
                         failed_at=None)


def test_module_sync_success_and_failure() -> None:
    h = ready()
    assert (h.state, h.lock_reason, h.modules) == (S.READY, None, frozenset(MODULES))
    failed = sync_failed(advised(), now=100)
    assert (failed.state, failed.lock_reason) == (S.LOCKED, L.MODULE_SYNC_FAILED)
    assert (failed.sync_failures, failed.failed_at) == (1, 100)
    again = sync_failed(failed, now=200)
    assert (again.lock_reason, again.sync_failures, again.failed_at) == (
        L.MODULE_SYNC_FAILED, 2, 200)
    recovered = synced(again, MODULES)
    assert (recovered.state, recovered.lock_reason) == (S.READY, None)
    assert (recovered.sync_failures, recovered.failed_at) == (0, None)


def test_upgrade_locks_a_ready_handle_then_ready_or_upgrade_failed() -> None:
    locked = upgrade(ready(), "tag-2")
    assert (locked.state, locked.lock_reason, locked.module_set_tag) == (
        S.LOCKED, L.MODULE_UPGRADE, "tag-2")
    assert locked.modules == frozenset(MODULES)  # the old set until the new one is fetched
    new_modules = [ModuleRef("o-ran-hw", "2025-01-01")]
    assert synced(locked, new_modules).modules == frozenset(new_modules)
    failed = sync_failed(locked, now=5)
    assert (failed.state, failed.lock_reason, failed.sync_failures) == (
        S.LOCKED, L.MODULE_UPGRADE_FAILED, 1)
    assert sync_failed(failed, now=6).lock_reason is L.MODULE_UPGRADE_FAILED
    assert synced(failed, new_modules).state is S.READY


def test_upgrade_to_the_same_tag_changes_nothing_but_an_empty_tag_upgrades() -> None:
    h = ready()
    assert upgrade(h, "tag-1") is h
    assert upgrade(h, "").lock_reason is L.MODULE_UPGRADE
    untagged = synced(replace(advised(), module_set_tag=""), MODULES)
    assert upgrade(untagged, "").state is S.LOCKED


@pytest.mark.parametrize("h", [
    advised(),
    sync_failed(advised(), 1),
    upgrade(ready(), "tag-2"),
    sync_failed(upgrade(ready(), "tag-2"), 1),
])
def test_upgrade_of_a_handle_not_ready_is_refused(h: CmHandle) -> None:
    with refused(ResultCode.CM_HANDLES_NOT_READY):
        upgrade(h, "tag-9")


def test_remove_then_deleted() -> None:
    for h in (advised(), ready(), sync_failed(advised(), 1), upgrade(ready(), "t")):
        deleting = remove(h)
        assert (deleting.state, deleting.lock_reason) == (S.DELETING, None)
        assert deleted(deleting).state is S.DELETED
    with pytest.raises(ValueError):
        deleted(ready())


@pytest.mark.parametrize("state", [S.DELETING, S.DELETED])
def test_a_handle_being_deleted_or_deleted_is_not_found(state: HandleState) -> None:
    h = replace(ready(), state=state)
    for operation in (remove, lambda h: upgrade(h, "t"), lambda h: update_properties(h, {}, {}),
                      lambda h: set_alternate_id(h, "a")):
        with refused(ResultCode.CM_HANDLES_NOT_FOUND):
            operation(h)
    assert not awaiting_sync(h)


@pytest.mark.parametrize("h", [ready(), remove(ready()), deleted(remove(ready()))])
def test_sync_outcomes_apply_only_to_handles_awaiting_sync(h: CmHandle) -> None:
    assert not awaiting_sync(h)
    with pytest.raises(ValueError):
        synced(h, MODULES)
    with pytest.raises(ValueError):
        sync_failed(h, 1)


@pytest.mark.parametrize("char", sorted(INVALID_ID_CHARACTERS))
def test_ncmp_invalid_id_characters(char: str) -> None:
    with refused(ResultCode.CM_HANDLE_INVALID_ID):
        check_id(f"ch{char}1")
    with refused(ResultCode.CM_HANDLE_INVALID_ID):
        register(f"ch{char}1", "dmi")


def test_valid_and_empty_ids() -> None:
    for good in ("ch-1", "CH_01", "node-ü-7", "a" * 300, "-_"):
        check_id(good)
    with refused(ResultCode.CM_HANDLE_INVALID_ID):
        check_id("")
    assert set(INVALID_ID_CHARACTERS) == set("!\" #$%&'()*+,./\\:;<=>?@[]^`{|}~")


def test_update_properties_merges_and_removes() -> None:
    h = advised(dmi_properties={"user": "a", "pw": "b"}, public_properties={"x": "1", "y": "2"})
    u = update_properties(h, {"pw": REMOVED, "port": "830"}, {"x": "10", "gone": REMOVED})
    assert u.dmi_properties == {"user": "a", "port": "830"}
    assert u.public_properties == {"x": "10", "y": "2"}
    assert h.public_properties == {"x": "1", "y": "2"}  # the old record is untouched


def test_alternate_id_is_set_once() -> None:
    h = set_alternate_id(advised(), "me=1")
    assert h.alternate_id == "me=1"
    assert set_alternate_id(h, "me=1") == h
    with refused(ResultCode.CM_HANDLE_ALREADY_EXIST):
        set_alternate_id(h, "me=2")


def test_trust_is_ordered_and_effective_trust_is_the_lower() -> None:
    assert TrustLevel.NONE.rank < TrustLevel.COMPLETE.rank
    none, complete = TrustLevel.NONE, TrustLevel.COMPLETE
    assert effective_trust(complete, complete) is complete
    assert effective_trust(none, complete) is none
    assert effective_trust(complete, none) is none
    assert effective_trust(none, none) is none


# -- every reachable state obeys the state machine -----------------------------------------------

ALLOWED = {
    (S.ADVISED, S.READY), (S.ADVISED, S.LOCKED), (S.READY, S.LOCKED), (S.LOCKED, S.READY),
    (S.LOCKED, S.LOCKED), (S.ADVISED, S.DELETING), (S.READY, S.DELETING),
    (S.LOCKED, S.DELETING), (S.DELETING, S.DELETED),
}
OPERATIONS = st.sampled_from(["synced", "failed", "upgrade", "same-tag", "remove", "deleted"])


def step(h: CmHandle, op: str, i: int) -> CmHandle:
    if op == "synced":
        return synced(h, MODULES[: i % 3])
    if op == "failed":
        return sync_failed(h, i)
    if op == "upgrade":
        return upgrade(h, f"tag-{i}")
    if op == "same-tag":
        return upgrade(h, h.module_set_tag)
    return remove(h) if op == "remove" else deleted(h)


@settings(database=None, derandomize=True, max_examples=300)
@given(st.lists(OPERATIONS, max_size=12))
def test_random_operations_keep_the_state_machine(operations: list[str]) -> None:
    h = advised()
    for i, op in enumerate(operations):
        try:
            new = step(h, op, i)
        except (Refused, ValueError):
            continue
        assert new == h or (h.state, new.state) in ALLOWED
        assert (new.lock_reason is not None) == (new.state is S.LOCKED)
        if new.state not in (S.DELETING, S.DELETED):
            failed = new.lock_reason in (L.MODULE_SYNC_FAILED, L.MODULE_UPGRADE_FAILED)
            assert (new.sync_failures > 0) == failed == (new.failed_at is not None)
        h = new

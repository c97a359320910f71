"""UpdateRegistration and Reregister against an inventory: per-handle results with NCMP's codes,
duplicates, alternate ids, ownership, and what to write."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard.server.cmhandle.model import (
    REMOVED,
    CmHandle,
    HandleState,
    LockReason,
    ModuleRef,
    ResultCode,
    TrustLevel,
    deleted,
    register,
    remove,
    sync_failed,
    synced,
)
from switchboard.server.cmhandle.registration import (
    Batch,
    Change,
    HandleResult,
    HandleUpdate,
    NewHandle,
    Registration,
    Reregistration,
    Upgrade,
    reregister,
    update_registration,
)

A, B = "dmi-a:50051", "dmi-b:50051"
S = HandleState
R = ResultCode
MODULES = [ModuleRef("m", "2024-01-01")]


def handle(handle_id: str, plugin: str = A, *, ready: bool = True, **fields: Any) -> CmHandle:
    h = register(handle_id, plugin, module_set_tag="t1")
    return replace(synced(h, MODULES) if ready else h, **fields)


def inventory(*handles: CmHandle) -> tuple[dict[str, CmHandle], dict[str, str]]:
    return ({h.id: h for h in handles},
            {h.alternate_id: h.id for h in handles if h.alternate_id})


def run(batch: Batch, *handles: CmHandle, plugin: str = A) -> Registration:
    return update_registration(plugin, batch, *inventory(*handles))


def codes(results: Iterable[HandleResult]) -> list[tuple[str, ResultCode | None]]:
    return [(r.id, r.code) for r in results]


def new_by_id(result: Registration | Reregistration) -> dict[str, CmHandle]:
    return {c.new.id: c.new for c in result.changes}


def test_mixed_batch_gives_each_handle_its_own_result_and_registers_the_good_ones() -> None:
    existing = [handle("old-1", alternate_id="me=1"), handle("old-2"), handle("theirs", B)]
    batch = Batch(
        created=[NewHandle("new-1", public_properties={"site": "n"}, alternate_id="me=10"),
                 NewHandle("new-1"),                      # duplicate inside the batch
                 NewHandle("old-1"),                      # exists
                 NewHandle("new-2", alternate_id="me=1"),  # alternate id taken
                 NewHandle("bad id"),                     # invalid
                 NewHandle("new-3", module_set_tag="t2")],
        updated=[HandleUpdate("old-2", public_properties={"site": "s"}),
                 HandleUpdate("ghost", public_properties={"x": "1"}),
                 HandleUpdate("theirs", public_properties={"x": "1"})],
        removed=["old-1", "ghost", "bad/id"],
        upgraded=[Upgrade("old-2", "t9"), Upgrade("new-1", "t9"), Upgrade("nobody", "t9")],
    )
    result = run(batch, *existing)
    assert codes(result.created) == [
        ("new-1", None), ("new-1", R.CM_HANDLE_ALREADY_EXIST), ("old-1", R.CM_HANDLE_ALREADY_EXIST),
        ("new-2", R.CM_HANDLE_ALREADY_EXIST), ("bad id", R.CM_HANDLE_INVALID_ID), ("new-3", None)]
    assert codes(result.updated) == [
        ("old-2", None), ("ghost", R.CM_HANDLES_NOT_FOUND), ("theirs", R.CM_HANDLES_NOT_FOUND)]
    assert codes(result.removed) == [
        ("old-1", None), ("ghost", R.CM_HANDLES_NOT_FOUND), ("bad/id", R.CM_HANDLE_INVALID_ID)]
    assert codes(result.upgraded) == [
        ("old-2", None), ("new-1", R.CM_HANDLES_NOT_READY), ("nobody", R.CM_HANDLES_NOT_FOUND)]
    assert all(r.message for r in [*result.created, *result.updated, *result.removed,
                                   *result.upgraded] if not r.ok)
    written = new_by_id(result)
    assert sorted(written) == ["new-1", "new-3", "old-1", "old-2"]
    assert written["new-1"] == replace(register("new-1", A, public_properties={"site": "n"}),
                                       alternate_id="me=10")
    assert written["new-3"].module_set_tag == "t2"
    assert written["old-1"].state is S.DELETING
    old2 = written["old-2"]
    assert (old2.public_properties, old2.state, old2.lock_reason, old2.module_set_tag) == (
        {"site": "s"}, S.LOCKED, LockReason.MODULE_UPGRADE, "t9")
    olds = {c.new.id: c.old for c in result.changes}
    assert olds == {"new-1": None, "new-3": None, "old-1": existing[0], "old-2": existing[1]}


def test_sections_run_removed_created_updated_upgraded_each_seeing_the_earlier() -> None:
    result = run(Batch(created=[NewHandle("x"), NewHandle("gone")],
                       updated=[HandleUpdate("x", public_properties={"p": "1"})],
                       removed=["gone", "gone"]), handle("gone"))
    assert codes(result.removed) == [("gone", None), ("gone", R.CM_HANDLES_NOT_FOUND)]
    # a removed handle is DELETING: its id stays taken until it is DELETED
    assert codes(result.created) == [("x", None), ("gone", R.CM_HANDLE_ALREADY_EXIST)]
    assert codes(result.updated) == [("x", None)]
    assert result.changes == (
        Change(handle("gone"), remove(handle("gone"))),
        Change(None, register("x", A, public_properties={"p": "1"})),
    )


def test_update_merges_properties_and_removes_the_removed() -> None:
    h = handle("h", dmi_properties={"user": "u", "pw": "p"}, public_properties={"a": "1", "b": "2"})
    result = run(Batch(updated=[HandleUpdate("h", dmi_properties={"pw": REMOVED},
                                             public_properties={"a": REMOVED, "c": "3"})]), h)
    new = new_by_id(result)["h"]
    assert (new.dmi_properties, new.public_properties) == ({"user": "u"}, {"b": "2", "c": "3"})
    assert new.state is S.READY


def test_an_update_changing_nothing_writes_nothing() -> None:
    h = handle("h", public_properties={"a": "1"}, alternate_id="me=1")
    result = run(Batch(updated=[HandleUpdate("h", public_properties={"a": "1", "z": REMOVED}),
                                HandleUpdate("h", alternate_id="me=1"),
                                HandleUpdate("h", alternate_id="  ")]), h)
    assert codes(result.updated) == [("h", None)] * 3
    assert result.changes == ()


def test_an_alternate_id_cannot_change_once_set_but_can_be_set_later() -> None:
    fixed, unset = handle("fixed", alternate_id="me=1"), handle("unset")
    result = run(Batch(updated=[HandleUpdate("fixed", alternate_id="me=2"),
                                HandleUpdate("unset", alternate_id="me=3")]), fixed, unset)
    assert codes(result.updated) == [("fixed", R.CM_HANDLE_ALREADY_EXIST), ("unset", None)]
    assert [c.new for c in result.changes] == [replace(unset, alternate_id="me=3")]


def test_an_alternate_id_is_unique_across_inventory_and_batch() -> None:
    other = handle("other", B, alternate_id="me=1")
    result = run(Batch(
        created=[NewHandle("a", alternate_id="me=1"),    # another plugin's handle has it
                 NewHandle("b", alternate_id="alt-2"),
                 NewHandle("c", alternate_id="alt-2"),   # b took it earlier in this batch
                 NewHandle("d", alternate_id="other"),   # another handle's id
                 NewHandle("alt-2"),                     # b's alternate id as an id
                 NewHandle("e", alternate_id="e")],      # its own id: harmless
        updated=[HandleUpdate("mine", alternate_id="alt-2")]), other, handle("mine"))
    assert codes(result.created) == [
        ("a", R.CM_HANDLE_ALREADY_EXIST), ("b", None), ("c", R.CM_HANDLE_ALREADY_EXIST),
        ("d", R.CM_HANDLE_ALREADY_EXIST), ("alt-2", R.CM_HANDLE_ALREADY_EXIST), ("e", None)]
    assert codes(result.updated) == [("mine", R.CM_HANDLE_ALREADY_EXIST)]
    named = run(Batch(created=[NewHandle("me-1")]), replace(other, alternate_id="me-1"))
    assert codes(named.created) == [("me-1", R.CM_HANDLE_ALREADY_EXIST)]
    # an owner the caller did not load is taken to hold its alternate id
    unloaded = update_registration(A, Batch(created=[NewHandle("z", alternate_id="me=7")]), {},
                                   {"me=7": "elsewhere"})
    assert codes(unloaded.created) == [("z", R.CM_HANDLE_ALREADY_EXIST)]


def test_a_deleted_handle_frees_its_id_and_alternate_id() -> None:
    gone = deleted(remove(handle("gone", alternate_id="me=1")))
    result = run(Batch(created=[NewHandle("gone"), NewHandle("new", alternate_id="me=1")],
                       updated=[HandleUpdate("gone")]), gone)
    assert codes(result.created) == [("gone", None), ("new", None)]
    assert codes(result.updated) == [("gone", None)]
    assert [c.old for c in result.changes] == [None, None]


def test_a_plugin_touches_only_its_own_handles() -> None:
    theirs = handle("theirs", B)
    result = run(Batch(updated=[HandleUpdate("theirs")], removed=["theirs"],
                       upgraded=[Upgrade("theirs", "t2")]), theirs)
    for section in (result.updated, result.removed, result.upgraded):
        assert codes(section) == [("theirs", R.CM_HANDLES_NOT_FOUND)]
    assert result.changes == ()


def test_upgrade_rules() -> None:
    ready, advised = handle("ready"), handle("advised", ready=False)
    locked = sync_failed(handle("locked", ready=False), 1)
    result = run(Batch(upgraded=[Upgrade("ready", "t1"), Upgrade("advised", "t2"),
                                 Upgrade("locked", "t2"), Upgrade("ready", "t2"),
                                 Upgrade("ready", "t3")]), ready, advised, locked)
    assert codes(result.upgraded) == [
        ("ready", None), ("advised", R.CM_HANDLES_NOT_READY), ("locked", R.CM_HANDLES_NOT_READY),
        ("ready", None), ("ready", R.CM_HANDLES_NOT_READY)]
    assert [(c.new.id, c.new.module_set_tag) for c in result.changes] == [("ready", "t2")]


# -- one bad handle never fails the rest -----------------------------------------------------------

IDS = st.sampled_from(["h1", "h2", "h3", "h4", "bad id"])
ALTS = st.sampled_from(["", "", "me=1", "me=2", "h1"])
PROPS = st.dictionaries(st.sampled_from("abc"), st.sampled_from(["1", "2"]), max_size=2)
CHANGES = st.dictionaries(st.sampled_from("abc"), st.sampled_from(["1", "2", REMOVED]),
                          max_size=2)


@st.composite
def inventories(draw: st.DrawFn) -> list[CmHandle]:
    out = []
    alternate_ids: set[str] = set()
    for handle_id in draw(st.lists(st.sampled_from(["h1", "h2", "h3"]), unique=True)):
        alt = draw(ALTS)
        alt = "" if alt in alternate_ids or alt in {"h1", "h2", "h3"} else alt
        alternate_ids.add(alt)
        h = handle(handle_id, draw(st.sampled_from([A, B])), ready=draw(st.booleans()),
                   alternate_id=alt, public_properties=draw(PROPS))
        out.append(draw(st.sampled_from([h, remove(h), deleted(remove(h))])))
    return out


BATCHES = st.builds(
    Batch,
    created=st.lists(st.builds(NewHandle, IDS, public_properties=PROPS, alternate_id=ALTS),
                     max_size=4),
    updated=st.lists(st.builds(HandleUpdate, IDS, public_properties=CHANGES, alternate_id=ALTS),
                     max_size=4),
    removed=st.lists(IDS, max_size=3),
    upgraded=st.lists(st.builds(Upgrade, IDS, st.sampled_from(["t1", "t2"])), max_size=3),
)
SECTIONS = ("created", "updated", "removed", "upgraded")


@settings(database=None, derandomize=True, max_examples=300)
@given(inventories(), BATCHES, st.data())
def test_a_refused_entry_has_no_effect_on_the_others(
    handles: list[CmHandle], batch: Batch, data: st.DataObject
) -> None:
    result = run(batch, *handles)
    for section in SECTIONS:
        assert [r.id for r in getattr(result, section)] == [
            e if isinstance(e, str) else e.id for e in getattr(batch, section)]
    refused = [(s, i) for s in SECTIONS for i, r in enumerate(getattr(result, s)) if not r.ok]
    if refused:
        section, index = data.draw(st.sampled_from(refused))
        entries = list(getattr(batch, section))
        del entries[index]
        without = run(replace(batch, **{section: entries}), *handles)
        expected = list(getattr(result, section))
        del expected[index]
        assert getattr(without, section) == tuple(expected)
        for other in SECTIONS:
            if other != section:
                assert getattr(without, other) == getattr(result, other)
        assert without.changes == result.changes
    final = {h.id: h for h in handles} | new_by_id(result)
    live = [h for h in final.values() if h.state is not S.DELETED]
    alternate_ids = [h.alternate_id for h in live if h.alternate_id]
    assert len(alternate_ids) == len(set(alternate_ids))
    assert not {a for h in live if (a := h.alternate_id) and a != h.id} & {h.id for h in live}
    for change in result.changes:
        assert change.new.dmi_plugin == A or change.old == change.new


# -- Reregister ------------------------------------------------------------------------------------


def test_reregister_creates_updates_and_leaves_the_unlisted_at_trust_none() -> None:
    kept = handle("kept", public_properties={"old": "1"}, dmi_properties={"pw": "x"},
                  trust=TrustLevel.NONE)
    dropped, dropped_before = handle("dropped"), handle("dropped-before", trust=TrustLevel.NONE)
    theirs, gone = handle("theirs", B), deleted(remove(handle("gone")))
    result = reregister(A, [NewHandle("kept", public_properties={"new": "2"}, module_set_tag="t1"),
                            NewHandle("fresh", alternate_id="me=5")],
                        *inventory(kept, dropped, dropped_before, theirs, gone))
    assert codes(result.results) == [("kept", None), ("fresh", None)]
    assert (result.created, result.updated) == (("fresh",), ("kept",))
    assert result.untrusted == ("dropped", "dropped-before")
    assert result.changes == (
        Change(kept, replace(kept, public_properties={"new": "2"}, dmi_properties={},
                             trust=TrustLevel.COMPLETE)),
        Change(None, replace(register("fresh", A), alternate_id="me=5")),
        Change(dropped, replace(dropped, trust=TrustLevel.NONE)),
    )


def test_reregister_with_a_new_tag_upgrades_a_ready_handle_and_retags_a_syncing_one() -> None:
    ready, syncing = handle("ready"), handle("syncing", ready=False)
    result = reregister(A, [NewHandle("ready", module_set_tag="t2"),
                            NewHandle("syncing", module_set_tag="t2")],
                        *inventory(ready, syncing))
    new = new_by_id(result)
    assert (new["ready"].state, new["ready"].lock_reason) == (S.LOCKED, LockReason.MODULE_UPGRADE)
    assert (new["syncing"].state, new["syncing"].module_set_tag) == (S.ADVISED, "t2")


def test_reregister_refusals() -> None:
    theirs, fixed = handle("theirs", B), handle("fixed", alternate_id="me=1")
    deleting = remove(handle("deleting"))
    result = reregister(A, [NewHandle("dup"), NewHandle("dup"), NewHandle("theirs"),
                            NewHandle("fixed", alternate_id="me=2"), NewHandle("deleting"),
                            NewHandle("bad:id")],
                        *inventory(theirs, fixed, deleting))
    assert codes(result.results) == [
        ("dup", None), ("dup", R.CM_HANDLE_ALREADY_EXIST), ("theirs", R.CM_HANDLE_ALREADY_EXIST),
        ("fixed", R.CM_HANDLE_ALREADY_EXIST), ("deleting", R.CM_HANDLE_ALREADY_EXIST),
        ("bad:id", R.CM_HANDLE_INVALID_ID)]
    # a refused existing handle was not re-registered: it is not trusted
    assert result.untrusted == ("fixed",)
    assert result.created == ("dup",)

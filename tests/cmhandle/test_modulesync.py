"""Module sync planning: which handles are due, one fetch per (plugin, module-set tag), and the
retry backoff of locked handles."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard.server.cmhandle.model import (
    CmHandle,
    ModuleRef,
    register,
    remove,
    sync_failed,
    synced,
    upgrade,
)
from switchboard.server.cmhandle.modulesync import MICROS, Backoff, FetchGroup, due, plan

A, B = "dmi-a:50051", "dmi-b:50051"
NOW = 1_800_000_000 * MICROS
BACKOFF = Backoff(base=10 * MICROS, cap=60 * MICROS)
MODULES = [ModuleRef("m", "2024-01-01")]


def advised(handle_id: str, plugin: str = A, tag: str = "") -> CmHandle:
    return register(handle_id, plugin, module_set_tag=tag)


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [BACKOFF.delay(n) // MICROS for n in range(1, 7)] == [10, 20, 40, 60, 60, 60]
    assert BACKOFF.delay(10_000) == 60 * MICROS
    assert BACKOFF.next_attempt(2, failed_at=NOW) == NOW + 20 * MICROS
    assert Backoff().delay(1) == 30 * MICROS and Backoff().delay(100) == 30 * 60 * MICROS


def test_backoff_rejects_nonsense() -> None:
    for base, cap in ((0, 10), (20, 10), (-1, 5)):
        with pytest.raises(ValueError):
            Backoff(base, cap)
    with pytest.raises(ValueError):
        BACKOFF.delay(0)


def test_due() -> None:
    ready = synced(advised("r"), MODULES)
    assert due(advised("a"), NOW, BACKOFF)
    assert due(upgrade(ready, "t2"), NOW, BACKOFF)
    assert not due(ready, NOW, BACKOFF)
    assert not due(remove(advised("d")), NOW, BACKOFF)
    failed_twice = sync_failed(sync_failed(advised("f"), NOW - 100 * MICROS), NOW)
    upgrade_failed = sync_failed(upgrade(ready, "t2"), NOW)
    for h, wait in ((failed_twice, 20), (upgrade_failed, 10)):
        assert not due(h, NOW + wait * MICROS - 1, BACKOFF)
        assert due(h, NOW + wait * MICROS, BACKOFF)


def test_plan_groups_by_plugin_and_tag_and_leaves_untagged_alone() -> None:
    ready = synced(advised("ready", tag="t1"), MODULES)
    handles = [
        advised("a3", tag="t1"), advised("a1", tag="t1"), advised("a2", tag="t2"),
        advised("b1", B, tag="t1"), advised("u2"), advised("u1"), advised("b-u", B),
        upgrade(ready, "t2"),  # upgrading: shares the fetch of t2
        sync_failed(advised("later", tag="t1"), NOW),  # not due yet
        synced(advised("done", tag="t1"), MODULES),
    ]
    assert plan(handles, NOW, BACKOFF) == [
        FetchGroup(A, "", ("u1",)),
        FetchGroup(A, "", ("u2",)),
        FetchGroup(A, "t1", ("a1", "a3")),
        FetchGroup(A, "t2", ("a2", "ready")),
        FetchGroup(B, "", ("b-u",)),
        FetchGroup(B, "t1", ("b1",)),
    ]
    later = plan(handles, NOW + 10 * MICROS, BACKOFF)
    assert FetchGroup(A, "t1", ("a1", "a3", "later")) in later


HANDLES = st.lists(
    st.builds(
        lambda i, plugin, tag, failures, ready: _variant(f"h{i}", plugin, tag, failures, ready),
        st.integers(0, 40), st.sampled_from([A, B]), st.sampled_from(["", "t1", "t2"]),
        st.integers(0, 3), st.booleans(),
    ),
    unique_by=lambda h: h.id,
)


def _variant(handle_id: str, plugin: str, tag: str, failures: int, ready: bool) -> CmHandle:
    h = advised(handle_id, plugin, tag)
    for k in range(failures):
        h = sync_failed(h, NOW - 15 * MICROS * k)
    return synced(h, MODULES) if ready else h


@settings(database=None, derandomize=True, max_examples=200)
@given(HANDLES, st.randoms(use_true_random=False))
def test_every_due_handle_is_in_exactly_one_fetch_whatever_the_order(
    handles: list[CmHandle], rnd: random.Random
) -> None:
    groups = plan(handles, NOW, BACKOFF)
    shuffled = list(handles)
    rnd.shuffle(shuffled)
    assert plan(shuffled, NOW, BACKOFF) == groups
    members = [i for g in groups for i in g.handle_ids]
    assert sorted(members) == sorted(h.id for h in handles if due(h, NOW, BACKOFF))
    by_id = {h.id: h for h in handles}
    for g in groups:
        assert {(by_id[i].dmi_plugin, by_id[i].module_set_tag) for i in g.handle_ids} == {
            (g.dmi_plugin, g.module_set_tag)}
        assert g.module_set_tag or len(g.handle_ids) == 1

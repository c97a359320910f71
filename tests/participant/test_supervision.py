"""Tests of participant supervision: ownership of element types, liveness, replica choice."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard.server.participant.supervision import (
    ElementTypeOwned,
    ParticipantView,
    Readiness,
    Registration,
    Supervisor,
)

BOUND = 30


def test_registration_and_ownership() -> None:
    s = Supervisor(BOUND)
    assert s.register("k8s-ppnt", "r1", ["k8s", "helm"], 0) == Registration(rejoined=False)
    assert s.register("k8s-ppnt", "r2", ["k8s"], 0) == Registration(rejoined=True)
    assert s.register("http-ppnt", "r1", ["http"], 0) == Registration(rejoined=False)
    assert s.owner("k8s") == s.owner("helm") == "k8s-ppnt"
    assert s.owner("http") == "http-ppnt"
    assert s.owner("policy") is None


def test_a_second_participant_claiming_an_owned_type_is_refused() -> None:
    s = Supervisor(BOUND)
    s.register("k8s-ppnt", "r1", ["k8s"], 0)
    s.register("http-ppnt", "r1", ["http"], 0)
    with pytest.raises(ElementTypeOwned) as refused:
        s.register("intruder", "r1", ["policy", "k8s", "http"], 0)
    assert refused.value.conflicts == {"http": "http-ppnt", "k8s": "k8s-ppnt"}
    assert str(refused.value) == (
        "element type 'http' belongs to participant 'http-ppnt'; "
        "element type 'k8s' belongs to participant 'k8s-ppnt'"
    )
    assert s.owner("policy") is None  # nothing was registered
    assert [p.id for p in s.participants(0)] == ["http-ppnt", "k8s-ppnt"]


def test_liveness_follows_the_heartbeat_bound() -> None:
    s = Supervisor(BOUND)
    s.register("p", "r1", ["t"], 0)
    s.register("p", "r2", ["t"], 10)
    assert s.participants(BOUND) == (ParticipantView("p", frozenset({"t"}), ("r1", "r2"), ()),)
    (view,) = s.participants(BOUND + 1)
    assert (view.online_replicas, view.offline_replicas, view.online) == (("r2",), ("r1",), True)
    (view,) = s.participants(BOUND + 11)
    assert (view.online_replicas, view.offline_replicas, view.online) == ((), ("r1", "r2"), False)
    assert view.element_types == {"t"}  # an offline participant keeps its types
    assert s.touch("p", "r1", BOUND + 11)
    assert s.touch("p", "r1", 0)  # an older time never ages a replica
    (view,) = s.participants(BOUND + 12)
    assert view.online_replicas == ("r1",)
    assert not s.touch("p", "r9", 0)
    assert not s.touch("q", "r1", 0)


def test_readiness_names_missing_and_offline_participants() -> None:
    s = Supervisor(BOUND)
    s.register("k8s-ppnt", "r1", ["k8s"], 0)
    s.register("http-ppnt", "r1", ["http"], 20)
    assert s.readiness(["k8s", "http"], BOUND) == Readiness(frozenset(), frozenset())
    assert s.readiness(["k8s", "http"], BOUND).ok
    later = s.readiness(["k8s", "http", "policy"], BOUND + 1)
    assert later == Readiness(unowned=frozenset({"policy"}), offline=frozenset({"k8s-ppnt"}))
    assert not later.ok
    assert s.readiness([], 10**9).ok


def test_replicas_share_work_least_recently_picked_first() -> None:
    s = Supervisor(BOUND)
    for replica in ("r2", "r1", "r3"):
        s.register("p", replica, ["t"], 0)
    assert [s.pick_replica("p", 0) for _ in range(6)] == ["r1", "r2", "r3"] * 2
    s.touch("p", "r1", 20)
    s.touch("p", "r3", 20)
    assert [s.pick_replica("p", BOUND + 1) for _ in range(3)] == ["r1", "r3", "r1"]  # r2 offline
    s.register("p", "r0", ["t"], 25)
    assert s.pick_replica("p", BOUND + 1) == "r0"  # never picked yet
    assert s.pick_replica("p", 10**9) is None
    assert s.pick_replica("nobody", 0) is None


def test_deregistering_the_last_replica_releases_the_types() -> None:
    s = Supervisor(BOUND)
    s.register("p", "r1", ["t", "u"], 0)
    s.register("p", "r2", ["t"], 0)
    assert s.deregister("p", "r1")
    assert s.owner("t") == "p" and s.owner("u") is None  # only r1 declared u
    assert not s.deregister("p", "r1")
    assert s.deregister("p", "r2")
    assert s.participants(0) == ()
    assert s.register("q", "r1", ["t"], 0) == Registration(rejoined=False)
    assert s.owner("t") == "q"
    assert not s.deregister("p", "r2")


def test_bound_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        Supervisor(0)


participants = st.sampled_from(["p", "q", "r"])
replicas = st.sampled_from(["1", "2"])
types = st.sets(st.sampled_from(["a", "b", "c", "d"]), max_size=3)
operations = st.lists(
    st.tuples(st.booleans(), participants, replicas, types, st.integers(0, 100)), max_size=40
)


@settings(database=None, derandomize=True, max_examples=200)
@given(operations)
def test_each_type_has_at_most_one_owner(ops: list[tuple[bool, str, str, set[str], int]]) -> None:
    """After any registrations and deregistrations, a type belongs to the one participant among
    whose replicas' declarations it appears, and picks go to live replicas only."""
    s = Supervisor(BOUND)
    declared: dict[tuple[str, str], set[str]] = {}
    for register, participant, replica, element_types, now in ops:
        if register:
            holders = {
                p for (p, _), ts in declared.items() if p != participant and ts & element_types
            }
            try:
                s.register(participant, replica, element_types, now)
            except ElementTypeOwned as refused:
                assert holders and set(refused.conflicts.values()) == holders
                continue
            assert not holders
            declared[participant, replica] = element_types
        else:
            assert s.deregister(participant, replica) == ((participant, replica) in declared)
            declared.pop((participant, replica), None)
        for t in "abcd":
            owners = {p for (p, _), ts in declared.items() if t in ts}
            assert len(owners) <= 1
            assert s.owner(t) == (owners.pop() if owners else None)
        for view in s.participants(now):
            picked = s.pick_replica(view.id, now)
            assert picked in view.online_replicas or (picked is None and not view.online)

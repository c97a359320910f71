"""Participants and their replicas: element-type ownership, liveness, and which replica to message.

A participant registers one replica at a time (participant id, replica id, element types). An
element type belongs to one participant: a participant's types are those its replicas declared,
and a type another participant holds is refused (`ElementTypeOwned`, naming the owner; nothing
changes). Replicas of a participant are alike and share its work: each message goes to one live
replica, the least recently picked (ties by replica id), so the choice is deterministic.

Liveness by the clock passed in (integer microseconds): a replica is online while its last
registration, heartbeat or message is at most `heartbeat_bound_us` old, offline after; a
participant is online while any of its replicas is. An offline replica keeps its place and its
participant keeps its types, so a restarted participant takes its work back. A participant
also keeps the types it no longer declares (its last replica deregistered, as a pod does when it
stops cleanly) while they are in use (`in_use`: a composition that is not merely commissioned
has an element of the type, so something primed or deployed depends on it): they are
*retained*, the participant is listed with no replicas, actions needing it find it offline, and
no other participant may claim them; registering again (whatever the gap) is a rejoin, with a
sync. A retained type no longer in use is released when another participant claims it.

A supervisor is a snapshot: the runtime builds one from the stored replicas (`of`, each as a
`ReplicaRecord`) for each transaction, and stores back the records it changed (`record`);
a participant's retained types are one more record, with replica id `RETAINED`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

RETAINED = ""
"""The replica id of the record holding a participant's retained element types (registered
replica ids are never empty)."""


class ElementTypeOwned(Exception):
    """Element types a registration claims that other participants hold (type -> owner)."""

    def __init__(self, conflicts: Mapping[str, str]) -> None:
        self.conflicts = dict(sorted(conflicts.items()))
        super().__init__(
            "; ".join(
                f"element type {t!r} belongs to participant {p!r}"
                for t, p in self.conflicts.items()
            )
        )


@dataclass(frozen=True)
class Registration:
    """`rejoined`: the participant was registered already (another replica, or this one before a
    restart), so the registering replica is to be sent a sync of what the participant owns."""

    rejoined: bool
    released: frozenset[str] = field(default=frozenset(), compare=False)
    """Other participants whose retained types (no longer in use) this registration took."""


@dataclass(frozen=True)
class ParticipantView:
    """A participant as listed: its element types and its replicas, online and offline."""

    id: str
    element_types: frozenset[str]
    online_replicas: tuple[str, ...]
    offline_replicas: tuple[str, ...]

    @property
    def online(self) -> bool:
        return bool(self.online_replicas)


@dataclass(frozen=True)
class Readiness:
    """Whether an action needing some element types can proceed: every type has an owner
    (`unowned` names those without) and every owner is online (`offline` names those not)."""

    unowned: frozenset[str]
    offline: frozenset[str]

    @property
    def ok(self) -> bool:
        return not self.unowned and not self.offline


@dataclass
class _Replica:
    element_types: frozenset[str]
    last_seen_us: int
    last_picked: int = -1


@dataclass(frozen=True)
class ReplicaRecord:
    """A registered replica as stored: its types, when it was last seen, and the pick count
    when it was last picked (-1: never)."""

    participant_id: str
    replica_id: str
    element_types: frozenset[str]
    last_seen_us: int
    last_picked: int = -1


class Supervisor:
    """The registered participants and replicas of one server."""

    def __init__(self, heartbeat_bound_us: int) -> None:
        if heartbeat_bound_us <= 0:
            raise ValueError("heartbeat bound must be positive")
        self.heartbeat_bound_us = heartbeat_bound_us
        self._replicas: dict[str, dict[str, _Replica]] = {}
        self._retained: dict[str, frozenset[str]] = {}
        self._owners: dict[str, str] = {}
        self._picks = 0

    @classmethod
    def of(cls, heartbeat_bound_us: int, records: Iterable[ReplicaRecord]) -> Supervisor:
        """A supervisor holding the replicas recorded (see `record`)."""
        s = cls(heartbeat_bound_us)
        for r in records:
            if r.replica_id == RETAINED:
                s._retained[r.participant_id] = r.element_types
                continue
            s._replicas.setdefault(r.participant_id, {})[r.replica_id] = _Replica(
                r.element_types, r.last_seen_us, r.last_picked)
            s._picks = max(s._picks, r.last_picked + 1)
        for participant_id in s._replicas.keys() | s._retained.keys():
            s._reown(participant_id)
        return s

    def record(self, participant_id: str, replica_id: str) -> ReplicaRecord | None:
        """A registered replica as it is now, to store; None if it is not registered."""
        replica = self._replicas.get(participant_id, {}).get(replica_id)
        if replica is None:
            return None
        return ReplicaRecord(participant_id, replica_id, replica.element_types,
                             replica.last_seen_us, replica.last_picked)

    def retained(self, participant_id: str) -> frozenset[str]:
        """The types `participant_id` holds without a replica declaring them (to store as its
        `RETAINED` record; none: no record)."""
        return self._retained.get(participant_id, frozenset())

    def replica_count(self, participant_id: str) -> int:
        """How many replicas `participant_id` has registered, online or not."""
        return len(self._replicas.get(participant_id, {}))

    def element_types_of(self, participant_id: str) -> frozenset[str]:
        """The element types `participant_id` holds (none if it is not registered)."""
        return frozenset(t for t, p in self._owners.items() if p == participant_id)

    def register(
        self, participant_id: str, replica_id: str, element_types: Iterable[str], now_us: int,
        in_use: Collection[str] = frozenset(),
    ) -> Registration:
        """Register (or re-register) a replica, seen at `now_us`; `ElementTypeOwned` if another
        participant holds one of `element_types` (declared, or retained and `in_use`; one
        retained and not in use is released to this participant)."""
        types = frozenset(element_types)
        conflicts = {
            t: owner
            for t in types
            if (owner := self._owners.get(t)) is not None and owner != participant_id
            and (t in in_use or t in self._declared(owner))
        }
        if conflicts:
            raise ElementTypeOwned(conflicts)
        released = frozenset(p for t in types if (p := self._owners.get(t)) is not None
                             and p != participant_id)
        for other in released:
            self._set_retained(other, self.retained(other) - types)
        rejoined = participant_id in self._replicas or participant_id in self._retained
        replicas = self._replicas.setdefault(participant_id, {})
        replicas[replica_id] = _Replica(types, now_us)
        self._set_retained(participant_id, (self.retained(participant_id) & frozenset(in_use))
                           - self._declared(participant_id))
        return Registration(rejoined, released)

    def deregister(self, participant_id: str, replica_id: str,
                   in_use: Collection[str] = frozenset()) -> bool:
        """Remove a replica; the types its participant no longer declares are retained while
        `in_use`, released otherwise (with its last replica and none retained, the participant
        is gone). False if unknown."""
        replicas = self._replicas.get(participant_id, {})
        if replicas.pop(replica_id, None) is None:
            return False
        held = self.element_types_of(participant_id)
        if not replicas:
            del self._replicas[participant_id]
        self._set_retained(participant_id,
                           (held & frozenset(in_use)) - self._declared(participant_id))
        return True

    def touch(self, participant_id: str, replica_id: str, now_us: int) -> bool:
        """A heartbeat or other message from a replica at `now_us`; False if not registered."""
        replica = self._replicas.get(participant_id, {}).get(replica_id)
        if replica is None:
            return False
        replica.last_seen_us = max(replica.last_seen_us, now_us)
        return True

    def owner(self, element_type: str) -> str | None:
        """The participant holding `element_type`, if any."""
        return self._owners.get(element_type)

    def participants(self, now_us: int) -> tuple[ParticipantView, ...]:
        """Every registered participant at `now_us` (and those retaining types), by id."""
        return tuple(self._view(p, now_us)
                     for p in sorted(self._replicas.keys() | self._retained.keys()))

    def online(self, participant_id: str, now_us: int) -> bool:
        """Whether a replica of `participant_id` is online at `now_us`."""
        return self._online(participant_id, now_us)

    def readiness(self, element_types: Iterable[str], now_us: int) -> Readiness:
        """Whether every participant an action on `element_types` needs is online at `now_us`."""
        types = set(element_types)
        owners = {self._owners[t] for t in types if t in self._owners}
        return Readiness(
            unowned=frozenset(t for t in types if t not in self._owners),
            offline=frozenset(p for p in owners if not self._online(p, now_us)),
        )

    def pick_replica(self, participant_id: str, now_us: int) -> str | None:
        """The online replica to send the participant's next message to, the least recently
        picked (ties by replica id); None if the participant has no online replica."""
        live = [
            (replica.last_picked, replica_id, replica)
            for replica_id, replica in self._replicas.get(participant_id, {}).items()
            if self._alive(replica, now_us)
        ]
        if not live:
            return None
        _, replica_id, replica = min(live, key=lambda entry: entry[:2])
        replica.last_picked = self._picks
        self._picks += 1
        return replica_id

    def _alive(self, replica: _Replica, now_us: int) -> bool:
        return now_us - replica.last_seen_us <= self.heartbeat_bound_us

    def _online(self, participant_id: str, now_us: int) -> bool:
        return any(self._alive(r, now_us)
                   for r in self._replicas.get(participant_id, {}).values())

    def _view(self, participant_id: str, now_us: int) -> ParticipantView:
        replicas = sorted(self._replicas.get(participant_id, {}).items())
        return ParticipantView(
            id=participant_id,
            element_types=frozenset(t for t, p in self._owners.items() if p == participant_id),
            online_replicas=tuple(r for r, rec in replicas if self._alive(rec, now_us)),
            offline_replicas=tuple(r for r, rec in replicas if not self._alive(rec, now_us)),
        )

    def _declared(self, participant_id: str) -> frozenset[str]:
        """The types the replicas of `participant_id` declare."""
        return frozenset().union(*(
            r.element_types for r in self._replicas.get(participant_id, {}).values()))

    def _set_retained(self, participant_id: str, types: frozenset[str]) -> None:
        if types:
            self._retained[participant_id] = types
        else:
            self._retained.pop(participant_id, None)
        self._reown(participant_id)

    def _reown(self, participant_id: str) -> None:
        """Recompute which element types `participant_id` holds from its replicas and what it
        retains."""
        self._owners = {t: p for t, p in self._owners.items() if p != participant_id}
        self._owners.update(dict.fromkeys(self.retained(participant_id), participant_id))
        self._owners.update(dict.fromkeys(self._declared(participant_id), participant_id))

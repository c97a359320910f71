"""Composition and instance changes with their events: the one way a row and its event are
written together. Callers lock the rows they change before taking revisions (the event head is
locked last). Each event carries its resource's project and the principal that caused it
(`Transaction.principal`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from switchboard.participant.v1 import participant_pb2 as pb
from switchboard.server.eventlog import Transaction
from switchboard.server.participant import store
from switchboard.server.participant.convert import composition_pb, instance_pb
from switchboard.server.participant.states import DeployState
from switchboard.server.participant.store import Composition, Instance
from switchboard.server.timestamps import from_micros

AREA = "participant"
COMPOSITION_KINDS = ("composition.created", "composition.changed", "composition.deleted")
INSTANCE_KINDS = ("instance.created", "instance.changed", "instance.deleted")


def _composition_event(tx: Transaction, revision: int, kind: str, c: Composition,
                       type_: pb.CompositionEventType) -> None:
    event = pb.CompositionEvent(revision=revision, type=type_, composition=composition_pb(c),
                                time=from_micros(tx.now), caused_by=tx.principal)
    tx.append(revision, AREA, kind, c.id, "", event.SerializeToString(), project=c.project)


def _instance_event(tx: Transaction, revision: int, kind: str, i: Instance,
                    type_: pb.InstanceEventType) -> None:
    event = pb.InstanceEvent(revision=revision, type=type_, instance=instance_pb(i),
                             time=from_micros(tx.now), caused_by=tx.principal)
    tx.append(revision, AREA, kind, i.id, i.composition_id, event.SerializeToString(),
              project=i.project)


async def create_composition(tx: Transaction, c: Composition) -> Composition:
    revision = await tx.next_revision()
    created = replace(c, create_time=tx.now, update_time=tx.now, created_revision=revision,
                      revision=revision)
    await store.insert_composition(tx.conn, created)
    _composition_event(tx, revision, "composition.created", created,
                       pb.COMPOSITION_EVENT_TYPE_CREATED)
    return created


async def save_composition(tx: Transaction, c: Composition) -> Composition:
    """Writes a changed composition (its row locked already) with its event."""
    revision = await tx.next_revision()
    changed = replace(c, update_time=tx.now, revision=revision)
    await store.save_composition(tx.conn, changed)
    _composition_event(tx, revision, "composition.changed", changed,
                       pb.COMPOSITION_EVENT_TYPE_CHANGED)
    return changed


async def delete_composition(tx: Transaction, c: Composition) -> None:
    revision = await tx.next_revision()
    await store.delete_composition(tx.conn, c.id)
    _composition_event(tx, revision, "composition.deleted", c, pb.COMPOSITION_EVENT_TYPE_DELETED)


async def create_instance(tx: Transaction, i: Instance) -> Instance:
    revision = await tx.next_revision()
    created = replace(i, create_time=tx.now, update_time=tx.now, created_revision=revision,
                      revision=revision)
    await store.insert_instance(tx.conn, created)
    _instance_event(tx, revision, "instance.created", created, pb.INSTANCE_EVENT_TYPE_CREATED)
    return created


async def save_instances(tx: Transaction, changed: Sequence[Instance],
                         caused_by: Mapping[str, str]) -> list[Instance]:
    """Writes several changed instances (their rows locked already) with their events, taking
    their revisions at once (see `save_instance`); `caused_by`: per instance id, the principal
    its event records."""
    if not changed:
        return []
    revisions = await tx.next_revisions(len(changed))
    updated, saved = [], []
    for i, revision in zip(changed, revisions, strict=True):
        i = replace(i, update_time=tx.now, revision=revision)
        saved.append(i)
        with tx.acting(caused_by[i.id]):
            if i.deploy is DeployState.DELETED:
                await store.delete_instance(tx.conn, i.id)
                _instance_event(tx, revision, "instance.deleted", i,
                                pb.INSTANCE_EVENT_TYPE_DELETED)
            else:
                updated.append(i)
                _instance_event(tx, revision, "instance.changed", i,
                                pb.INSTANCE_EVENT_TYPE_CHANGED)
    await store.save_instances(tx.conn, updated)
    return saved


async def save_instance(tx: Transaction, i: Instance) -> Instance:
    """Writes a changed instance (its row locked already) with its event; an instance that
    reached DELETED is removed, its event showing it DELETED."""
    revision = await tx.next_revision()
    changed = replace(i, update_time=tx.now, revision=revision)
    if changed.deploy is DeployState.DELETED:
        await store.delete_instance(tx.conn, i.id)
        _instance_event(tx, revision, "instance.deleted", changed, pb.INSTANCE_EVENT_TYPE_DELETED)
    else:
        await store.save_instance(tx.conn, changed)
        _instance_event(tx, revision, "instance.changed", changed, pb.INSTANCE_EVENT_TYPE_CHANGED)
    return changed

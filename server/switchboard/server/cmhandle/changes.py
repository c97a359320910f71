"""Handle changes with their events: the one way a handle row and its LCM and trust events are
written together. Each event records the principal that caused it (`Transaction.principal`: the
DMI plugin whose call it is, or the server for module sync, deletions and health checks); CM
handles belong to no project (`ownership.Visibility.PUBLIC`).

Every CM handle write transaction first takes `area_lock` (on PostgreSQL a transaction-level
advisory lock; SQLite serializes writers already): registrations check ids and alternate ids
against the whole inventory, so they are serialized with each other and with the workers; the
event head is locked after it, by `next_revisions`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text

from switchboard.cmhandle.v1 import cmhandle_pb2 as pb
from switchboard.server.cmhandle import store
from switchboard.server.cmhandle.convert import TRUST_TO_PB, lcm_event_pb
from switchboard.server.cmhandle.lcm import lcm_event
from switchboard.server.cmhandle.model import CmHandle, HandleState, TrustLevel
from switchboard.server.eventlog import Transaction
from switchboard.server.timestamps import from_micros

AREA = "cmhandle"
LCM_KIND = "cmhandle.lcm"
TRUST_KIND = "cmhandle.trust"
_LOCK_KEY = 0x636D68616E646C  # "cmhandl"


async def area_lock(tx: Transaction) -> None:
    """Serializes CM handle writers (see the module's docstring)."""
    if tx.conn.dialect.name == "postgresql":
        await tx.conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})


@dataclass(frozen=True)
class Write:
    """One handle going from `old` (None: new) to `new` (DELETED: its rows go), with the
    effective trust before (None: new) and after."""

    old: CmHandle | None
    new: CmHandle
    old_effective: TrustLevel | None
    effective: TrustLevel


def _trust_pb(trust: TrustLevel | None) -> pb.TrustLevel:
    return pb.TRUST_LEVEL_UNSPECIFIED if trust is None else TRUST_TO_PB[trust]


async def write(tx: Transaction, writes: Sequence[Write]) -> None:
    """Writes the handles and appends their events: an LCM event per change an application
    sees (lcm.lcm_event), and a trust event per change of a handle's effective trust, also
    from not existing (a new handle: old unspecified) and to it (DELETED: new unspecified),
    each caused by the transaction's principal. Rows must be locked already (area_lock)."""
    payloads: list[tuple[str, str, pb.LcmEvent | pb.TrustLevelEvent]] = []
    gone: list[str] = []
    kept: list[tuple[CmHandle | None, CmHandle, TrustLevel]] = []
    for w in writes:
        event = lcm_event(w.old, w.new, tx.now, lambda: str(uuid.uuid4()))
        if event is not None:
            payloads.append((LCM_KIND, w.new.id, lcm_event_pb(event, 0)))
        after = None if w.new.state is HandleState.DELETED else w.effective
        if w.old_effective is not after:
            payloads.append((TRUST_KIND, w.new.id, pb.TrustLevelEvent(
                cm_handle_id=w.new.id, old_trust_level=_trust_pb(w.old_effective),
                trust_level=_trust_pb(after), time=from_micros(tx.now))))
        if w.new.state is HandleState.DELETED:
            gone.append(w.new.id)
        else:
            kept.append((w.old, w.new, w.effective))
    await store.write(tx.conn, kept)
    if gone:
        await store.remove(tx.conn, gone)
    if not payloads:
        return
    for (kind, key, message), revision in zip(
            payloads, await tx.next_revisions(len(payloads)), strict=True):
        message.revision = revision
        message.caused_by = tx.principal
        tx.append(revision, AREA, kind, key, "", message.SerializeToString())

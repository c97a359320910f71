"""The inventory's writes, each one transaction: registrations, re-registrations, device and
plugin trust, heartbeat expiry, module- and data-sync outcomes and deletions; each handle with
its events (`changes`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from switchboard.server.cmhandle import changes, store
from switchboard.server.cmhandle.changes import Write, area_lock
from switchboard.server.cmhandle.model import (
    HandleState,
    ModuleRef,
    ResultCode,
    TrustLevel,
    awaiting_data_sync,
    awaiting_sync,
    data_synced,
    deleted,
    effective_trust,
    heartbeat,
    heartbeat_overdue,
    sync_failed,
    synced,
)
from switchboard.server.cmhandle.registration import (
    Batch,
    Change,
    HandleResult,
    NewHandle,
    Registration,
    Reregistration,
    reregister,
    update_registration,
)
from switchboard.server.eventlog import EventLog, Transaction


def _writes(plugin_trust: TrustLevel, found: Mapping[str, store.Stored],
            handle_changes: Iterable[Change]) -> list[Write]:
    out = []
    for c in handle_changes:
        before = found.get(c.new.id)
        old_effective = None if c.old is None or before is None else before.effective
        out.append(Write(c.old, c.new, old_effective, effective_trust(plugin_trust, c.new.trust)))
    return out


async def _load(tx: Transaction, ids: Iterable[str], alternate_ids: Iterable[str]
                ) -> tuple[dict[str, store.Stored], dict[str, str]]:
    """The handles named by id or alternate id (alternate ids also as ids), and the alternate
    ids held."""
    alternate = [a for a in alternate_ids if a.strip()]
    held = await store.by_alternate_ids(tx.conn, alternate)
    found = await store.get(tx.conn, {*ids, *alternate, *held.values()}, lock=True)
    return found, held


class Inventory:
    """Writes to the CM handle inventory."""

    def __init__(self, log: EventLog) -> None:
        self.log = log

    async def update_registration(self, plugin: str, batch: Batch) -> Registration:
        async with self.log.transaction() as tx:
            await area_lock(tx)
            await store.ensure_plugin(tx.conn, plugin)
            trust = await store.plugin_trust(tx.conn, plugin, lock=True)
            ids = [*(h.id for h in batch.created), *(u.id for u in batch.updated),
                   *batch.removed, *(u.id for u in batch.upgraded)]
            alternate = [*(h.alternate_id for h in batch.created),
                         *(u.alternate_id for u in batch.updated)]
            found, held = await _load(tx, ids, alternate)
            result = update_registration(
                plugin, batch, {i: s.handle for i, s in found.items()}, held)
            await changes.write(tx, _writes(trust, found, result.changes))
        return result

    async def reregister(self, plugin: str, listed: Sequence[NewHandle]) -> Reregistration:
        """The plugin's full set; its trust is COMPLETE again after it."""
        async with self.log.transaction() as tx:
            await area_lock(tx)
            await store.ensure_plugin(tx.conn, plugin)
            await store.plugin_trust(tx.conn, plugin, lock=True)
            own = await store.of_plugin(tx.conn, plugin, lock=True)
            found, held = await _load(tx, (h.id for h in listed), (h.alternate_id for h in listed))
            found.update(own)
            result = reregister(plugin, listed, {i: s.handle for i, s in found.items()}, held)
            await store.set_plugin_trust(tx.conn, plugin, TrustLevel.COMPLETE)
            await store.set_reregistration_requested(tx.conn, plugin, None)
            writes = _writes(TrustLevel.COMPLETE, found, result.changes)
            changed = {w.new.id for w in writes}
            writes += [Write(s.handle, s.handle, s.effective, s.handle.trust)
                       for i, s in sorted(own.items())
                       if i not in changed and s.handle.state is not HandleState.DELETED
                       and s.effective is not s.handle.trust]
            await changes.write(tx, writes)
        return result

    async def report_trust(self, plugin: str, levels: Sequence[tuple[str, TrustLevel]]
                           ) -> list[HandleResult]:
        """Device heartbeats: the handles' own trust, and when each was last heard of."""
        results = []
        async with self.log.transaction() as tx:
            await area_lock(tx)
            trust = await store.plugin_trust(tx.conn, plugin)
            found = await store.get(tx.conn, (i for i, _ in levels), lock=True)
            current = {i: s.handle for i, s in found.items()}
            first = {i: s.effective for i, s in found.items()}
            for handle_id, level in levels:
                h = current.get(handle_id)
                if h is None or h.dmi_plugin != plugin or h.state is HandleState.DELETED:
                    results.append(HandleResult(handle_id, ResultCode.CM_HANDLES_NOT_FOUND,
                                                f"no cm handle {handle_id!r} of this DMI plugin"))
                    continue
                current[handle_id] = heartbeat(h, level, tx.now)
                results.append(HandleResult(handle_id))
            writes = []
            for handle_id, h in current.items():
                if h != found[handle_id].handle:
                    writes.append(Write(found[handle_id].handle, h, first[handle_id],
                                        effective_trust(trust, h.trust)))
            await changes.write(tx, writes)
        return results

    async def set_plugin_trust(self, plugin: str, trust: TrustLevel) -> None:
        """The plugin's trust, and with it the effective trust of every handle of it."""
        async with self.log.transaction() as tx:
            await area_lock(tx)
            await store.set_plugin_trust(tx.conn, plugin, trust)
            own = await store.of_plugin(tx.conn, plugin, lock=True)
            await changes.write(tx, [
                Write(s.handle, s.handle, s.effective, effective_trust(trust, s.handle.trust))
                for _, s in sorted(own.items())
                if effective_trust(trust, s.handle.trust) is not s.effective])

    async def reregistration_requested(self, plugin: str, pending: bool = True) -> None:
        """The server asks the plugin to re-register, now: pending until it does (`pending`
        False: the request did not reach it)."""
        async with self.log.transaction() as tx:
            await area_lock(tx)
            await store.set_reregistration_requested(tx.conn, plugin,
                                                     tx.now if pending else None)

    async def expire_heartbeats(self, limit: int, batch: int) -> int:
        """Trust NONE for up to `batch` handles whose last heartbeat is more than `limit`
        microseconds old (their devices went silent); returns how many."""
        async with self.log.db.read() as conn:  # most rounds find none: no write
            ids = await store.heartbeat_overdue(conn, self.log.clock.now() - limit, batch)
        if not ids:
            return 0
        async with self.log.transaction() as tx:
            await area_lock(tx)
            found = await store.get(tx.conn, ids, lock=True)
            writes = [Write(s.handle, replace(s.handle, trust=TrustLevel.NONE), s.effective,
                            TrustLevel.NONE)
                      for _, s in sorted(found.items())
                      if heartbeat_overdue(s.handle, tx.now, limit)]
            await changes.write(tx, writes)
        return len(ids)

    async def data_synced(self, ids: Sequence[str]) -> None:
        """The handles' data synced by their plugins: SYNCHRONIZED, those still awaiting it."""
        async with self.log.transaction() as tx:
            await area_lock(tx)
            found = await store.get(tx.conn, ids, lock=True)
            await changes.write(tx, [
                Write(s.handle, data_synced(s.handle), s.effective, s.effective)
                for _, s in sorted(found.items()) if awaiting_data_sync(s.handle)])

    async def sync_outcome(self, plugin: str, tag: str, ids: Sequence[str],
                           modules: Sequence[ModuleRef] | None) -> None:
        """A module fetch's outcome (None: it failed) for the handles it was for, those of them
        still awaiting it with the same plugin and tag."""
        async with self.log.transaction() as tx:
            await area_lock(tx)
            found = await store.get(tx.conn, ids, lock=True)
            writes = []
            for _, s in sorted(found.items()):
                h = s.handle
                if not awaiting_sync(h) or h.dmi_plugin != plugin or h.module_set_tag != tag:
                    continue
                new = synced(h, modules) if modules is not None else sync_failed(h, tx.now)
                writes.append(Write(h, new, s.effective, s.effective))
            await changes.write(tx, writes)

    async def finish_deletions(self, ids: Sequence[str]) -> None:
        """DELETING → DELETED: the handles' rows go."""
        async with self.log.transaction() as tx:
            await area_lock(tx)
            found = await store.get(tx.conn, ids, lock=True)
            await changes.write(tx, [
                Write(s.handle, deleted(s.handle), s.effective, s.effective)
                for _, s in sorted(found.items()) if s.handle.state is HandleState.DELETING])


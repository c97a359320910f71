"""CM handle storage: the handles, their searchable public properties and module names, and
the DMI plugins with their trust.

A handle's properties and module set are one JSON document on its row (read and written with
it); what searches filter on has its own column or table: public properties as (name, value)
rows, module names as rows, and the effective trust (the lower of the plugin's and the handle's
own) as a column kept up to date whenever either changes. A DELETED handle's rows are deleted.
A plugin's row also holds when the server last asked it to re-register, while that request is
pending (cleared when it re-registers).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    bindparam,
    delete,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.server.cmhandle.model import (
    CmHandle,
    DataSyncState,
    HandleState,
    LockReason,
    ModuleRef,
    TrustLevel,
)
from switchboard.server.db import insert_if_absent, metadata

handles_table = Table(
    "cm_handles",
    metadata,
    Column("id", String(255), primary_key=True),
    Column("dmi_plugin", String(255), nullable=False),
    Column("state", String(16), nullable=False),
    Column("lock_reason", String(32), nullable=True),
    Column("module_set_tag", String(255), nullable=False),
    Column("alternate_id", String(255), nullable=True, unique=True),
    Column("trust", String(16), nullable=False),
    Column("effective_trust", String(16), nullable=False),
    Column("sync_failures", Integer, nullable=False),
    Column("failed_at", BigInteger, nullable=True),
    Column("body", JSON, nullable=False),
    Column("data_sync_enabled", Boolean, nullable=False, default=False),
    Column("data_sync_state", String(16), nullable=False,
           default=DataSyncState.NONE_REQUESTED.value),
    Column("heartbeat_at", BigInteger, nullable=True),
    Index("cm_handles_plugin", "dmi_plugin", "id"),
    Index("cm_handles_data_sync", "data_sync_state", "id"),
    Index("cm_handles_heartbeat", "heartbeat_at"),
    Index("cm_handles_state", "state", "id"),
    Index("cm_handles_trust", "effective_trust", "id"),
    Index("cm_handles_lock", "lock_reason", "id"),
)

properties_table = Table(
    "cm_handle_properties",
    metadata,
    Column("handle_id", String(255), primary_key=True),
    Column("name", String(255), primary_key=True),
    Column("value", String(1024), nullable=False),
    Index("cm_handle_properties_value", "name", "value", "handle_id"),
)

modules_table = Table(
    "cm_handle_modules",
    metadata,
    Column("handle_id", String(255), primary_key=True),
    Column("name", String(255), primary_key=True),
    Index("cm_handle_modules_name", "name", "handle_id"),
)

plugins_table = Table(
    "dmi_plugins",
    metadata,
    Column("address", String(255), primary_key=True),
    Column("trust", String(16), nullable=False),
    Column("reregistration_requested_at", BigInteger, nullable=True),
)


@dataclass(frozen=True)
class Stored:
    """A handle with the effective trust stored with it."""

    handle: CmHandle
    effective: TrustLevel


def _handle(row: Any) -> CmHandle:
    return CmHandle(
        id=row.id, dmi_plugin=row.dmi_plugin, dmi_properties=row.body["dmi"],
        public_properties=row.body["public"], module_set_tag=row.module_set_tag,
        alternate_id=row.alternate_id or "", state=HandleState(row.state),
        lock_reason=LockReason(row.lock_reason) if row.lock_reason else None,
        modules=frozenset(ModuleRef(n, r) for n, r in row.body["modules"]),
        trust=TrustLevel(row.trust), sync_failures=row.sync_failures, failed_at=row.failed_at,
        data_sync_enabled=row.data_sync_enabled,
        data_sync_state=DataSyncState(row.data_sync_state), heartbeat_at=row.heartbeat_at)


def _stored(row: Any) -> Stored:
    return Stored(_handle(row), TrustLevel(row.effective_trust))


def _values(h: CmHandle, effective: TrustLevel) -> dict[str, Any]:
    return {
        "id": h.id, "dmi_plugin": h.dmi_plugin, "state": h.state.value,
        "lock_reason": h.lock_reason.value if h.lock_reason else None,
        "module_set_tag": h.module_set_tag, "alternate_id": h.alternate_id or None,
        "trust": h.trust.value, "effective_trust": effective.value,
        "sync_failures": h.sync_failures, "failed_at": h.failed_at,
        "data_sync_enabled": h.data_sync_enabled, "data_sync_state": h.data_sync_state.value,
        "heartbeat_at": h.heartbeat_at,
        "body": {"dmi": dict(h.dmi_properties), "public": dict(h.public_properties),
                 "modules": [[m.name, m.revision] for m in sorted(h.modules)]},
    }


async def get(conn: AsyncConnection, ids: Iterable[str], lock: bool = False
              ) -> dict[str, Stored]:
    """The stored handles among `ids`, by id (locked for update if `lock`)."""
    wanted = sorted(set(ids))
    out: dict[str, Stored] = {}
    for i in range(0, len(wanted), 1000):
        query = select(handles_table).where(handles_table.c.id.in_(wanted[i:i + 1000]))
        if lock:
            query = query.order_by(handles_table.c.id).with_for_update()
        out.update((r.id, _stored(r)) for r in await conn.execute(query))
    return out


async def by_alternate_ids(conn: AsyncConnection, alternate_ids: Iterable[str]
                           ) -> dict[str, str]:
    """alternate id → handle id, for those of `alternate_ids` held by a handle."""
    wanted = sorted({a for a in alternate_ids if a})
    out: dict[str, str] = {}
    for i in range(0, len(wanted), 1000):
        query = select(handles_table.c.alternate_id, handles_table.c.id).where(
            handles_table.c.alternate_id.in_(wanted[i:i + 1000]))
        out.update((r.alternate_id, r.id) for r in await conn.execute(query))
    return out


async def of_plugin(conn: AsyncConnection, plugin: str, lock: bool = False
                    ) -> dict[str, Stored]:
    query = select(handles_table).where(handles_table.c.dmi_plugin == plugin)
    if lock:
        query = query.order_by(handles_table.c.id).with_for_update()
    return {r.id: _stored(r) for r in await conn.execute(query)}


async def in_states(conn: AsyncConnection, states: Sequence[HandleState], limit: int
                    ) -> list[CmHandle]:
    query = (select(handles_table)
             .where(handles_table.c.state.in_([s.value for s in states]))
             .order_by(handles_table.c.id).limit(limit))
    return [_handle(r) for r in await conn.execute(query)]


async def awaiting_sync(conn: AsyncConnection, limit: int) -> list[CmHandle]:
    """Up to `limit` handles due for a sync at once (ADVISED, or LOCKED for an upgrade), then
    up to `limit` LOCKED after a failed sync (due or not: their backoff decides)."""
    t = handles_table
    now = (t.c.state == HandleState.ADVISED.value) | (
        t.c.lock_reason == LockReason.MODULE_UPGRADE.value)
    failed = t.c.lock_reason.in_([LockReason.MODULE_SYNC_FAILED.value,
                                  LockReason.MODULE_UPGRADE_FAILED.value])
    out = []
    for condition in (now, failed):
        query = select(t).where(condition).order_by(t.c.id).limit(limit)
        out += [_handle(r) for r in await conn.execute(query)]
    return out


async def write(conn: AsyncConnection,
                items: Sequence[tuple[CmHandle | None, CmHandle, TrustLevel]]) -> None:
    """Inserts (old None) or updates handles (new, with its effective trust), with their search
    rows; many statements at once."""
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    gone_props: list[tuple[str, list[str]]] = []
    new_props: list[dict[str, str]] = []
    gone_modules: list[tuple[str, list[str]]] = []
    new_modules: list[dict[str, str]] = []
    for old, new, effective in items:
        values = _values(new, effective)
        if old is None:
            inserts.append(values)
        else:
            updates.append({("b_" + k): v for k, v in values.items()})
        old_props: Mapping[str, str] = {} if old is None else old.public_properties
        if old_props != new.public_properties:
            gone = [n for n in old_props if old_props[n] != new.public_properties.get(n)]
            if gone:
                gone_props.append((new.id, gone))
            new_props += [{"handle_id": new.id, "name": n, "value": v}
                          for n, v in new.public_properties.items() if old_props.get(n) != v]
        before = set() if old is None else {m.name for m in old.modules}
        after = {m.name for m in new.modules}
        if before - after:
            gone_modules.append((new.id, sorted(before - after)))
        new_modules += [{"handle_id": new.id, "name": n} for n in sorted(after - before)]
    if inserts:
        await conn.execute(handles_table.insert(), inserts)
    if updates:
        t = handles_table
        await conn.execute(
            update(t).where(t.c.id == bindparam("b_id")).values(
                {c.name: bindparam("b_" + c.name) for c in t.columns if c.name != "id"}),
            updates)
    for handle_id, names in gone_props:
        await conn.execute(delete(properties_table).where(
            properties_table.c.handle_id == handle_id, properties_table.c.name.in_(names)))
    for handle_id, names in gone_modules:
        await conn.execute(delete(modules_table).where(
            modules_table.c.handle_id == handle_id, modules_table.c.name.in_(names)))
    if new_props:
        await conn.execute(properties_table.insert(), new_props)
    if new_modules:
        await conn.execute(modules_table.insert(), new_modules)


async def remove(conn: AsyncConnection, ids: Sequence[str]) -> None:
    """Deletes the handles `ids` with their search rows."""
    for i in range(0, len(ids), 1000):
        chunk = list(ids[i:i + 1000])
        await conn.execute(delete(properties_table).where(
            properties_table.c.handle_id.in_(chunk)))
        await conn.execute(delete(modules_table).where(modules_table.c.handle_id.in_(chunk)))
        await conn.execute(delete(handles_table).where(handles_table.c.id.in_(chunk)))


async def plugin_trust(conn: AsyncConnection, plugin: str, lock: bool = False) -> TrustLevel:
    """The plugin's trust (COMPLETE for a plugin not known yet)."""
    query = select(plugins_table.c.trust).where(plugins_table.c.address == plugin)
    if lock:
        query = query.with_for_update()
    value = (await conn.execute(query)).scalar_one_or_none()
    return TrustLevel.COMPLETE if value is None else TrustLevel(value)


async def ensure_plugin(conn: AsyncConnection, plugin: str) -> None:
    """Makes the plugin known (at trust COMPLETE) if it is not."""
    await conn.execute(insert_if_absent(conn, plugins_table, address=plugin,
                                        trust=TrustLevel.COMPLETE.value))


async def set_plugin_trust(conn: AsyncConnection, plugin: str, trust: TrustLevel) -> None:
    await conn.execute(update(plugins_table).where(plugins_table.c.address == plugin)
                       .values(trust=trust.value))


async def set_reregistration_requested(conn: AsyncConnection, plugin: str,
                                       at: int | None) -> None:
    """When the server asked the plugin to re-register (None: no request pending)."""
    await conn.execute(update(plugins_table).where(plugins_table.c.address == plugin)
                       .values(reregistration_requested_at=at))


@dataclass(frozen=True)
class Plugin:
    trust: TrustLevel
    reregistration_requested_at: int | None
    """When the pending re-registration request was made; None: none is pending."""


async def plugins(conn: AsyncConnection) -> dict[str, Plugin]:
    """Every known plugin with its trust and pending re-registration request."""
    rows = await conn.execute(select(plugins_table).order_by(plugins_table.c.address))
    return {r.address: Plugin(TrustLevel(r.trust), r.reregistration_requested_at)
            for r in rows}


async def heartbeat_overdue(conn: AsyncConnection, cutoff: int, limit: int) -> list[str]:
    """Ids of up to `limit` live handles trusted on their own whose last heartbeat is before
    `cutoff` (as model.heartbeat_overdue)."""
    t = handles_table
    query = (select(t.c.id).where(t.c.heartbeat_at < cutoff,
                                  t.c.trust == TrustLevel.COMPLETE.value,
                                  t.c.state.notin_([HandleState.DELETING.value,
                                                    HandleState.DELETED.value]))
             .order_by(t.c.id).limit(limit))
    return list((await conn.execute(query)).scalars())


async def awaiting_data_sync(conn: AsyncConnection, limit: int) -> list[CmHandle]:
    """Up to `limit` READY handles whose data is to be synced."""
    t = handles_table
    query = (select(t).where(t.c.data_sync_state == DataSyncState.UNSYNCHRONIZED.value,
                             t.c.state == HandleState.READY.value)
             .order_by(t.c.id).limit(limit))
    return [_handle(r) for r in await conn.execute(query)]


async def search(
    conn: AsyncConnection, *, public_properties: Mapping[str, str], module_names: Sequence[str],
    state: HandleState | None, trust: TrustLevel | None, plugin: str, after: str, limit: int,
    ids_only: bool, data_sync: DataSyncState | None = None,
) -> tuple[list[str], list[Any]]:
    """Ids of the handles matching every condition, with id > `after`, in id order; and unless
    `ids_only`, their rows (for `convert.row_pb`, which skips building a CmHandle)."""
    t = handles_table
    query = select(t.c.id) if ids_only else select(t)
    query = query.where(t.c.id > after)
    for name, value in sorted(public_properties.items()):
        query = query.where(t.c.id.in_(select(properties_table.c.handle_id).where(
            properties_table.c.name == name, properties_table.c.value == value)))
    for name in sorted(set(module_names)):
        query = query.where(t.c.id.in_(select(modules_table.c.handle_id).where(
            modules_table.c.name == name)))
    if state is not None:
        query = query.where(t.c.state == state.value)
    if trust is not None:
        query = query.where(t.c.effective_trust == trust.value)
    if plugin:
        query = query.where(t.c.dmi_plugin == plugin)
    if data_sync is not None:
        query = query.where(t.c.data_sync_state == data_sync.value)
    query = query.order_by(t.c.id).limit(limit)
    rows = (await conn.execute(query)).all()
    return [r.id for r in rows], ([] if ids_only else list(rows))

"""The CM handle upkeep the DMI health round also does, as NCMP's watchdogs: device-heartbeat
expiry (seed 004: a handle whose last heartbeat is older than the limit gets trust NONE) and
data sync (READY handles with data sync enabled and UNSYNCHRONIZED: their plugin's SyncData,
then SYNCHRONIZED; a failed one is tried again next round). Runs in the health checker's task,
so its writes are fenced by that singleton's lease."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol

import grpc
import structlog

from switchboard.cmhandle.v1 import cmhandle_pb2 as pb
from switchboard.server.cmhandle import store
from switchboard.server.cmhandle.inventory import Inventory

log = structlog.get_logger("switchboard.cmhandle")


class DataSyncer(Protocol):
    async def sync_data(self, address: str, request: pb.SyncDataRequest) -> None: ...


@dataclass(frozen=True)
class UpkeepSettings:
    heartbeat_limit: int
    """Microseconds a handle's device heartbeat may be old before its trust is NONE."""
    reregistration_timeout: int
    """Microseconds a re-registration request stays pending without the plugin re-registering
    (no other request is sent meanwhile)."""
    batch: int
    """Most handles one transaction or data-sync round takes."""
    concurrency: int
    """Most data syncs outstanding at once."""


async def expire_heartbeats(inventory: Inventory, settings: UpkeepSettings) -> None:
    while await inventory.expire_heartbeats(settings.heartbeat_limit,
                                            settings.batch) == settings.batch:
        pass


async def sync_data(inventory: Inventory, plugins: DataSyncer, settings: UpkeepSettings) -> None:
    async with inventory.log.db.read() as conn:
        waiting = await store.awaiting_data_sync(conn, settings.batch)
    limit = asyncio.Semaphore(settings.concurrency)
    done: list[str] = []

    async def one(handle_id: str, plugin: str, dmi_properties: dict[str, str]) -> None:
        async with limit:
            try:
                await plugins.sync_data(plugin, pb.SyncDataRequest(
                    cm_handle_id=handle_id, dmi_properties=dmi_properties))
            except grpc.aio.AioRpcError as e:
                log.info("data sync failed", dmi_plugin=plugin, cm_handle_id=handle_id,
                         code=e.code().name)
            else:
                done.append(handle_id)

    await asyncio.gather(*(one(h.id, h.dmi_plugin, dict(h.dmi_properties)) for h in waiting))
    if done:
        await inventory.data_synced(sorted(done))

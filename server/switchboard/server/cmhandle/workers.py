"""The CM handle background tasks, on the server's clock: the module-sync worker (ADVISED and
LOCKED handles to READY through their plugins' GetModuleSet; DELETING handles to DELETED) and
the DMI plugin health checker (grpc.health.v1; trust NONE while a plugin fails it, and a
re-registration request when it answers again, one at a time; then the `upkeep` of each
round: heartbeat expiry and data sync)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import grpc
import structlog
from grpc_health.v1 import health_pb2, health_pb2_grpc

from switchboard.cmhandle.v1 import cmhandle_pb2 as pb
from switchboard.cmhandle.v1 import cmhandle_pb2_grpc as pb_grpc
from switchboard.server.clock import Clock, sleep_until_woken
from switchboard.server.cmhandle import store
from switchboard.server.cmhandle.inventory import Inventory
from switchboard.server.cmhandle.model import HandleState, LockReason, ModuleRef, TrustLevel
from switchboard.server.cmhandle.modulesync import Backoff, FetchGroup, plan
from switchboard.server.cmhandle.upkeep import UpkeepSettings, expire_heartbeats, sync_data
from switchboard.server.tasks import BackgroundTask
from switchboard.server.tls import ReloadingChannelCredentials, dial

log = structlog.get_logger("switchboard.cmhandle")


class Plugins:
    """gRPC channels to the DMI plugins, one per address, made when first needed. With TLS,
    the credentials follow their files: when they change, the channels are replaced (the old
    ones closed once their calls in flight end, within `timeout`)."""

    def __init__(self, timeout: float, credentials: ReloadingChannelCredentials | None = None
                 ) -> None:
        self.timeout = timeout
        self.credentials = credentials
        """TLS for every plugin (None: plaintext)."""
        self._generation = credentials.generation if credentials is not None else 0
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._closing: set[asyncio.Task[None]] = set()

    def _channel(self, address: str) -> grpc.aio.Channel:
        credentials = None
        if self.credentials is not None:
            credentials = self.credentials.current()
            if self.credentials.generation != self._generation:
                self._generation = self.credentials.generation
                self._retire(list(self._channels.values()))
                self._channels = {}
        channel = self._channels.get(address)
        if channel is None:
            channel = self._channels[address] = dial(address, credentials)
        return channel

    def _retire(self, channels: list[grpc.aio.Channel]) -> None:
        """Closes `channels` in the background, letting their calls in flight finish."""
        for channel in channels:
            task = asyncio.create_task(channel.close(grace=self.timeout),
                                       name="dmi-channel-close")
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def module_set(self, address: str, request: pb.GetModuleSetRequest
                         ) -> list[ModuleRef]:
        stub = pb_grpc.DmiPluginServiceStub(self._channel(address))
        response = await stub.GetModuleSet(request, timeout=self.timeout)
        return [ModuleRef(m.name, m.revision) for m in response.modules]

    async def healthy(self, address: str) -> bool:
        stub = health_pb2_grpc.HealthStub(self._channel(address))
        try:
            response = await stub.Check(health_pb2.HealthCheckRequest(), timeout=self.timeout)
        except grpc.aio.AioRpcError:
            return False
        return bool(response.status == health_pb2.HealthCheckResponse.SERVING)

    async def request_reregistration(self, address: str) -> None:
        stub = pb_grpc.DmiPluginServiceStub(self._channel(address))
        await stub.RequestReregistration(
            pb.RequestReregistrationRequest(dmi_plugin=address), timeout=self.timeout)

    async def sync_data(self, address: str, request: pb.SyncDataRequest) -> None:
        stub = pb_grpc.DmiPluginServiceStub(self._channel(address))
        await stub.SyncData(request, timeout=self.timeout)

    async def close(self) -> None:
        channels, self._channels = list(self._channels.values()), {}
        for channel in channels:
            await channel.close()
        for task in list(self._closing):
            task.cancel()
        await asyncio.gather(*self._closing, return_exceptions=True)


@dataclass(frozen=True)
class SyncSettings:
    concurrency: int
    """Most module fetches outstanding at once."""
    batch: int
    """Most handles looked at per round."""
    backoff: Backoff


class ModuleSync(BackgroundTask):
    """Syncs module sets and finishes deletions, in rounds: woken by registrations, or when the
    next retry falls due on the clock."""

    name = "cmhandle-module-sync"

    def __init__(self, inventory: Inventory, plugins: Plugins, settings: SyncSettings) -> None:
        super().__init__()
        self.inventory = inventory
        self.clock: Clock = inventory.log.clock
        self.plugins = plugins
        self.settings = settings
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()
            when: int | None = None
            try:
                more, when = await self.round()
            except Exception:  # a failed round is retried on the next wake or due time
                log.exception("module sync round failed")
                more = False
            if more:
                continue
            await sleep_until_woken(self.clock, when, self._wake)

    async def round(self) -> tuple[bool, int | None]:
        """One round; returns whether more is to do at once, and when the next retry is due."""
        async with self.inventory.log.db.read() as conn:
            deleting = await store.in_states(conn, [HandleState.DELETING], self.settings.batch)
            waiting = await store.awaiting_sync(conn, self.settings.batch)
        if deleting:
            await self.inventory.finish_deletions([h.id for h in deleting])
        now = self.clock.now()
        groups = plan(waiting, now, self.settings.backoff)
        by_id = {h.id: h for h in waiting}
        limit = asyncio.Semaphore(self.settings.concurrency)

        async def fetch(group: FetchGroup) -> None:
            async with limit:
                first = by_id[group.handle_ids[0]]
                request = pb.GetModuleSetRequest(
                    cm_handle_id=first.id, module_set_tag=group.module_set_tag,
                    dmi_properties=dict(first.dmi_properties))
                modules: list[ModuleRef] | None
                try:
                    modules = await self.plugins.module_set(group.dmi_plugin, request)
                except grpc.aio.AioRpcError as e:
                    log.info("module fetch failed", dmi_plugin=group.dmi_plugin,
                             cm_handle_id=first.id, code=e.code().name)
                    modules = None
                await self.inventory.sync_outcome(
                    group.dmi_plugin, group.module_set_tag, group.handle_ids, modules)

        await asyncio.gather(*(fetch(g) for g in groups))
        full = bool(groups) and len(waiting) >= self.settings.batch
        if deleting or full:
            return True, None
        return False, await self.next_retry()

    async def next_retry(self) -> int | None:
        """When the next locked handle's retry falls due (None: none is locked for a retry)."""
        async with self.inventory.log.db.read() as conn:
            locked = await store.in_states(conn, [HandleState.LOCKED], self.settings.batch)
        return min((self.settings.backoff.next_attempt(h.sync_failures, h.failed_at)
                    for h in locked if h.failed_at is not None and h.lock_reason in _RETRIED),
                   default=None)

_RETRIED = (LockReason.MODULE_SYNC_FAILED, LockReason.MODULE_UPGRADE_FAILED)


class HealthChecker(BackgroundTask):
    """Checks every known DMI plugin's health every `interval` seconds on the clock, then does
    the round's upkeep. `rounds` counts the rounds done."""

    name = "cmhandle-health"

    def __init__(self, inventory: Inventory, plugins: Plugins, interval: float,
                 upkeep: UpkeepSettings) -> None:
        super().__init__()
        self.inventory = inventory
        self.plugins = plugins
        self.interval = interval
        self.upkeep = upkeep
        self.rounds = 0

    async def run(self) -> None:
        clock = self.inventory.log.clock
        while True:
            await clock.sleep(self.interval)
            for step in (self.check_all, self.expire_and_sync):
                try:
                    await step()
                except Exception:  # retried on the next interval
                    log.exception("health check round failed", step=step.__name__)
            self.rounds += 1

    async def check_all(self) -> None:
        async with self.inventory.log.db.read() as conn:
            known = await store.plugins(conn)
        await asyncio.gather(*(self.check(address, p) for address, p in known.items()))

    async def expire_and_sync(self) -> None:
        await expire_heartbeats(self.inventory, self.upkeep)
        await sync_data(self.inventory, self.plugins, self.upkeep)

    async def check(self, address: str, plugin: store.Plugin) -> None:
        healthy = await self.plugins.healthy(address)
        if not healthy and plugin.trust is TrustLevel.COMPLETE:
            log.warning("dmi plugin unhealthy", dmi_plugin=address)
            await self.inventory.set_plugin_trust(address, TrustLevel.NONE)
        elif healthy and plugin.trust is TrustLevel.NONE:
            asked = plugin.reregistration_requested_at
            timeout = self.upkeep.reregistration_timeout
            if asked is not None and self.inventory.log.clock.now() < asked + timeout:
                return  # the last request is still pending
            log.info("dmi plugin healthy again; requesting re-registration", dmi_plugin=address)
            # Pending from before the call, so that a re-registration it brings clears it.
            await self.inventory.reregistration_requested(address)
            try:
                await self.plugins.request_reregistration(address)
            except grpc.aio.AioRpcError:
                await self.inventory.reregistration_requested(address, pending=False)

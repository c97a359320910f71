"""A simulated DMI plugin: serves DmiPluginService and grpc.health.v1, registers N CM handles
with the Switchboard server, answers module-set fetches, data syncs and re-registration
requests, and sends device heartbeats. It can be made slow, failing (module fetches or data
syncs fail), unreachable (stopped), deaf to re-registration requests, or have single devices go
silent (their heartbeats stop).

Run it as its own process:

    python -m switchboard.client.simdmi --server localhost:50051 --handles 1000

or use `SimulatedDmiPlugin` in-process (tests, benchmarks).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from switchboard.cmhandle.v1 import cmhandle_pb2 as pb
from switchboard.cmhandle.v1 import cmhandle_pb2_grpc as pb_grpc


@dataclass
class Behaviour:
    """How the plugin answers module-set fetches: after `delay` seconds; failing with
    UNAVAILABLE while `failing`. Data syncs fail while `data_sync_failing`. Re-registration
    requests are answered but not acted on unless `reregisters`."""

    delay: float = 0.0
    failing: bool = False
    data_sync_failing: bool = False
    reregisters: bool = True


def default_modules(tag: str) -> list[pb.ModuleReference]:
    """The module set the plugin serves for a tag ("" for an untagged handle)."""
    suffix = tag or "untagged"
    return [pb.ModuleReference(name="ietf-interfaces", revision="2018-02-20"),
            pb.ModuleReference(name=f"vendor-{suffix}", revision="2024-01-01")]


@dataclass
class HandleSpec:
    """One handle as the plugin registers it."""

    id: str
    public_properties: dict[str, str] = field(default_factory=dict)
    dmi_properties: dict[str, str] = field(default_factory=dict)
    module_set_tag: str = ""
    alternate_id: str = ""
    data_sync_enabled: bool | None = None
    """NCMP's dataSyncEnabled; None: not sent."""

    def pb(self) -> pb.NewCmHandle:
        return pb.NewCmHandle(id=self.id, public_properties=self.public_properties,
                              dmi_properties=self.dmi_properties,
                              module_set_tag=self.module_set_tag, alternate_id=self.alternate_id,
                              data_sync_enabled=self.data_sync_enabled)


def make_handles(count: int, prefix: str = "ch", start: int = 0, module_sets: int = 10,
                 properties: Mapping[str, str] | None = None) -> list[HandleSpec]:
    """`count` handles `<prefix>-<n>`: tag `tag-<n % module_sets>` (none if module_sets is 0)
    and public properties from patterns formatted with `i` (n) and `m` (n % module_sets), e.g.
    {"vendor": "vendor-{m}"}."""
    patterns = dict(properties if properties is not None else {"vendor": "vendor-{m}"})
    out = []
    for i in range(start, start + count):
        m = i % module_sets if module_sets else 0
        out.append(HandleSpec(
            id=f"{prefix}-{i:06d}",
            public_properties={k: v.format(i=i, m=m) for k, v in patterns.items()},
            dmi_properties={"index": str(i)},
            module_set_tag=f"tag-{m}" if module_sets else ""))
    return out


class _Servicer(pb_grpc.DmiPluginServiceServicer):
    def __init__(self, plugin: SimulatedDmiPlugin) -> None:
        self.plugin = plugin

    async def GetModuleSet(
        self, request: pb.GetModuleSetRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> pb.GetModuleSetResponse:
        plugin = self.plugin
        plugin.fetches[request.module_set_tag or request.cm_handle_id] += 1
        plugin.in_flight += 1
        plugin.most_in_flight = max(plugin.most_in_flight, plugin.in_flight)
        try:
            if plugin.behaviour.delay:
                await asyncio.sleep(plugin.behaviour.delay)
        finally:
            plugin.in_flight -= 1
        if plugin.behaviour.failing:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "simulated module fetch failure")
        modules = plugin.module_sets.get(request.module_set_tag)
        if modules is None:
            modules = default_modules(request.module_set_tag)
        return pb.GetModuleSetResponse(modules=modules)

    async def RequestReregistration(
        self, request: pb.RequestReregistrationRequest,
        context: grpc.aio.ServicerContext[object, object],
    ) -> pb.RequestReregistrationResponse:
        self.plugin.reregistration_requests += 1
        if self.plugin.behaviour.reregisters:
            self.plugin.reregistrations.append(
                asyncio.create_task(self.plugin.reregister(), name="simdmi-reregister"))
        return pb.RequestReregistrationResponse()

    async def SyncData(
        self, request: pb.SyncDataRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> pb.SyncDataResponse:
        self.plugin.data_syncs[request.cm_handle_id] += 1
        if self.plugin.behaviour.data_sync_failing:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "simulated data sync failure")
        return pb.SyncDataResponse()


class SimulatedDmiPlugin:
    """One simulated DMI plugin, listening on `host:port` (0: a free port, kept across
    `stop()`/`start()` so the server knows it by one address)."""

    def __init__(self, server_target: str, host: str = "127.0.0.1", port: int = 0, *,
                 credentials: grpc.ServerCredentials | None = None) -> None:
        """`credentials`: serve TLS with them (plaintext without)."""
        self.server_target = server_target
        self.host = host
        self.port = port
        self.credentials = credentials
        self.handles: dict[str, HandleSpec] = {}
        """What the plugin fronts now: what it lists when re-registering."""
        self.module_sets: dict[str, list[pb.ModuleReference]] = {}
        """Module sets by tag, overriding `default_modules`."""
        self.behaviour = Behaviour()
        self.fetches: Counter[str] = Counter()
        """Module-set fetches served, by tag (by handle id for untagged handles)."""
        self.in_flight = 0
        self.most_in_flight = 0
        """Most module-set fetches it was serving at once."""
        self.reregistrations: list[asyncio.Task[pb.ReregisterResponse]] = []
        self.reregistration_requests = 0
        """Re-registration requests received (acted on or not)."""
        self.data_syncs: Counter[str] = Counter()
        """Data syncs served (or failed), by handle id."""
        self.silent: set[str] = set()
        """Handles whose devices went silent: `heartbeat()` leaves them out."""
        self._server: grpc.aio.Server | None = None
        self._channel = grpc.aio.insecure_channel(server_target)
        self.inventory = pb_grpc.CmHandleInventoryServiceStub(self._channel)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def start(self) -> SimulatedDmiPlugin:
        server = grpc.aio.server()
        pb_grpc.add_DmiPluginServiceServicer_to_server(_Servicer(self), server)
        health_servicer = health.aio.HealthServicer()  # type: ignore[attr-defined]
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        self.port = (server.add_insecure_port(self.address) if self.credentials is None
                     else server.add_secure_port(self.address, self.credentials))
        await server.start()
        await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
        self._server = server
        return self

    async def stop(self) -> None:
        """Stops serving (the plugin is unreachable until `start()`)."""
        if self._server is not None:
            await self._server.stop(0)
            self._server = None

    async def close(self) -> None:
        await self.stop()
        for task in self.reregistrations:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, grpc.aio.AioRpcError):
                await task
        await self._channel.close()

    async def register(self, specs: Iterable[HandleSpec], batch: int = 1000
                       ) -> list[pb.UpdateRegistrationResponse]:
        """Creates the handles, `batch` per call; they join `handles`."""
        specs = list(specs)
        responses = []
        for i in range(0, len(specs), batch):
            chunk = specs[i:i + batch]
            responses.append(await self.inventory.UpdateRegistration(
                pb.UpdateRegistrationRequest(dmi_plugin=self.address,
                                             created=[s.pb() for s in chunk])))
            for s, r in zip(chunk, responses[-1].created, strict=True):
                if r.error == pb.REGISTRATION_ERROR_UNSPECIFIED:
                    self.handles[s.id] = s
        return responses

    async def remove(self, ids: Sequence[str], batch: int = 1000
                     ) -> list[pb.UpdateRegistrationResponse]:
        """Removes the handles, `batch` per call."""
        responses = []
        for i in range(0, len(ids), batch):
            chunk = list(ids[i:i + batch])
            responses.append(await self.inventory.UpdateRegistration(
                pb.UpdateRegistrationRequest(dmi_plugin=self.address, removed=chunk)))
            for handle_id in chunk:
                self.handles.pop(handle_id, None)
        return responses

    async def reregister(self) -> pb.ReregisterResponse:
        """Lists every handle in `handles` with the server."""
        response: pb.ReregisterResponse = await self.inventory.Reregister(pb.ReregisterRequest(
            dmi_plugin=self.address, cm_handles=[s.pb() for s in self.handles.values()]))
        return response

    async def heartbeat(self, levels: Mapping[str, pb.TrustLevel] | None = None
                        ) -> pb.ReportTrustLevelsResponse:
        """Device heartbeats: the given trust per handle (default: COMPLETE for every handle
        whose device is not `silent`)."""
        if levels is None:
            levels = {i: pb.TRUST_LEVEL_COMPLETE for i in self.handles if i not in self.silent}
        response: pb.ReportTrustLevelsResponse = await self.inventory.ReportTrustLevels(
            pb.ReportTrustLevelsRequest(dmi_plugin=self.address, trust_levels=[
                pb.CmHandleTrustLevel(cm_handle_id=i, trust_level=t) for i, t in levels.items()]))
        return response


def _properties(values: Sequence[str]) -> dict[str, str]:
    out = {}
    for value in values:
        name, sep, pattern = value.partition("=")
        if not sep:
            raise SystemExit(f"--property wants name=pattern, got {value!r}")
        out[name] = pattern
    return out


async def _main(args: argparse.Namespace) -> None:
    plugin = SimulatedDmiPlugin(args.server, host=args.host, port=args.port)
    plugin.behaviour = Behaviour(delay=args.delay, failing=args.failing)
    await plugin.start()
    print(f"simulated DMI plugin serving on {plugin.address}", flush=True)
    specs = make_handles(args.handles, args.prefix, module_sets=args.module_sets,
                         properties=_properties(args.property) or None)
    for s in specs:
        s.data_sync_enabled = args.data_sync or None
    responses = await plugin.register(specs, args.batch)
    created = sum(r.error == pb.REGISTRATION_ERROR_UNSPECIFIED
                  for response in responses for r in response.created)
    print(f"registered {created} of {len(specs)} handles", flush=True)
    # It fronts them all, also those the server had already: a re-registration lists them.
    plugin.handles = {s.id: s for s in specs}
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(args.heartbeat_interval or None):
                    await stop.wait()
            if not stop.is_set() and args.heartbeat_interval:
                with contextlib.suppress(grpc.aio.AioRpcError):
                    await plugin.heartbeat()
                plugin.silent = set(args.silent)  # they go silent after their first one
    finally:
        await plugin.close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="simdmi", description="A simulated DMI plugin.")
    parser.add_argument("--server", default="localhost:50051", help="Switchboard server")
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on")
    parser.add_argument("--port", type=int, default=0, help="port to serve on (0: free one)")
    parser.add_argument("--handles", type=int, default=100, help="handles to register")
    parser.add_argument("--batch", type=int, default=1000, help="handles per registration call")
    parser.add_argument("--prefix", default="ch", help="handle id prefix")
    parser.add_argument("--module-sets", type=int, default=10,
                        help="distinct module-set tags (0: untagged handles)")
    parser.add_argument("--property", action="append", default=[],
                        help="public property name=pattern, {i}: index, {m}: index %% sets")
    parser.add_argument("--heartbeat-interval", type=float, default=0.0,
                        help="seconds between device heartbeats (0: none)")
    parser.add_argument("--delay", type=float, default=0.0,
                        help="seconds each module-set fetch takes (slow plugin)")
    parser.add_argument("--failing", action="store_true", help="module-set fetches fail")
    parser.add_argument("--data-sync", action="store_true",
                        help="register the handles with data sync enabled")
    parser.add_argument("--silent", action="append", default=[], metavar="ID",
                        help="a handle whose device goes silent after its first heartbeat "
                             "(repeatable)")
    asyncio.run(_main(parser.parse_args(argv)))


if __name__ == "__main__":
    main()

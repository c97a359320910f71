"""CM handles against seeds 003 and 004, through real gRPC with the simulated DMI plugin on the
test clock: the LCM event's JSON is the card's; a device that goes silent loses its trust after
the heartbeat limit; trust events through removal and re-registration; one re-registration
request at a time; data sync (NCMP's dataSyncEnabled) in handles, searches and LCM events."""

from __future__ import annotations

import asyncio

import pytest
from google.protobuf.json_format import MessageToDict
from lcmview import hid, new, old, op

from switchboard.client import AsyncClient
from switchboard.client.simdmi import HandleSpec, SimulatedDmiPlugin
from switchboard.cmhandle.v1 import cmhandle_pb2 as cpb
from switchboard.server.app import App
from switchboard.server.clock import ManualClock

from conftest import POSTGRES_URL, StartServer
from support import Collector

NONE = cpb.TRUST_LEVEL_NONE
COMPLETE = cpb.TRUST_LEVEL_COMPLETE
GONE = cpb.TRUST_LEVEL_UNSPECIFIED
INTERVAL = 30.0


async def health_round(server: App, clock: ManualClock) -> None:
    """Moves the clock on by one health interval and waits for that round (checks, heartbeat
    expiry, data sync) to end."""
    done = server.dmi_health.rounds
    clock.advance(INTERVAL)
    for _ in range(2000):  # at most 10 s, against a hang
        if server.dmi_health.rounds != done:
            return
        await asyncio.sleep(0.005)
    raise TimeoutError("no health round")


def trust_changes(watch: Collector, handle_id: str) -> list[tuple[int, int]]:
    return [(e.old_trust_level, e.trust_level) for e in watch.events
            if e.cm_handle_id == handle_id]


async def effective(client: AsyncClient, handle_id: str) -> int:
    response = await client.cm_handles.GetCmHandle(cpb.GetCmHandleRequest(cm_handle_id=handle_id))
    return response.cm_handle.effective_trust_level


async def test_lcm_event_json_is_the_cards(server: App, client: AsyncClient) -> None:
    plugin = await SimulatedDmiPlugin(f"127.0.0.1:{server.port}").start()
    lcm = await Collector(client.cm_handles.WatchLcmEvents(cpb.WatchLcmEventsRequest())).live()
    try:
        await plugin.register([HandleSpec("43t345tbnfd85435", module_set_tag="t",
                                          public_properties={"property-name-1": "v1",
                                                             "property-name-2": "a"})])
        await lcm.wait_for(lambda c: len(c.events) == 2)
        await client.cm_inventory.UpdateRegistration(cpb.UpdateRegistrationRequest(
            dmi_plugin=plugin.address, updated=[cpb.CmHandleUpdate(
                id="43t345tbnfd85435", public_properties={"property-name-2": "b",
                                                          "property-name-3": "c"},
                removed_public_properties=["property-name-1"])]))
        await plugin.remove(["43t345tbnfd85435"])
        await lcm.wait_for(lambda c: len(c.events) == 5)
        create, ready, update, _, delete = (MessageToDict(e) for e in lcm.events)
        card = {"schema": "urn:cps:org.onap.ncmp:cmhandle-lcm-event-schema:v2",
                "source": "urn:cps:org.onap.ncmp", "type": "org.onap.cps.cmhandle-lcm-event"}
        for event in (create, ready, update, delete):
            assert {k: event[k] for k in card} == card and event["id"]
            content = event["content"]
            assert content["dataspaceName"] == "NCMP-Admin"
            assert content["cmhandleId"] == "43t345tbnfd85435"
            assert len(content["observedTimestamp"]) == len("2020-12-01T00:00:00.000+0000")
            assert content["observedTimestamp"].endswith("+0000")
        assert create["content"]["operation"] == "CREATE"
        assert create["content"]["schemaSet"] == ""
        assert create["content"]["data"] == {
            "publicCmhandleProperties": [{"property-name-1": "v1", "property-name-2": "a"}],
            "state": "ADVISED", "dataSyncEnabled": False, "dataSyncState": "NONE_REQUESTED"}
        assert ready["content"]["operation"] == "UPDATE"
        assert ready["content"]["data"] == {
            "oldValues": {"state": {"cmhandleState": "ADVISED"}, "schemaSet": []},
            "newValues": {"state": {"cmhandleState": "READY"},
                          "schemaSet": ["ietf-interfaces@2018-02-20", "vendor-t@2024-01-01"]}}
        assert update["content"]["data"] == {
            "oldValues": {"publicCmhandleProperties": [
                {"property-name-1": None, "property-name-2": "a"}]},
            "newValues": {"publicCmhandleProperties": [
                {"property-name-1": None, "property-name-2": "b", "property-name-3": "c"}]}}
        assert delete["content"]["operation"] == "DELETE" and "data" not in delete["content"]
    finally:
        await lcm.close()
        await plugin.close()


async def test_silent_device_loses_its_trust_after_the_heartbeat_limit(
        start_server: StartServer, clock: ManualClock) -> None:
    server = await start_server(cmhandle_health_interval=INTERVAL,
                                cmhandle_heartbeat_limit_seconds=300.0)
    client = AsyncClient(f"127.0.0.1:{server.port}")
    plugin = await SimulatedDmiPlugin(f"127.0.0.1:{server.port}").start()
    trust = await Collector(client.cm_handles.WatchTrustLevels(
        cpb.WatchTrustLevelsRequest())).live()
    try:
        await plugin.register([HandleSpec("quiet"), HandleSpec("chatty"), HandleSpec("mute")])
        # "mute" never had a heartbeat: none of its heartbeats can be overdue
        await plugin.heartbeat({"quiet": COMPLETE, "chatty": COMPLETE})
        last = clock.now()
        plugin.silent = {"quiet", "mute"}
        for _ in range(10):  # 300 s: not yet older than the limit
            await health_round(server, clock)
            await plugin.heartbeat()
        assert await effective(client, "quiet") == COMPLETE
        await health_round(server, clock)  # 330 s
        await trust.wait_for(lambda c: trust_changes(c, "quiet") == [(GONE, COMPLETE),
                                                                     (COMPLETE, NONE)])
        event = trust.events[-1]
        assert (event.caused_by, event.time.ToMicroseconds() - last) == ("@server", 330_000_000)
        handle = (await client.cm_handles.GetCmHandle(
            cpb.GetCmHandleRequest(cm_handle_id="quiet"))).cm_handle
        assert (handle.trust_level, handle.effective_trust_level) == (NONE, NONE)
        for _ in range(3):
            await health_round(server, clock)
            await plugin.heartbeat()
        assert trust_changes(trust, "chatty") == [(GONE, COMPLETE)]
        assert trust_changes(trust, "mute") == [(GONE, COMPLETE)]
        assert trust_changes(trust, "quiet") == [(GONE, COMPLETE), (COMPLETE, NONE)]

        plugin.silent = set()  # it speaks again
        await plugin.heartbeat()
        await trust.wait_for(lambda c: trust_changes(c, "quiet")[-1] == (NONE, COMPLETE))
        assert await effective(client, "quiet") == COMPLETE
    finally:
        await trust.close()
        await plugin.close()
        await client.close()


async def test_trust_events_through_removal_and_registration_again(
        server: App, client: AsyncClient) -> None:
    plugin = await SimulatedDmiPlugin(f"127.0.0.1:{server.port}").start()
    trust = await Collector(client.cm_handles.WatchTrustLevels(
        cpb.WatchTrustLevelsRequest())).live()
    lcm = await Collector(client.cm_handles.WatchLcmEvents(cpb.WatchLcmEventsRequest())).live()
    try:
        await plugin.register([HandleSpec("h")])
        await plugin.heartbeat({"h": NONE})
        await trust.wait_for(lambda c: len(c.events) == 2)
        await plugin.remove(["h"])
        await lcm.wait_for(lambda c: any(op(e) == "DELETE" for e in c.events))
        await trust.wait_for(lambda c: len(c.events) == 3)
        await plugin.register([HandleSpec("h")])
        await trust.wait_for(lambda c: len(c.events) == 4)
        assert trust_changes(trust, "h") == [
            (GONE, COMPLETE), (COMPLETE, NONE), (NONE, GONE), (GONE, COMPLETE)]
        assert [e.caused_by for e in trust.events] == ["", "", "@server", ""]
        revisions = [e.revision for e in trust.events]
        assert revisions == sorted(revisions)
        assert await effective(client, "h") == COMPLETE
    finally:
        await lcm.close()
        await trust.close()
        await plugin.close()


async def test_no_second_reregistration_request_while_one_is_pending(
        start_server: StartServer, clock: ManualClock) -> None:
    server = await start_server(cmhandle_health_interval=INTERVAL,
                                cmhandle_reregistration_timeout_seconds=100.0)
    client = AsyncClient(f"127.0.0.1:{server.port}")
    plugin = await SimulatedDmiPlugin(f"127.0.0.1:{server.port}").start()
    try:
        await plugin.register([HandleSpec("r")])
        await plugin.stop()
        await health_round(server, clock)
        assert await effective(client, "r") == NONE
        plugin.behaviour.reregisters = False  # it takes the requests, but is slow to act
        await plugin.start()
        for _ in range(200):  # the server's channel to it reconnects (real time, at most 10 s)
            if await server.dmi_plugins.healthy(plugin.address):
                break
            await asyncio.sleep(0.05)
        await health_round(server, clock)
        assert plugin.reregistration_requests == 1
        for _ in range(3):  # 30, 60, 90 s later: still pending (timeout 100 s)
            await health_round(server, clock)
            assert plugin.reregistration_requests == 1
        await health_round(server, clock)  # 120 s: the request timed out: asked again
        assert plugin.reregistration_requests == 2
        assert await effective(client, "r") == NONE

        plugin.behaviour.reregisters = True
        for _ in range(4):  # pending again for 100 s
            await health_round(server, clock)
        assert plugin.reregistration_requests == 3
        await asyncio.gather(*plugin.reregistrations)
        assert await effective(client, "r") == COMPLETE
        for _ in range(5):  # re-registered: nothing is pending, nothing is asked
            await health_round(server, clock)
        assert plugin.reregistration_requests == 3
    finally:
        await plugin.close()
        await client.close()


async def search_ids(client: AsyncClient, state: int) -> list[str]:
    response = await client.cm_handles.SearchCmHandles(cpb.SearchCmHandlesRequest(
        data_sync_state=state, ids_only=True))  # type: ignore[arg-type]
    return list(response.cm_handle_ids)


async def test_data_sync_state(start_server: StartServer, clock: ManualClock) -> None:
    server = await start_server(cmhandle_health_interval=INTERVAL)
    client = AsyncClient(f"127.0.0.1:{server.port}")
    plugin = await SimulatedDmiPlugin(f"127.0.0.1:{server.port}").start()
    lcm = await Collector(client.cm_handles.WatchLcmEvents(cpb.WatchLcmEventsRequest())).live()
    D = cpb.DataSyncState

    def of(handle_id: str) -> list[cpb.LcmEvent]:
        return [e for e in lcm.events if hid(e) == handle_id]

    try:
        await plugin.register([HandleSpec("on", data_sync_enabled=True), HandleSpec("off")])
        await lcm.wait_for(lambda c: len(c.events) == 4)  # created, then READY
        created = of("on")[0].content.data
        assert (created.data_sync_enabled, created.data_sync_state) == (True, "UNSYNCHRONIZED")
        assert not new(of("on")[1]).HasField("data_sync_state")  # READY: still unsynchronized
        assert await search_ids(client, D.DATA_SYNC_STATE_UNSYNCHRONIZED) == ["on"]
        assert await search_ids(client, D.DATA_SYNC_STATE_NONE_REQUESTED) == ["off"]
        handle = (await client.cm_handles.GetCmHandle(
            cpb.GetCmHandleRequest(cm_handle_id="on"))).cm_handle
        assert (handle.data_sync_enabled, handle.data_sync_state) == (
            True, D.DATA_SYNC_STATE_UNSYNCHRONIZED)

        await health_round(server, clock)  # the data sync round: the plugin syncs it
        await lcm.wait_for(lambda c: len(of("on")) == 3)
        synced = of("on")[2]
        assert (op(synced), old(synced).data_sync_state, new(synced).data_sync_state) == (
            "UPDATE", "UNSYNCHRONIZED", "SYNCHRONIZED")
        assert not new(synced).HasField("data_sync_enabled") and not new(synced).HasField("state")
        assert synced.caused_by == "@server"
        assert dict(plugin.data_syncs) == {"on": 1}
        assert await search_ids(client, D.DATA_SYNC_STATE_SYNCHRONIZED) == ["on"]

        # NCMP's data-sync-enabled flag set by an update; a failed sync is tried next round
        plugin.behaviour.data_sync_failing = True
        await client.cm_inventory.UpdateRegistration(cpb.UpdateRegistrationRequest(
            dmi_plugin=plugin.address, updated=[
                cpb.CmHandleUpdate(id="on", data_sync_enabled=False),
                cpb.CmHandleUpdate(id="off", data_sync_enabled=True)]))
        await lcm.wait_for(lambda c: len(of("on")) == 4 and len(of("off")) == 3)
        off, on = of("on")[3], of("off")[2]
        assert (old(off).data_sync_enabled, new(off).data_sync_enabled,
                old(off).data_sync_state, new(off).data_sync_state) == (
            True, False, "SYNCHRONIZED", "NONE_REQUESTED")
        assert (old(on).data_sync_enabled, new(on).data_sync_enabled,
                old(on).data_sync_state, new(on).data_sync_state) == (
            False, True, "NONE_REQUESTED", "UNSYNCHRONIZED")
        await health_round(server, clock)
        assert plugin.data_syncs["off"] == 1 and len(of("off")) == 3
        plugin.behaviour.data_sync_failing = False
        await health_round(server, clock)
        await lcm.wait_for(lambda c: len(of("off")) == 4)
        assert new(of("off")[3]).data_sync_state == "SYNCHRONIZED"
        assert dict(plugin.data_syncs) == {"on": 1, "off": 2}
        assert await search_ids(client, D.DATA_SYNC_STATE_NONE_REQUESTED) == ["on"]
    finally:
        await lcm.close()
        await plugin.close()
        await client.close()


only_postgresql = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.skipif(
        not POSTGRES_URL, reason="SWITCHBOARD_TEST_POSTGRES_URL not set"))],
    indirect=True)


@only_postgresql
async def test_heartbeat_expiry_runs_once_among_replicas(
        start_server: StartServer, clock: ManualClock) -> None:
    """Two replicas on one database: the holder of the health lease expires the silent
    device's trust, once; the other runs no health round."""
    settings = {"lease_ttl_seconds": 3600.0, "cmhandle_health_interval": INTERVAL,
                "cmhandle_heartbeat_limit_seconds": 60.0}
    a = await start_server(**settings)
    b = await start_server(**settings)
    assert "cmhandle-health" in a.leases.leases and not b.leases.leases
    client = AsyncClient(f"127.0.0.1:{b.port}")
    plugin = await SimulatedDmiPlugin(f"127.0.0.1:{b.port}").start()
    trust = await Collector(client.cm_handles.WatchTrustLevels(
        cpb.WatchTrustLevelsRequest())).live()
    try:
        await plugin.register([HandleSpec("s")])
        await plugin.heartbeat()
        for _ in range(3):  # 90 s: the heartbeat is older than 60 s
            await health_round(a, clock)
        await trust.wait_for(lambda c: len(c.events) == 2)
        for _ in range(2):
            await health_round(a, clock)
        assert trust_changes(trust, "s") == [(GONE, COMPLETE), (COMPLETE, NONE)]
        assert trust.events[1].caused_by == "@server"
        assert b.dmi_health.rounds == 0
    finally:
        await trust.close()
        await plugin.close()
        await client.close()

"""CM handle trust through real gRPC on the test clock: a simulated DMI plugin that stops
answering health checks makes its handles' effective trust NONE (one event each); when it answers
again the server asks it to re-register, and handles it no longer lists stay NONE; device
heartbeats; trust survives a server restart."""

from __future__ import annotations

import asyncio

from lcmview import hid, new, props

from switchboard.client import AsyncClient
from switchboard.client.simdmi import HandleSpec, SimulatedDmiPlugin
from switchboard.cmhandle.v1 import cmhandle_pb2 as cpb
from switchboard.server.app import App
from switchboard.server.clock import ManualClock

from conftest import StartServer
from support import Collector, advance_until

NONE = cpb.TRUST_LEVEL_NONE
COMPLETE = cpb.TRUST_LEVEL_COMPLETE


def changes(watch: Collector) -> list[tuple[str, int, int]]:
    """The changes of existing handles' trust (not those of new ones)."""
    return [(e.cm_handle_id, e.old_trust_level, e.trust_level) for e in watch.events
            if e.old_trust_level != cpb.TRUST_LEVEL_UNSPECIFIED]


async def trust_levels(client: AsyncClient, *ids: str) -> dict[str, int]:
    response = await client.cm_handles.GetTrustLevels(
        cpb.GetTrustLevelsRequest(cm_handle_ids=[*ids, "unknown"]))
    return {t.cm_handle_id: t.trust_level for t in response.trust_levels}


async def test_plugin_health_reregistration_heartbeats_restart(
        start_server: StartServer, clock: ManualClock) -> None:
    server = await start_server(cmhandle_health_interval=30.0)
    client = AsyncClient(f"127.0.0.1:{server.port}")
    plugin = await SimulatedDmiPlugin(f"127.0.0.1:{server.port}").start()
    lcm = await Collector(client.cm_handles.WatchLcmEvents(cpb.WatchLcmEventsRequest())).live()
    trust = await Collector(client.cm_handles.WatchTrustLevels(
        cpb.WatchTrustLevelsRequest())).live()
    ids = ["t1", "t2", "t3"]
    await plugin.register([HandleSpec(i, public_properties={"p": "1"}, module_set_tag="m")
                           for i in ids])
    await lcm.wait_for(lambda c: len(c.events) == 6)  # created, then READY
    clock.advance(30)  # a healthy plugin: nothing changes
    assert await trust_levels(client, *ids) == dict.fromkeys(ids, COMPLETE)

    await plugin.stop()
    await advance_until(clock, 30, trust, lambda c: len(changes(c)) >= 3)
    assert sorted(changes(trust)) == [(i, COMPLETE, NONE) for i in ids]
    assert await trust_levels(client, *ids) == dict.fromkeys(ids, NONE)
    handle = (await client.cm_handles.GetCmHandle(
        cpb.GetCmHandleRequest(cm_handle_id="t1"))).cm_handle
    assert (handle.trust_level, handle.effective_trust_level) == (COMPLETE, NONE)
    clock.advance(30)  # still down: no more events
    await asyncio.sleep(0)

    # back, listing t1 with new properties, no more t3, and a new t4
    del plugin.handles["t3"]
    plugin.handles["t1"].public_properties = {"p": "2"}
    plugin.handles["t4"] = HandleSpec("t4", module_set_tag="m")
    await plugin.start()
    await advance_until(clock, 30, trust, lambda c: len(changes(c)) >= 5)
    assert sorted(changes(trust)[3:]) == [("t1", NONE, COMPLETE), ("t2", NONE, COMPLETE)]
    assert await trust_levels(client, "t1", "t2", "t3", "t4") == {
        "t1": COMPLETE, "t2": COMPLETE, "t3": NONE, "t4": COMPLETE}
    await lcm.wait_for(lambda c: any(hid(e) == "t4" for e in c.events)
                       and any(hid(e) == "t1" and props(new(e)).get("p") == "2"
                               for e in c.events))

    # device heartbeats: the handle's own trust
    response = await plugin.heartbeat({"t2": NONE, "nope": NONE})
    assert [r.error for r in response.results] == [
        cpb.REGISTRATION_ERROR_UNSPECIFIED, cpb.REGISTRATION_ERROR_CM_HANDLES_NOT_FOUND]
    await trust.wait_for(lambda c: len(changes(c)) == 6)
    assert changes(trust)[5] == ("t2", COMPLETE, NONE)
    await plugin.heartbeat({"t2": NONE})  # unchanged: no event
    await plugin.heartbeat({"t2": COMPLETE})
    await trust.wait_for(lambda c: len(changes(c)) == 7)
    assert changes(trust)[6] == ("t2", NONE, COMPLETE)
    await plugin.heartbeat({"t1": NONE})
    await trust.wait_for(lambda c: len(changes(c)) == 8)
    assert await trust_levels(client, "t1", "t2", "t3", "t4") == {
        "t1": NONE, "t2": COMPLETE, "t3": NONE, "t4": COMPLETE}

    # the plugin stops again: only the handles still trusted change
    await plugin.stop()
    await advance_until(clock, 30, trust, lambda c: len(changes(c)) >= 10)
    assert sorted(changes(trust)[8:]) == [("t2", COMPLETE, NONE), ("t4", COMPLETE, NONE)]

    # restart: the handles' and the plugin's trust are read back from the database
    await lcm.close()
    await trust.close()
    await client.close()
    await server.stop(grace=0)
    again = await start_server(cmhandle_health_interval=30.0)
    async with AsyncClient(f"127.0.0.1:{again.port}") as client2:
        assert await trust_levels(client2, "t1", "t2", "t3", "t4") == dict.fromkeys(
            ["t1", "t2", "t3", "t4"], NONE)
        handle = (await client2.cm_handles.GetCmHandle(
            cpb.GetCmHandleRequest(cm_handle_id="t2"))).cm_handle
        assert (handle.trust_level, handle.effective_trust_level) == (COMPLETE, NONE)
        # the restarted server checks the plugin too, and trusts it once it answers again
        trust2 = await Collector(client2.cm_handles.WatchTrustLevels(
            cpb.WatchTrustLevelsRequest())).live()
        await plugin.close()
        back = SimulatedDmiPlugin(f"127.0.0.1:{again.port}", port=plugin.port)
        back.handles = plugin.handles
        await back.start()
        await advance_until(clock, 30, trust2, lambda c: len(changes(c)) >= 3)
        # the re-registration lists t1 at COMPLETE again (over its heartbeat); t3 stays NONE
        assert sorted(changes(trust2)) == [
            ("t1", NONE, COMPLETE), ("t2", NONE, COMPLETE), ("t4", NONE, COMPLETE)]
        assert await trust_levels(client2, "t1", "t2", "t3", "t4") == {
            "t1": COMPLETE, "t2": COMPLETE, "t3": NONE, "t4": COMPLETE}
        await trust2.close()
        await back.close()



async def test_trust_reports_are_answered_entry_by_entry(server: App,
                                                        client: AsyncClient) -> None:
    """A bad entry fails alone, as in registration; GetTrustLevels names what it does not
    know."""
    plugin = await SimulatedDmiPlugin(f"127.0.0.1:{server.port}").start()
    try:
        await plugin.register([HandleSpec("a"), HandleSpec("b")])
        trust = await Collector(client.cm_handles.WatchTrustLevels(
            cpb.WatchTrustLevelsRequest())).live()
        response = await client.cm_inventory.ReportTrustLevels(cpb.ReportTrustLevelsRequest(
            dmi_plugin=plugin.address, trust_levels=[
                cpb.CmHandleTrustLevel(cm_handle_id="a", trust_level=NONE),
                cpb.CmHandleTrustLevel(cm_handle_id="b"),
                cpb.CmHandleTrustLevel(trust_level=NONE),
                cpb.CmHandleTrustLevel(cm_handle_id="ghost", trust_level=NONE)]))
        E = cpb.RegistrationError
        assert [(r.cm_handle_id, r.error) for r in response.results] == [
            ("a", E.REGISTRATION_ERROR_UNSPECIFIED), ("b", E.REGISTRATION_ERROR_UNKNOWN_ERROR),
            ("", E.REGISTRATION_ERROR_CM_HANDLE_INVALID_ID),
            ("ghost", E.REGISTRATION_ERROR_CM_HANDLES_NOT_FOUND)]
        assert "trust_level" in response.results[1].message
        await trust.wait_for(lambda c: [e.cm_handle_id for e in c.events] == ["a"])
        levels = await client.cm_handles.GetTrustLevels(cpb.GetTrustLevelsRequest(
            cm_handle_ids=["b", "ghost", "a", "ghost", "x"]))
        assert [(t.cm_handle_id, t.trust_level) for t in levels.trust_levels] == [
            ("b", COMPLETE), ("a", NONE)]
        assert list(levels.unknown_cm_handle_ids) == ["ghost", "x"]
        await trust.close()
    finally:
        await plugin.close()

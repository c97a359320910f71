"""CM handles end to end through real gRPC with the simulated DMI plugin on the test clock:
per-handle registration results, module sync (ADVISED → READY, failures, retries, upgrades),
removal, and the LCM events of each step, checked field by field."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import grpc
import pytest
from lcmview import hid, modules, new, observed, old, op, props, state

from switchboard.client import AsyncClient
from switchboard.client.simdmi import HandleSpec, SimulatedDmiPlugin, default_modules
from switchboard.cmhandle.v1 import cmhandle_pb2 as cpb
from switchboard.server.app import App
from switchboard.server.clock import ManualClock

from conftest import StartServer
from support import Collector, advance_until, bad_fields

S = cpb.CmHandleState
E = cpb.RegistrationError


def lcm(watch: Collector, handle_id: str) -> list[cpb.LcmEvent]:
    return [e for e in watch.events if hid(e) == handle_id]


@pytest.fixture
async def plugin(server: App) -> AsyncIterator[SimulatedDmiPlugin]:
    p = await SimulatedDmiPlugin(f"127.0.0.1:{server.port}").start()
    yield p
    await p.close()


async def test_batch_results_per_handle(client: AsyncClient, plugin: SimulatedDmiPlugin) -> None:
    await plugin.register([HandleSpec("taken", alternate_id="alt-taken")])
    response = await client.cm_inventory.UpdateRegistration(cpb.UpdateRegistrationRequest(
        dmi_plugin=plugin.address,
        created=[cpb.NewCmHandle(id="a", public_properties={"k": "v"}),
                 cpb.NewCmHandle(id="b", alternate_id="alt-b"),
                 cpb.NewCmHandle(id="a"),
                 cpb.NewCmHandle(id="taken"),
                 cpb.NewCmHandle(id="bad id"),
                 cpb.NewCmHandle(id="c", alternate_id="alt-taken"),
                 cpb.NewCmHandle(id="alt-b")],
        updated=[cpb.CmHandleUpdate(id="nope", public_properties={"x": "y"}),
                 cpb.CmHandleUpdate(id="taken", alternate_id="other")],
        removed=["ghost"],
        upgraded=[cpb.CmHandleUpgrade(id="a", module_set_tag="t2")]))
    assert [(r.cm_handle_id, r.error) for r in response.created] == [
        ("a", E.REGISTRATION_ERROR_UNSPECIFIED), ("b", E.REGISTRATION_ERROR_UNSPECIFIED),
        ("a", E.REGISTRATION_ERROR_CM_HANDLE_ALREADY_EXIST),
        ("taken", E.REGISTRATION_ERROR_CM_HANDLE_ALREADY_EXIST),
        ("bad id", E.REGISTRATION_ERROR_CM_HANDLE_INVALID_ID),
        ("c", E.REGISTRATION_ERROR_CM_HANDLE_ALREADY_EXIST),
        ("alt-b", E.REGISTRATION_ERROR_CM_HANDLE_ALREADY_EXIST)]
    assert [(r.cm_handle_id, r.error) for r in response.updated] == [
        ("nope", E.REGISTRATION_ERROR_CM_HANDLES_NOT_FOUND),
        ("taken", E.REGISTRATION_ERROR_CM_HANDLE_ALREADY_EXIST)]
    assert [(r.cm_handle_id, r.error) for r in response.removed] == [
        ("ghost", E.REGISTRATION_ERROR_CM_HANDLES_NOT_FOUND)]
    assert [(r.cm_handle_id, r.error) for r in response.upgraded] == [
        ("a", E.REGISTRATION_ERROR_CM_HANDLES_NOT_READY)]
    assert all(r.message for r in [*response.created[2:], *response.updated, *response.removed])
    a = (await client.cm_handles.GetCmHandle(cpb.GetCmHandleRequest(cm_handle_id="a"))).cm_handle
    assert (a.dmi_plugin, dict(a.public_properties)) == (plugin.address, {"k": "v"})
    b = (await client.cm_handles.GetCmHandle(cpb.GetCmHandleRequest(cm_handle_id="b"))).cm_handle
    assert b.alternate_id == "alt-b"
    taken = (await client.cm_handles.GetCmHandle(
        cpb.GetCmHandleRequest(cm_handle_id="taken"))).cm_handle
    assert taken.alternate_id == "alt-taken"
    for missing in ("c", "bad id", "alt-b"):
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await client.cm_handles.GetCmHandle(cpb.GetCmHandleRequest(cm_handle_id=missing))
        assert e.value.code() == grpc.StatusCode.NOT_FOUND


async def test_lifecycle_events(client: AsyncClient, plugin: SimulatedDmiPlugin,
                                clock: ManualClock) -> None:
    watch = await Collector(client.cm_handles.WatchLcmEvents(cpb.WatchLcmEventsRequest())).live()
    await plugin.register([HandleSpec("h1", public_properties={"vendor": "v1", "site": "s1"},
                                      module_set_tag="t1")])
    await watch.wait_for(lambda c: len(lcm(c, "h1")) == 2)
    create, to_ready = lcm(watch, "h1")
    assert (op(create), create.source, create.type, create.schema) == (
        "CREATE", "urn:cps:org.onap.ncmp", "org.onap.cps.cmhandle-lcm-event",
        "urn:cps:org.onap.ncmp:cmhandle-lcm-event-schema:v2")
    assert create.content.dataspace_name == "NCMP-Admin"
    assert create.id and create.id != to_ready.id and create.revision < to_ready.revision
    assert observed(create) == clock.now()
    data = create.content.data
    assert not data.HasField("old_values") and not data.HasField("new_values")
    assert data.state == "ADVISED"
    assert props(data) == {"vendor": "v1", "site": "s1"}
    assert create.content.HasField("schema_set") and create.content.schema_set == ""
    t1 = sorted((m.name, m.revision) for m in default_modules("t1"))
    assert op(to_ready) == "UPDATE" and state(new(to_ready)) == ("READY", "")
    assert state(old(to_ready)) == ("ADVISED", "")
    assert (modules(old(to_ready)), modules(new(to_ready))) == ([], t1)
    assert not old(to_ready).public_properties and not new(to_ready).public_properties

    # properties: one modified, one removed, one added; DMI properties change no event
    response = await client.cm_inventory.UpdateRegistration(cpb.UpdateRegistrationRequest(
        dmi_plugin=plugin.address, updated=[cpb.CmHandleUpdate(
            id="h1", public_properties={"vendor": "v2", "rack": "r9"},
            removed_public_properties=["site"], dmi_properties={"d": "1"})]))
    assert response.updated[0].error == E.REGISTRATION_ERROR_UNSPECIFIED
    await watch.wait_for(lambda c: len(lcm(c, "h1")) == 3)
    update = lcm(watch, "h1")[2]
    assert op(update) == "UPDATE"
    assert props(old(update)) == {"vendor": "v1", "site": None}
    assert props(new(update)) == {"vendor": "v2", "site": None, "rack": "r9"}
    assert not old(update).HasField("state") and not new(update).HasField("state")
    assert not new(update).HasField("schema_set")

    # upgrade: READY → LOCKED(MODULE_UPGRADE) → READY with the new module set
    plugin.module_sets["t2"] = [cpb.ModuleReference(name="new-module", revision="2025-01-01")]
    await client.cm_inventory.UpdateRegistration(cpb.UpdateRegistrationRequest(
        dmi_plugin=plugin.address, upgraded=[cpb.CmHandleUpgrade(id="h1", module_set_tag="t2")]))
    await watch.wait_for(lambda c: len(lcm(c, "h1")) == 5)
    locked, upgraded = lcm(watch, "h1")[3:]
    assert old(locked).state.cm_handle_state == "READY"
    assert (new(locked).state.cm_handle_state, new(locked).state.lock_reason) == (
        "LOCKED", "MODULE_UPGRADE")
    assert not new(locked).HasField("schema_set")
    assert new(upgraded).state.cm_handle_state == "READY"
    assert (modules(old(upgraded)), modules(new(upgraded))) == (
        t1, [("new-module", "2025-01-01")])

    # removal: DELETING, then DELETED (a DELETE event without values)
    await plugin.remove(["h1"])
    await watch.wait_for(lambda c: len(lcm(c, "h1")) == 7)
    deleting, gone = lcm(watch, "h1")[5:]
    assert (old(deleting).state.cm_handle_state, new(deleting).state.cm_handle_state) == (
        "READY", "DELETING")
    assert op(gone) == "DELETE"
    assert not gone.content.HasField("data")
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await client.cm_handles.GetCmHandle(cpb.GetCmHandleRequest(cm_handle_id="h1"))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    await watch.close()


async def test_failed_sync_locks_then_retries(client: AsyncClient, plugin: SimulatedDmiPlugin,
                                              clock: ManualClock) -> None:
    watch = await Collector(client.cm_handles.WatchLcmEvents(cpb.WatchLcmEventsRequest())).live()
    plugin.behaviour.failing = True
    await plugin.register([HandleSpec(f"f{i}", module_set_tag="shared") for i in range(5)])
    await watch.wait_for(lambda c: all(len(lcm(c, f"f{i}")) == 2 for i in range(5)))
    assert plugin.fetches["shared"] == 1  # handles sharing a tag share one fetch
    # the five creates of one registration come in one WatchLcmEvents response
    assert any(sum(op(e) == "CREATE" for e in r.events) == 5
               for r in watch.responses)
    for i in range(5):
        failed = lcm(watch, f"f{i}")[1]
        assert (new(failed).state.cm_handle_state, new(failed).state.lock_reason) == (
            "LOCKED", "MODULE_SYNC_FAILED")
        assert not new(failed).HasField("schema_set")
    plugin.behaviour.failing = False
    await advance_until(clock, 30, watch,
                        lambda c: all(len(lcm(c, f"f{i}")) == 3 for i in range(5)))
    assert plugin.fetches["shared"] == 2
    for i in range(5):
        ready = lcm(watch, f"f{i}")[2]
        assert old(ready).state.lock_reason == "MODULE_SYNC_FAILED"
        assert new(ready).state.cm_handle_state == "READY"
        assert modules(new(ready)) == sorted(
            (m.name, m.revision) for m in default_modules("shared"))
    await watch.close()


async def test_sync_concurrency_is_bounded(start_server: StartServer) -> None:
    server = await start_server(cmhandle_sync_concurrency=3)
    client = AsyncClient(f"127.0.0.1:{server.port}")
    plugin = await SimulatedDmiPlugin(f"127.0.0.1:{server.port}").start()
    plugin.behaviour.delay = 0.02  # each fetch is slow: many would overlap without the bound
    watch = await Collector(client.cm_handles.WatchLcmEvents(cpb.WatchLcmEventsRequest())).live()
    await plugin.register([HandleSpec(f"u{i}") for i in range(12)])  # untagged: 12 fetches
    await watch.wait_for(lambda c: sum(
        new(e).state.cm_handle_state == "READY" for e in c.events) == 12)
    assert len(plugin.fetches) == 12
    assert plugin.most_in_flight == 3
    await watch.close()
    await plugin.close()
    await client.close()


async def test_client_watch_helpers(client: AsyncClient, plugin: SimulatedDmiPlugin) -> None:
    await plugin.register([HandleSpec("w0"), HandleSpec("w1")])
    lcm = client.watch_lcm_events(start_revision=1, cm_handle_id="w1")
    trust = client.watch_trust_levels(start_revision=1, cm_handle_id="w1")
    lcm_events = aiter(lcm)
    trust_events = aiter(trust)
    first = asyncio.ensure_future(anext(lcm_events))
    changed = asyncio.ensure_future(anext(trust_events))
    created = await asyncio.wait_for(first, 10)
    assert (hid(created), op(created)) == ("w1", "CREATE")
    new_handle = await asyncio.wait_for(changed, 10)  # a new handle's trust is an event too
    assert (new_handle.cm_handle_id, new_handle.old_trust_level, new_handle.trust_level) == (
        "w1", cpb.TRUST_LEVEL_UNSPECIFIED, cpb.TRUST_LEVEL_COMPLETE)
    await plugin.heartbeat({"w0": cpb.TRUST_LEVEL_NONE, "w1": cpb.TRUST_LEVEL_NONE})
    event = await asyncio.wait_for(anext(trust_events), 10)
    assert (event.cm_handle_id, event.trust_level) == ("w1", cpb.TRUST_LEVEL_NONE)
    assert lcm.revision >= created.revision and trust.revision == event.revision


async def test_bad_input_names_each_field(client: AsyncClient) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await client.cm_inventory.UpdateRegistration(cpb.UpdateRegistrationRequest(
            dmi_plugin="no-port",
            created=[cpb.NewCmHandle(id="x"), cpb.NewCmHandle(id="y")],
            updated=[cpb.CmHandleUpdate(id="x", public_properties={"p": "1"},
                                        removed_public_properties=["p", ""])]))
    assert bad_fields(e.value) == {
        "dmi_plugin", "updated[0].removed_public_properties[0]",
        "updated[0].removed_public_properties[1]"}
    # Undefined enum numbers are refused before the servicer runs (requestcheck), on their own.
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await client.cm_inventory.UpdateRegistration(cpb.UpdateRegistrationRequest(
            dmi_plugin="no-port", created=[cpb.NewCmHandle(id="x"), cpb.NewCmHandle(
                id="y", trust_level=9)]))  # type: ignore[arg-type]
    assert bad_fields(e.value) == {"created[1].trust_level"}
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await client.cm_inventory.Reregister(cpb.ReregisterRequest(
            dmi_plugin="host:", cm_handles=[cpb.NewCmHandle(id="z")]))
    assert bad_fields(e.value) == {"dmi_plugin"}
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await client.cm_inventory.Reregister(cpb.ReregisterRequest(
            dmi_plugin="host:", cm_handles=[cpb.NewCmHandle(id="z"), cpb.NewCmHandle(
                id="y", trust_level=7)]))  # type: ignore[arg-type]
    assert bad_fields(e.value) == {"cm_handles[1].trust_level"}
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await client.cm_inventory.ReportTrustLevels(cpb.ReportTrustLevelsRequest(
            dmi_plugin="", trust_levels=[cpb.CmHandleTrustLevel()]))
    assert bad_fields(e.value) == {"dmi_plugin"}  # the entries are answered one by one
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await client.cm_handles.SearchCmHandles(cpb.SearchCmHandlesRequest(
            page_size=-1, page_token="%%%", module_names=[""]))
    assert bad_fields(e.value) == {"page_size", "page_token", "module_names[0]"}
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await client.cm_handles.SearchCmHandles(cpb.SearchCmHandlesRequest(
            state=42, trust_level=42, page_size=-1))  # type: ignore[arg-type]
    assert bad_fields(e.value) == {"state", "trust_level"}
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await client.cm_handles.GetTrustLevels(cpb.GetTrustLevelsRequest())
    assert bad_fields(e.value) == {"cm_handle_ids"}
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await client.cm_handles.GetCmHandle(cpb.GetCmHandleRequest())
    assert bad_fields(e.value) == {"cm_handle_id"}
    found = await client.cm_handles.SearchCmHandles(cpb.SearchCmHandlesRequest(ids_only=True))
    assert list(found.cm_handle_ids) == []  # nothing was written


async def until(predicate: Callable[[], bool], clock: ManualClock | None = None,
                seconds: float = 0.0) -> None:
    """Waits (at most 10 s, against a hang) until `predicate` holds, moving the test clock on
    by `seconds` each time it does not yet: for what no LCM event shows (a failed retry)."""
    async with asyncio.timeout(10):
        while not predicate():
            if clock is not None:
                clock.advance(seconds)
            await asyncio.sleep(0.005)


async def test_failed_upgrade_locks_then_retries(client: AsyncClient, plugin: SimulatedDmiPlugin,
                                                 clock: ManualClock) -> None:
    watch = await Collector(client.cm_handles.WatchLcmEvents(cpb.WatchLcmEventsRequest())).live()
    await plugin.register([HandleSpec("g1", public_properties={"p": "1"}, module_set_tag="t1")])
    await watch.wait_for(lambda c: len(lcm(c, "g1")) == 2)
    t1 = sorted((m.name, m.revision) for m in default_modules("t1"))
    t2 = sorted((m.name, m.revision) for m in default_modules("t2"))

    plugin.behaviour.failing = True
    response = await client.cm_inventory.UpdateRegistration(cpb.UpdateRegistrationRequest(
        dmi_plugin=plugin.address, upgraded=[cpb.CmHandleUpgrade(id="g1", module_set_tag="t2")]))
    assert [(r.cm_handle_id, r.error) for r in response.upgraded] == [
        ("g1", E.REGISTRATION_ERROR_UNSPECIFIED)]
    await watch.wait_for(lambda c: len(lcm(c, "g1")) == 4)
    locked, failed = lcm(watch, "g1")[2:]
    for event in (locked, failed):
        assert (op(event), hid(event)) == ("UPDATE", "g1")
        assert observed(event) == clock.now()
        for values in (old(event), new(event)):
            assert values.HasField("state")
            assert not values.public_properties and not values.HasField("schema_set")
    assert (old(locked).state.cm_handle_state, old(locked).state.lock_reason) == (
        "READY", "")
    assert (new(locked).state.cm_handle_state, new(locked).state.lock_reason) == (
        "LOCKED", "MODULE_UPGRADE")
    assert old(failed).state == new(locked).state
    assert (new(failed).state.cm_handle_state, new(failed).state.lock_reason) == (
        "LOCKED", "MODULE_UPGRADE_FAILED")
    assert plugin.fetches["t2"] == 1
    h = (await client.cm_handles.GetCmHandle(cpb.GetCmHandleRequest(cm_handle_id="g1"))).cm_handle
    assert (h.state, h.lock_reason, h.module_set_tag) == (
        S.CM_HANDLE_STATE_LOCKED, cpb.LOCK_REASON_MODULE_UPGRADE_FAILED, "t2")
    assert [(m.name, m.revision) for m in h.modules] == t1  # the old set until the new one

    # a retry that fails again changes nothing an application sees: no event
    await until(lambda: plugin.fetches["t2"] == 2, clock, 30)
    plugin.behaviour.failing = False
    await advance_until(clock, 30, watch, lambda c: len(lcm(c, "g1")) == 5)
    ready = lcm(watch, "g1")[4]
    assert op(ready) == "UPDATE"
    assert (old(ready).state.cm_handle_state, old(ready).state.lock_reason) == (
        "LOCKED", "MODULE_UPGRADE_FAILED")
    assert (new(ready).state.cm_handle_state, new(ready).state.lock_reason) == (
        "READY", "")
    assert (modules(old(ready)), modules(new(ready))) == (t1, t2)
    assert not old(ready).public_properties
    assert not new(ready).public_properties
    assert plugin.fetches["t2"] == 3
    h = (await client.cm_handles.GetCmHandle(cpb.GetCmHandleRequest(cm_handle_id="g1"))).cm_handle
    assert (h.state, h.module_set_tag, [(m.name, m.revision) for m in h.modules]) == (
        S.CM_HANDLE_STATE_READY, "t2", t2)
    await watch.close()


async def test_reregistration_upgrades_ready_handles(
        client: AsyncClient, plugin: SimulatedDmiPlugin, clock: ManualClock) -> None:
    watch = await Collector(client.cm_handles.WatchLcmEvents(cpb.WatchLcmEventsRequest())).live()
    await plugin.register([HandleSpec(i, public_properties={"p": "1"}, module_set_tag="t1")
                           for i in ("r1", "r2")])
    await watch.wait_for(lambda c: all(len(lcm(c, i)) == 2 for i in ("r1", "r2")))
    plugin.behaviour.failing = True
    await plugin.register([HandleSpec("r3", module_set_tag="t9")])
    await watch.wait_for(lambda c: all(len(lcm(c, i)) == 2 for i in ("r1", "r2", "r3")))
    assert new(lcm(watch, "r3")[1]).state.lock_reason == "MODULE_SYNC_FAILED"
    plugin.behaviour.failing = False
    t1 = sorted((m.name, m.revision) for m in default_modules("t1"))
    plugin.module_sets["t3"] = [cpb.ModuleReference(name="upgraded", revision="2026-01-01")]

    # r1: new tag and a changed property; r2: as before; r3 (LOCKED, not READY) just takes
    # its new tag and keeps its backoff
    plugin.handles["r1"].module_set_tag = "t3"
    plugin.handles["r1"].public_properties = {"p": "2"}
    plugin.handles["r3"].module_set_tag = "t3"
    response = await plugin.reregister()
    assert [(r.cm_handle_id, r.error) for r in response.results] == [
        ("r1", E.REGISTRATION_ERROR_UNSPECIFIED), ("r2", E.REGISTRATION_ERROR_UNSPECIFIED),
        ("r3", E.REGISTRATION_ERROR_UNSPECIFIED)]
    await watch.wait_for(lambda c: len(lcm(c, "r1")) == 4)
    locked, ready = lcm(watch, "r1")[2:]
    assert op(locked) == "UPDATE"
    assert (old(locked).state.cm_handle_state, old(locked).state.lock_reason) == (
        "READY", "")
    assert (new(locked).state.cm_handle_state, new(locked).state.lock_reason) == (
        "LOCKED", "MODULE_UPGRADE")
    assert (props(old(locked)), props(new(locked))) == ({"p": "1"}, {"p": "2"})
    assert not old(locked).HasField("schema_set")
    assert not new(locked).HasField("schema_set")
    assert op(ready) == "UPDATE"
    assert old(ready).state == new(locked).state
    assert new(ready).state.cm_handle_state == "READY"
    assert (modules(old(ready)), modules(new(ready))) == (
        t1, [("upgraded", "2026-01-01")])
    assert not new(ready).public_properties
    assert plugin.fetches["t3"] == 1  # r3 waits for its backoff
    assert len(lcm(watch, "r2")) == 2 and len(lcm(watch, "r3")) == 2  # nothing they show changed

    await advance_until(clock, 30, watch, lambda c: len(lcm(c, "r3")) == 3)
    r3 = lcm(watch, "r3")[2]
    assert (old(r3).state.lock_reason, new(r3).state.cm_handle_state) == (
        "MODULE_SYNC_FAILED", "READY")
    assert modules(new(r3)) == [("upgraded", "2026-01-01")]
    assert plugin.fetches["t9"] == 1 and plugin.fetches["t3"] == 2
    for handle_id, tag in (("r1", "t3"), ("r2", "t1"), ("r3", "t3")):
        h = (await client.cm_handles.GetCmHandle(
            cpb.GetCmHandleRequest(cm_handle_id=handle_id))).cm_handle
        assert (h.state, h.module_set_tag) == (S.CM_HANDLE_STATE_READY, tag)
    assert len(lcm(watch, "r1")) == 4 and len(lcm(watch, "r2")) == 2
    await watch.close()

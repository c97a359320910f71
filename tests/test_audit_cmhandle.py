"""Audit of CM handle events, with an authorizing server and a DMI plugin principal: LCM and
trust-level events say who caused them (the plugin for what its calls change, @server for module
sync and health checks). CM handles belong to no project: every viewer sees them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from switchboard.client import AsyncClient
from switchboard.client.simdmi import SimulatedDmiPlugin
from switchboard.cmhandle.v1 import cmhandle_pb2 as cpb
from switchboard.server.app import App
from switchboard.server.clock import ManualClock

from conftest import StartServer
from support import Collector, advance_until
from tokens import AUDIENCE, ISSUER, Issuer

POLICY = """
[principals]
plugin-a = ["dmi-plugin:a"]
alice = ["viewer"]
bob = ["viewer"]

[dmi_plugins.a]
addresses = ["127.0.0.1:*"]

[projects]
blue = { principals = ["alice"] }
red = { principals = ["bob"] }
"""



@pytest.fixture
async def authz_server(start_server: StartServer, tmp_path: Path) -> AsyncIterator[
        tuple[App, Issuer]]:
    issuer = Issuer()
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    app = await start_server(
        policy_file=str(policy), jwt_issuer=ISSUER, jwt_audience=AUDIENCE,
        jwt_key_file=str(issuer.write_pem(tmp_path / "jwt.pem")), cmhandle_health_interval=30.0)
    yield app, issuer


async def test_lcm_and_trust_events_name_the_plugin_or_the_server(
        authz_server: tuple[App, Issuer], clock: ManualClock) -> None:
    app, issuer = authz_server
    target = f"127.0.0.1:{app.port}"
    # The simulated plugin serves the module sets; its registrations go with its token.
    plugin = await SimulatedDmiPlugin(target).start()
    async with AsyncClient(target, token=issuer.token("plugin-a", clock.now())) as a, \
            AsyncClient(target, token=issuer.token("alice", clock.now())) as alice, \
            AsyncClient(target, token=issuer.token("bob", clock.now())) as bob:
        lcm = await Collector(alice.cm_handles.WatchLcmEvents(
            cpb.WatchLcmEventsRequest())).live()
        trust = await Collector(alice.cm_handles.WatchTrustLevels(
            cpb.WatchTrustLevelsRequest())).live()
        await a.cm_inventory.UpdateRegistration(cpb.UpdateRegistrationRequest(
            dmi_plugin=plugin.address, created=[cpb.NewCmHandle(id="h1", module_set_tag="t")]))
        await lcm.wait_for(lambda c: len(c.events) == 2)
        assert [(e.content.operation, e.content.data.state
                 or e.content.data.new_values.state.cm_handle_state, e.caused_by)
                for e in lcm.events] == [
            ("CREATE", "ADVISED", "plugin-a"),
            ("UPDATE", "READY", "@server")]  # module sync

        await a.cm_inventory.ReportTrustLevels(cpb.ReportTrustLevelsRequest(
            dmi_plugin=plugin.address, trust_levels=[cpb.CmHandleTrustLevel(
                cm_handle_id="h1", trust_level=cpb.TRUST_LEVEL_NONE)]))
        await trust.wait_for(lambda c: len(c.events) == 2)  # new (COMPLETE), then NONE
        await a.cm_inventory.ReportTrustLevels(cpb.ReportTrustLevelsRequest(
            dmi_plugin=plugin.address, trust_levels=[cpb.CmHandleTrustLevel(
                cm_handle_id="h1", trust_level=cpb.TRUST_LEVEL_COMPLETE)]))
        await plugin.stop()  # fails its health check: the server takes its trust away
        await advance_until(clock, 30, trust, lambda c: len(c.events) == 4)
        assert [(e.trust_level, e.caused_by) for e in trust.events] == [
            (cpb.TRUST_LEVEL_COMPLETE, "plugin-a"), (cpb.TRUST_LEVEL_NONE, "plugin-a"),
            (cpb.TRUST_LEVEL_COMPLETE, "plugin-a"),
            (cpb.TRUST_LEVEL_NONE, "@server")]

        # Handles belong to no project: a viewer of another project sees the same.
        seen = await Collector(bob.cm_handles.WatchLcmEvents(cpb.WatchLcmEventsRequest(
            start_revision=1, cm_handle_id="h1"))).live()
        assert [(e.revision, e.caused_by) for e in seen.events] == [
            (e.revision, e.caused_by) for e in lcm.events]
        handle = await bob.cm_handles.GetCmHandle(cpb.GetCmHandleRequest(cm_handle_id="h1"))
        assert handle.cm_handle.effective_trust_level == cpb.TRUST_LEVEL_NONE
        for watch in (lcm, trust, seen):
            await watch.close()
    await plugin.close()

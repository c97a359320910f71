"""The simulated DMI plugin as its own process (`python -m switchboard.client.simdmi`) against
the in-process server on the test clock: it registers handles that become READY; stopped, its
handles lose trust; started again with fewer handles, it re-registers when asked and the handles
it no longer lists stay untrusted."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from switchboard.client import AsyncClient
from switchboard.cmhandle.v1 import cmhandle_pb2 as cpb
from switchboard.server.app import App
from switchboard.server.clock import ManualClock

from support import Collector, free_port


async def advance_until(clock: ManualClock, watch: Collector,
                        predicate: Callable[[Collector], bool]) -> None:
    """Moves the test clock on by a health interval until `predicate` holds (the process
    starts, and the checker reads the clock, in real time)."""
    for _ in range(40):
        clock.advance(30)
        try:
            async with asyncio.timeout(0.5):
                await watch.wait_for(predicate)
            return
        except (TimeoutError, AssertionError):
            continue
    await watch.wait_for(predicate)


@asynccontextmanager
async def simdmi(server_port: int, port: int, handles: int) -> AsyncIterator[None]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "switchboard.client.simdmi", "--server",
        f"127.0.0.1:{server_port}", "--port", str(port), "--handles", str(handles),
        "--module-sets", "5", stdout=asyncio.subprocess.DEVNULL)
    try:
        yield
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            await process.wait()


async def test_simulated_plugin_process(server: App, client: AsyncClient,
                                        clock: ManualClock) -> None:
    lcm = await Collector(client.cm_handles.WatchLcmEvents(cpb.WatchLcmEventsRequest())).live()
    trust = await Collector(client.cm_handles.WatchTrustLevels(
        cpb.WatchTrustLevelsRequest())).live()
    port = free_port()
    async with simdmi(server.port, port, 50):
        await lcm.wait_for(lambda c: sum(e.content.data.new_values.state.cm_handle_state == "READY"
                                         for e in c.events) == 50)
    found = await client.cm_handles.SearchCmHandles(cpb.SearchCmHandlesRequest(
        dmi_plugin=f"127.0.0.1:{port}", state=cpb.CM_HANDLE_STATE_READY, ids_only=True))
    assert list(found.cm_handle_ids) == [f"ch-{i:06d}" for i in range(50)]

    # the process has ended: the next health check fails
    await advance_until(clock, trust, lambda c: len(c.events) == 100)  # 50 new, then NONE
    assert {e.trust_level for e in trust.events[50:]} == {cpb.TRUST_LEVEL_NONE}

    async with simdmi(server.port, port, 40):
        # once it serves again, a health check passes and it is asked to re-register
        await advance_until(clock, trust, lambda c: len(c.events) == 140)
    assert sorted(e.cm_handle_id for e in trust.events[100:]) == [
        f"ch-{i:06d}" for i in range(40)]
    levels = await client.cm_handles.GetTrustLevels(cpb.GetTrustLevelsRequest(
        cm_handle_ids=[f"ch-{i:06d}" for i in range(38, 42)]))
    assert [t.trust_level for t in levels.trust_levels] == [
        cpb.TRUST_LEVEL_COMPLETE, cpb.TRUST_LEVEL_COMPLETE, cpb.TRUST_LEVEL_NONE,
        cpb.TRUST_LEVEL_NONE]
    await lcm.close()
    await trust.close()

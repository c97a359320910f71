"""SearchCmHandles through real gRPC over a few thousand handles of two simulated DMI plugins:
every condition alone and combined, ids-only and full, across pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from switchboard.client import AsyncClient
from switchboard.client.simdmi import SimulatedDmiPlugin, make_handles
from switchboard.cmhandle.v1 import cmhandle_pb2 as cpb
from switchboard.server.app import App

from support import Collector

S = cpb.CmHandleState
COUNT = 2500
LOCKED_COUNT = 200


@pytest.fixture
async def plugins(server: App, client: AsyncClient
                  ) -> AsyncIterator[tuple[SimulatedDmiPlugin, SimulatedDmiPlugin]]:
    """`COUNT` READY handles on one plugin (every fifth at device trust NONE), and
    `LOCKED_COUNT` LOCKED ones on another whose module fetches fail."""
    target = f"127.0.0.1:{server.port}"
    good = await SimulatedDmiPlugin(target).start()
    bad = await SimulatedDmiPlugin(target).start()
    bad.behaviour.failing = True
    watch = await Collector(client.cm_handles.WatchLcmEvents(cpb.WatchLcmEventsRequest())).live()
    await good.register(make_handles(COUNT, "g", module_sets=10, properties={
        "vendor": "vendor-{m}", "site": "site-{i}"}))
    await bad.register(make_handles(LOCKED_COUNT, "b", module_sets=2,
                                    properties={"vendor": "vendor-{m}"}))
    total = COUNT + LOCKED_COUNT
    await watch.wait_for(lambda c: sum(
        1 for e in c.events if e.content.operation == "UPDATE") == total)
    await watch.close()
    await good.heartbeat({f"g-{i:06d}": cpb.TRUST_LEVEL_NONE for i in range(0, COUNT, 5)})
    yield good, bad
    await good.close()
    await bad.close()


async def search(client: AsyncClient, page_size: int = 700, **conditions: Any) -> list[str]:
    """Every matching id, page by page."""
    ids: list[str] = []
    token = ""
    while True:
        response = await client.cm_handles.SearchCmHandles(cpb.SearchCmHandlesRequest(
            ids_only=True, page_size=page_size, page_token=token, **conditions))
        ids += response.cm_handle_ids
        token = response.next_page_token
        if not token:
            return ids


def good(*indexes: int) -> list[str]:
    return [f"g-{i:06d}" for i in indexes]


async def test_search_conditions(client: AsyncClient,
                                 plugins: tuple[SimulatedDmiPlugin, SimulatedDmiPlugin]) -> None:
    first, second = plugins
    everything = await search(client)
    assert len(everything) == COUNT + LOCKED_COUNT and everything == sorted(everything)
    vendor3 = good(*range(3, COUNT, 10))  # the LOCKED handles' vendors are vendor-0 and -1
    assert await search(client, public_properties={"vendor": "vendor-3"}) == vendor3
    assert await search(client, public_properties={"vendor": "vendor-1"}) == sorted(
        good(*range(1, COUNT, 10)) + [f"b-{i:06d}" for i in range(1, LOCKED_COUNT, 2)])
    assert await search(client, public_properties={"vendor": "vendor-3", "site": "site-13"}) \
        == good(13)
    assert await search(client, public_properties={"vendor": "vendor-4", "site": "site-13"}) \
        == []
    assert await search(client, module_names=["vendor-tag-3"]) == vendor3
    assert await search(client, module_names=["vendor-tag-3", "ietf-interfaces"]) == vendor3
    assert len(await search(client, module_names=["ietf-interfaces"])) == COUNT
    assert await search(client, state=S.CM_HANDLE_STATE_LOCKED) == [
        f"b-{i:06d}" for i in range(LOCKED_COUNT)]
    assert len(await search(client, state=S.CM_HANDLE_STATE_READY)) == COUNT
    assert await search(client, state=S.CM_HANDLE_STATE_ADVISED) == []
    untrusted = good(*range(0, COUNT, 5))
    assert await search(client, trust_level=cpb.TRUST_LEVEL_NONE) == untrusted
    assert len(await search(client, trust_level=cpb.TRUST_LEVEL_COMPLETE)) == (
        COUNT - len(untrusted) + LOCKED_COUNT)
    assert await search(client, dmi_plugin=second.address) == [
        f"b-{i:06d}" for i in range(LOCKED_COUNT)]
    assert len(await search(client, dmi_plugin=first.address, page_size=1000)) == COUNT
    combined = await search(
        client, public_properties={"vendor": "vendor-5"}, module_names=["vendor-tag-5"],
        state=S.CM_HANDLE_STATE_READY, trust_level=cpb.TRUST_LEVEL_NONE,
        dmi_plugin=first.address, page_size=7)
    assert combined == good(*(i for i in range(COUNT) if i % 10 == 5 and i % 5 == 0))
    assert await search(client, public_properties={"vendor": "vendor-1"},
                        dmi_plugin=second.address, state=S.CM_HANDLE_STATE_LOCKED) == [
        f"b-{i:06d}" for i in range(1, LOCKED_COUNT, 2)]

    # whole handles, paginated
    page = await client.cm_handles.SearchCmHandles(cpb.SearchCmHandlesRequest(
        public_properties={"vendor": "vendor-5"}, trust_level=cpb.TRUST_LEVEL_NONE,
        page_size=3))
    assert [h.id for h in page.cm_handles] == good(5, 15, 25) and not page.cm_handle_ids
    h = page.cm_handles[0]
    assert (h.state, h.dmi_plugin, h.module_set_tag, dict(h.public_properties)) == (
        S.CM_HANDLE_STATE_READY, first.address, "tag-5",
        {"vendor": "vendor-5", "site": "site-5"})
    assert (h.trust_level, h.effective_trust_level) == (cpb.TRUST_LEVEL_NONE,
                                                        cpb.TRUST_LEVEL_NONE)
    assert [m.name for m in h.modules] == ["ietf-interfaces", "vendor-tag-5"]
    rest = await client.cm_handles.SearchCmHandles(cpb.SearchCmHandlesRequest(
        public_properties={"vendor": "vendor-5"}, trust_level=cpb.TRUST_LEVEL_NONE,
        page_size=1000, page_token=page.next_page_token))
    assert [h.id for h in rest.cm_handles] == good(*range(35, COUNT, 10))
    assert rest.next_page_token == ""

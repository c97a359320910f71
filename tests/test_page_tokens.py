"""A page token is bound to the list and the filters it was issued for: given to another list,
or to the same list with other filters, it is refused (INVALID_ARGUMENT on `page_token`), in
every List of every service; with the same filters (and any page size) it pages on."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest
from test_participant_flow import acm, composition, participants, two_participants
from test_scheduler_dispatch import approve
from test_scheduler_flow import create, schedule, settled, vnf

from switchboard.allocation.v1 import allocation_pb2 as apb
from switchboard.client import AsyncClient
from switchboard.client.simdmi import HandleSpec, SimulatedDmiPlugin
from switchboard.cmhandle.v1 import cmhandle_pb2 as cpb
from switchboard.participant.v1 import participant_pb2 as ppb
from switchboard.reservation.v1 import reservation_pb2 as pb
from switchboard.scheduler.v1 import scheduler_pb2 as spb
from switchboard.server.app import App

from support import Collector, allocate, at, bad_fields, make_pool, reserve

List = Callable[[Any], Awaitable[Any]]


async def check(call: List, same: Any, other: Any, items: str,
                other_call: List | None = None) -> None:
    """`same` lists two or more items; its first page's token pages on with the same filters
    and another page size, and is refused with `other`'s filters (in `other_call`, another
    list, if given)."""
    first = await call(type(same)(page_size=1, **fields(same)))
    assert len(getattr(first, items)) == 1 and first.next_page_token
    following = await call(type(same)(page_size=5, page_token=first.next_page_token,
                                      **fields(same)))
    assert getattr(following, items) and getattr(following, items)[0] != getattr(first, items)[0]
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await (other_call or call)(type(other)(page_size=1, page_token=first.next_page_token,
                                               **fields(other)))
    assert bad_fields(refused.value) == {"page_token"}


def fields(request: Any) -> dict[str, Any]:
    return {f.name: value for f, value in request.ListFields()}


async def test_reservation_and_allocation_lists(server: App, client: AsyncClient) -> None:
    r = client.reservations
    await make_pool(client, "pool-a", instances=10, cores=100, ram_mb=100_000, gigabytes=1000)
    await make_pool(client, "pool-b")
    made = [await reserve(client, 1, 2, cores=1) for _ in range(2)]
    await check(r.ListPools, pb.ListPoolsRequest(), pb.ListReservationsRequest(), "pools",
                r.ListReservations)
    await check(r.ListReservations, pb.ListReservationsRequest(pool_id="pool-a"),
                pb.ListReservationsRequest(pool_id="pool-b"), "reservations")
    await check(r.ListReservations, pb.ListReservationsRequest(
        statuses=[pb.RESERVATION_STATUS_ACTIVE, pb.RESERVATION_STATUS_PENDING]),
        pb.ListReservationsRequest(statuses=[pb.RESERVATION_STATUS_PENDING]), "reservations")
    await check(r.ListReservations, pb.ListReservationsRequest(),
                pb.ListReservationsRequest(window_start=at(0), window_end=at(9)),
                "reservations")
    for _ in range(2):
        await allocate(client)
    await check(client.allocations.ListInstances, apb.ListInstancesRequest(pool_id="pool-a"),
                apb.ListInstancesRequest(pool_id="pool-a", reservation_id=made[0].id),
                "instances")
    await check(client.allocations.ListInstances, apb.ListInstancesRequest(),
                pb.ListReservationsRequest(), "instances", r.ListReservations)


async def test_scheduler_lists(server: App, client: AsyncClient) -> None:
    s = client.schedules
    watch = await Collector(s.WatchSchedules(spb.WatchSchedulesRequest())).live()
    for name in ("s1", "s2"):
        await create(client, schedule(name, [vnf("a", f"ne-{name}")], [(1, 5)]))
        await settled(watch, name, spb.SCHEDULE_STATE_PENDING_APPROVAL)
        await approve(client, name)
    await watch.close()
    await check(s.ListSchedules, spb.ListSchedulesRequest(domain="ChangeManagement"),
                spb.ListSchedulesRequest(domain="Other"), "schedules")
    await check(s.ListTickets, spb.ListTicketsRequest(),
                spb.ListTicketsRequest(schedule_id="s1"), "tickets")
    for n in (1, 2):
        await s.CreateBlackout(spb.CreateBlackoutRequest(blackout=spb.Blackout(
            id=f"b{n}", network_elements=["ne-x"], start_time=at(10), end_time=at(11))))
    await check(s.ListBlackouts, spb.ListBlackoutsRequest(start_time=at(0), end_time=at(20)),
                spb.ListBlackoutsRequest(start_time=at(0), end_time=at(21)), "blackouts")
    await check(s.ListBlackouts, spb.ListBlackoutsRequest(network_element="ne-x"),
                spb.ListBlackoutsRequest(), "blackouts")


async def test_participant_lists(server: App) -> None:
    journal: list[tuple[str, str, str]] = []
    async with participants(server, *two_participants(journal)), acm(server) as a:
        await a.primed(composition())
        await a.stub.CreateComposition(ppb.CreateCompositionRequest(
            composition=composition("other")))
        for instance_id in ("i1", "i2"):
            await a.instance(instance_id)
        await check(a.stub.ListCompositions, ppb.ListCompositionsRequest(),
                    ppb.ListInstancesRequest(), "compositions", a.stub.ListInstances)
        await check(a.stub.ListInstances, ppb.ListInstancesRequest(composition_id="comp"),
                    ppb.ListInstancesRequest(composition_id="other"), "instances")


async def test_cm_handle_search(server: App, client: AsyncClient) -> None:
    plugin = await SimulatedDmiPlugin(f"127.0.0.1:{server.port}").start()
    try:
        await plugin.register([HandleSpec(f"h{n}") for n in range(3)])
        await check(client.cm_handles.SearchCmHandles, cpb.SearchCmHandlesRequest(),
                    cpb.SearchCmHandlesRequest(dmi_plugin="elsewhere"), "cm_handles")
        await check(client.cm_handles.SearchCmHandles,
                    cpb.SearchCmHandlesRequest(ids_only=True),
                    cpb.SearchCmHandlesRequest(), "cm_handle_ids")
    finally:
        await plugin.close()

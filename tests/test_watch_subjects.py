"""Watch* requests the server cannot serve as asked: a filter on an id that neither exists nor has
retained events is NOT_FOUND (a deleted one still replays its history), and a start_revision
beyond the head + 1 is OUT_OF_RANGE with the head in the ErrorInfo. Every Watch* RPC and every
id filter is found from the descriptors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import grpc
import pytest
from google.protobuf.descriptor import FieldDescriptor, MethodDescriptor
from google.rpc import error_details_pb2

from switchboard.client import AsyncClient
from switchboard.cmhandle.v1 import cmhandle_pb2 as cpb
from switchboard.participant.v1 import participant_pb2 as ppb
from switchboard.scheduler.v1 import scheduler_pb2 as spb
from switchboard.server.app import App

from rpcs import call, method_id, methods, request_of, stream_of
from support import Collector, allocate, at, detail, make_pool, reserve

WATCHES = [m for m in methods() if m.name.startswith("Watch")]
FILTERS = [(m, f.name) for m in WATCHES for f in m.input_type.fields
           if f.name.endswith("_id") and f.type == FieldDescriptor.TYPE_STRING]


def filter_id(case: tuple[MethodDescriptor, str]) -> str:
    return f"{method_id(case[0])}.{case[1]}"


async def _failure(app: App, method: MethodDescriptor, **fields: object) -> grpc.aio.AioRpcError:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await call(channel, method, request_of(method, **fields))
    return failure.value


def test_every_watch_and_filter_is_covered() -> None:
    assert len(WATCHES) == 8
    assert {filter_id(c) for c in FILTERS} == {
        "ReservationService.WatchCapacity.pool_id",
        "ReservationService.WatchReservations.pool_id",
        "ReservationService.WatchReservations.reservation_id",
        "AllocationService.WatchInstances.pool_id",
        "AllocationService.WatchInstances.instance_id",
        "AllocationService.WatchInstances.reservation_id",
        "SchedulerService.WatchSchedules.schedule_id",
        "CmHandleService.WatchLcmEvents.cm_handle_id",
        "CmHandleService.WatchTrustLevels.cm_handle_id",
        "AutomationCompositionService.WatchCompositions.composition_id",
        "AutomationCompositionService.WatchInstances.instance_id",
        "AutomationCompositionService.WatchInstances.composition_id",
    }


@pytest.mark.parametrize("case", FILTERS, ids=filter_id)
async def test_watch_on_an_unknown_id_is_not_found(
        server: App, case: tuple[MethodDescriptor, str]) -> None:
    method, field = case
    before = await server.events.bounds()
    error = await _failure(server, method, **{field: "no-such-id"})
    assert error.code() == grpc.StatusCode.NOT_FOUND, error
    info = detail(error, error_details_pb2.ResourceInfo)
    assert info.resource_name == "no-such-id"
    assert await server.events.bounds() == before


Made = Callable[[AsyncClient], Awaitable[str]]


async def _pool(client: AsyncClient) -> str:
    await make_pool(client, "pool-w", instances=10, cores=100, ram_mb=100_000, gigabytes=1000)
    return "pool-w"


async def _reservation(client: AsyncClient) -> str:
    await _pool(client)
    return (await reserve(client, 1, 2, pool_id="pool-w", cores=1)).id


async def _instance(client: AsyncClient) -> str:
    return (await allocate(client, pool_id=await _pool(client))).id


async def _schedule(client: AsyncClient) -> str:
    await client.schedules.CreateSchedule(spb.CreateScheduleRequest(schedule=spb.Schedule(
        id="s-w", name="change", domain="ChangeManagement", user="u1", workflow_name="Replace",
        vnfs=[spb.Vnf(name="vnf-1", group="g1", network_elements=["ne-1"])],
        change_windows=[spb.TimeWindow(start_time=at(1), end_time=at(5))],
        normal_duration={"seconds": 600}, concurrency_limit=1)))
    return "s-w"


async def _handle(client: AsyncClient) -> str:
    await client.cm_inventory.UpdateRegistration(cpb.UpdateRegistrationRequest(
        dmi_plugin="127.0.0.1:1", created=[cpb.NewCmHandle(id="h-w")]))
    return "h-w"


async def _composition(client: AsyncClient) -> str:
    await client.compositions.CreateComposition(ppb.CreateCompositionRequest(
        composition=ppb.Composition(id="c-w", elements=[
            ppb.ElementDefinition(name="e0", type="org.a", version="1.0.0")])))
    return "c-w"


MAKERS: dict[str, Made] = {
    "pool_id": _pool, "reservation_id": _reservation, "instance_id": _instance,
    "schedule_id": _schedule, "cm_handle_id": _handle, "composition_id": _composition,
}
"""How to make what each filter names (an automation-composition instance needs primed
participants: its watch is covered through its composition's events in the flow tests)."""

KNOWN = [c for c in FILTERS
         if filter_id(c) != "AutomationCompositionService.WatchInstances.instance_id"]


@pytest.mark.parametrize("case", KNOWN, ids=filter_id)
async def test_watch_on_an_existing_id_is_served(
        server: App, client: AsyncClient, case: tuple[MethodDescriptor, str]) -> None:
    method, field = case
    made = await MAKERS[field](client)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        first = await call(channel, method, request_of(method, **{field: made}))
    assert 0 < first.revision <= (await server.events.bounds())[1]  # live, at a real revision


async def test_watch_on_a_deleted_id_replays_its_history(server: App, client: AsyncClient) -> None:
    made = await _composition(client)
    await client.compositions.DeleteComposition(
        ppb.DeleteCompositionRequest(composition_id=made))
    watch = await Collector(client.compositions.WatchCompositions(
        ppb.WatchCompositionsRequest(composition_id=made, start_revision=1))).live()
    assert [e.composition.id for e in watch.events] == [made, made]
    await watch.close()


@pytest.mark.parametrize("method", WATCHES, ids=method_id)
async def test_start_beyond_head_is_out_of_range(
        server: App, client: AsyncClient, method: MethodDescriptor) -> None:
    await make_pool(client, cores=10)
    head = (await server.events.bounds())[1]
    error = await _failure(server, method, start_revision=head + 2)
    assert error.code() == grpc.StatusCode.OUT_OF_RANGE, error
    info = detail(error, error_details_pb2.ErrorInfo)
    assert info.reason == "REVISION_AHEAD"
    assert info.metadata["head_revision"] == str(head)
    # The head + 1 is where a client that has seen everything resumes: served.
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stream = stream_of(channel, method, request_of(method, start_revision=head + 1))
        first = await stream.read()
        stream.cancel()
    assert first.revision == head

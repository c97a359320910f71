"""Allocation end to end through real gRPC and the simulated VIM on the test clock: reserve,
allocate, watch the build, destroy; capacity figures at every step; the reservation end policy;
build failures; a restart in the middle of a build."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from google.rpc import error_details_pb2

from switchboard.allocation.v1 import allocation_pb2 as apb
from switchboard.client import AsyncClient
from switchboard.reservation.v1 import reservation_pb2 as pb
from switchboard.server.app import App
from switchboard.server.clock import ManualClock
from switchboard.server.timestamps import from_micros

from conftest import StartServer
from support import HOUR, START, Collector, allocate, detail, make_pool, reserve

POOL = {"instances": 10, "cores": 16, "ram_mb": 32768, "gigabytes": 400}
TWO_MEDIUM = {"instances": 2, "cores": 4, "ram_mb": 8192, "gigabytes": 80}
"""m1.medium: 2 vcpus, 4096 MiB, 40 GiB."""

BUILDING = apb.INSTANCE_STATUS_BUILDING
ACTIVE = apb.INSTANCE_STATUS_ACTIVE
ERROR = apb.INSTANCE_STATUS_ERROR
DELETING = apb.INSTANCE_STATUS_DELETING
DELETED = apb.INSTANCE_STATUS_DELETED


@asynccontextmanager
async def connected(app: App) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(f"127.0.0.1:{app.port}") as client:
        yield client


async def figures_now(client: AsyncClient, clock: ManualClock) -> pb.CapacityFigures:
    """The pool's figures at the current instant."""
    response = await client.reservations.QueryCapacity(pb.QueryCapacityRequest(
        pool_ids=["pool-a"], start_time=from_micros(clock.now()),
        end_time=from_micros(clock.now() + 60_000_000)))
    return response.pools[0].minimum


def statuses(watch: Collector, instance_id: str) -> list[int]:
    return [e.instance.status for e in watch.events if e.instance.id == instance_id]


async def test_reserve_allocate_build_destroy(start_server: StartServer,
                                             clock: ManualClock) -> None:
    app = await start_server(vim_build_seconds=30, vim_delete_seconds=10)
    async with connected(app) as client:
        await make_pool(client, **POOL)
        r = await reserve(client, 1, 3, **TWO_MEDIUM)
        reservations = await Collector(client.reservations.WatchReservations(
            pb.WatchReservationsRequest(reservation_id=r.id))).live()
        watch = await Collector(client.allocations.WatchInstances(
            apb.WatchInstancesRequest(reservation_id=r.id))).live()

        clock.set(START + HOUR)
        await reservations.wait_for(lambda c: any(
            e.reservation.status == pb.RESERVATION_STATUS_ACTIVE for e in c.events))
        created = await allocate(client, reservation_id=r.id)
        assert created.status == BUILDING and created.id
        assert (created.resources.cores, created.resources.instances) == (2, 1)
        figures = await figures_now(client, clock)
        assert (figures.allocated.cores, figures.reserved.cores) == (2, 4)
        assert figures.available.cores == 16 - 4  # inside the reservation: nothing extra

        clock.advance(30)
        await watch.wait_for(lambda c: statuses(c, created.id) == [BUILDING, ACTIVE])
        active = watch.events[-1]
        assert active.previous_status == BUILDING
        assert active.instance.vim_server_id
        got = await client.allocations.GetInstance(apb.GetInstanceRequest(instance_id=created.id))
        assert got.instance.status == ACTIVE
        assert (await figures_now(client, clock)).allocated.cores == 2

        destroyed = await client.allocations.DestroyInstance(
            apb.DestroyInstanceRequest(instance_id=created.id))
        assert destroyed.instance.status == DELETING
        assert (await figures_now(client, clock)).allocated.cores == 2  # held until deleted
        clock.advance(10)
        await watch.wait_for(lambda c: statuses(c, created.id)[-1:] == [DELETED])
        assert statuses(watch, created.id) == [BUILDING, ACTIVE, DELETING, DELETED]
        figures = await figures_now(client, clock)
        assert (figures.allocated.cores, figures.reserved.cores) == (0, 4)
        again = await client.allocations.DestroyInstance(
            apb.DestroyInstanceRequest(instance_id=created.id))
        assert again.instance.status == DELETED  # destroying twice changes nothing
        await watch.close()
        await reservations.close()


@pytest.mark.parametrize("through", ["same", "other"])
async def test_instance_destroyed_while_building(start_server: StartServer, clock: ManualClock,
                                                through: str) -> None:
    """An instance destroyed while it builds goes BUILDING, DELETING, DELETED; the build that
    finishes after that changes nothing, while another instance's build goes on. Also when it
    is destroyed through another server process sharing the database, so that the build's
    report reaches a process that has not seen the destroy."""
    app = await start_server(vim_build_seconds=60, vim_delete_seconds=30)
    other = app if through == "same" else await start_server(vim_build_seconds=60,
                                                             vim_delete_seconds=30)
    async with connected(app) as client, connected(other) as destroyer:
        await make_pool(client, **POOL)
        watch = await Collector(client.allocations.WatchInstances(
            apb.WatchInstancesRequest())).live()
        doomed, kept = await allocate(client), await allocate(client)
        destroyed = await destroyer.allocations.DestroyInstance(
            apb.DestroyInstanceRequest(instance_id=doomed.id))
        assert destroyed.instance.status == DELETING
        clock.advance(30)
        await watch.wait_for(lambda c: statuses(c, doomed.id)[-1:] == [DELETED])
        clock.advance(30)  # both builds finish on `app`, the destroyed instance's first
        await watch.wait_for(lambda c: statuses(c, kept.id)[-1:] == [ACTIVE])
        assert statuses(watch, doomed.id) == [BUILDING, DELETING, DELETED]
        assert (await figures_now(client, clock)).allocated.cores == kept.resources.cores
        await watch.close()


async def test_unreserved_instance_holds_capacity_until_destroyed(
        start_server: StartServer, clock: ManualClock) -> None:
    app = await start_server(vim_build_seconds=0, vim_delete_seconds=0)
    async with connected(app) as client:
        await make_pool(client, **POOL)
        watch = await Collector(client.allocations.WatchInstances(
            apb.WatchInstancesRequest())).live()
        large = await allocate(client, flavor="m1.large")  # 4 vcpus
        await watch.wait_for(lambda c: statuses(c, large.id) == [BUILDING, ACTIVE])
        figures = await figures_now(client, clock)
        assert (figures.allocated.cores, figures.available.cores) == (4, 12)
        # Held from now on, so a later reservation sees it, however far ahead.
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await reserve(client, 100, 101, cores=13)
        assert failure.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        await reserve(client, 100, 101, cores=12)

        await client.allocations.DestroyInstance(apb.DestroyInstanceRequest(instance_id=large.id))
        await watch.wait_for(lambda c: statuses(c, large.id)[-1:] == [DELETED])
        assert (await figures_now(client, clock)).allocated.cores == 0
        await reserve(client, 100, 101, cores=4)  # 12 + 4: the pool is full again
        await watch.close()


@pytest.mark.parametrize("ending", ["expires", "cancelled"])
async def test_instances_are_destroyed_when_their_reservation_ends(
        start_server: StartServer, clock: ManualClock, ending: str) -> None:
    app = await start_server(vim_build_seconds=0, vim_delete_seconds=5)
    async with connected(app) as client:
        await make_pool(client, **POOL)
        r = await reserve(client, 0, 2, **TWO_MEDIUM)
        outside = await allocate(client, flavor="m1.tiny")
        watch = await Collector(client.allocations.WatchInstances(
            apb.WatchInstancesRequest())).live()
        inside = [await allocate(client, reservation_id=r.id) for _ in range(2)]
        await watch.wait_for(lambda c: all(statuses(c, i.id) == [BUILDING, ACTIVE]
                                           for i in inside))
        if ending == "expires":
            clock.set(START + 2 * HOUR)
        else:
            await client.reservations.CancelReservation(
                pb.CancelReservationRequest(reservation_id=r.id))
        await watch.wait_for(lambda c: all(statuses(c, i.id)[-1:] == [DELETING] for i in inside))
        deleting = [e.instance for e in watch.events if e.instance.status == DELETING]
        assert all("ended or was cancelled" in i.status_message for i in deleting)
        clock.advance(5)
        await watch.wait_for(lambda c: all(statuses(c, i.id)[-1:] == [DELETED] for i in inside))
        kept = await client.allocations.GetInstance(apb.GetInstanceRequest(instance_id=outside.id))
        assert kept.instance.status == ACTIVE  # outside any reservation: unaffected
        assert (await figures_now(client, clock)).allocated.cores == 1
        await watch.close()


async def test_failed_build_ends_in_error_and_frees_capacity(
        start_server: StartServer, clock: ManualClock) -> None:
    app = await start_server(vim_build_seconds=20, vim_failure_rate=1.0)
    async with connected(app) as client:
        await make_pool(client, **POOL)
        watch = await Collector(client.allocations.WatchInstances(
            apb.WatchInstancesRequest())).live()
        doomed = await allocate(client, flavor="m1.xlarge")  # 8 vcpus
        assert (await figures_now(client, clock)).allocated.cores == 8
        clock.advance(20)
        await watch.wait_for(lambda c: statuses(c, doomed.id) == [BUILDING, ERROR])
        assert "build failed" in watch.events[-1].instance.status_message
        figures = await figures_now(client, clock)
        assert (figures.allocated.cores, figures.available.cores) == (0, 16)
        await reserve(client, 1, 2, cores=16)  # every core is free again
        listed = await client.allocations.ListInstances(apb.ListInstancesRequest(
            statuses=[ERROR]))
        assert [i.id for i in listed.instances] == [doomed.id]
        await watch.close()


async def test_restart_mid_build_loses_no_outcome(start_server: StartServer,
                                                  clock: ManualClock) -> None:
    first = await start_server(vim_build_seconds=30, port=0)
    async with connected(first) as client:
        await make_pool(client, **POOL)
        building = await allocate(client)
        revision = (await client.allocations.GetInstance(
            apb.GetInstanceRequest(instance_id=building.id))).instance.revision
    await first.stop(grace=0)
    clock.advance(60)  # the build finished while no server was running
    second = await start_server(vim_build_seconds=30, port=0)
    async with connected(second) as client:
        watch = await Collector(client.allocations.WatchInstances(
            apb.WatchInstancesRequest(start_revision=revision))).live()
        await watch.wait_for(lambda c: statuses(c, building.id) == [BUILDING, ACTIVE])
        await watch.close()


async def test_reservation_cannot_shrink_below_its_instances(client: AsyncClient) -> None:
    await make_pool(client, **POOL)
    r = await reserve(client, 0, 1, **TWO_MEDIUM)
    await allocate(client, reservation_id=r.id)

    def shrink(**resources: int) -> pb.UpdateReservationRequest:
        return pb.UpdateReservationRequest(
            reservation=pb.Reservation(id=r.id, resources=pb.Resources(**resources)),
            update_mask=FieldMask(paths=["resources"]))

    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await client.reservations.UpdateReservation(shrink(instances=1, cores=1, ram_mb=4096,
                                                           gigabytes=40))
    assert failure.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    violation = detail(failure.value, error_details_pb2.PreconditionFailure).violations[0]
    assert violation.description == "its instances use cores 2; destroy some first"
    updated = await client.reservations.UpdateReservation(shrink(
        instances=1, cores=2, ram_mb=4096, gigabytes=40))
    assert updated.reservation.resources.cores == 2


async def test_create_instance_is_idempotent(client: AsyncClient) -> None:
    await make_pool(client, **POOL)
    first = await allocate(client, request_id="vm-1")
    second = await allocate(client, request_id="vm-1")
    assert second == first
    listed = await client.allocations.ListInstances(apb.ListInstancesRequest())
    assert [i.id for i in listed.instances] == [first.id]


async def test_flavors_come_from_configuration(start_server: StartServer,
                                               tmp_path: Path) -> None:
    catalogue = tmp_path / "flavors.json"
    catalogue.write_text(json.dumps([
        {"name": "vnf.large", "vcpus": 16, "ram_mb": 65536, "disk_gb": 200},
        {"name": "vnf.small", "vcpus": 2, "ram_mb": 4096, "disk_gb": 20},
    ]))
    app = await start_server(flavors_file=str(catalogue))
    async with connected(app) as client:
        flavors = (await client.allocations.ListFlavors(apb.ListFlavorsRequest())).flavors
        assert [(f.name, f.vcpus) for f in flavors] == [("vnf.large", 16), ("vnf.small", 2)]
        await make_pool(client, **POOL)
        assert (await allocate(client, flavor="vnf.small")).resources.ram_mb == 4096
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await allocate(client, flavor="m1.small")
        assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_list_flavors_and_filters(client: AsyncClient) -> None:
    flavors = (await client.allocations.ListFlavors(apb.ListFlavorsRequest())).flavors
    assert [f.name for f in flavors] == [
        "m1.large", "m1.medium", "m1.small", "m1.tiny", "m1.xlarge"]
    assert {f.name: (f.vcpus, f.ram_mb, f.disk_gb) for f in flavors}["m1.small"] == (1, 2048, 20)
    await make_pool(client, **POOL)
    await make_pool(client, "pool-b", **POOL)
    r = await reserve(client, 0, 1, **TWO_MEDIUM)
    made = [await allocate(client, reservation_id=r.id), await allocate(client),
            await allocate(client, "pool-b")]
    pages: list[str] = []
    token = ""
    while True:
        page = await client.allocations.ListInstances(apb.ListInstancesRequest(
            page_size=2, page_token=token))
        pages += [i.id for i in page.instances]
        token = page.next_page_token
        if not token:
            break
    assert pages == [i.id for i in made]
    by_pool = await client.allocations.ListInstances(apb.ListInstancesRequest(pool_id="pool-b"))
    assert [i.id for i in by_pool.instances] == [made[2].id]
    by_reservation = await client.allocations.ListInstances(
        apb.ListInstancesRequest(reservation_id=r.id))
    assert [i.id for i in by_reservation.instances] == [made[0].id]

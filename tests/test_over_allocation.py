"""Capacity cuts below what running instances use: running instances always count, whatever
their reservation's status; new admissions needing an over-allocated resource are refused until
it fits again; the over-allocation shows in QueryCapacity, DecreaseCapacity and an event; an
IMPAIRED reservation says why. On both engines, through real gRPC and the simulated VIM."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from switchboard.allocation.v1 import allocation_pb2 as apb
from switchboard.client import AsyncClient
from switchboard.reservation.v1 import reservation_pb2 as pb
from switchboard.server.clock import ManualClock
from switchboard.server.timestamps import from_micros

from conftest import StartServer
from support import HOUR, START, Collector, allocate, detail, make_pool, reserve

POOL = {"instances": 3, "cores": 30, "ram_mb": 1 << 20, "gigabytes": 10_000}
THREE_SMALL = {"instances": 3, "cores": 3, "ram_mb": 3 * 2048, "gigabytes": 60}
"""m1.small: 1 vcpu, 2048 MiB, 20 GiB."""

ACTIVE = apb.INSTANCE_STATUS_ACTIVE
DELETED = apb.INSTANCE_STATUS_DELETED


async def figures_now(client: AsyncClient, clock: ManualClock) -> pb.PoolCapacity:
    response = await client.reservations.QueryCapacity(pb.QueryCapacityRequest(
        pool_ids=["pool-a"], start_time=from_micros(clock.now()),
        end_time=from_micros(clock.now() + HOUR)))
    return response.pools[0]


async def refused(call: object) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call  # type: ignore[misc]
    assert failure.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, failure.value
    return failure.value


async def cut(client: AsyncClient, **resources: int) -> pb.DecreaseCapacityResponse:
    response: pb.DecreaseCapacityResponse = await client.reservations.DecreaseCapacity(
        pb.DecreaseCapacityRequest(pool_id="pool-a", resources=pb.Resources(**resources),
                                   reason="host failure"))
    return response


async def test_running_instances_of_an_impaired_reservation_still_count(
        start_server: StartServer, clock: ManualClock) -> None:
    app = await start_server(vim_build_seconds=0, vim_delete_seconds=0)
    async with AsyncClient(f"127.0.0.1:{app.port}") as client:
        await make_pool(client, **POOL)
        r = await reserve(client, 0, 10, **THREE_SMALL)
        watch = await Collector(client.allocations.WatchInstances(
            apb.WatchInstancesRequest())).live()
        capacity = await Collector(client.reservations.WatchCapacity(
            pb.WatchCapacityRequest(pool_id="pool-a"))).live()
        inside = [await allocate(client, flavor="m1.small", reservation_id=r.id)
                  for _ in range(3)]
        await watch.wait_for(lambda c: sum(e.instance.status == ACTIVE for e in c.events) == 3)

        response = await cut(client, instances=1)
        assert [i.id for i in response.impaired_reservations] == [r.id]
        impaired = response.impaired_reservations[0]
        assert impaired.status == pb.RESERVATION_STATUS_IMPAIRED
        assert impaired.impairment.capacity_change_id == response.change.id
        assert impaired.impairment.missing == pb.Resources(instances=1)
        assert response.over_allocated == pb.Resources(instances=1)
        await capacity.wait_for(lambda c: any(
            e.type == pb.CAPACITY_EVENT_TYPE_OVER_ALLOCATED for e in c.events))
        event = capacity.events[-1]
        assert event.type == pb.CAPACITY_EVENT_TYPE_OVER_ALLOCATED
        assert (event.change.id, event.over_allocated) == (response.change.id,
                                                           pb.Resources(instances=1))
        stored = await client.reservations.GetReservation(
            pb.GetReservationRequest(reservation_id=r.id))
        assert stored.reservation.impairment == impaired.impairment

        figures = await figures_now(client, clock)
        low = figures.minimum
        assert (low.allocated.instances, low.total.instances) == (3, 2)
        assert (low.available.instances, low.over_allocated.instances) == (-1, 1)
        assert figures.maximum.over_allocated.instances == 1

        # Refused: an unreserved instance, a reservation needing instances while they run.
        error = await refused(allocate(client, flavor="m1.tiny"))
        shortfall = detail(error, apb.AllocationShortfall)
        assert (shortfall.requested.instances, shortfall.available.instances) == (1, 0)
        await refused(reserve(client, 9, 11, instances=1))
        await reserve(client, 0, 1, cores=1)  # needs no instances: admitted
        await reserve(client, 10, 11, instances=1)  # its instances are gone at its end

        # One destroyed: allocated 2 of 2, still nothing free; two: room for one.
        for n, instance in enumerate(inside[:2]):
            await client.allocations.DestroyInstance(
                apb.DestroyInstanceRequest(instance_id=instance.id))
            await watch.wait_for(lambda c, i=instance: any(
                e.instance.id == i.id and e.instance.status == DELETED for e in c.events))
            low = (await figures_now(client, clock)).minimum
            assert (low.allocated.instances, low.over_allocated.instances) == (2 - n, 0)
            if n == 0:
                await refused(allocate(client, flavor="m1.tiny"))
        await allocate(client, flavor="m1.tiny")
        await watch.close()
        await capacity.close()


async def test_restore_counts_the_reservations_own_instances(
        start_server: StartServer, clock: ManualClock) -> None:
    """Back to ACTIVE once the capacity returns: its instances are inside it again (not counted
    twice), and the impairment is gone."""
    app = await start_server(vim_build_seconds=0, vim_delete_seconds=0)
    async with AsyncClient(f"127.0.0.1:{app.port}") as client:
        await make_pool(client, **POOL)
        r = await reserve(client, 0, 10, **THREE_SMALL)
        for _ in range(2):
            await allocate(client, flavor="m1.small", reservation_id=r.id)
        assert [i.id for i in (await cut(client, instances=1)).impaired_reservations] == [r.id]
        low = (await figures_now(client, clock)).minimum
        assert (low.allocated.instances, low.available.instances) == (2, 0)
        increased = await client.reservations.IncreaseCapacity(pb.IncreaseCapacityRequest(
            pool_id="pool-a", resources=pb.Resources(instances=1)))
        assert [i.id for i in increased.restored_reservations] == [r.id]
        restored = increased.restored_reservations[0]
        assert restored.status == pb.RESERVATION_STATUS_ACTIVE
        assert not restored.HasField("impairment")
        stored = await client.reservations.GetReservation(
            pb.GetReservationRequest(reservation_id=r.id))
        assert not stored.reservation.HasField("impairment")
        low = (await figures_now(client, clock)).minimum
        assert (low.reserved.instances, low.allocated.instances, low.available.instances) == (
            3, 2, 0)
        await allocate(client, flavor="m1.small", reservation_id=r.id)  # its third


async def test_a_reservation_with_spare_room_is_impaired_only_when_needed(
        client: AsyncClient, clock: ManualClock) -> None:
    """Taking a reservation away frees only what its instances do not use: the cut impairs the
    one whose spare room covers the shortfall, and says what is missing."""
    await make_pool(client, instances=10, cores=100, ram_mb=1 << 20, gigabytes=10_000)
    used = await reserve(client, 0, 10, instances=4, cores=4, ram_mb=4 * 2048, gigabytes=80)
    for _ in range(4):
        await allocate(client, flavor="m1.small", reservation_id=used.id)
    spare = await reserve(client, 0, 10, instances=6)
    response = await cut(client, instances=3)
    assert [i.id for i in response.impaired_reservations] == [spare.id]
    assert response.impaired_reservations[0].impairment.missing == pb.Resources(instances=3)
    assert not response.HasField("over_allocated") or response.over_allocated == pb.Resources()
    low = (await figures_now(client, clock)).minimum
    assert (low.reserved.instances, low.allocated.instances, low.available.instances) == (
        4, 4, 3)


async def test_instances_of_an_ended_reservation_count_until_deleted(
        start_server: StartServer, clock: ManualClock) -> None:
    """Past its reservation's end an instance holds the pool until it is DELETED, even before
    the sweeper has moved the reservation."""
    app = await start_server(vim_build_seconds=0, vim_delete_seconds=30)
    async with AsyncClient(f"127.0.0.1:{app.port}") as client:
        await make_pool(client, **POOL)
        r = await reserve(client, 0, 1, instances=2, cores=2, ram_mb=4096, gigabytes=40)
        watch = await Collector(client.allocations.WatchInstances(
            apb.WatchInstancesRequest())).live()
        inside = await allocate(client, flavor="m1.small", reservation_id=r.id)
        await allocate(client, flavor="m1.small")  # caches the pool's holdings
        clock.set(START + HOUR)
        await watch.wait_for(lambda c: any(
            e.instance.id == inside.id and e.instance.status == apb.INSTANCE_STATUS_DELETING
            for e in c.events))
        low = (await figures_now(client, clock)).minimum
        assert (low.allocated.instances, low.available.instances) == (2, 1)
        await allocate(client, flavor="m1.small")
        await refused(allocate(client, flavor="m1.small"))
        clock.advance(30)
        await watch.wait_for(lambda c: any(
            e.instance.id == inside.id and e.instance.status == DELETED for e in c.events))
        await allocate(client, flavor="m1.small")
        await watch.close()


@pytest.mark.parametrize("cut_by", [5, 12])
async def test_creates_racing_a_cut(start_server: StartServer, clock: ManualClock,
                                    cut_by: int) -> None:
    """Instances and reservations created by many clients at once, a cut among them: whatever
    was admitted after the cut fits in the capacity left (none at all when the cut left the
    pool over-allocated), and afterwards the figures add up."""
    app = await start_server()
    target = f"127.0.0.1:{app.port}"
    async with AsyncClient(target) as client:
        await make_pool(client, instances=20, cores=1000, ram_mb=1 << 20, gigabytes=10_000)
        r = await reserve(client, 0, 10, instances=6, cores=6, ram_mb=6 * 512, gigabytes=6)
        for _ in range(6):
            await allocate(client, flavor="m1.tiny", reservation_id=r.id)
        for _ in range(3):  # 9 of 20 held: a cut by 12 over-allocates whenever it comes
            await allocate(client, flavor="m1.tiny")
        capacity = await Collector(client.reservations.WatchCapacity(
            pb.WatchCapacityRequest(pool_id="pool-a"))).live()

        async def one(job: int) -> object:
            async with AsyncClient(target) as c:
                await c.channel.channel_ready()
                try:
                    if job == 0:
                        return await cut(c, instances=cut_by)
                    if job % 3:
                        return await allocate(c, flavor="m1.tiny")
                    return await reserve(c, 0, 1, instances=1)
                except grpc.aio.AioRpcError as error:
                    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error
                    return None

        jobs = list(range(1, 46))
        jobs.insert(len(jobs) // 2, 0)
        outcomes = await asyncio.gather(*(one(j) for j in jobs))
        await capacity.wait_for(lambda c: any(
            e.type == pb.CAPACITY_EVENT_TYPE_CAPACITY_DECREASED for e in c.events))
        cut_at = next(e.revision for e in capacity.events
                      if e.type == pb.CAPACITY_EVENT_TYPE_CAPACITY_DECREASED)
        created = [o for o in outcomes
                   if isinstance(o, (apb.Instance, pb.Reservation))]
        after_cut = [o for o in created if o.revision > cut_at]

        reservations = (await client.reservations.ListReservations(
            pb.ListReservationsRequest(pool_id="pool-a", page_size=1000))).reservations
        instances = (await client.allocations.ListInstances(
            apb.ListInstancesRequest(pool_id="pool-a", page_size=1000))).instances
        holding = [x for x in reservations if x.status in (pb.RESERVATION_STATUS_ACTIVE,
                                                           pb.RESERVATION_STATUS_PENDING)]
        inside = [i for i in instances if i.reservation_id in {x.id for x in holding}]
        figures = (await figures_now(client, clock)).minimum
        left = 20 - cut_by
        assert figures.total.instances == left
        assert figures.allocated.instances == len(instances)
        assert figures.reserved.instances == sum(x.resources.instances for x in holding)
        held = figures.reserved.instances + len(instances) - len(inside)
        assert figures.available.instances == left - held
        assert figures.over_allocated.instances == max(0, held - left)
        if after_cut:
            assert held <= left, (len(after_cut), held, left)
        if held > left:
            assert not after_cut
            assert any(e.type == pb.CAPACITY_EVENT_TYPE_OVER_ALLOCATED for e in capacity.events)
        await capacity.close()


async def test_an_impaired_reservation_shrunk_to_fit_holds_its_instances_again(
        client: AsyncClient, clock: ManualClock) -> None:
    """UpdateReservation of an IMPAIRED reservation checks it with its own instances inside it,
    not counted against the pool besides."""
    await make_pool(client, **POOL)
    r = await reserve(client, 0, 10, **THREE_SMALL)
    for _ in range(2):
        await allocate(client, flavor="m1.small", reservation_id=r.id)
    assert [i.id for i in (await cut(client, instances=1)).impaired_reservations] == [r.id]
    updated = await client.reservations.UpdateReservation(pb.UpdateReservationRequest(
        reservation=pb.Reservation(id=r.id, resources=pb.Resources(
            instances=2, cores=2, ram_mb=2 * 2048, gigabytes=40)),
        update_mask=FieldMask(paths=["resources"])))
    assert updated.reservation.status == pb.RESERVATION_STATUS_ACTIVE
    assert not updated.reservation.HasField("impairment")
    low = (await figures_now(client, clock)).minimum
    assert (low.reserved.instances, low.allocated.instances, low.available.instances) == (
        2, 2, 0)

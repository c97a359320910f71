"""UpdatePool and DeletePool: field masks, events on the pool watch, refusal while the pool is
in use, a deleted pool gone from every lookup but its history, and no create ever landing on a
deleted pool however the calls race (both engines)."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from google.rpc import error_details_pb2

from switchboard.allocation.v1 import allocation_pb2 as apb
from switchboard.client import AsyncClient
from switchboard.reservation.v1 import reservation_pb2 as pb
from switchboard.server.app import App

from conftest import StartServer
from support import Collector, allocate, bad_fields, detail, make_pool, reserve

POOL = {"instances": 100, "cores": 100, "ram_mb": 1 << 20, "gigabytes": 10_000}


async def failure(call: object) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    return caught.value


def update(pool: pb.Pool, *paths: str) -> pb.UpdatePoolRequest:
    return pb.UpdatePoolRequest(pool=pool, update_mask=FieldMask(paths=list(paths)))


async def test_update_pool_changes_the_fields_named(server: App, client: AsyncClient) -> None:
    await make_pool(client)
    watch = await Collector(client.reservations.WatchCapacity(
        pb.WatchCapacityRequest(pool_id="pool-a"))).live()
    response = await client.reservations.UpdatePool(update(
        pb.Pool(id="pool-a", provider="openstack-west", availability_zone="ignored"),
        "provider"))
    assert (response.pool.provider, response.pool.availability_zone) == ("openstack-west",
                                                                         "pool-a")
    got = await client.reservations.GetPool(pb.GetPoolRequest(pool_id="pool-a"))
    assert got.pool == response.pool
    await watch.wait_for(lambda c: len(c.events) == 1)
    assert watch.events[0].type == pb.CAPACITY_EVENT_TYPE_POOL_UPDATED
    assert watch.events[0].pool == response.pool
    await watch.close()

    before = await server.events.bounds()
    assert bad_fields(await failure(client.reservations.UpdatePool(update(
        pb.Pool(id="pool-a", provider=""), "provider", "id")))) == {
        "pool.provider", "update_mask.paths[1]"}
    assert bad_fields(await failure(client.reservations.UpdatePool(update(
        pb.Pool(id="pool-a", availability_zone="z" * 256), "availability_zone")))) == {
        "pool.availability_zone"}
    assert bad_fields(await failure(client.reservations.UpdatePool(update(pb.Pool())))) == {
        "pool.id", "update_mask"}
    missing = await failure(client.reservations.UpdatePool(update(
        pb.Pool(id="nowhere", provider="x"), "provider")))
    assert missing.code() == grpc.StatusCode.NOT_FOUND
    assert await server.events.bounds() == before


async def test_delete_pool_refused_while_in_use(start_server: StartServer) -> None:
    app = await start_server(vim_build_seconds=0, vim_delete_seconds=0)
    async with AsyncClient(f"127.0.0.1:{app.port}") as client:
        await make_pool(client, **POOL)
        r = await reserve(client, 1, 2, cores=1)
        instance = await allocate(client, flavor="m1.tiny")
        refused = await failure(client.reservations.DeletePool(
            pb.DeletePoolRequest(pool_id="pool-a")))
        assert refused.code() == grpc.StatusCode.FAILED_PRECONDITION
        why = detail(refused, error_details_pb2.PreconditionFailure).violations
        assert [v.description.split(" (")[0] for v in why] == [
            "it has live reservations", "it has live instances"]
        assert r.id in why[0].description and instance.id in why[1].description

        await client.reservations.CancelReservation(
            pb.CancelReservationRequest(reservation_id=r.id))
        watch = await Collector(client.allocations.WatchInstances(
            apb.WatchInstancesRequest())).live()
        await client.allocations.DestroyInstance(
            apb.DestroyInstanceRequest(instance_id=instance.id))
        await watch.wait_for(lambda c: any(
            e.instance.status == apb.INSTANCE_STATUS_DELETED for e in c.events))
        await watch.close()
        deleted = await client.reservations.DeletePool(pb.DeletePoolRequest(pool_id="pool-a"))
        assert deleted.pool.id == "pool-a"

        # Gone from every lookup; its id is not reused; its history remains.
        gone = await failure(client.reservations.GetPool(pb.GetPoolRequest(pool_id="pool-a")))
        assert gone.code() == grpc.StatusCode.NOT_FOUND
        assert not (await client.reservations.ListPools(pb.ListPoolsRequest())).pools
        assert bad_fields(await failure(client.reservations.IncreaseCapacity(
            pb.IncreaseCapacityRequest(pool_id="pool-a", resources=pb.Resources(cores=1))))) == {
            "pool_id"}
        assert bad_fields(await failure(reserve(client, 1, 2, cores=1))) == {
            "reservation.pool_id"}
        again = await failure(make_pool(client))
        assert again.code() == grpc.StatusCode.ALREADY_EXISTS
        again = await failure(client.reservations.DeletePool(
            pb.DeletePoolRequest(pool_id="pool-a")))
        assert again.code() == grpc.StatusCode.NOT_FOUND
        history = await Collector(client.reservations.WatchCapacity(
            pb.WatchCapacityRequest(pool_id="pool-a", start_revision=1))).live()
        assert [e.type for e in history.events] == [
            pb.CAPACITY_EVENT_TYPE_POOL_CREATED, pb.CAPACITY_EVENT_TYPE_CAPACITY_INCREASED,
            pb.CAPACITY_EVENT_TYPE_POOL_DELETED]
        await history.close()
        assert bad_fields(await failure(client.reservations.DeletePool(
            pb.DeletePoolRequest()))) == {"pool_id"}


async def test_delete_pool_racing_creates_leaves_nothing_on_a_deleted_pool(
        server: App, client: AsyncClient) -> None:
    target = f"127.0.0.1:{server.port}"
    for round_, position in enumerate((0, 10, 20, 30)):
        pool_id = f"race-{round_}"
        await make_pool(client, pool_id, **POOL)

        async def one(job: int, pool_id: str = pool_id) -> str:
            async with AsyncClient(target) as c:
                await c.channel.channel_ready()
                try:
                    if job < 0:
                        await c.reservations.DeletePool(pb.DeletePoolRequest(pool_id=pool_id))
                        return "deleted"
                    if job % 2:
                        await allocate(c, pool_id, flavor="m1.tiny")
                    else:
                        await reserve(c, 1, 2, pool_id, cores=1)
                except grpc.aio.AioRpcError as error:
                    assert error.code() in (grpc.StatusCode.INVALID_ARGUMENT,
                                            grpc.StatusCode.FAILED_PRECONDITION), error
                    return "refused"
                return "created"

        jobs = list(range(30))
        jobs.insert(position, -1)
        outcomes = dict(zip(jobs, await asyncio.gather(*(one(j) for j in jobs)), strict=True))
        created = [j for j, o in outcomes.items() if j >= 0 and o == "created"]
        reservations = (await client.reservations.ListReservations(
            pb.ListReservationsRequest(page_size=1000))).reservations
        instances = (await client.allocations.ListInstances(
            apb.ListInstancesRequest(page_size=1000))).instances
        on_pool = [x for x in [*reservations, *instances] if x.pool_id == pool_id]
        assert len(on_pool) == len(created)
        if outcomes[-1] == "deleted":
            assert not created
        else:
            assert created and outcomes[-1] == "refused"

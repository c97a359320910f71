"""Capacity: WatchCapacity events, and allocations held through the claims interface counting
in the ledger (the interface the Allocation area calls)."""

from __future__ import annotations

import grpc
import pytest

from switchboard.client import AsyncClient
from switchboard.reservation.v1 import reservation_pb2 as pb
from switchboard.server.app import App
from switchboard.server.reservation import claims
from switchboard.server.reservation import store as reservation_store

from support import HOUR, START, Collector, at, make_pool, reserve


async def test_watch_capacity_reports_pools_and_changes(client: AsyncClient) -> None:
    watch = await Collector(client.reservations.WatchCapacity(
        pb.WatchCapacityRequest(pool_id="pool-a"))).live()
    await make_pool(client, "pool-b", cores=5)
    await make_pool(client, "pool-a", cores=10)
    await client.reservations.DecreaseCapacity(pb.DecreaseCapacityRequest(
        pool_id="pool-a", resources=pb.Resources(cores=4), start_time=at(1), end_time=at(2),
        reason="maintenance"))
    await watch.wait_for(lambda c: len(c.events) == 3)
    assert [e.type for e in watch.events] == [
        pb.CAPACITY_EVENT_TYPE_POOL_CREATED, pb.CAPACITY_EVENT_TYPE_CAPACITY_INCREASED,
        pb.CAPACITY_EVENT_TYPE_CAPACITY_DECREASED]
    decrease = watch.events[2].change
    assert (decrease.resources.cores, decrease.reason) == (4, "maintenance")
    assert decrease.end_time == at(2)
    assert not watch.events[1].change.HasField("end_time")  # open-ended
    await watch.close()


async def test_allocations_count_in_the_ledger(server: App, client: AsyncClient) -> None:
    await make_pool(client, cores=10)
    inside = await reserve(client, 0, 4, cores=4)
    async with server.events.transaction() as tx:
        await reservation_store.claim_pool(tx.conn, "pool-a")
        await claims.hold(tx.conn, "vm-1", "pool-a", {"cores": 3}, START)  # outside
        await claims.hold(tx.conn, "vm-2", "pool-a", {"cores": 2}, START, inside.id)
    capacity = (await client.reservations.QueryCapacity(pb.QueryCapacityRequest(
        pool_ids=["pool-a"], start_time=at(1), end_time=at(2)))).pools[0]
    assert capacity.minimum.allocated.cores == 5
    assert capacity.minimum.reserved.cores == 4
    assert capacity.minimum.available.cores == 10 - 4 - 3
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await reserve(client, 1, 2, cores=4)
    assert failure.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    async with server.events.transaction() as tx:
        await reservation_store.claim_pool(tx.conn, "pool-a")
        await claims.release(tx.conn, "vm-1", START + HOUR)
    await reserve(client, 1, 2, cores=4)

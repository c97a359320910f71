"""Capacity: WatchCapacity events."""

from __future__ import annotations

from switchboard.client import AsyncClient
from switchboard.reservation.v1 import reservation_pb2 as pb

from support import Collector, at, make_pool


async def test_watch_capacity_reports_pools_and_changes(client: AsyncClient) -> None:
    await make_pool(client, "pool-b", cores=5)
    await make_pool(client, "pool-a", cores=10)
    # A watch on a pool needs the pool (NOT_FOUND before); from revision 1 it sees it created.
    watch = await Collector(client.reservations.WatchCapacity(
        pb.WatchCapacityRequest(pool_id="pool-a", start_revision=1))).live()
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

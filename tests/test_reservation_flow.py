"""Reservation service end to end through real gRPC: pools, capacity, reservations, statuses."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from google.rpc import error_details_pb2

from switchboard.client import AsyncClient
from switchboard.reservation.v1 import reservation_pb2 as pb
from switchboard.server.clock import ManualClock

from support import DAY, HOUR, START, Collector, at, detail, make_pool, reserve

Status = pb.ReservationStatus


async def query(client: AsyncClient, start: float, end: float) -> pb.PoolCapacity:
    response = await client.reservations.QueryCapacity(pb.QueryCapacityRequest(
        pool_ids=["pool-a"], start_time=at(start), end_time=at(end)))
    return response.pools[0]


async def test_reserve_query_and_shortfall(client: AsyncClient) -> None:
    await make_pool(client, cores=100, ram_mb=1000)
    first = await reserve(client, 1, 5, cores=60, ram_mb=100)
    assert first.status == Status.RESERVATION_STATUS_PENDING
    second = await reserve(client, 4, 8, cores=40)
    capacity = await query(client, 0, 10)
    assert capacity.minimum.total.cores == 100
    assert capacity.minimum.available.cores == 0  # hours 4-5: 60 + 40
    assert capacity.maximum.reserved.cores == 100
    assert [(s.time.ToSeconds() - START // 1_000_000) // 3600 for s in capacity.timeline] == [
        0, 1, 4, 5, 8]

    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await reserve(client, 2, 6, cores=50)
    assert failure.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    shortfall = detail(failure.value, pb.ReservationShortfall)
    assert shortfall.max_reservable.cores == 0
    assert shortfall.max_reservable.ram_mb == 900
    assert shortfall.earliest_window_found
    assert shortfall.earliest_start_time == at(5)  # once `first` ends, 60 are free
    assert shortfall.earliest_end_time == at(9)
    info = detail(failure.value, error_details_pb2.ErrorInfo)
    assert (info.reason, info.domain) == ("INSUFFICIENT_CAPACITY", "switchboard.reservation")

    listed = await client.reservations.ListReservations(pb.ListReservationsRequest())
    assert [r.id for r in listed.reservations] == [first.id, second.id]


async def test_no_window_within_horizon(client: AsyncClient) -> None:
    await make_pool(client, cores=10)
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await reserve(client, 1, 2, cores=11)
    shortfall = detail(failure.value, pb.ReservationShortfall)
    assert not shortfall.earliest_window_found
    assert shortfall.max_reservable.cores == 10
    assert shortfall.search_horizon.ToSeconds() > at(0).ToSeconds()


async def test_update_excludes_own_claim_and_checks_fit(client: AsyncClient) -> None:
    await make_pool(client, cores=100)
    r = await reserve(client, 1, 5, cores=80)
    grown = await client.reservations.UpdateReservation(pb.UpdateReservationRequest(
        reservation=pb.Reservation(id=r.id, resources=pb.Resources(cores=100), name="big"),
        update_mask=FieldMask(paths=["resources", "name"])))
    assert grown.reservation.resources.cores == 100 and grown.reservation.name == "big"
    assert grown.reservation.revision > r.revision
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await client.reservations.UpdateReservation(pb.UpdateReservationRequest(
            reservation=pb.Reservation(id=r.id, resources=pb.Resources(cores=101)),
            update_mask=FieldMask(paths=["resources"])))
    assert failure.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    got = await client.reservations.GetReservation(pb.GetReservationRequest(reservation_id=r.id))
    assert got.reservation.resources.cores == 100


async def test_cancel_frees_capacity_and_refuses_twice(client: AsyncClient) -> None:
    await make_pool(client, cores=10)
    r = await reserve(client, 1, 5, cores=10)
    cancelled = await client.reservations.CancelReservation(
        pb.CancelReservationRequest(reservation_id=r.id))
    assert cancelled.reservation.status == Status.RESERVATION_STATUS_CANCELLED
    await reserve(client, 1, 5, cores=10)
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await client.reservations.CancelReservation(
            pb.CancelReservationRequest(reservation_id=r.id))
    assert failure.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    violation = detail(failure.value, error_details_pb2.PreconditionFailure).violations[0]
    assert "CANCELLED" in violation.description


async def test_not_found_has_resource_info(client: AsyncClient) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await client.reservations.GetReservation(pb.GetReservationRequest(reservation_id="nope"))
    assert failure.value.code() == grpc.StatusCode.NOT_FOUND
    info = detail(failure.value, error_details_pb2.ResourceInfo)
    assert (info.resource_type, info.resource_name) == ("reservation", "nope")


async def test_request_id_makes_create_idempotent(client: AsyncClient) -> None:
    await make_pool(client, cores=10)
    request = pb.CreateReservationRequest(
        reservation=pb.Reservation(pool_id="pool-a", start_time=at(1), end_time=at(2),
                                   resources=pb.Resources(cores=6)),
        request_id="once")
    first = await client.reservations.CreateReservation(request)
    again = await client.reservations.CreateReservation(request)
    assert first.reservation.id == again.reservation.id
    listed = await client.reservations.ListReservations(pb.ListReservationsRequest())
    assert len(listed.reservations) == 1


async def test_statuses_follow_the_clock(client: AsyncClient, clock: ManualClock) -> None:
    await make_pool(client, cores=10)
    watch = await Collector(client.reservations.WatchReservations(
        pb.WatchReservationsRequest())).live()
    r = await reserve(client, 1, 3, cores=5)
    clock.advance(1 * 3600)
    await watch.wait_for(lambda c: any(
        e.reservation.status == Status.RESERVATION_STATUS_ACTIVE for e in c.events))
    clock.advance(2 * 3600)
    await watch.wait_for(lambda c: any(
        e.reservation.status == Status.RESERVATION_STATUS_EXPIRED for e in c.events))
    types = [(e.type, e.reservation.status, e.previous_status) for e in watch.events]
    assert types == [
        (pb.RESERVATION_EVENT_TYPE_CREATED, Status.RESERVATION_STATUS_PENDING, 0),
        (pb.RESERVATION_EVENT_TYPE_STATUS_CHANGED, Status.RESERVATION_STATUS_ACTIVE,
         Status.RESERVATION_STATUS_PENDING),
        (pb.RESERVATION_EVENT_TYPE_STATUS_CHANGED, Status.RESERVATION_STATUS_EXPIRED,
         Status.RESERVATION_STATUS_ACTIVE),
    ]
    got = await client.reservations.GetReservation(pb.GetReservationRequest(reservation_id=r.id))
    assert got.reservation.status == Status.RESERVATION_STATUS_EXPIRED
    await watch.close()


async def test_capacity_drop_impairs_fewest_lowest_latest(client: AsyncClient) -> None:
    await make_pool(client, cores=100)
    high = await client.reservations.CreateReservation(pb.CreateReservationRequest(
        reservation=pb.Reservation(pool_id="pool-a", start_time=at(1), end_time=at(5),
                                   resources=pb.Resources(cores=40),
                                   priority=pb.PRIORITY_HIGH)))
    low_old = await client.reservations.CreateReservation(pb.CreateReservationRequest(
        reservation=pb.Reservation(pool_id="pool-a", start_time=at(1), end_time=at(5),
                                   resources=pb.Resources(cores=30), priority=pb.PRIORITY_LOW)))
    low_new = await client.reservations.CreateReservation(pb.CreateReservationRequest(
        reservation=pb.Reservation(pool_id="pool-a", start_time=at(1), end_time=at(5),
                                   resources=pb.Resources(cores=30), priority=pb.PRIORITY_LOW)))
    watch = await Collector(client.reservations.WatchReservations(
        pb.WatchReservationsRequest(pool_id="pool-a"))).live()
    dropped = await client.reservations.DecreaseCapacity(pb.DecreaseCapacityRequest(
        pool_id="pool-a", resources=pb.Resources(cores=20), start_time=at(2), end_time=at(3),
        reason="host failure"))
    assert [r.id for r in dropped.impaired_reservations] == [low_new.reservation.id]
    await watch.wait_for(lambda c: len(c.events) == 1)
    assert watch.events[0].reservation.status == Status.RESERVATION_STATUS_IMPAIRED
    restored = await client.reservations.IncreaseCapacity(pb.IncreaseCapacityRequest(
        pool_id="pool-a", resources=pb.Resources(cores=20), start_time=at(2), end_time=at(3)))
    assert [r.id for r in restored.restored_reservations] == [low_new.reservation.id]
    assert restored.restored_reservations[0].status == Status.RESERVATION_STATUS_PENDING
    del high, low_old
    await watch.close()


async def test_policy_limits_enforced(start_server: object) -> None:
    app = await start_server(reservation_max_duration_days=1, reservation_max_start_ahead_days=2)
    async with AsyncClient(f"127.0.0.1:{app.port}") as client:
        await make_pool(client, cores=10)
        for start, end, field in ((1, 1 + 25, "reservation.end_time"),
                                  (3 * 24, 3 * 24 + 1, "reservation.start_time")):
            with pytest.raises(grpc.aio.AioRpcError) as failure:
                await reserve(client, start, end, cores=1)
            from support import bad_fields
            assert bad_fields(failure.value) == {field}


async def test_list_filters_and_pages(client: AsyncClient, clock: ManualClock) -> None:
    await make_pool(client, "pool-a", cores=100)
    await make_pool(client, "pool-b", cores=100)
    made = [await reserve(client, i, i + 1, pool_id=("pool-a", "pool-b")[i % 2], cores=1)
            for i in range(1, 8)]
    pages, token = [], ""
    while True:
        page = await client.reservations.ListReservations(pb.ListReservationsRequest(
            pool_id="pool-a", page_size=2, page_token=token))
        pages.append([r.id for r in page.reservations])
        token = page.next_page_token
        if not token:
            break
    assert [i for p in pages for i in p] == [r.id for r in made if r.pool_id == "pool-a"]
    windowed = await client.reservations.ListReservations(pb.ListReservationsRequest(
        window_start=at(2.5), window_end=at(4.5), include_utilization=True))
    assert {r.id for r in windowed.reservations} == {made[1].id, made[2].id, made[3].id}
    assert {u.pool_id for u in windowed.utilization} == {"pool-a", "pool-b"}
    watch = await Collector(client.reservations.WatchReservations(
        pb.WatchReservationsRequest())).live()
    clock.advance(2.5 * 3600)
    await watch.wait_for(lambda c: {  # the sweeper has run (it runs under its lease)
        (made[0].id, Status.RESERVATION_STATUS_EXPIRED),
        (made[1].id, Status.RESERVATION_STATUS_ACTIVE)} <= {
        (e.reservation.id, e.reservation.status) for e in c.events})
    await watch.close()
    active = await client.reservations.ListReservations(pb.ListReservationsRequest(
        statuses=[Status.RESERVATION_STATUS_ACTIVE]))
    assert [r.id for r in active.reservations] == [made[1].id]
    assert DAY > HOUR

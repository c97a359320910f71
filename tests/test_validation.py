"""Bad input: INVALID_ARGUMENT naming every bad field, nothing written, no event appended."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from google.rpc import error_details_pb2

from switchboard.allocation.v1 import allocation_pb2 as apb
from switchboard.client import AsyncClient
from switchboard.reservation.v1 import reservation_pb2 as pb
from switchboard.server.app import App
from switchboard.server.errors import (
    MESSAGE_VIOLATION_CHARS,
    MESSAGE_VIOLATIONS,
    InvalidArgument,
    Violations,
)

from support import allocate, at, bad_fields, detail, make_pool, reserve


async def assert_rejected(app: App, client: AsyncClient, call: Callable[[], Awaitable[Any]],
                          fields: set[str]) -> None:
    """The call fails INVALID_ARGUMENT naming exactly `fields`, and changes nothing."""
    before_events = await app.events.bounds()
    before = await client.reservations.ListReservations(pb.ListReservationsRequest())
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call()
    assert bad_fields(failure.value) == fields
    # The message alone says what to fix: every "field: reason" of the details, in order.
    violations = detail(failure.value, error_details_pb2.BadRequest).field_violations
    assert failure.value.details() == "invalid request: " + "; ".join(
        f"{v.field}: {v.description}" for v in violations)
    info = detail(failure.value, error_details_pb2.ErrorInfo)
    assert info.domain == "switchboard.reservation"
    assert await app.events.bounds() == before_events
    after = await client.reservations.ListReservations(pb.ListReservationsRequest())
    assert after == before


def create(**fields: Any) -> pb.CreateReservationRequest:
    return pb.CreateReservationRequest(reservation=pb.Reservation(**fields))


CREATE_CASES = [
    (create(pool_id="pool-a", start_time=at(5), end_time=at(2), resources=pb.Resources(cores=1)),
     {"reservation.end_time"}),
    (create(pool_id="pool-a", start_time=at(2), end_time=at(2), resources=pb.Resources(cores=1)),
     {"reservation.end_time"}),
    (create(pool_id="pool-a", start_time=at(1), end_time=at(2),
            resources=pb.Resources(cores=-1, ram_mb=-5)),
     {"reservation.resources.cores", "reservation.resources.ram_mb"}),
    (create(pool_id="pool-a", start_time=at(1), end_time=at(2), resources=pb.Resources()),
     {"reservation.resources"}),
    (create(pool_id="pool-a", start_time=at(1), end_time=at(2)), {"reservation.resources"}),
    (create(pool_id="nowhere", start_time=at(1), end_time=at(2),
            resources=pb.Resources(cores=1)), {"reservation.pool_id"}),
    (create(start_time=at(-1), resources=pb.Resources(cores=0, volumes=-1)),
     {"reservation.pool_id", "reservation.end_time", "reservation.start_time",
      "reservation.resources.volumes"}),
    # Undefined enum numbers are refused before the servicer runs (requestcheck).
    (create(pool_id="pool-a", end_time=at(2), resources=pb.Resources(cores=1), priority=9),
     {"reservation.priority"}),
    (pb.CreateReservationRequest(), {"reservation", "reservation.pool_id",
                                     "reservation.resources", "reservation.end_time"}),
]


@pytest.mark.parametrize(("request_", "fields"), CREATE_CASES)
async def test_create_reservation_rejects(server: App, client: AsyncClient,
                                          request_: pb.CreateReservationRequest,
                                          fields: set[str]) -> None:
    await make_pool(client, cores=10)
    await assert_rejected(server, client,
                          lambda: client.reservations.CreateReservation(request_), fields)


async def test_update_rejects_unknown_and_missing_paths(server: App, client: AsyncClient) -> None:
    await make_pool(client, cores=10)
    r = await reserve(client, 1, 2, cores=1)
    cases = [
        (pb.UpdateReservationRequest(reservation=pb.Reservation(id=r.id),
                                     update_mask=FieldMask(paths=["pool_id", "bogus", "name"])),
         {"update_mask.paths[0]", "update_mask.paths[1]"}),
        (pb.UpdateReservationRequest(reservation=pb.Reservation(id=r.id)), {"update_mask"}),
        (pb.UpdateReservationRequest(reservation=pb.Reservation(resources=pb.Resources(cores=-2)),
                                     update_mask=FieldMask(paths=["resources", "end_time"])),
         {"reservation.id", "reservation.resources.cores", "reservation.end_time"}),
        (pb.UpdateReservationRequest(reservation=pb.Reservation(id=r.id, end_time=at(0.5)),
                                     update_mask=FieldMask(paths=["end_time"])),
         {"reservation.end_time"}),
    ]
    for request_, fields in cases:
        await assert_rejected(server, client,
                              lambda r=request_: client.reservations.UpdateReservation(r), fields)


async def test_capacity_and_query_reject(server: App, client: AsyncClient) -> None:
    await make_pool(client, cores=10)
    await assert_rejected(server, client, lambda: client.reservations.IncreaseCapacity(
        pb.IncreaseCapacityRequest(pool_id="ghost", resources=pb.Resources(cores=-1),
                                   start_time=at(3), end_time=at(1))),
        {"pool_id", "resources.cores", "end_time"})
    await assert_rejected(server, client, lambda: client.reservations.DecreaseCapacity(
        pb.DecreaseCapacityRequest(pool_id="Bad Id!")), {"pool_id", "resources"})
    await assert_rejected(server, client, lambda: client.reservations.QueryCapacity(
        pb.QueryCapacityRequest(pool_ids=["pool-a", "ghost"])), {"pool_ids[1]", "end_time"})
    await assert_rejected(server, client, lambda: client.reservations.CreatePool(
        pb.CreatePoolRequest(pool=pb.Pool(id="-x"))),
        {"pool.id", "pool.provider", "pool.availability_zone"})
    await assert_rejected(server, client, lambda: client.reservations.ListReservations(
        pb.ListReservationsRequest(page_size=-1, page_token="%%%", include_utilization=True,
                                   pool_id="ghost")),
        {"page_size", "page_token", "window_start", "window_end", "pool_id"})


async def test_watch_rejects_negative_start(client: AsyncClient) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        async for _ in client.reservations.WatchReservations(
                pb.WatchReservationsRequest(start_revision=-3)):
            pass
    assert bad_fields(failure.value) == {"start_revision"}


def test_message_of_many_violations_is_bounded() -> None:
    """Thousands of violations (or one quoting a huge value) make a short message: the first
    MESSAGE_VIOLATIONS, each clipped, then how many more; the details keep every one."""
    v = Violations("reservation")
    v.add("pool_id", "x" * 100_000)
    for i in range(4999):
        v.add(f"pool_ids[{i}]", "unknown pool")
    with pytest.raises(InvalidArgument) as raised:
        v.raise_if_any()
    message = raised.value.message
    assert message.startswith("invalid request: pool_id: xxx")
    assert message.endswith("; pool_ids[18]: unknown pool; and 4980 more")
    assert len(message) < (MESSAGE_VIOLATIONS + 1) * (MESSAGE_VIOLATION_CHARS + 2) + 20
    assert len(raised.value.violations) == 5000


async def test_violations_are_listed_once_after_a_capacity_change(client: AsyncClient) -> None:
    """A capacity change moves the pool's version, so the optimistic batch is stale and admitted
    again: the second run must not repeat the first run's violations (nor an instance's)."""
    await make_pool(client, cores=10, instances=2, ram_mb=4096, gigabytes=40)
    await reserve(client, 1, 2, cores=1)  # admission now caches the pool's holdings
    await client.reservations.IncreaseCapacity(pb.IncreaseCapacityRequest(
        pool_id="pool-a", resources=pb.Resources(cores=1)))
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await client.reservations.CreateReservation(create(
            pool_id="pool-a", start_time=at(-1), end_time=at(-2),
            resources=pb.Resources(cores=1)))
    listed = [v.field for v in detail(failure.value,
                                      error_details_pb2.BadRequest).field_violations]
    assert sorted(listed) == ["reservation.end_time", "reservation.start_time"]
    assert failure.value.details().count("reservation.start_time") == 1

    await allocate(client, flavor="m1.small")  # caches the holdings again
    await client.reservations.IncreaseCapacity(pb.IncreaseCapacityRequest(
        pool_id="pool-a", resources=pb.Resources(cores=1)))
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await client.allocations.CreateInstance(apb.CreateInstanceRequest(
            instance=apb.Instance(pool_id="pool-a", flavor="nope", image="cirros")))
    listed = [v.field for v in detail(failure.value,
                                      error_details_pb2.BadRequest).field_violations]
    assert listed == ["instance.flavor"]

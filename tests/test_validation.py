"""Bad input: INVALID_ARGUMENT naming every bad field, nothing written, no event appended."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from google.rpc import error_details_pb2, status_pb2

from switchboard.allocation.v1 import allocation_pb2 as apb
from switchboard.client import AsyncClient
from switchboard.reservation.v1 import reservation_pb2 as pb
from switchboard.scheduler.v1 import scheduler_pb2 as spb
from switchboard.server.app import App
from switchboard.server.errors import (
    MESSAGE_CHARS,
    VIOLATION_CHARS,
    InvalidArgument,
    NotFound,
    Violations,
)
from switchboard.server.status import DETAILS_BYTES, MESSAGE_WIRE, to_status

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
    """Thousands of violations (or one quoting a huge value) make a short message: as many as
    MESSAGE_CHARS holds, each clipped, then how many more."""
    v = Violations("reservation")
    v.add("pool_id", "x" * 100_000)
    for i in range(4999):
        v.add(f"pool_ids[{i}]", "unknown pool")
    with pytest.raises(InvalidArgument) as raised:
        v.raise_if_any()
    message = raised.value.message
    assert message.startswith("invalid request: pool_id: xxx")
    shown = message.count("unknown pool")
    assert shown > 10 and message.endswith(
        f"; pool_ids[{shown - 1}]: unknown pool; and {4999 - shown} more")
    assert len(message) < MESSAGE_CHARS + VIOLATION_CHARS + 40
    assert len(raised.value.violations) == 5000


def test_a_status_fits_a_default_clients_trailers() -> None:
    """Message and details keep to their budgets whatever the error holds: the message counted
    as percent-encoded, the details listing what fits and saying how many there were."""
    v = Violations("scheduler")
    for i in range(5000):
        v.add(f"schedule.vnfs[{i}].name", "is required")
    with pytest.raises(InvalidArgument) as raised:
        v.raise_if_any()
    status = to_status(raised.value)
    message = status.details.encode()
    assert len(message) <= MESSAGE_WIRE
    carried = dict(status.trailing_metadata)["grpc-status-details-bin"]
    assert len(carried) <= DETAILS_BYTES + len(message) + 8
    parsed = status_pb2.Status.FromString(carried)
    info, listed = (_unpack(parsed.details[0], error_details_pb2.ErrorInfo),
                    _unpack(parsed.details[1], error_details_pb2.BadRequest))
    assert info.metadata["violations"] == "5000"
    assert 10 < len(listed.field_violations) < 5000
    assert listed.field_violations[0].field == "schedule.vnfs[0].name"

    wide = to_status(NotFound(message="é" * 5000, reason="NOT_FOUND", area="reservation",
                              resource_type="pool", resource_name="é" * 5000))
    assert len(wide.details.encode()) * 3 <= MESSAGE_WIRE + 3 and wide.details.endswith("…")
    assert len(dict(wide.trailing_metadata)["grpc-status-details-bin"]) \
        <= DETAILS_BYTES + MESSAGE_WIRE


async def test_a_request_with_thousands_of_violations_gets_its_status(
        client: AsyncClient) -> None:
    """Before: 10,000 violations made 480 KB of trailers; the client saw RESOURCE_EXHAUSTED
    "received metadata size exceeds hard limit" instead of the INVALID_ARGUMENT."""
    body = spb.Schedule(id="many", domain="d", user="u", workflow_name="w")
    for _ in range(5000):
        body.vnfs.add(name="", network_elements=[""])
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await client.schedules.CreateSchedule(spb.CreateScheduleRequest(schedule=body))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert int(detail(failure.value, error_details_pb2.ErrorInfo).metadata["violations"]) > 10000
    assert "; and " in (failure.value.details() or "")


def _unpack(wrapper: Any, kind: type[Any]) -> Any:
    found = kind()
    assert wrapper.Unpack(found)
    return found


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

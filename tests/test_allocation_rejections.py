"""CreateInstance rejections, each with its status, reason and what was available; bad input
naming every field. A rejected call writes nothing and appends no event."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2

from switchboard.allocation.v1 import allocation_pb2 as apb
from switchboard.client import AsyncClient
from switchboard.reservation.v1 import reservation_pb2 as pb
from switchboard.server.app import App
from switchboard.server.clock import ManualClock

from support import (
    HOUR,
    START,
    Collector,
    allocate,
    at,
    bad_fields,
    detail,
    make_pool,
    reserve,
)

POOL = {"instances": 10, "cores": 16, "ram_mb": 32768, "gigabytes": 400}
ONE_MEDIUM = {"instances": 1, "cores": 2, "ram_mb": 4096, "gigabytes": 40}


async def rejected(app: App, client: AsyncClient, call: Callable[[], Awaitable[Any]]
                   ) -> grpc.aio.AioRpcError:
    """The call fails; no instance and no event were written."""
    before_events = await app.events.bounds()
    before = await client.allocations.ListInstances(apb.ListInstancesRequest())
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call()
    assert await app.events.bounds() == before_events
    assert await client.allocations.ListInstances(apb.ListInstancesRequest()) == before
    return failure.value


def reason(error: grpc.aio.AioRpcError) -> str:
    info = detail(error, error_details_pb2.ErrorInfo)
    assert info.domain == "switchboard.allocation"
    return str(info.reason)


def precondition(error: grpc.aio.AioRpcError) -> str:
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, error
    violation = detail(error, error_details_pb2.PreconditionFailure).violations[0]
    return f"{reason(error)}: {violation.description}"


async def test_unknown_reservation(server: App, client: AsyncClient) -> None:
    await make_pool(client, **POOL)
    error = await rejected(server, client, lambda: allocate(client, reservation_id="nope"))
    assert precondition(error) == "RESERVATION_NOT_FOUND: does not exist"


async def test_reservation_not_yet_started(server: App, client: AsyncClient) -> None:
    await make_pool(client, **POOL)
    r = await reserve(client, 2, 3, **ONE_MEDIUM)
    error = await rejected(server, client, lambda: allocate(client, reservation_id=r.id))
    assert precondition(error) == (
        "RESERVATION_NOT_ACTIVE: is not ACTIVE: it starts at 2030-01-01T02:00:00Z")


async def test_reservation_already_ended(server: App, client: AsyncClient,
                                         clock: ManualClock) -> None:
    await make_pool(client, **POOL)
    r = await reserve(client, 0, 1, **ONE_MEDIUM)
    watch = await Collector(client.reservations.WatchReservations(
        pb.WatchReservationsRequest(reservation_id=r.id))).live()
    clock.set(START + HOUR)
    await watch.wait_for(lambda c: any(
        e.reservation.status == pb.RESERVATION_STATUS_EXPIRED for e in c.events))
    await watch.close()
    error = await rejected(server, client, lambda: allocate(client, reservation_id=r.id))
    assert precondition(error) == (
        "RESERVATION_NOT_ACTIVE: is not ACTIVE: it ended at 2030-01-01T01:00:00Z")


@pytest.mark.parametrize("pool_changed", [False, True])
async def test_reservation_window_over_before_the_sweeper_moved_it(
        server: App, client: AsyncClient, clock: ManualClock, pool_changed: bool) -> None:
    await make_pool(client, **POOL)
    r = await reserve(client, 0, 1, **ONE_MEDIUM)
    await server.sweeper.stop()  # its status stays ACTIVE; the window decides
    clock.set(START + HOUR)
    if pool_changed:  # admission reads the pool's holdings again, now without the reservation
        await client.reservations.IncreaseCapacity(pb.IncreaseCapacityRequest(
            pool_id="pool-a", resources=pb.Resources(cores=1), start_time=at(1)))
    error = await rejected(server, client, lambda: allocate(client, reservation_id=r.id))
    assert precondition(error) == (
        "RESERVATION_NOT_ACTIVE: is not ACTIVE: it ended at 2030-01-01T01:00:00Z")


async def test_cancelled_reservation(server: App, client: AsyncClient) -> None:
    await make_pool(client, **POOL)
    r = await reserve(client, 0, 1, **ONE_MEDIUM)
    await client.reservations.CancelReservation(pb.CancelReservationRequest(reservation_id=r.id))
    error = await rejected(server, client, lambda: allocate(client, reservation_id=r.id))
    assert precondition(error) == "RESERVATION_NOT_ACTIVE: is not ACTIVE: it is CANCELLED"


async def test_reservation_in_another_pool(server: App, client: AsyncClient) -> None:
    await make_pool(client, **POOL)
    await make_pool(client, "pool-b", **POOL)
    r = await reserve(client, 0, 1, "pool-b", **ONE_MEDIUM)
    error = await rejected(server, client, lambda: allocate(client, reservation_id=r.id))
    assert precondition(error) == (
        "RESERVATION_OTHER_POOL: is in pool 'pool-b', not 'pool-a'")


async def test_reservation_exhausted(server: App, client: AsyncClient) -> None:
    await make_pool(client, **POOL)
    r = await reserve(client, 0, 1, **ONE_MEDIUM)
    await allocate(client, reservation_id=r.id)
    error = await rejected(server, client, lambda: allocate(client, reservation_id=r.id))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert reason(error) == "RESERVATION_EXHAUSTED"
    shortfall = detail(error, apb.AllocationShortfall)
    assert shortfall.reservation_id == r.id
    assert (shortfall.requested.cores, shortfall.available.cores) == (2, 0)
    assert shortfall.available.instances == 0


async def test_reservation_must_hold_everything_the_flavor_takes(
        server: App, client: AsyncClient) -> None:
    await make_pool(client, **POOL)
    r = await reserve(client, 0, 1, cores=8, ram_mb=8192)  # no instances, no disk reserved
    error = await rejected(server, client, lambda: allocate(client, reservation_id=r.id))
    shortfall = detail(error, apb.AllocationShortfall)
    assert (shortfall.available.cores, shortfall.available.instances) == (8, 0)
    assert "instances 1 > 0" in (error.details() or "")


async def test_no_unreserved_capacity(server: App, client: AsyncClient) -> None:
    await make_pool(client, **POOL)
    await reserve(client, 0, 1, cores=14)  # from now: 2 cores left that no reservation holds
    await reserve(client, 50, 51, cores=15)  # later on, only 1
    error = await rejected(server, client, lambda: allocate(client, flavor="m1.medium"))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert reason(error) == "INSUFFICIENT_CAPACITY"
    shortfall = detail(error, apb.AllocationShortfall)
    assert shortfall.reservation_id == ""
    assert (shortfall.requested.cores, shortfall.available.cores) == (2, 1)
    await allocate(client, flavor="m1.tiny")  # 1 vcpu fits, now and from now on


async def test_unknown_flavor(server: App, client: AsyncClient) -> None:
    await make_pool(client, **POOL)
    error = await rejected(server, client, lambda: allocate(client, flavor="m9.huge"))
    assert bad_fields(error) == {"instance.flavor"}
    violation = detail(error, error_details_pb2.BadRequest).field_violations[0]
    assert violation.description == (
        "unknown flavor 'm9.huge'; known: m1.large, m1.medium, m1.small, m1.tiny, m1.xlarge")


def create(**fields: Any) -> apb.CreateInstanceRequest:
    return apb.CreateInstanceRequest(instance=apb.Instance(**fields))


BAD_CREATES = [
    (apb.CreateInstanceRequest(),
     {"instance", "instance.pool_id", "instance.flavor", "instance.image"}),
    (create(pool_id="Pool_A", flavor="m1.tiny", image="cirros"), {"instance.pool_id"}),
    (create(pool_id="nowhere", flavor="m1.tiny", image="cirros"), {"instance.pool_id"}),
    (create(pool_id="pool-a", flavor="m1.tiny", image="cirros", networks=["mgmt", ""]),
     {"instance.networks[1]"}),
    (create(pool_id="pool-a", flavor="m1.tiny", image="cirros", networks=["mgmt", ""],
            name="n" * 256), {"instance.name"}),  # bounds are checked first, on their own
    (create(pool_id="pool-a", flavor="m1.tiny", image="x" * 256, reservation_id="r" * 256),
     {"instance.image", "instance.reservation_id"}),
]


@pytest.mark.parametrize(("request_", "fields"), BAD_CREATES)
async def test_bad_create_instance(server: App, client: AsyncClient,
                                   request_: apb.CreateInstanceRequest, fields: set[str]) -> None:
    await make_pool(client, **POOL)
    error = await rejected(server, client, lambda: client.allocations.CreateInstance(request_))
    assert bad_fields(error) == fields


async def test_bad_other_calls(server: App, client: AsyncClient) -> None:
    calls: list[tuple[Callable[[], Awaitable[Any]], set[str]]] = [
        (lambda: client.allocations.DestroyInstance(apb.DestroyInstanceRequest()),
         {"instance_id"}),
        (lambda: client.allocations.ListInstances(apb.ListInstancesRequest(
            page_size=-1, statuses=[0], pool_id="nowhere", page_token="%%")),
         {"page_size", "statuses[0]", "pool_id", "page_token"}),
        (lambda: client.allocations.ListInstances(apb.ListInstancesRequest(statuses=[1, 99]))
         , {"statuses[1]"}),  # an undefined number: refused before the servicer runs
    ]
    for call, fields in calls:
        assert bad_fields(await rejected(server, client, call)) == fields
    stream = client.allocations.WatchInstances(apb.WatchInstancesRequest(start_revision=-1))
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await stream.read()
    assert bad_fields(failure.value) == {"start_revision"}
    missing = await rejected(server, client, lambda: client.allocations.DestroyInstance(
        apb.DestroyInstanceRequest(instance_id="nope")))
    assert missing.code() == grpc.StatusCode.NOT_FOUND


async def test_refusal_names_the_binding_instant_and_what_holds_it(client: AsyncClient) -> None:
    """Lots free for the next hour, but a reservation months ahead leaves 5 cores from then on:
    the refusal says when it binds and which reservations hold the capacity there."""
    await make_pool(client, cores=64, instances=100, ram_mb=1 << 20, gigabytes=10_000)
    await reserve(client, 2000, 2001, cores=10)  # holds cores, but elsewhere
    far = [await reserve(client, 2400, 2500, cores=n) for n in (50, 9)]
    await reserve(client, 2400, 2500, ram_mb=10)  # holds no cores
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await allocate(client, flavor="m1.xlarge")
    error = failure.value
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    shortfall = detail(error, apb.AllocationShortfall)
    assert shortfall.available.cores == 5
    assert shortfall.binding_time == at(2400)
    assert list(shortfall.binding_reservation_ids) == [r.id for r in far]
    assert f"(cores 8 > 5); it binds at {at(2400).ToJsonString()}, where reservations " \
           f"{far[0].id}, {far[1].id} hold capacity" in error.details()

    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await reserve(client, 2300, 2450, cores=8)
    reservation = detail(failure.value, pb.ReservationShortfall)
    assert reservation.max_reservable.cores == 5
    assert reservation.binding_time == at(2400)
    assert list(reservation.binding_reservation_ids) == [r.id for r in far]
    assert "it binds at" in failure.value.details()

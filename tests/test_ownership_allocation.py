"""Ownership and audit of allocation instances (issue 15): an instance belongs to its creator's
project; another project's is answered as absent and writes nothing, its reservation cannot be
allocated against, and its events are not sent; the lifecycle's own moves (builds, deletes,
the reservation end policy) are caused by the server, also when they ride in a batch with
callers' creates."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from test_ownership_reservation import (
    OWNER,
    Users,
    failure,
    head,
    make_pool,
    refused,
    reserve,
    same_as_unknown,
    start_users,
)

from switchboard.allocation.v1 import allocation_pb2 as apb
from switchboard.client import AsyncClient
from switchboard.reservation.v1 import reservation_pb2 as pb
from switchboard.server.clock import ManualClock

from conftest import StartServer
from support import HOUR, START, Collector, advance_until, at, detail

BUILDING, ACTIVE = apb.INSTANCE_STATUS_BUILDING, apb.INSTANCE_STATUS_ACTIVE
DELETING, DELETED = apb.INSTANCE_STATUS_DELETING, apb.INSTANCE_STATUS_DELETED


@pytest.fixture
async def users(start_server: StartServer, tmp_path: Path,
                clock: ManualClock) -> AsyncIterator[Users]:
    async with await start_users(start_server, tmp_path, clock, vim_build_seconds=30,
                                 vim_delete_seconds=10) as made:
        yield made


def instance_request(pool_id: str, reservation_id: str = "", flavor: str = "m1.small",
                     project: str = "", request_id: str = "") -> apb.CreateInstanceRequest:
    return apb.CreateInstanceRequest(
        instance=apb.Instance(name="vm", pool_id=pool_id, flavor=flavor, image="cirros",
                              reservation_id=reservation_id),
        project=project, request_id=request_id)


async def create(client: AsyncClient, pool_id: str, reservation_id: str = "",
                 **options: Any) -> apb.Instance:
    response = await client.allocations.CreateInstance(
        instance_request(pool_id, reservation_id, **options))
    return response.instance


async def hold(client: AsyncClient, pool_id: str, end: float) -> pb.Reservation:
    """A reservation, active from now, for a few instances of any default flavor."""
    response = await client.reservations.CreateReservation(pb.CreateReservationRequest(
        reservation=pb.Reservation(pool_id=pool_id, start_time=at(0), end_time=at(end),
                                   resources=pb.Resources(cores=20, instances=5, ram_mb=50_000,
                                                          gigabytes=1000))))
    return response.reservation


async def instance_events(client: AsyncClient, revision: int) -> list[apb.InstanceEvent]:
    watch = await Collector(client.allocations.WatchInstances(apb.WatchInstancesRequest(
        start_revision=revision))).live()
    await watch.close()
    return list(watch.events)


async def test_another_projects_instance_is_absent(users: Users, clock: ManualClock) -> None:
    adam, rita, bob = users("adam"), users("rita"), users("bob")
    await make_pool(adam, "shared")
    await make_pool(rita, "red-pool")
    held = await hold(rita, "shared", 10)
    red = await create(rita, "shared", held.id)
    blue = await create(bob, "shared")
    assert (red.project, blue.project) == ("red", "blue")

    before = await head(adam)
    a = bob.allocations
    await same_as_unknown(a.GetInstance(apb.GetInstanceRequest(instance_id=red.id)),
                          a.GetInstance(apb.GetInstanceRequest(instance_id="no-such")), red.id)
    await same_as_unknown(a.DestroyInstance(apb.DestroyInstanceRequest(instance_id=red.id)),
                          a.DestroyInstance(apb.DestroyInstanceRequest(instance_id="no-such")),
                          red.id)
    # Another project's reservation is as if it did not exist; so is another project's pool.
    await same_as_unknown(a.CreateInstance(instance_request("shared", held.id)),
                          a.CreateInstance(instance_request("shared", "no-such")), held.id)
    await same_as_unknown(a.CreateInstance(instance_request("red-pool")),
                          a.CreateInstance(instance_request("no-such")), "red-pool")
    await same_as_unknown(a.ListInstances(apb.ListInstancesRequest(pool_id="red-pool")),
                          a.ListInstances(apb.ListInstancesRequest(pool_id="no-such")),
                          "red-pool")
    for field, value in (("instance_id", red.id), ("reservation_id", held.id)):
        watch = Collector(a.WatchInstances(apb.WatchInstancesRequest(**{field: value})))
        await watch.wait_for(lambda c: c.error is not None)
        assert watch.error is not None and watch.error.code() == grpc.StatusCode.NOT_FOUND
    assert await instance_events(adam, before + 1) == []  # nothing written
    got = await rita.allocations.GetInstance(apb.GetInstanceRequest(instance_id=red.id))
    assert got.instance.status == BUILDING

    for client, ids in ((bob, [blue.id]), (rita, [red.id]), (adam, [red.id, blue.id])):
        listed = await client.allocations.ListInstances(apb.ListInstancesRequest(page_size=1))
        assert [i.id for i in listed.instances] == ids[:1]
        assert bool(listed.next_page_token) == (len(ids) > 1)
        listed = await client.allocations.ListInstances(apb.ListInstancesRequest(
            pool_id="shared"))
        assert [i.id for i in listed.instances] == ids
    # Bob's watch sends only his instances' events, each caused by who made it.
    watch = await Collector(a.WatchInstances(apb.WatchInstancesRequest(
        start_revision=1))).live()
    await advance_until(clock, 30, watch, lambda c: len(c.events) == 2)  # both builds finish
    assert [(e.instance.id, e.instance.status, e.caused_by) for e in watch.events] == [
        (blue.id, BUILDING, "bob"), (blue.id, ACTIVE, "@server")]
    await watch.close()
    assert await refused(rita.allocations.CreateInstance(instance_request(
        "shared", project="blue"))) == (grpc.StatusCode.PERMISSION_DENIED, "NOT_OWN_PROJECT")
    # An admin may allocate in any project, against any reservation.
    assert (await create(adam, "shared", held.id, project="blue")).project == "blue"


async def test_lifecycle_moves_are_caused_by_the_server(users: Users,
                                                        clock: ManualClock) -> None:
    adam, rita = users("adam"), users("rita")
    await make_pool(adam, "shared")
    held = await hold(rita, "shared", 1)
    kept = await create(rita, "shared", held.id)
    doomed = await create(rita, "shared")
    watch = await Collector(rita.allocations.WatchInstances(apb.WatchInstancesRequest(
        start_revision=kept.revision))).live()
    await advance_until(clock, 30, watch, lambda c: len(c.events) == 4)
    await rita.allocations.DestroyInstance(apb.DestroyInstanceRequest(instance_id=doomed.id))
    await advance_until(clock, 10, watch, lambda c: len(c.events) == 6)
    clock.set(START + HOUR)  # the reservation ends: its instance is destroyed
    await watch.wait_for(lambda c: len(c.events) == 7)
    await advance_until(clock, 10, watch, lambda c: len(c.events) == 8)
    moves = [(e.instance.id, e.instance.status, e.caused_by) for e in watch.events]
    assert sorted(moves[:2]) == sorted([(kept.id, BUILDING, "rita"),
                                        (doomed.id, BUILDING, "rita")])
    assert sorted(moves[2:4]) == sorted([(kept.id, ACTIVE, "@server"),
                                         (doomed.id, ACTIVE, "@server")])
    assert moves[4:] == [(doomed.id, DELETING, "rita"), (doomed.id, DELETED, "@server"),
                         (kept.id, DELETING, "@server"), (kept.id, DELETED, "@server")]
    await watch.close()


async def test_vim_reports_riding_with_two_projects_creates_name_each_cause(
        users: Users, clock: ManualClock) -> None:
    """One admission batch holds rita's and bob's creates and the VIM's reports (riding along,
    for the server): every event names its own cause and carries its own project."""
    adam, rita, bob = users("adam"), users("rita"), users("bob")
    await make_pool(adam, "shared")
    building = await create(rita, "shared")
    admission = users.app.admission
    await admission.stop()
    try:
        calls = [asyncio.ensure_future(create(rita if i % 2 else bob, "shared"))
                 for i in range(16)]
        while len(admission._queue) < 16:  # noqa: ASYNC110 (calls in flight)
            await asyncio.sleep(0.01)
        async with asyncio.timeout(10):
            while not admission._riders:  # the first is built: the VIM's report rides along
                clock.advance(30)
                await asyncio.sleep(0.1)
    finally:
        admission.start()
    created = await asyncio.gather(*calls)
    assert [i.project for i in created] == ["blue", "red"] * 8
    first = min(i.revision for i in created) - 1
    events = [e for e in await instance_events(adam, first)
              if e.revision <= max(i.revision for i in created)]
    assert len(events) == 17  # one transaction: the rider first, then the creates
    assert (events[0].instance.id, events[0].instance.status, events[0].caused_by) == (
        building.id, ACTIVE, "@server")
    assert sorted((e.instance.id, e.caused_by, e.instance.project) for e in events[1:]) == sorted(
        (i.id, OWNER[i.project], i.project) for i in created)


async def test_an_instance_shortfall_names_only_the_callers_reservations(
        users: Users) -> None:
    adam, rita, bob = users("adam"), users("rita"), users("bob")
    await make_pool(adam, "shared", cores=10, instances=10, ram_mb=100_000, gigabytes=10_000)
    red = await reserve(rita, "shared", 5, start=0, end=10)
    blue = await reserve(bob, "shared", 4, start=0, end=10)
    for client, ids in ((bob, [blue.id]), (rita, [red.id]), (adam, [red.id, blue.id])):
        error = await failure(client.allocations.CreateInstance(
            instance_request("shared", flavor="m1.medium")))  # 2 cores, 1 free
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        shortfall = detail(error, apb.AllocationShortfall)
        assert shortfall.HasField("binding_time") and shortfall.available.cores == 1
        assert list(shortfall.binding_reservation_ids) == ids
        hidden = {red.id, blue.id} - set(ids)
        assert not any(i in (error.details() or "") for i in hidden)


async def test_an_instance_request_id_another_project_used_is_in_use(users: Users) -> None:
    adam, rita, bob = users("adam"), users("rita"), users("bob")
    await make_pool(adam, "shared")
    first = await create(rita, "shared", request_id="once")
    assert (await create(rita, "shared", request_id="once")).id == first.id
    assert await refused(bob.allocations.CreateInstance(instance_request(
        "shared", request_id="once"))) == (grpc.StatusCode.ALREADY_EXISTS, "REQUEST_ID_IN_USE")
    info = detail(await failure(bob.allocations.CreateInstance(instance_request(
        "shared", request_id="once"))), error_details_pb2.ErrorInfo)
    assert info.domain == "switchboard.allocation"

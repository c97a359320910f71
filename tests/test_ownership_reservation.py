"""Ownership and audit of pools, capacity and reservations (issue 15), on an authorizing server
whose policy puts rita (and vic, a viewer) in project red, bob in blue, multi in both; adam is
an admin. A pool of no project is shared: everyone sees it, only admins change it. Another
project's pool or reservation is answered as absent and writes nothing; events name who caused
them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from google.rpc import error_details_pb2

from switchboard.client import AsyncClient
from switchboard.reservation.v1 import reservation_pb2 as pb
from switchboard.server.app import App
from switchboard.server.clock import ManualClock
from switchboard.server.eventlog import Transaction
from switchboard.server.policy import Principal, caller

from conftest import StartServer
from support import Collector, at, bad_fields, detail
from tokens import Issuer, Principals, authorizing

POLICY = """
[principals]
rita = ["operator", "viewer"]
vic = ["viewer"]
bob = ["operator", "viewer"]
multi = ["operator", "viewer"]
adam = ["admin"]

[projects]
red = { principals = ["rita", "vic", "multi"] }
blue = { principals = ["bob", "multi"] }
"""

CAPACITY = {"cores": 100, "instances": 100, "ram_mb": 1_000_000, "gigabytes": 1_000_000}
OWNER = {"red": "rita", "blue": "bob"}


class Users(Principals):
    """An authorizing server and a client per principal (a bearer token each)."""

    def __init__(self, app: App, issuer: Issuer, clock: ManualClock) -> None:
        super().__init__(app.port, issuer, clock)
        self.app = app


async def start_users(start_server: StartServer, tmp_path: Path, clock: ManualClock,
                      **settings: Any) -> Users:
    issuer = Issuer()
    app = await start_server(**authorizing(tmp_path, issuer, POLICY), **settings)
    return Users(app, issuer, clock)


@pytest.fixture
async def users(start_server: StartServer, tmp_path: Path,
                clock: ManualClock) -> AsyncIterator[Users]:
    async with await start_users(start_server, tmp_path, clock) as made:
        yield made


async def failure(call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    return raised.value


async def refused(call: Any) -> tuple[grpc.StatusCode, str]:
    """The code and ErrorInfo reason of a call that must fail."""
    error = await failure(call)
    return error.code(), detail(error, error_details_pb2.ErrorInfo).reason


async def same_as_unknown(call: Any, unknown: Any, name: str) -> None:
    """`call` fails exactly as `unknown` (the same call naming an id that does not exist)."""
    hidden, absent = await failure(call), await failure(unknown)
    assert hidden.code() == absent.code()
    assert hidden.details().replace(name, "?") == absent.details().replace("no-such", "?")
    infos = [detail(e, error_details_pb2.ErrorInfo) for e in (hidden, absent)]
    assert [(i.reason, i.domain) for i in infos] == [(infos[1].reason, infos[1].domain)] * 2
    assert {k: v.replace(name, "?") for k, v in infos[0].metadata.items()} == {
        k: v.replace("no-such", "?") for k, v in infos[1].metadata.items()}


async def make_pool(client: AsyncClient, pool_id: str, project: str = "",
                    **resources: int) -> pb.Pool:
    made = await client.reservations.CreatePool(pb.CreatePoolRequest(
        pool=pb.Pool(id=pool_id, provider="openstack", availability_zone="az1"),
        project=project))
    await client.reservations.IncreaseCapacity(pb.IncreaseCapacityRequest(
        pool_id=pool_id, resources=pb.Resources(**(resources or CAPACITY)), start_time=at(0)))
    return made.pool


def reservation(pool_id: str, cores: int, start: float = 1, end: float = 10) -> pb.Reservation:
    return pb.Reservation(pool_id=pool_id, start_time=at(start), end_time=at(end),
                          resources=pb.Resources(cores=cores))


async def reserve(client: AsyncClient, pool_id: str, cores: int, *, start: float = 1,
                  end: float = 10, project: str = "", request_id: str = "") -> pb.Reservation:
    response = await client.reservations.CreateReservation(pb.CreateReservationRequest(
        reservation=reservation(pool_id, cores, start, end), project=project,
        request_id=request_id))
    return response.reservation


async def head(client: AsyncClient) -> int:
    """The log's current revision."""
    watch = await Collector(client.reservations.WatchCapacity(pb.WatchCapacityRequest())).live()
    await watch.close()
    return int(watch.responses[0].revision)


async def events_since(client: AsyncClient, revision: int) -> list[Any]:
    """Every capacity and reservation event from `revision` on, that `client` may see."""
    found = []
    for stream in (client.reservations.WatchCapacity(pb.WatchCapacityRequest(
                       start_revision=revision)),
                   client.reservations.WatchReservations(pb.WatchReservationsRequest(
                       start_revision=revision))):
        watch = await Collector(stream).live()
        await watch.close()
        found += watch.events
    return sorted(found, key=lambda e: e.revision)


async def all_pages(client: AsyncClient, method: Any, request: Any, field: str) -> list[str]:
    """The ids a List returns page by page (page_size 1)."""
    ids: list[str] = []
    request.page_size = 1
    while True:
        page = await method(request)
        items = list(getattr(page, field))
        assert len(items) <= 1
        ids += [i.id for i in items]
        if not page.next_page_token:
            return ids
        request.page_token = page.next_page_token


# --- pools -------------------------------------------------------------------------------


async def test_a_project_pool_is_hidden_from_other_projects(users: Users) -> None:
    adam, rita, bob = users("adam"), users("rita"), users("bob")
    shared = await make_pool(adam, "shared")
    blue = await make_pool(adam, "blue-pool", project="blue")
    red = await make_pool(rita, "red-pool")
    assert (shared.project, blue.project, red.project) == ("", "blue", "red")

    for name, client in (("bob", bob), ("rita", rita), ("adam", adam)):
        expected = {"bob": ["blue-pool", "shared"], "rita": ["red-pool", "shared"],
                    "adam": ["blue-pool", "red-pool", "shared"]}[name]
        assert await all_pages(client, client.reservations.ListPools, pb.ListPoolsRequest(),
                               "pools") == expected

    before = await head(adam)
    r = bob.reservations
    await same_as_unknown(r.GetPool(pb.GetPoolRequest(pool_id="red-pool")),
                          r.GetPool(pb.GetPoolRequest(pool_id="no-such")), "red-pool")
    update = pb.UpdatePoolRequest(pool=pb.Pool(id="red-pool", provider="x"),
                                  update_mask=FieldMask(paths=["provider"]))
    await same_as_unknown(r.UpdatePool(update), r.UpdatePool(pb.UpdatePoolRequest(
        pool=pb.Pool(id="no-such", provider="x"), update_mask=FieldMask(paths=["provider"]))),
        "red-pool")
    await same_as_unknown(r.DeletePool(pb.DeletePoolRequest(pool_id="red-pool")),
                          r.DeletePool(pb.DeletePoolRequest(pool_id="no-such")), "red-pool")
    for change in (r.IncreaseCapacity, r.DecreaseCapacity):
        request = pb.IncreaseCapacityRequest if change is r.IncreaseCapacity \
            else pb.DecreaseCapacityRequest
        await same_as_unknown(
            change(request(pool_id="red-pool", resources=pb.Resources(cores=1))),
            change(request(pool_id="no-such", resources=pb.Resources(cores=1))), "red-pool")
    await same_as_unknown(
        r.QueryCapacity(pb.QueryCapacityRequest(pool_ids=["red-pool"], end_time=at(1))),
        r.QueryCapacity(pb.QueryCapacityRequest(pool_ids=["no-such"], end_time=at(1))),
        "red-pool")
    await same_as_unknown(
        r.ListReservations(pb.ListReservationsRequest(pool_id="red-pool")),
        r.ListReservations(pb.ListReservationsRequest(pool_id="no-such")), "red-pool")
    await same_as_unknown(
        r.CreateReservation(pb.CreateReservationRequest(reservation=reservation("red-pool", 1))),
        r.CreateReservation(pb.CreateReservationRequest(reservation=reservation("no-such", 1))),
        "red-pool")
    watch = Collector(r.WatchCapacity(pb.WatchCapacityRequest(pool_id="red-pool")))
    await watch.wait_for(lambda c: c.error is not None)
    assert watch.error is not None and watch.error.code() == grpc.StatusCode.NOT_FOUND
    queried = await r.QueryCapacity(pb.QueryCapacityRequest(end_time=at(1)))
    assert [p.pool_id for p in queried.pools] == ["blue-pool", "shared"]
    assert await events_since(adam, before + 1) == []  # nothing was written
    got = await rita.reservations.GetPool(pb.GetPoolRequest(pool_id="red-pool"))
    assert got.pool.provider == "openstack"
    # Capacity watches send the events of the pools the caller sees, each naming its cause.
    for client, pools in ((bob, {"shared": "adam", "blue-pool": "adam"}),
                          (rita, {"shared": "adam", "red-pool": "rita"})):
        seen = await events_since(client, 1)
        assert len(seen) == 4
        assert {e.pool.id: e.caused_by for e in seen} == pools
        assert all(e.pool.project == {"shared": ""}.get(e.pool.id, e.pool.id[:-5])
                   for e in seen)


async def test_a_shared_pool_is_seen_by_all_and_changed_by_admins_only(users: Users) -> None:
    adam, bob, vic = users("adam"), users("bob"), users("vic")
    await make_pool(adam, "shared", cores=10)
    before = await head(adam)
    got = await vic.reservations.GetPool(pb.GetPoolRequest(pool_id="shared"))
    assert got.pool.project == ""
    r = bob.reservations
    assert await refused(r.UpdatePool(pb.UpdatePoolRequest(
        pool=pb.Pool(id="shared", provider="x"), update_mask=FieldMask(paths=["provider"])))) \
        == (grpc.StatusCode.PERMISSION_DENIED, "NOT_OWN_PROJECT")
    assert await refused(r.DeletePool(pb.DeletePoolRequest(pool_id="shared"))) \
        == (grpc.StatusCode.PERMISSION_DENIED, "NOT_OWN_PROJECT")
    for change, request in ((r.IncreaseCapacity, pb.IncreaseCapacityRequest),
                            (r.DecreaseCapacity, pb.DecreaseCapacityRequest)):
        assert await refused(change(request(pool_id="shared", resources=pb.Resources(cores=1)))) \
            == (grpc.StatusCode.PERMISSION_DENIED, "NOT_OWN_PROJECT")
    assert await events_since(adam, before + 1) == []
    queried = await vic.reservations.QueryCapacity(pb.QueryCapacityRequest(
        pool_ids=["shared"], end_time=at(1)))
    assert queried.pools[0].minimum.total.cores == 10
    # Every viewer follows the shared pool's capacity; each event names its cause.
    watch = await Collector(vic.reservations.WatchCapacity(pb.WatchCapacityRequest(
        start_revision=1, pool_id="shared"))).live()
    await adam.reservations.DecreaseCapacity(pb.DecreaseCapacityRequest(
        pool_id="shared", resources=pb.Resources(cores=2)))
    await watch.wait_for(lambda c: len(c.events) == 3)
    assert [(e.type, e.caused_by, e.pool.project) for e in watch.events] == [
        (pb.CAPACITY_EVENT_TYPE_POOL_CREATED, "adam", ""),
        (pb.CAPACITY_EVENT_TYPE_CAPACITY_INCREASED, "adam", ""),
        (pb.CAPACITY_EVENT_TYPE_CAPACITY_DECREASED, "adam", "")]
    await watch.close()


async def test_creates_go_into_the_callers_project(users: Users) -> None:
    rita, multi, adam = users("rita"), users("multi"), users("adam")
    assert await refused(rita.reservations.CreatePool(pb.CreatePoolRequest(
        pool=pb.Pool(id="p", provider="x", availability_zone="y"), project="blue"))) \
        == (grpc.StatusCode.PERMISSION_DENIED, "NOT_OWN_PROJECT")
    error = await failure(multi.reservations.CreatePool(pb.CreatePoolRequest(
        pool=pb.Pool(id="p", provider="x", availability_zone="y"))))
    assert bad_fields(error) == {"project"}
    assert (await make_pool(multi, "p", project="blue")).project == "blue"
    await make_pool(adam, "shared")
    assert await refused(rita.reservations.CreateReservation(pb.CreateReservationRequest(
        reservation=reservation("shared", 1), project="blue"))) \
        == (grpc.StatusCode.PERMISSION_DENIED, "NOT_OWN_PROJECT")
    assert (await reserve(multi, "shared", 1, project="red")).project == "red"
    assert (await reserve(adam, "shared", 1, project="blue")).project == "blue"
    assert (await reserve(adam, "shared", 1)).project == ""  # an admin with no project
    seen = await rita.reservations.ListReservations(pb.ListReservationsRequest())
    assert [r.project for r in seen.reservations] == ["red"]


# --- reservations ------------------------------------------------------------------------


async def test_another_projects_reservation_is_absent_and_cannot_be_cancelled(
        users: Users) -> None:
    """The issue's attack: a user cancelling another project's reservation."""
    adam, rita, bob, vic = users("adam"), users("rita"), users("bob"), users("vic")
    await make_pool(adam, "shared")
    mine = [await reserve(rita if i % 2 else bob, "shared", 1) for i in range(6)]
    red = [r.id for r in mine if r.project == "red"]
    blue = [r.id for r in mine if r.project == "blue"]
    target = red[0]

    before = await head(adam)
    r = bob.reservations
    await same_as_unknown(r.GetReservation(pb.GetReservationRequest(reservation_id=target)),
                          r.GetReservation(pb.GetReservationRequest(reservation_id="no-such")),
                          target)
    await same_as_unknown(
        r.CancelReservation(pb.CancelReservationRequest(reservation_id=target)),
        r.CancelReservation(pb.CancelReservationRequest(reservation_id="no-such")), target)
    update = pb.UpdateReservationRequest(reservation=pb.Reservation(id=target, name="mine"),
                                         update_mask=FieldMask(paths=["name"]))
    unknown = pb.UpdateReservationRequest(reservation=pb.Reservation(id="no-such", name="x"),
                                          update_mask=FieldMask(paths=["name"]))
    await same_as_unknown(r.UpdateReservation(update), r.UpdateReservation(unknown), target)
    watch = Collector(r.WatchReservations(pb.WatchReservationsRequest(reservation_id=target)))
    await watch.wait_for(lambda c: c.error is not None)
    assert watch.error is not None and watch.error.code() == grpc.StatusCode.NOT_FOUND
    assert await events_since(adam, before + 1) == []  # nothing written
    got = await rita.reservations.GetReservation(pb.GetReservationRequest(
        reservation_id=target))
    assert (got.reservation.status, got.reservation.name) == (pb.RESERVATION_STATUS_PENDING, "")

    for client, ids in ((bob, blue), (rita, red), (vic, red), (adam, [m.id for m in mine])):
        assert await all_pages(client, client.reservations.ListReservations,
                               pb.ListReservationsRequest(pool_id="shared"),
                               "reservations") == ids
    # A watch on the pool sends only the caller's projects' reservations in it.
    seen = await Collector(r.WatchReservations(pb.WatchReservationsRequest(
        start_revision=1, pool_id="shared"))).live()
    assert [e.reservation.id for e in seen.events] == blue
    await rita.reservations.CancelReservation(pb.CancelReservationRequest(
        reservation_id=target))
    await bob.reservations.CancelReservation(pb.CancelReservationRequest(
        reservation_id=blue[0]))
    await seen.wait_for(lambda c: len(c.events) == len(blue) + 1)  # rita's came first
    assert [(e.reservation.id, e.caused_by) for e in seen.events] == [
        *((i, "bob") for i in blue), (blue[0], "bob")]
    assert seen.events[-1].reservation.status == pb.RESERVATION_STATUS_CANCELLED
    await seen.close()


async def test_capacity_counts_every_project_but_shortfalls_name_only_the_callers(
        users: Users) -> None:
    adam, rita, bob = users("adam"), users("rita"), users("bob")
    await make_pool(adam, "shared", cores=100)
    red = await reserve(rita, "shared", 60)
    blue = await reserve(bob, "shared", 30)
    queried = await bob.reservations.QueryCapacity(pb.QueryCapacityRequest(
        pool_ids=["shared"], start_time=at(1), end_time=at(2)))
    assert queried.pools[0].minimum.reserved.cores == 90  # capacity is physical

    async def named(client: AsyncClient, call: Any, reservable: int = 10
                    ) -> tuple[list[str], str]:
        error = await failure(call)
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        shortfall = detail(error, pb.ReservationShortfall)
        assert shortfall.HasField("binding_time")
        assert shortfall.max_reservable.cores == reservable
        return list(shortfall.binding_reservation_ids), error.details() or ""

    request = pb.CreateReservationRequest(reservation=reservation("shared", 20))
    ids, message = await named(bob, bob.reservations.CreateReservation(request))
    assert ids == [blue.id] and red.id not in message
    assert (await named(rita, rita.reservations.CreateReservation(request)))[0] == [red.id]
    assert (await named(adam, adam.reservations.CreateReservation(request)))[0] == [
        red.id, blue.id]
    grow = pb.UpdateReservationRequest(
        reservation=pb.Reservation(id=blue.id, resources=pb.Resources(cores=50)),
        update_mask=FieldMask(paths=["resources"]))
    ids, message = await named(bob, bob.reservations.UpdateReservation(grow), 40)
    assert ids == [] and red.id not in message


async def test_a_request_id_another_project_used_is_in_use(users: Users) -> None:
    adam, rita, bob = users("adam"), users("rita"), users("bob")
    await make_pool(adam, "shared")
    first = await reserve(rita, "shared", 1, request_id="once")
    assert (await reserve(rita, "shared", 1, request_id="once")).id == first.id
    assert await refused(bob.reservations.CreateReservation(pb.CreateReservationRequest(
        reservation=reservation("shared", 1), request_id="once"))) \
        == (grpc.StatusCode.ALREADY_EXISTS, "REQUEST_ID_IN_USE")
    # Two projects' calls with one request_id at once (in one batch): one creates, the other
    # is refused.
    outcomes = await asyncio.gather(
        *(reserve(client, "shared", 1, request_id="twice") for client in (rita, bob)),
        return_exceptions=True)
    created = [o for o in outcomes if isinstance(o, pb.Reservation)]
    failed = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
    assert len(created) == len(failed) == 1
    assert failed[0].code() == grpc.StatusCode.ALREADY_EXISTS
    assert detail(failed[0], error_details_pb2.ErrorInfo).reason == "REQUEST_ID_IN_USE"

    pool = pb.CreatePoolRequest(pool=pb.Pool(id="red-pool", provider="x", availability_zone="y"),
                                request_id="pool-once")
    await rita.reservations.CreatePool(pool)
    assert await refused(bob.reservations.CreatePool(pool)) == (
        grpc.StatusCode.ALREADY_EXISTS, "REQUEST_ID_IN_USE")
    increase = pb.IncreaseCapacityRequest(pool_id="red-pool", resources=pb.Resources(cores=1),
                                          request_id="cap-once")
    await rita.reservations.IncreaseCapacity(increase)
    increase.pool_id = "shared"  # a retry is answered by its request_id alone
    assert await refused(bob.reservations.IncreaseCapacity(increase)) == (
        grpc.StatusCode.ALREADY_EXISTS, "REQUEST_ID_IN_USE")


async def test_batched_creates_of_two_projects_each_name_their_caller(users: Users) -> None:
    """Many calls' creates share one admission transaction, run by a background task: each
    event names the call that caused it and carries its project."""
    adam, rita, bob = users("adam"), users("rita"), users("bob")
    await make_pool(adam, "shared", cores=10_000)
    before = await head(adam)
    calls = [reserve(rita if i % 2 else bob, "shared", 1) for i in range(80)]
    created = await asyncio.gather(*calls)
    assert [r.project for r in created] == ["blue", "red"] * 40
    events = await events_since(adam, before + 1)
    assert len(events) == 80
    assert all(e.caused_by == OWNER[e.reservation.project] for e in events)
    # Held in one batch: the queue is taken as a whole once admission runs again.
    admission = users.app.admission
    await admission.stop()
    try:
        held = [asyncio.ensure_future(reserve(rita if i % 2 else bob, "shared", 1))
                for i in range(20)]
        while len(admission._queue) < 20:  # noqa: ASYNC110 (calls in flight)
            await asyncio.sleep(0.01)
    finally:
        admission.start()
    batch = await asyncio.gather(*held)
    revisions = {r.revision: r for r in batch}
    assert max(revisions) - min(revisions) == 19  # one transaction's run of revisions
    assert {(r.project, r.revision) for r in batch} == {
        (e.reservation.project, e.revision) for e in await events_since(adam, min(revisions))}
    assert all(e.caused_by == OWNER[e.reservation.project]
               for e in await events_since(adam, min(revisions)))


async def test_background_moves_are_caused_by_the_server(users: Users,
                                                         clock: ManualClock) -> None:
    adam, rita = users("adam"), users("rita")
    await make_pool(adam, "shared")
    made = await reserve(rita, "shared", 1, start=1, end=2)
    watch = await Collector(rita.reservations.WatchReservations(pb.WatchReservationsRequest(
        start_revision=made.revision))).live()
    clock.advance(1.5 * 3600)
    await watch.wait_for(lambda c: len(c.events) == 2)
    clock.advance(3600)
    await watch.wait_for(lambda c: len(c.events) == 3)
    assert [(e.reservation.status, e.caused_by) for e in watch.events] == [
        (pb.RESERVATION_STATUS_PENDING, "rita"), (pb.RESERVATION_STATUS_ACTIVE, "@server"),
        (pb.RESERVATION_STATUS_EXPIRED, "@server")]
    await watch.close()


async def test_a_cut_names_only_the_reservations_the_caller_sees(users: Users) -> None:
    """An admin may put another project's reservation in a project's pool: the pool's owner
    cutting capacity impairs it, but is not told of it; a refused delete does not name it."""
    adam, rita = users("adam"), users("rita")
    await make_pool(rita, "red-pool", cores=10)
    own = await reserve(rita, "red-pool", 5)
    other = await reserve(adam, "red-pool", 5, project="blue")
    cut = await rita.reservations.DecreaseCapacity(pb.DecreaseCapacityRequest(
        pool_id="red-pool", resources=pb.Resources(cores=10), start_time=at(0)))
    assert [r.id for r in cut.impaired_reservations] == [own.id]
    error = await failure(rita.reservations.DeletePool(pb.DeletePoolRequest(
        pool_id="red-pool")))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    said = " ".join(v.description for v in detail(
        error, error_details_pb2.PreconditionFailure).violations)
    assert other.id not in said and own.id in said
    got = await adam.reservations.GetReservation(pb.GetReservationRequest(
        reservation_id=other.id))
    assert got.reservation.status == pb.RESERVATION_STATUS_IMPAIRED


async def test_with_authorization_off_projects_are_kept_and_causes_are_empty(
        client: AsyncClient) -> None:
    await client.reservations.CreatePool(pb.CreatePoolRequest(
        pool=pb.Pool(id="p", provider="x", availability_zone="y"), project="red"))
    await client.reservations.IncreaseCapacity(pb.IncreaseCapacityRequest(
        pool_id="p", resources=pb.Resources(cores=5)))
    made = await reserve(client, "p", 1, project="blue")
    assert made.project == "blue"
    events = await events_since(client, 1)
    assert [e.caused_by for e in events] == ["", "", ""]
    assert (await client.reservations.GetPool(pb.GetPoolRequest(pool_id="p"))).pool.project \
        == "red"


async def test_a_rider_records_the_principal_that_queued_it(users: Users) -> None:
    """Work riding in a batch (`Admission.alongside`) is recorded as caused by the call that
    queued it, next to the batch's creates, each caused by its own caller."""
    adam, rita = users("adam"), users("rita")
    await make_pool(adam, "shared")
    admission = users.app.admission

    async def work(tx: Transaction) -> str:
        return tx.principal

    async def queued_by(name: str) -> str:
        caller.set(Principal(name))
        return await admission.alongside({"shared"}, work)

    await admission.stop()
    try:
        created = asyncio.ensure_future(reserve(rita, "shared", 1))
        while not admission._queue:  # noqa: ASYNC110 (the call in flight)
            await asyncio.sleep(0.01)
        rider = asyncio.create_task(queued_by("carol"))
        while not admission._riders:  # noqa: ASYNC110 (the rider in flight)
            await asyncio.sleep(0.01)
    finally:
        admission.start()
    assert await rider == "carol"
    made = await created
    [event] = await events_since(adam, made.revision)
    assert (event.reservation.id, event.caused_by) == (made.id, "rita")

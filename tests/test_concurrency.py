"""No over-commit: many clients race CreateReservation and UpdateReservation on overlapping
windows of one pool; afterwards, recomputed from ListReservations, no instant exceeds capacity."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from processes import server_process

from switchboard.client import AsyncClient
from switchboard.reservation.v1 import reservation_pb2 as pb
from switchboard.server.app import App
from switchboard.server.eventlog import Transaction
from switchboard.server.reservation import store
from switchboard.server.reservation.model import CapacityChange
from switchboard.server.timestamps import from_micros, to_micros

from conftest import StartServer
from support import HOUR, at, make_pool, reserve

CAPACITY = 100
CLIENTS = 50


async def race(targets: list[str], base: int, seed: int) -> tuple[int, int]:
    """Each of CLIENTS clients creates reservations and grows or moves them; returns
    (calls that succeeded, calls rejected RESOURCE_EXHAUSTED)."""
    outcomes = {"ok": 0, "full": 0}

    async def one_client(n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        async with AsyncClient(targets[n % len(targets)]) as client:
            mine: list[pb.Reservation] = []
            for _ in range(4):
                start = base + rng.randrange(0, 8) * HOUR
                end = start + rng.randrange(1, 4) * HOUR
                try:
                    if mine and rng.random() < 0.5:
                        r = rng.choice(mine)
                        new_end = to_micros(r.end_time) + rng.randrange(1, 3) * HOUR
                        await client.reservations.UpdateReservation(pb.UpdateReservationRequest(
                            reservation=pb.Reservation(
                                id=r.id, end_time=from_micros(new_end),
                                resources=pb.Resources(cores=r.resources.cores + 5)),
                            update_mask=FieldMask(paths=["end_time", "resources"])))
                    else:
                        created = await client.reservations.CreateReservation(
                            pb.CreateReservationRequest(reservation=pb.Reservation(
                                pool_id="pool-a", start_time=from_micros(start),
                                end_time=from_micros(end),
                                resources=pb.Resources(cores=rng.randrange(5, 30)))))
                        mine.append(created.reservation)
                    outcomes["ok"] += 1
                except grpc.aio.AioRpcError as e:
                    assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, e
                    outcomes["full"] += 1

    await asyncio.gather(*(one_client(n) for n in range(CLIENTS)))
    return outcomes["ok"], outcomes["full"]


async def assert_never_over(client: AsyncClient) -> int:
    """Recomputes reserved cores at every breakpoint from ListReservations; returns the peak."""
    held: list[pb.Reservation] = []
    token = ""
    while True:
        page = await client.reservations.ListReservations(pb.ListReservationsRequest(
            pool_id="pool-a", page_size=200, page_token=token,
            statuses=[pb.RESERVATION_STATUS_PENDING, pb.RESERVATION_STATUS_ACTIVE]))
        held.extend(page.reservations)
        token = page.next_page_token
        if not token:
            break
    points = sorted({to_micros(r.start_time) for r in held})
    peak = 0
    for t in points:
        load = sum(r.resources.cores for r in held
                   if to_micros(r.start_time) <= t < to_micros(r.end_time))
        assert load <= CAPACITY, f"over-committed at {t}: {load} > {CAPACITY}"
        peak = max(peak, load)
    return peak


async def setup_pool(client: AsyncClient, start: int) -> None:
    await client.reservations.CreatePool(pb.CreatePoolRequest(
        pool=pb.Pool(id="pool-a", provider="openstack", availability_zone="az1")))
    await client.reservations.IncreaseCapacity(pb.IncreaseCapacityRequest(
        pool_id="pool-a", resources=pb.Resources(cores=CAPACITY), start_time=from_micros(start)))


async def test_fifty_clients_one_server(server: App, client: AsyncClient) -> None:
    now = server.clock.now()
    await setup_pool(client, now)
    ok, full = await race([f"127.0.0.1:{server.port}"], now + HOUR, seed=1)
    assert ok > 0 and full > 0, "the race must both succeed and hit the capacity limit"
    assert await assert_never_over(client) <= CAPACITY


async def test_fifty_clients_two_server_processes(database_url: str) -> None:
    async with server_process(database_url) as first, server_process(database_url) as second:
        a, b = first.target, second.target
        async with AsyncClient(a) as client:
            now = time.time_ns() // 1000
            await setup_pool(client, now)
            ok, full = await race([a, b], now + HOUR, seed=2)
            assert ok > 0 and full > 0
            assert await assert_never_over(client) <= CAPACITY


async def test_concurrent_retries_create_once(server: App, client: AsyncClient) -> None:
    """Twenty concurrent calls with one request_id make one reservation and all return it;
    concurrent creates of one pool id make one pool and the rest get ALREADY_EXISTS."""
    now = server.clock.now()
    await setup_pool(client, now)
    request = pb.CreateReservationRequest(
        reservation=pb.Reservation(pool_id="pool-a", start_time=from_micros(now + HOUR),
                                   end_time=from_micros(now + 2 * HOUR),
                                   resources=pb.Resources(cores=1)),
        request_id="retry-me")
    results = await asyncio.gather(
        *(client.reservations.CreateReservation(request) for _ in range(20)))
    assert len({r.reservation.id for r in results}) == 1
    listed = await client.reservations.ListReservations(pb.ListReservationsRequest())
    assert len(listed.reservations) == 1

    pool = pb.CreatePoolRequest(pool=pb.Pool(id="pool-b", provider="p", availability_zone="z"))
    outcomes = await asyncio.gather(
        *(client.reservations.CreatePool(pool) for _ in range(10)), return_exceptions=True)
    failures = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
    assert len(failures) == 9
    assert {f.code() for f in failures} == {grpc.StatusCode.ALREADY_EXISTS}


async def test_batched_admission_keeps_failures_apart(server: App, client: AsyncClient) -> None:
    """Calls admitted in one batch: the ones that fail write nothing (their request_id stays
    free), the others are created; later capacity changes are seen by the next batch."""
    now = server.clock.now()
    await setup_pool(client, now)

    def create(pool_id: str, cores: int, request_id: str) -> pb.CreateReservationRequest:
        return pb.CreateReservationRequest(
            reservation=pb.Reservation(pool_id=pool_id, start_time=from_micros(now + HOUR),
                                       end_time=from_micros(now + 2 * HOUR),
                                       resources=pb.Resources(cores=cores)),
            request_id=request_id)

    calls = [create("pool-a", 10, f"ok-{i}") for i in range(8)]
    calls += [create("ghost", 10, f"bad-{i}") for i in range(4)]
    calls += [create("pool-a", CAPACITY, "too-big")]
    outcomes = await asyncio.gather(
        *(client.reservations.CreateReservation(c) for c in calls), return_exceptions=True)
    codes = [o.code() if isinstance(o, grpc.aio.AioRpcError) else grpc.StatusCode.OK
             for o in outcomes]
    assert codes == [grpc.StatusCode.OK] * 8 + [grpc.StatusCode.INVALID_ARGUMENT] * 4 + [
        grpc.StatusCode.RESOURCE_EXHAUSTED]
    again = await asyncio.gather(  # retries claimed together: each gets its own first result
        *(client.reservations.CreateReservation(c) for c in reversed(calls[:8])))
    assert [r.reservation.id for r in reversed(again)] == [
        o.reservation.id for o in outcomes[:8] if isinstance(o, pb.CreateReservationResponse)]
    retried = await client.reservations.CreateReservation(create("pool-a", 10, "bad-0"))
    assert retried.reservation.resources.cores == 10
    assert await assert_never_over(client) == 90

    await client.reservations.DecreaseCapacity(pb.DecreaseCapacityRequest(
        pool_id="pool-a", resources=pb.Resources(cores=5), start_time=from_micros(now)))
    capacity = await client.reservations.QueryCapacity(pb.QueryCapacityRequest(
        pool_ids=["pool-a"], start_time=from_micros(now + HOUR),
        end_time=from_micros(now + 2 * HOUR)))
    left = capacity.pools[0].minimum.available.cores
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await client.reservations.CreateReservation(create("pool-a", left + 1, ""))
    assert failure.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    await client.reservations.CreateReservation(create("pool-a", left, ""))


async def test_a_call_that_gives_up_while_queued_is_still_admitted(
        server: App, client: AsyncClient) -> None:
    """The caller's deadline passes while its create waits for admission: the create is
    admitted all the same (a retry with its request_id returns it), and admission goes on."""
    await make_pool(client, cores=10)
    await server.admission.stop()  # hold the queue
    request = pb.CreateReservationRequest(
        reservation=pb.Reservation(pool_id="pool-a", start_time=at(1), end_time=at(2),
                                   resources=pb.Resources(cores=3)),
        request_id="gave-up")
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await client.reservations.CreateReservation(request, timeout=0.2)
    assert failure.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    server.admission.start()
    retried = (await client.reservations.CreateReservation(request, timeout=10)).reservation
    listed = await client.reservations.ListReservations(pb.ListReservationsRequest())
    assert [r.id for r in listed.reservations] == [retried.id]
    await reserve(client, 1, 2, cores=7)  # admission is still running


async def test_work_riding_in_an_admission_batch(server: App, client: AsyncClient) -> None:
    """Work queued with `Admission.alongside` commits in the batch's transaction, before its
    candidates are checked (they see what it changed in its pools); work that fails takes its
    writes with it and gets the error, while the batch's creates are admitted on their own."""
    await make_pool(client, cores=10)
    await reserve(client, 1, 2, cores=1)  # the pool's holdings are now cached

    async def queued(work: Callable[[Transaction], Awaitable[str]], cores: list[int]
                     ) -> list[Any]:
        await server.admission.stop()  # hold the queue, so that all of it is one batch
        calls = [asyncio.ensure_future(reserve(client, 1, 2, cores=n)) for n in cores]
        while len(server.admission._queue) < len(cores):  # noqa: ASYNC110 (calls in flight)
            await asyncio.sleep(0.01)
        rider = asyncio.ensure_future(server.admission.alongside({"pool-a"}, work))
        server.admission.start()
        return await asyncio.gather(rider, *calls, return_exceptions=True)

    async def shrink_then_fail(tx: Transaction) -> str:
        await shrink(tx)
        raise RuntimeError("rider failed")

    async def shrink(tx: Transaction) -> str:
        await store.insert_change(tx.conn, CapacityChange(
            "shrink", "pool-a", False, {"cores": 5}, tx.now, None, "test", tx.now))
        return "shrunk"

    failed, *created = await queued(shrink_then_fail, [2, 2])
    assert isinstance(failed, RuntimeError)
    assert all(isinstance(r, pb.Reservation) for r in created)  # admitted against 10 cores

    shrunk, *outcomes = await queued(shrink, [1, 1])  # the same change id: the first was undone
    assert shrunk == "shrunk"
    assert all(isinstance(o, grpc.aio.AioRpcError) for o in outcomes)  # all 5 left are held
    assert {o.code() for o in outcomes} == {grpc.StatusCode.RESOURCE_EXHAUSTED}
    listed = await client.reservations.ListReservations(pb.ListReservationsRequest())
    assert sorted(r.resources.cores for r in listed.reservations) == [1, 2, 2]


async def test_admission_counts_on_its_cache_only_until_another_process_writes(
        start_server: StartServer) -> None:
    """Each server admits against the pool holdings it has cached, without reading them while
    no other process wrote; once another server sharing the database took capacity, a batch is
    admitted against what is stored instead, so neither over-commits."""
    a, b = await start_server(), await start_server()
    async with AsyncClient(f"127.0.0.1:{a.port}") as on_a, \
            AsyncClient(f"127.0.0.1:{b.port}") as on_b:
        await make_pool(on_a, cores=10)
        await reserve(on_a, 1, 2, cores=4)  # a has the pool's holdings cached now
        await reserve(on_b, 1, 2, cores=4)
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await reserve(on_a, 1, 2, cores=4)  # as cached, 6 cores are free; 2 are
        assert failure.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        await reserve(on_a, 1, 2, cores=2)
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await reserve(on_b, 1, 2, cores=1)
        assert failure.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        listed = await on_b.reservations.ListReservations(pb.ListReservationsRequest())
        assert sorted(r.resources.cores for r in listed.reservations) == [2, 4, 4]


async def test_a_stale_cache_takes_in_others_creates_and_rereads_after_other_changes(
        start_server: StartServer) -> None:
    """A server whose cached holdings another server changed brings them up to date with the
    reservations the other created since, reading only those; any other change of the pool
    (here a capacity cut, then a cancellation) has it read the pool's holdings again. Either
    way it admits exactly what fits."""
    a, b = await start_server(), await start_server()
    async with AsyncClient(f"127.0.0.1:{a.port}") as on_a, \
            AsyncClient(f"127.0.0.1:{b.port}") as on_b:
        await make_pool(on_a, cores=10)
        first = await reserve(on_a, 1, 2, cores=3)  # a has the pool's holdings cached now
        await reserve(on_b, 1, 2, cores=2)
        await reserve(on_b, 1, 2, cores=1)
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await reserve(on_a, 1, 2, cores=5)  # 4 are free, not the 7 a had cached
        assert failure.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        await reserve(on_a, 1, 2, cores=1)  # 3 left
        await on_b.reservations.DecreaseCapacity(pb.DecreaseCapacityRequest(
            pool_id="pool-a", resources=pb.Resources(cores=2), start_time=at(0),
            reason="test"))
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await reserve(on_a, 1, 2, cores=2)  # 1 left
        assert failure.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        await on_b.reservations.CancelReservation(
            pb.CancelReservationRequest(reservation_id=first.id))
        await reserve(on_a, 1, 2, cores=4)  # 4 left
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await reserve(on_a, 1, 2, cores=1)
        assert failure.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        capacity = await on_b.reservations.QueryCapacity(pb.QueryCapacityRequest(
            pool_ids=["pool-a"], start_time=at(1), end_time=at(2)))
        assert capacity.pools[0].minimum.reserved.cores == 8
        assert capacity.pools[0].minimum.total.cores == 8

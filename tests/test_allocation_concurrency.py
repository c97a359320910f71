"""Allocation under concurrency: racing CreateInstance calls never allocate more than a
reservation holds, and racing unreserved instances and new reservations never over-commit the
pool (recomputed from List calls afterwards). Each client has its own channel."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from switchboard.allocation.v1 import allocation_pb2 as apb
from switchboard.client import AsyncClient
from switchboard.reservation.v1 import reservation_pb2 as pb
from switchboard.server.app import App
from switchboard.server.timestamps import to_micros

from support import allocate, make_pool, reserve

CLIENTS = 50
HOLDING = [apb.INSTANCE_STATUS_BUILDING, apb.INSTANCE_STATUS_ACTIVE,
           apb.INSTANCE_STATUS_DELETING]


async def race(app: App, jobs: list[Callable[[AsyncClient], Awaitable[Any]]]) -> list[str]:
    """Runs each job on its own client at once; returns 'ok' or 'full' per job."""
    async def one(job: Callable[[AsyncClient], Awaitable[Any]]) -> str:
        async with AsyncClient(f"127.0.0.1:{app.port}") as client:
            await client.channel.channel_ready()
            try:
                await job(client)
            except grpc.aio.AioRpcError as error:
                assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error
                return "full"
            return "ok"

    return list(await asyncio.gather(*(one(job) for job in jobs)))


async def all_instances(client: AsyncClient, **filters: Any) -> list[apb.Instance]:
    found: list[apb.Instance] = []
    token = ""
    while True:
        page = await client.allocations.ListInstances(apb.ListInstancesRequest(
            page_size=1000, page_token=token, **filters))
        found += page.instances
        token = page.next_page_token
        if not token:
            return found


async def test_racing_creates_never_exceed_the_reservation(server: App,
                                                           client: AsyncClient) -> None:
    await make_pool(client, instances=100, cores=100, ram_mb=1 << 20, gigabytes=10_000)
    ten_small = {"instances": 10, "cores": 10, "ram_mb": 10 * 2048, "gigabytes": 200}
    r = await reserve(client, 0, 1, **ten_small)
    outcomes = await race(server, [
        lambda c: allocate(c, flavor="m1.small", reservation_id=r.id) for _ in range(CLIENTS)])
    assert outcomes.count("ok") == 10
    assert outcomes.count("full") == CLIENTS - 10
    assert len(await all_instances(client, reservation_id=r.id)) == 10


async def test_unreserved_instances_and_reservations_never_over_commit(
        server: App, client: AsyncClient) -> None:
    capacity = 40
    await make_pool(client, instances=1000, cores=capacity, ram_mb=1 << 24, gigabytes=1 << 20)
    rng = random.Random(7)

    def reservation_job(c: AsyncClient) -> Awaitable[Any]:
        start = rng.randrange(0, 8)
        return reserve(c, start, start + rng.randrange(1, 4), cores=rng.randrange(1, 7))

    jobs: list[Callable[[AsyncClient], Awaitable[Any]]] = []
    for n in range(CLIENTS * 2):
        jobs.append(reservation_job if n % 2 else (lambda c: allocate(c, flavor="m1.medium")))
    outcomes = await race(server, jobs)
    assert "ok" in outcomes and "full" in outcomes  # there was contention

    held = (await client.reservations.ListReservations(pb.ListReservationsRequest(
        page_size=1000, statuses=[pb.RESERVATION_STATUS_PENDING,
                                  pb.RESERVATION_STATUS_ACTIVE]))).reservations
    running = await all_instances(client, statuses=HOLDING)
    assert running and held
    spans = [(to_micros(r.start_time), to_micros(r.end_time), r.resources.cores) for r in held]
    spans += [(to_micros(i.create_time), None, i.resources.cores) for i in running]
    instants = sorted({start for start, _, _ in spans})
    for t in instants:
        used = sum(cores for start, end, cores in spans
                   if start <= t and (end is None or t < end))
        assert used <= capacity, (t, used)

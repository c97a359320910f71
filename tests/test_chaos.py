"""Chaos: three real replica processes on one PostgreSQL database under write load, one of
them killed (SIGKILL) mid-way. Every acknowledged write is kept, and the watches on the
survivors miss nothing and repeat nothing."""

from __future__ import annotations

import asyncio
import signal
import time

import grpc
import pytest
from processes import server_process

from switchboard.client import AsyncClient
from switchboard.reservation.v1 import reservation_pb2 as pb
from switchboard.server.timestamps import from_micros

from conftest import BACKENDS
from support import HOUR, Collector

pytestmark = pytest.mark.parametrize("database_url", [BACKENDS[1]], indirect=True)

CALLERS = 4
"""Concurrent callers per replica."""


class Acked:
    """Ids of acknowledged creates, and a wait for their count."""

    def __init__(self) -> None:
        self.ids: set[str] = set()
        self._changed = asyncio.Condition()

    async def add(self, reservation_id: str) -> None:
        async with self._changed:
            self.ids.add(reservation_id)
            self._changed.notify_all()

    async def reach(self, count: int) -> None:
        async with asyncio.timeout(60), self._changed:
            await self._changed.wait_for(lambda: len(self.ids) >= count)


async def test_a_replica_killed_under_write_load_loses_no_acknowledged_write(
        database_url: str) -> None:
    now = time.time_ns() // 1000
    async with server_process(database_url) as a, server_process(database_url) as b, \
            server_process(database_url) as c, AsyncClient(a.target) as via_a, \
            AsyncClient(b.target) as via_b, AsyncClient(c.target) as via_c:
        await via_a.reservations.CreatePool(pb.CreatePoolRequest(
            pool=pb.Pool(id="pool-a", provider="openstack", availability_zone="az1")))
        await via_a.reservations.IncreaseCapacity(pb.IncreaseCapacityRequest(
            pool_id="pool-a", resources=pb.Resources(cores=1_000_000),
            start_time=from_micros(now)))
        watches = [await Collector(client.reservations.WatchReservations(
            pb.WatchReservationsRequest(start_revision=1))).live() for client in (via_b, via_c)]
        request = pb.CreateReservationRequest(reservation=pb.Reservation(
            pool_id="pool-a", start_time=from_micros(now + HOUR),
            end_time=from_micros(now + 2 * HOUR), resources=pb.Resources(cores=1)))
        acked, stop = Acked(), asyncio.Event()
        lost: list[grpc.StatusCode] = []

        async def load(client: AsyncClient, killed: bool) -> None:
            while not stop.is_set():
                try:
                    created = await client.reservations.CreateReservation(request, timeout=10)
                except grpc.aio.AioRpcError as error:
                    if not killed:
                        raise
                    lost.append(error.code())  # the killed replica's: not acknowledged
                    return
                await acked.add(created.reservation.id)

        callers = [asyncio.create_task(load(client, client is via_a))
                   for client in (via_a, via_b, via_c) for _ in range(CALLERS)]
        await acked.reach(150)
        assert await a.stop(signal.SIGKILL) == -signal.SIGKILL
        before = len(acked.ids)
        await acked.reach(before + 150)  # the survivors go on
        stop.set()
        await asyncio.gather(*callers)
        assert set(lost) <= {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED}

        kept: set[str] = set()
        token = ""
        while True:
            page = await via_b.reservations.ListReservations(pb.ListReservationsRequest(
                pool_id="pool-a", page_size=500, page_token=token))
            kept |= {r.id for r in page.reservations}
            if not (token := page.next_page_token):
                break
        assert acked.ids <= kept

        replay = Collector(via_c.reservations.WatchReservations(
            pb.WatchReservationsRequest(start_revision=1)))
        await replay.live()
        truth = [e.revision for e in replay.events]
        assert {e.reservation.id for e in replay.events if e.reservation.id} >= kept
        assert truth == sorted(set(truth))
        for watch in watches:
            await watch.wait_for(lambda w: w.events and w.events[-1].revision >= truth[-1])
            assert [e.revision for e in watch.events] == truth  # none missed, none repeated
            await watch.close()
        await replay.close()

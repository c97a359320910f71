"""Chaos: real replica processes on one PostgreSQL database. The one holding every lease is
killed (SIGKILL) under write load and with a change being dispatched: every acknowledged
write is kept, the survivors take the leases over and finish the change, no SO request is sent
twice and no ticket opened twice, and the survivors' watches miss nothing and repeat nothing.
A holder paused (SIGSTOP) past its lease does nothing once it wakes."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter

import asyncpg
import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from processes import ServerProcess, server_process

from switchboard.client import AsyncClient
from switchboard.reservation.v1 import reservation_pb2 as pb
from switchboard.scheduler.v1 import scheduler_pb2 as spb
from switchboard.server.timestamps import from_micros

from conftest import BACKENDS
from support import HOUR, Collector

pytestmark = pytest.mark.parametrize("database_url", [BACKENDS[1]], indirect=True)

CALLERS = 4
"""Concurrent callers per replica."""
TTL = "2"
"""Seconds a lease lasts unrenewed."""
REPLICA = ("--lease-ttl-seconds", TTL, "--so-run-seconds", "0.5")
VNFS = 6
ACCEPTED = "simulated SO accepted a request"
FINAL = (spb.SCHEDULE_STATE_COMPLETED, spb.SCHEDULE_STATE_COMPLETED_WITH_ERRORS,
         spb.SCHEDULE_STATE_FAILED)


async def query(database_url: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


async def lease_pids(database_url: str) -> dict[str, tuple[int, int]]:
    """Every lease: name -> (the holder's process id, term)."""
    rows = await query(database_url, "SELECT name, holder, term FROM leases")
    return {r["name"]: (int(r["holder"].split("/")[1]), r["term"]) for r in rows}


async def until_held_by(database_url: str, *servers: ServerProcess) -> dict[str, int]:
    """Waits (at most 30 s) until every lease is held by one of `servers`; their terms."""
    pids = {s.pid for s in servers}
    async with asyncio.timeout(30):
        while True:
            held = await lease_pids(database_url)
            if held and all(pid in pids for pid, _ in held.values()):
                return {name: term for name, (_, term) in held.items()}
            await asyncio.sleep(0.1)


def change(start: int, end: int) -> spb.Schedule:
    """VNFS VNFs on their own elements, two at a time, a second each, in [start, end] (µs)."""
    vnfs = []
    for n in range(VNFS):
        v = spb.Vnf(name=f"vnf-{n}", group="g", network_elements=[f"ne-{n}"])
        v.so_request.update({"vnf": n})
        vnfs.append(v)
    return spb.Schedule(
        id="change", name="change", domain="ChangeManagement", user="ops",
        workflow_name="Replace", vnfs=vnfs, concurrency_limit=2,
        change_windows=[spb.TimeWindow(start_time=from_micros(start),
                                       end_time=from_micros(end))],
        normal_duration=Duration(seconds=1))


async def approved(client: AsyncClient, watch: Collector, start: int) -> None:
    """The change, created, optimized and approved, to start at `start` (µs)."""
    await client.schedules.CreateSchedule(spb.CreateScheduleRequest(
        schedule=change(start, start + 120 * 1_000_000)))
    await watch.wait_for(lambda w: any(
        e.schedule.state == spb.SCHEDULE_STATE_PENDING_APPROVAL for e in w.events))
    await client.schedules.ApproveSchedule(spb.ApproveScheduleRequest(
        schedule_id="change", user="approver", decision=spb.APPROVAL_DECISION_ACCEPTED))


async def ended(watch: Collector) -> spb.Schedule:
    """The change once it has ended (at most 60 s)."""
    await watch.wait_for(lambda w: any(e.schedule.state in FINAL for e in w.events), within=60)
    return next(e.schedule for e in watch.events if e.schedule.state in FINAL)


def sent(*servers: ServerProcess) -> Counter[str]:
    """How many times each SO request key was accepted, over `servers`."""
    return Counter(line["key"] for s in servers for line in s.found(ACCEPTED))


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


async def test_the_lease_holder_killed_under_write_load_loses_nothing_and_repeats_nothing(
        database_url: str) -> None:
    now = time.time_ns() // 1000
    async with server_process(database_url, *REPLICA) as a, \
            server_process(database_url, *REPLICA) as b, \
            server_process(database_url, *REPLICA) as c, AsyncClient(a.target) as via_a, \
            AsyncClient(b.target) as via_b, AsyncClient(c.target) as via_c:
        first_terms = await until_held_by(database_url, a)  # the first started takes them all
        await via_a.reservations.CreatePool(pb.CreatePoolRequest(
            pool=pb.Pool(id="pool-a", provider="openstack", availability_zone="az1")))
        await via_a.reservations.IncreaseCapacity(pb.IncreaseCapacityRequest(
            pool_id="pool-a", resources=pb.Resources(cores=1_000_000),
            start_time=from_micros(now)))
        watches = [await Collector(client.reservations.WatchReservations(
            pb.WatchReservationsRequest(start_revision=1))).live() for client in (via_b, via_c)]
        schedules = await Collector(via_c.schedules.WatchSchedules(
            spb.WatchSchedulesRequest())).live()
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
        await approved(via_b, schedules, time.time_ns() // 1000 + 3_000_000)
        await schedules.wait_for(lambda w: any(
            v.state == spb.VNF_STATE_TRIGGERED for e in w.events for v in e.schedule.vnfs))
        await acked.reach(150)
        assert await a.stop(signal.SIGKILL) == -signal.SIGKILL  # mid-change, under load
        terms = await until_held_by(database_url, b, c)
        assert all(terms[name] > first_terms[name] for name in first_terms)
        done = await ended(schedules)  # the new dispatcher finished what the old one began
        assert done.state == spb.SCHEDULE_STATE_COMPLETED
        assert {v.state for v in done.vnfs} == {spb.VNF_STATE_COMPLETED}
        before = len(acked.ids)
        await acked.reach(before + 150)  # the survivors go on
        stop.set()
        await asyncio.gather(*callers)
        assert set(lost) <= {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED}

        accepted = sent(a, b, c)
        assert accepted and max(accepted.values()) == 1, accepted  # no SO request twice
        tickets = await query(database_url,
                              "SELECT schedule_id, count(*) AS n FROM tickets GROUP BY 1")
        assert [(t["schedule_id"], t["n"]) for t in tickets] == [("change", 1)]

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
        await schedules.close()


async def test_a_lease_holder_paused_past_its_lease_does_nothing_once_it_wakes(
        database_url: str) -> None:
    async with server_process(database_url, *REPLICA) as a, \
            server_process(database_url, *REPLICA) as b, AsyncClient(b.target) as via_b:
        first_terms = await until_held_by(database_url, a)
        schedules = await Collector(via_b.schedules.WatchSchedules(
            spb.WatchSchedulesRequest())).live()
        await approved(via_b, schedules, time.time_ns() // 1000 + 6_000_000)
        a.send(signal.SIGSTOP)  # before the change starts: a holds the dispatcher's lease
        try:
            terms = await until_held_by(database_url, b)
            assert all(terms[name] > first_terms[name] for name in first_terms)
            done = await ended(schedules)
        finally:
            a.send(signal.SIGCONT)
        assert done.state == spb.SCHEDULE_STATE_COMPLETED
        await a.logged_any("lease lost; its jobs stop",  # awake, it finds its leases gone
                           "leases not renewed in time; their jobs stop")
        # Awake, a takes no lease back, sends no SO request and opens no ticket.
        assert await until_held_by(database_url, b) == terms
        assert not a.found(ACCEPTED) and set(sent(b).values()) == {1}
        assert len(sent(b)) == VNFS
        tickets = await query(database_url,
                              "SELECT schedule_id, count(*) AS n FROM tickets GROUP BY 1")
        assert [(t["schedule_id"], t["n"]) for t in tickets] == [("change", 1)]
        await schedules.close()

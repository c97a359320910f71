"""Background singletons on leases: one replica holds each lease and runs its job; another takes
it over (the next term) once it expires; a write fenced by a lost lease fails without effect, so
a paused old holder that wakes sends no second SO request and moves no ticket twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace

import asyncpg
import pytest
from sqlalchemy import func, select
from test_scheduler_dispatch import IN_PROGRESS, OPEN, approve, ticket_states
from test_scheduler_flow import create, schedule, settled, vnf
from test_workers import workers

from switchboard.allocation.v1 import allocation_pb2 as apb
from switchboard.client import AsyncClient
from switchboard.reservation.v1 import reservation_pb2 as pb
from switchboard.scheduler.v1 import scheduler_pb2 as spb
from switchboard.server import leases
from switchboard.server.app import App
from switchboard.server.clock import MICROS, ManualClock
from switchboard.server.config import Settings
from switchboard.server.db import Database, StaleWrite
from switchboard.server.eventlog import head_table
from switchboard.server.scheduler.tickets import tickets as tickets_table
from switchboard.server.tasks import Job

from conftest import POSTGRES_URL, StartServer
from support import HOUR, START, Collector, advance_until, allocate, make_pool, reserve

TTL = 15.0
SOON = 1 / 3600
"""One second after the clock's start, in the hours the helpers take."""
SINGLETONS = {"reservation-sweeper", "scheduler-planner", "scheduler-dispatcher",
              "allocation-reaper", "allocation-rechecks", "cmhandle-module-sync", "cmhandle-health",
              "participant-timeouts"}
V = spb.VnfState

only_postgresql = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.skipif(
        not POSTGRES_URL, reason="SWITCHBOARD_TEST_POSTGRES_URL not set"))],
    indirect=True)


async def until(condition: Callable[[], Awaitable[bool]]) -> None:
    """Waits (at most 10 s, against a hang) until `condition()` holds."""
    async with asyncio.timeout(10):
        while True:
            if await condition():
                return
            await asyncio.sleep(0.01)


def reservation_active(client: AsyncClient, reservation_id: str
                       ) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        got = await client.reservations.GetReservation(pb.GetReservationRequest(
            reservation_id=reservation_id))
        return got.reservation.status == pb.RESERVATION_STATUS_ACTIVE
    return check


def vnf_triggered(client: AsyncClient, schedule_id: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        got = await client.schedules.GetSchedule(spb.GetScheduleRequest(
            schedule_id=schedule_id))
        return got.schedule.vnfs[0].state == V.VNF_STATE_TRIGGERED
    return check


def holders(app: App) -> Callable[[], Awaitable[dict[str, tuple[str, int]]]]:
    async def read() -> dict[str, tuple[str, int]]:
        return {name: (holder, term)
                for name, (holder, term, _) in (await leases.held(app.db)).items()}
    return read


async def all_held_by(app: App, term: int) -> bool:
    return await holders(app)() == dict.fromkeys(SINGLETONS, (app.replica_id, term))


@asynccontextmanager
async def connected(app: App) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(f"127.0.0.1:{app.port}") as client:
        yield client


async def test_one_server_holds_every_lease_from_its_start_and_releases_them_on_stop(
        start_server: StartServer) -> None:
    first = await start_server()
    assert await all_held_by(first, 1)
    assert set(first.leases.leases) == SINGLETONS
    await first.stop(grace=0)
    again = await start_server()  # released: taken at once, with the next term
    assert await all_held_by(again, 2)


async def test_a_write_fenced_by_a_lease_another_holder_took_fails_without_effect(
        server: App, clock: ManualClock) -> None:
    old = server.leases.leases["reservation-sweeper"]
    await server.leases.stop()  # the holder stops renewing (as if paused); its rows stay
    other = leases.Leases(server.db, clock, "other-replica", int(TTL * MICROS))
    other.add(Job("reservation-sweeper", asyncio.Event().wait))
    await other.begin()
    assert "reservation-sweeper" not in other.leases  # not expired yet
    clock.advance(TTL)
    await other.round()
    new = other.leases["reservation-sweeper"]
    assert (new.holder, new.term) == ("other-replica", old.term + 1)
    before = await server.events.bounds()
    with pytest.raises(StaleWrite):
        async with server.events.transaction() as tx:
            leases.fence(tx, old)
            await tx.next_revision()
    assert await server.events.bounds() == before  # nothing written
    async with server.events.transaction() as tx:
        leases.fence(tx, new)
        await tx.next_revision()
    async with server.db.read() as conn:
        assert (await conn.execute(select(head_table.c.head))).scalar_one() == before[1] + 1
    await other.stop()


async def test_a_holder_that_renews_late_keeps_its_term_and_its_jobs(
        server: App, client: AsyncClient, clock: ManualClock) -> None:
    """Time jumps past the TTL with no other replica: the lease still names the holder, so it
    renews with the same term and its jobs (here the sweeper) go on."""
    await make_pool(client, cores=8)
    r = await reserve(client, 1, 2, cores=1)
    clock.set(START + HOUR)  # far past the TTL
    await until(reservation_active(client, r.id))
    await until(lambda: _renewed_after(server, START + HOUR))
    assert await all_held_by(server, 1)


async def _renewed_after(app: App, when: int) -> bool:
    return all(expires > when for _, _, expires in (await leases.held(app.db)).values())


@only_postgresql
async def test_each_singleton_runs_on_one_of_two_replicas(
        start_server: StartServer, clock: ManualClock) -> None:
    a = await start_server(lease_ttl_seconds=TTL)
    b = await start_server(lease_ttl_seconds=TTL)
    assert await all_held_by(a, 1) and not b.leases.leases
    async with connected(b) as client:
        await make_pool(client, cores=8)
        watch = await Collector(client.reservations.WatchReservations(
            pb.WatchReservationsRequest())).live()
        r = await reserve(client, SOON, 2, cores=1)
        sched = await Collector(client.schedules.WatchSchedules(
            spb.WatchSchedulesRequest())).live()
        await create(client, schedule("s1", [vnf("a", "ne1")], [(SOON, 3)]))
        await settled(sched, "s1", spb.SCHEDULE_STATE_PENDING_APPROVAL)
        await approve(client, "s1")
        clock.advance(TTL / 3)  # both start, well within a's lease
        await watch.wait_for(lambda c: any(
            e.reservation.id == r.id and e.reservation.status == pb.RESERVATION_STATUS_ACTIVE
            for e in c.events))
        await sched.wait_for(lambda c: any(
            v.state == V.VNF_STATE_TRIGGERED for e in c.events if e.schedule.id == "s1"
            for v in e.schedule.vnfs))
        activated = [e for e in watch.events if e.reservation.id == r.id
                     and e.reservation.status == pb.RESERVATION_STATUS_ACTIVE]
        assert len(activated) == 1
        assert set(a.so.sent) == {"s1/a"} and not b.so.sent  # sent once, by the holder
        assert await ticket_states(client, "s1") == [OPEN, IN_PROGRESS]
        assert await all_held_by(a, 1) and not b.leases.leases
        await watch.close()
        await sched.close()


@only_postgresql
async def test_another_replica_takes_over_once_the_holder_stops_renewing(
        start_server: StartServer, clock: ManualClock) -> None:
    a = await start_server(lease_ttl_seconds=TTL)
    b = await start_server(lease_ttl_seconds=TTL)
    async with connected(b) as client:
        await make_pool(client, cores=8)
        r = await reserve(client, 1, 2, cores=1)
        await a.leases.stop()  # the holder dies: no renewals, no release
        clock.advance(TTL / 2)
        assert not b.leases.leases  # not before the lease has expired
        clock.advance(TTL / 2 + 1)
        await until(lambda: all_held_by(b, 2))
        clock.set(START + HOUR)
        await until(reservation_active(client, r.id))


@only_postgresql
async def test_the_instances_a_dead_replica_was_building_still_end(
        start_server: StartServer, clock: ManualClock) -> None:
    """A builds an instance, then dies before its VIM reports: the lease holder asks its own
    VIM about it once it has had no news for --vim-recheck-seconds, and it becomes ACTIVE."""
    a = await start_server(lease_ttl_seconds=TTL, vim_build_seconds=5, vim_recheck_seconds=60)
    b = await start_server(lease_ttl_seconds=TTL, vim_build_seconds=5, vim_recheck_seconds=60)
    async with connected(a) as via_a, connected(b) as via_b:
        await make_pool(via_a, instances=4, cores=16, ram_mb=32768, gigabytes=400)
        watch = await Collector(via_b.allocations.WatchInstances(
            apb.WatchInstancesRequest())).live()
        built = await allocate(via_a)
        await a.leases.stop()  # a dies: no renewals, no release, no VIM reports
        await a.lifecycle.stop()
        clock.advance(TTL + 1)
        await until(lambda: all_held_by(b, 2))
        assert not watch.events[1:]  # nobody follows the build now
        await advance_until(clock, 10, watch, lambda w: any(  # past the recheck bound
            e.instance.id == built.id and e.instance.status == apb.INSTANCE_STATUS_ACTIVE
            for e in w.events))
        await watch.close()


async def _lock_waiters(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock'"))


@only_postgresql
async def test_a_paused_holder_that_wakes_sends_nothing_twice(settings: Settings) -> None:
    """The holder's dispatcher is held mid-step (waiting on a row lock) while its own clock
    stands still (it is paused: no renewals); another replica takes the lease over and
    dispatches; the old holder's step then goes on, and its fenced commit fails: no second SO
    request, no second ticket move."""
    base = replace(settings, lease_ttl_seconds=TTL)
    paused, running = ManualClock(START), ManualClock(START)
    a, b = App(base, clock=paused), App(base, clock=running)
    await a.start()
    await b.start()
    locker = await asyncpg.connect(settings.database_url.replace("+asyncpg", ""))
    try:
        async with connected(a) as client:
            sched = await Collector(client.schedules.WatchSchedules(
                spb.WatchSchedulesRequest())).live()
            await create(client, schedule("s1", [vnf("a", "ne1")], [(1, 3)]))
            await settled(sched, "s1", spb.SCHEDULE_STATE_PENDING_APPROVAL)
            await approve(client, "s1")
            await sched.close()
        lock = locker.transaction()
        await lock.start()
        await locker.execute("SELECT 1 FROM schedules WHERE id = 's1' FOR UPDATE")
        paused.set(START + HOUR)  # a's dispatcher takes its step, and waits on the row
        await until(lambda: _waiting(locker, 1))
        running.set(START + HOUR + int((TTL + 1) * MICROS))  # a's lease has expired
        await until(lambda: all_held_by(b, 2))
        await lock.rollback()
        async with connected(b) as client:
            await until(vnf_triggered(client, "s1"))
            paused.advance(TTL / 3)  # a's next renewal finds its lease lost: its jobs stop
            await until(lambda: _lost(a))
            assert not a.so.sent and set(b.so.sent) == {"s1/a"}
            assert await ticket_states(client, "s1") == [OPEN, IN_PROGRESS]
        async with b.db.read() as conn:
            tickets = (await conn.execute(
                select(func.count()).select_from(tickets_table))).scalar_one()
        assert tickets == 1
    finally:
        await locker.close()
        await a.stop(grace=0)
        await b.stop(grace=0)


async def _waiting(conn: asyncpg.Connection, count: int) -> bool:
    return await _lock_waiters(conn) == count


async def _lost(app: App) -> bool:
    return not app.leases.leases


@only_postgresql
async def test_a_holder_that_cannot_renew_stops_its_jobs_before_its_lease_ends(
        start_server: StartServer, clock: ManualClock, settings: Settings) -> None:
    """Renewals hang (the lease rows are locked): once the last renewal is three quarters of
    the TTL old the jobs stop, before the lease ends; they start again, with the same term,
    once a renewal gets through."""
    app = await start_server(lease_ttl_seconds=TTL)
    locker = await asyncpg.connect(settings.database_url.replace("+asyncpg", ""))
    try:
        lock = locker.transaction()
        await lock.start()
        await locker.execute("SELECT 1 FROM leases FOR UPDATE")
        clock.advance(TTL / 3)  # the renewal starts, and waits on the rows
        await until(lambda: _waiting(locker, 1))
        assert app.dispatcher._task is not None
        clock.advance(TTL / 3)
        assert app.dispatcher._task is not None  # not yet: the last renewal is 2/3 TTL old
        clock.advance(TTL / 6)  # 5/6 of the TTL: the lease has not ended, the jobs stop
        await until(lambda: _stopped(app))
        await lock.rollback()
        await until(lambda: _running(app))
        assert await all_held_by(app, 1)
    finally:
        await locker.close()


async def _stopped(app: App) -> bool:
    return all(task._task is None for task in (app.sweeper, app.dispatcher, app.planner,
                                               app.module_sync, app.dmi_health))


async def _running(app: App) -> bool:
    return all(task._task is not None for task in (app.sweeper, app.dispatcher, app.planner,
                                                   app.module_sync, app.dmi_health))


async def test_one_of_the_workers_holds_every_lease(database_url: str) -> None:
    """`--workers 2`: one worker takes every lease at its start (the other none), and the
    leases are released when the command stops."""
    async with workers(database_url) as supervisor:
        taken = await supervisor.logged("lease held; its jobs start", len(SINGLETONS))
        (pid,) = {line["pid"] for line in taken}
        assert {line["lease"] for line in taken} == SINGLETONS
        db = Database(database_url)
        try:
            (holder,) = {holder for holder, _, _ in (await leases.held(db)).values()}
            assert f"/{pid}/" in holder  # the replica id names its process
            assert await supervisor.stop() == 0
            assert {expires for _, _, expires in (await leases.held(db)).values()} == {0}
        finally:
            await db.close()

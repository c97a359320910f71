"""ApproveSchedule checks every placement again, through real gRPC on the test clock: a start
already past the past-due tolerance, or a change a blackout covers, is refused
(FAILED_PRECONDITION naming each VNF, nothing written); a schedule still PENDING_APPROVAL when
its last window ends is EXPIRED by the server."""

from __future__ import annotations

import asyncio
import contextvars
from dataclasses import replace
from functools import partial

import grpc
import pytest
from google.rpc import error_details_pb2
from test_scheduler_dispatch import approve, connected, ticket_states
from test_scheduler_flow import create, schedule, settled, states, vnf

from switchboard.client import AsyncClient
from switchboard.scheduler.v1 import scheduler_pb2 as spb
from switchboard.server import leases
from switchboard.server.app import App
from switchboard.server.clock import ManualClock
from switchboard.server.db import StaleWrite
from switchboard.server.eventlog import fencing
from switchboard.server.scheduler import changes, model, store

from conftest import StartServer
from support import HOUR, START, Collector, detail

S = spb.ScheduleState
V = spb.VnfState
SECOND = 1_000_000


async def refused(client: AsyncClient, schedule_id: str) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await approve(client, schedule_id)
    assert failure.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    return failure.value


async def test_approval_refused_past_due(start_server: StartServer, clock: ManualClock) -> None:
    app = await start_server(scheduler_past_due_seconds=60)
    async with connected(app) as client:
        watch = await Collector(client.schedules.WatchSchedules(
            spb.WatchSchedulesRequest())).live()
        await create(client, schedule("s1", [vnf("a", "ne1"), vnf("b", "ne2")], [(1, 3)],
                                      minutes=60, concurrency=1))
        optimized = await settled(watch, "s1", S.SCHEDULE_STATE_PENDING_APPROVAL)
        late = next(v.name for v in optimized.vnfs if v.start_time.ToMicroseconds()
                    == START + HOUR)
        clock.set(START + HOUR + 61 * SECOND)  # the 1h start is past the 60 s tolerance
        before = watch.events[-1].revision

        error = await refused(client, "s1")
        info = detail(error, error_details_pb2.ErrorInfo)
        assert (info.reason, info.domain) == ("SCHEDULE_PAST_DUE", "switchboard.scheduler")
        (violation,) = detail(error, error_details_pb2.PreconditionFailure).violations
        assert (violation.type, violation.subject) == ("PAST_DUE", f"schedules/s1/vnfs/{late}")
        assert late in error.details()
        got = (await client.schedules.GetSchedule(
            spb.GetScheduleRequest(schedule_id="s1"))).schedule
        assert got.state == S.SCHEDULE_STATE_PENDING_APPROVAL
        assert got.revision == before  # nothing written
        assert await ticket_states(client, "s1") == []
        # Rejecting is still allowed.
        rejected = await client.schedules.ApproveSchedule(spb.ApproveScheduleRequest(
            schedule_id="s1", user="approver", decision=spb.APPROVAL_DECISION_REJECTED))
        assert rejected.schedule.state == S.SCHEDULE_STATE_REJECTED
        await watch.close()


async def test_approval_rechecks_blackouts(server: App, client: AsyncClient) -> None:
    watch = await Collector(client.schedules.WatchSchedules(spb.WatchSchedulesRequest())).live()
    await create(client, schedule("s1", [vnf("a", "ne1"), vnf("b", "ne2")], [(1, 3)],
                                  minutes=60, concurrency=2))
    await settled(watch, "s1", S.SCHEDULE_STATE_PENDING_APPROVAL)
    # A blackout written without moving the changes it covers, as a replica of an older
    # version (or any writer that bypasses CreateBlackout) would leave it.
    outage = model.Blackout(id="legacy", elements=("ne1",), start=START + HOUR,
                            end=START + 2 * HOUR, reason="", create_time=0, revision=0)

    async def free(conn: object, b: model.Blackout) -> None:
        return None

    async with server.events.transaction() as tx:
        await changes.create_blackout_checked(tx, outage, free)
    error = await refused(client, "s1")
    assert detail(error, error_details_pb2.ErrorInfo).reason == "PLACEMENT_INVALID"
    (violation,) = detail(error, error_details_pb2.PreconditionFailure).violations
    assert (violation.type, violation.subject) == ("BLACKOUT", "schedules/s1/vnfs/a")
    assert "legacy" in violation.description
    got = (await client.schedules.GetSchedule(spb.GetScheduleRequest(schedule_id="s1"))).schedule
    assert got.state == S.SCHEDULE_STATE_PENDING_APPROVAL
    await watch.close()


async def test_approval_rechecks_other_schedules(server: App, client: AsyncClient) -> None:
    watch = await Collector(client.schedules.WatchSchedules(spb.WatchSchedulesRequest())).live()
    await create(client, schedule("s1", [vnf("a", "ne1")], [(1, 3)], minutes=60))
    await create(client, schedule("s2", [vnf("b", "ne2")], [(1, 3)], minutes=60))
    await settled(watch, "s1", S.SCHEDULE_STATE_PENDING_APPROVAL)
    await settled(watch, "s2", S.SCHEDULE_STATE_PENDING_APPROVAL)
    # s2's change moved onto ne1 in s1's slot, as two optimizations racing on two replicas
    # could leave them (each planned without the other's result).
    async with server.events.transaction() as tx:
        s1 = await store.get_schedule(tx.conn, "s1")
        s2 = await store.get_schedule(tx.conn, "s2", lock=True)
        assert s1 is not None and s2 is not None
        (a,), (b,) = s1.vnfs, s2.vnfs
        await store.save_schedule(tx.conn, replace(s2, vnfs=(replace(
            b, elements=("ne1",), start=a.start, end=a.end),)))
    error = await refused(client, "s1")
    assert detail(error, error_details_pb2.ErrorInfo).reason == "PLACEMENT_INVALID"
    (violation,) = detail(error, error_details_pb2.PreconditionFailure).violations
    assert (violation.type, violation.subject) == ("CONFLICT", "schedules/s1/vnfs/a")
    got = (await client.schedules.GetSchedule(spb.GetScheduleRequest(schedule_id="s1"))).schedule
    assert got.state == S.SCHEDULE_STATE_PENDING_APPROVAL
    await watch.close()


async def test_unapproved_schedule_expires(start_server: StartServer,
                                           clock: ManualClock) -> None:
    app = await start_server()
    async with connected(app) as client:
        watch = await Collector(client.schedules.WatchSchedules(
            spb.WatchSchedulesRequest())).live()
        await create(client, schedule("s1", [vnf("a", "ne1")], [(1, 2), (3, 4)], minutes=60))
        await settled(watch, "s1", S.SCHEDULE_STATE_PENDING_APPROVAL)
        clock.set(START + 4 * HOUR - 1)  # its last window has not ended yet
        await app.planner.expire_due()
        assert states(watch, "s1")[-1] == S.SCHEDULE_STATE_PENDING_APPROVAL
        clock.set(START + 4 * HOUR)
        expired = await settled(watch, "s1", S.SCHEDULE_STATE_EXPIRED)
        assert expired.vnfs[0].state == V.VNF_STATE_PAST_DUE
        event = watch.events[-1]
        assert event.previous_state == S.SCHEDULE_STATE_PENDING_APPROVAL
        assert event.caused_by == "@server"
        assert [(c.vnf_name, c.state) for c in event.vnf_changes] == [
            ("a", V.VNF_STATE_PAST_DUE)]
        error = await refused(client, "s1")
        assert detail(error, error_details_pb2.ErrorInfo).reason == "SCHEDULE_STATE"
        listed = await client.schedules.ListSchedules(spb.ListSchedulesRequest(
            states=[S.SCHEDULE_STATE_EXPIRED]))
        assert [s.id for s in listed.schedules] == ["s1"]
        assert app.so.sent == {}
        assert await ticket_states(client, "s1") == []
        await watch.close()


async def test_expiry_is_fenced_by_the_planner_lease(start_server: StartServer,
                                                     clock: ManualClock) -> None:
    """The planner expires under its lease: with a term another holder has replaced, its
    expiry writes nothing."""
    app = await start_server()
    async with connected(app) as client:
        watch = await Collector(client.schedules.WatchSchedules(
            spb.WatchSchedulesRequest())).live()
        await create(client, schedule("s1", [vnf("a", "ne1")], [(1, 2)], minutes=60))
        await settled(watch, "s1", S.SCHEDULE_STATE_PENDING_APPROVAL)
        held = app.leases.leases["scheduler-planner"]
        await app.leases.stop()  # the singletons stop; the expiry is run by hand below
        clock.set(START + 2 * HOUR)

        async def expire_as(lease: leases.Lease) -> None:
            context = contextvars.copy_context()
            context.run(fencing.set, partial(leases.fence, lease=lease))
            await asyncio.create_task(app.planner.expire_due(), context=context)

        with pytest.raises(StaleWrite):
            await expire_as(replace(held, term=held.term - 1))
        got = (await client.schedules.GetSchedule(
            spb.GetScheduleRequest(schedule_id="s1"))).schedule
        assert got.state == S.SCHEDULE_STATE_PENDING_APPROVAL
        await expire_as(held)
        await settled(watch, "s1", S.SCHEDULE_STATE_EXPIRED)
        await watch.close()

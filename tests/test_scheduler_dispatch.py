"""Dispatch through real gRPC and the simulated SO on the test clock: each VNF's SO request at
its start, TRIGGERED with the SO request id, COMPLETED or FAILED as the SO reports, the schedule
COMPLETED or COMPLETED_WITH_ERRORS; no cancel while changes run; the outstanding-request cap;
PAST_DUE; restarts that lose nothing and dispatch nothing twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from test_scheduler_flow import create, schedule, settled, states, vnf

from switchboard.client import AsyncClient
from switchboard.scheduler.v1 import scheduler_pb2 as spb
from switchboard.server.app import App
from switchboard.server.clock import ManualClock
from switchboard.server.timestamps import to_micros

from conftest import StartServer
from support import HOUR, START, Collector, bad_fields, detail

S = spb.ScheduleState
V = spb.VnfState
MINUTE = 60_000_000


@asynccontextmanager
async def connected(app: App) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(f"127.0.0.1:{app.port}") as client:
        yield client


def failing(name: str, element: str) -> spb.Vnf:
    out = vnf(name, element)
    simulation: Any = {"simulation": {"outcome": "FAILED"}}
    out.so_request.update(simulation)
    return out


def vnf_states(watch: Collector, schedule_id: str, name: str) -> list[int]:
    """The VNF's states as its events changed them."""
    return [c.state for e in watch.events if e.schedule.id == schedule_id
            for c in e.vnf_changes if c.vnf_name == name]


async def ticket_states(client: AsyncClient, schedule_id: str) -> list[int]:
    """The states the schedule's ticket has been in, oldest first ([] if it has none)."""
    response = await client.schedules.ListTickets(spb.ListTicketsRequest(
        schedule_id=schedule_id))
    return [u.state for t in response.tickets for u in t.updates]


OPEN = spb.TICKET_STATE_OPEN
IN_PROGRESS = spb.TICKET_STATE_IN_PROGRESS


async def approve(client: AsyncClient, schedule_id: str) -> spb.Schedule:
    response = await client.schedules.ApproveSchedule(spb.ApproveScheduleRequest(
        schedule_id=schedule_id, user="approver", decision=spb.APPROVAL_DECISION_ACCEPTED))
    return response.schedule


async def planned(client: AsyncClient, watch: Collector, body: spb.Schedule) -> spb.Schedule:
    """Created, optimized and approved."""
    await create(client, body)
    await settled(watch, body.id, S.SCHEDULE_STATE_PENDING_APPROVAL)
    return await approve(client, body.id)


async def test_dispatch_to_completion(start_server: StartServer, clock: ManualClock) -> None:
    app = await start_server(so_run_seconds=600)
    async with connected(app) as client:
        watch = await Collector(client.schedules.WatchSchedules(
            spb.WatchSchedulesRequest())).live()
        body = schedule("s1", [vnf("a", "ne1"), vnf("b", "ne2"), vnf("c", "ne1")], [(1, 5)],
                        minutes=15, back_out=15, concurrency=2)
        approved = await planned(client, watch, body)
        assert approved.state == S.SCHEDULE_STATE_SCHEDULED
        assert await ticket_states(client, "s1") == [OPEN]
        starts = {v.name: to_micros(v.start_time) for v in approved.vnfs}
        assert sorted(starts.values()) == [START + HOUR, START + HOUR, START + HOUR + 30 * MINUTE]
        first = [n for n, t in starts.items() if t == START + HOUR]
        (second,) = [n for n, t in starts.items() if t > START + HOUR]

        clock.set(START + HOUR - 1)  # not yet
        clock.set(START + HOUR)
        await watch.wait_for(lambda c: all(
            vnf_states(c, "s1", n) == [V.VNF_STATE_PENDING_APPROVAL, V.VNF_STATE_SCHEDULED,
                                       V.VNF_STATE_TRIGGERED] for n in first))
        assert S.SCHEDULE_STATE_NOTIFICATIONS_INITIATED in states(watch, "s1")
        got = (await client.schedules.GetSchedule(
            spb.GetScheduleRequest(schedule_id="s1"))).schedule
        running = {v.name: v for v in got.vnfs}
        for n in first:
            assert running[n].so_request_id == f"so-s1-{n}"
            assert to_micros(running[n].trigger_time) == START + HOUR
        assert running[second].state == V.VNF_STATE_SCHEDULED
        assert await ticket_states(client, "s1") == [OPEN, IN_PROGRESS]

        # Its changes are running: neither cancel nor delete.
        for call in (client.schedules.CancelSchedule(spb.CancelScheduleRequest(
                         schedule_id="s1")),
                     client.schedules.DeleteSchedule(spb.DeleteScheduleRequest(
                         schedule_id="s1"))):
            with pytest.raises(grpc.aio.AioRpcError) as failure:
                await call
            assert failure.value.code() == grpc.StatusCode.FAILED_PRECONDITION
            violation = detail(failure.value, error_details_pb2.PreconditionFailure).violations[0]
            assert violation.description == "is NOTIFICATIONS_INITIATED: its changes are running"

        clock.set(START + HOUR + 10 * MINUTE)  # the SO finishes the first two
        await watch.wait_for(lambda c: all(
            vnf_states(c, "s1", n)[-1:] == [V.VNF_STATE_COMPLETED] for n in first))
        clock.set(START + HOUR + 30 * MINUTE)
        await watch.wait_for(lambda c: vnf_states(c, "s1", second)[-1:] == [
            V.VNF_STATE_TRIGGERED])
        clock.set(START + HOUR + 40 * MINUTE)
        done = await settled(watch, "s1", S.SCHEDULE_STATE_COMPLETED)
        assert [v.state for v in done.vnfs] == [V.VNF_STATE_COMPLETED] * 3
        assert states(watch, "s1")[-2:] == [S.SCHEDULE_STATE_NOTIFICATIONS_INITIATED,
                                            S.SCHEDULE_STATE_COMPLETED]
        assert await ticket_states(client, "s1") == [OPEN, IN_PROGRESS,
                                                     spb.TICKET_STATE_CLOSED_SUCCESSFUL]
        closing = watch.events[-1]
        assert closing.ticket.state == spb.TICKET_STATE_CLOSED_SUCCESSFUL
        assert closing.ticket.schedule_id == "s1" and closing.ticket.id
        await watch.close()


async def test_so_failure_completes_with_errors(start_server: StartServer,
                                                clock: ManualClock) -> None:
    app = await start_server(so_run_seconds=60)
    async with connected(app) as client:
        watch = await Collector(client.schedules.WatchSchedules(
            spb.WatchSchedulesRequest())).live()
        await planned(client, watch, schedule(
            "s1", [vnf("a", "ne1"), failing("b", "ne2")], [(1, 5)], concurrency=2))
        clock.set(START + HOUR)
        await watch.wait_for(lambda c: all(vnf_states(c, "s1", n)[-1:] == [
            V.VNF_STATE_TRIGGERED] for n in "ab"))
        clock.set(START + HOUR + MINUTE)
        done = await settled(watch, "s1", S.SCHEDULE_STATE_COMPLETED_WITH_ERRORS)
        assert {v.name: v.state for v in done.vnfs} == {"a": V.VNF_STATE_COMPLETED,
                                                        "b": V.VNF_STATE_FAILED}
        assert {v.name: v.status_message for v in done.vnfs}["b"] == (
            "simulated SO: workflow failed")
        assert await ticket_states(client, "s1") == [OPEN, IN_PROGRESS,
                                                     spb.TICKET_STATE_CLOSED_UNSUCCESSFUL]
        await watch.close()


async def test_cancel_before_start_sends_nothing(start_server: StartServer,
                                                 clock: ManualClock) -> None:
    app = await start_server()
    async with connected(app) as client:
        watch = await Collector(client.schedules.WatchSchedules(
            spb.WatchSchedulesRequest())).live()
        await planned(client, watch, schedule("s1", [vnf("a", "ne1")], [(1, 5)]))
        await client.schedules.CancelSchedule(spb.CancelScheduleRequest(schedule_id="s1"))
        clock.set(START + 2 * HOUR)
        await app.dispatcher.dispatch_due()
        assert app.so.sent == {}
        assert vnf_states(watch, "s1", "a")[-1] == V.VNF_STATE_CANCELLED
        assert await ticket_states(client, "s1") == [OPEN, spb.TICKET_STATE_CANCELLED]
        await watch.close()


async def test_outstanding_cap_and_past_due(start_server: StartServer,
                                            clock: ManualClock) -> None:
    app = await start_server(so_run_seconds=120, scheduler_max_outstanding=1,
                             scheduler_past_due_seconds=200)
    async with connected(app) as client:
        watch = await Collector(client.schedules.WatchSchedules(
            spb.WatchSchedulesRequest())).live()
        await planned(client, watch, schedule(
            "s1", [vnf("a", "ne1"), vnf("b", "ne2"), vnf("c", "ne3")], [(1, 5)],
            concurrency=3))
        clock.set(START + HOUR)
        await watch.wait_for(lambda c: vnf_states(c, "s1", "a")[-1:] == [V.VNF_STATE_TRIGGERED])
        assert len(app.so.sent) == 1  # the cap: one outstanding
        clock.set(START + HOUR + 120 * 1_000_000)  # a ends; b goes out, c waits
        await watch.wait_for(lambda c: vnf_states(c, "s1", "b")[-1:] == [V.VNF_STATE_TRIGGERED])
        assert vnf_states(watch, "s1", "a")[-1] == V.VNF_STATE_COMPLETED
        assert vnf_states(watch, "s1", "c")[-1] == V.VNF_STATE_SCHEDULED
        clock.set(START + HOUR + 201 * 1_000_000)  # c's start is now too far past
        await watch.wait_for(lambda c: vnf_states(c, "s1", "c")[-1:] == [V.VNF_STATE_PAST_DUE])
        clock.set(START + HOUR + 240 * 1_000_000)
        done = await settled(watch, "s1", S.SCHEDULE_STATE_COMPLETED_WITH_ERRORS)
        assert [v.state for v in done.vnfs] == [V.VNF_STATE_COMPLETED, V.VNF_STATE_COMPLETED,
                                                V.VNF_STATE_PAST_DUE]
        assert sorted(app.so.sent) == ["s1/a", "s1/b"]
        await watch.close()


async def test_restart_that_missed_a_start_makes_it_past_due(
        start_server: StartServer, clock: ManualClock) -> None:
    app = await start_server()
    async with connected(app) as client:
        watch = await Collector(client.schedules.WatchSchedules(
            spb.WatchSchedulesRequest())).live()
        await planned(client, watch, schedule("s1", [vnf("a", "ne1")], [(1, 5)]))
        await watch.close()
    await app.stop(grace=0)
    clock.set(START + 2 * HOUR)  # the server was down at 1h
    again = await start_server()
    async with connected(again) as client:
        watch = await Collector(client.schedules.WatchSchedules(
            spb.WatchSchedulesRequest(start_revision=1))).live()
        done = await settled(watch, "s1", S.SCHEDULE_STATE_COMPLETED_WITH_ERRORS)
        assert done.vnfs[0].state == V.VNF_STATE_PAST_DUE
        assert again.so.sent == {}
        await watch.close()


async def test_restart_mid_change_loses_nothing_and_sends_nothing_twice(
        start_server: StartServer, clock: ManualClock) -> None:
    app = await start_server(so_run_seconds=600)
    async with connected(app) as client:
        watch = await Collector(client.schedules.WatchSchedules(
            spb.WatchSchedulesRequest())).live()
        await planned(client, watch, schedule(
            "s1", [vnf("a", "ne1"), vnf("b", "ne1")], [(1, 5)], minutes=30, concurrency=1))
        clock.set(START + HOUR)
        await watch.wait_for(lambda c: vnf_states(c, "s1", "a")[-1:] == [V.VNF_STATE_TRIGGERED])
        await watch.close()
    await app.stop(grace=0)
    again = await start_server(so_run_seconds=600)
    async with connected(again) as client:
        watch = await Collector(client.schedules.WatchSchedules(
            spb.WatchSchedulesRequest(start_revision=1))).live()
        clock.set(START + HOUR + 10 * MINUTE)  # a's request ends (rechecked after the restart)
        await watch.wait_for(lambda c: vnf_states(c, "s1", "a")[-1:] == [V.VNF_STATE_COMPLETED])
        clock.set(START + HOUR + 30 * MINUTE)
        await watch.wait_for(lambda c: vnf_states(c, "s1", "b")[-1:] == [V.VNF_STATE_TRIGGERED])
        clock.set(START + HOUR + 40 * MINUTE)
        done = await settled(watch, "s1", S.SCHEDULE_STATE_COMPLETED)
        assert [v.so_request_id for v in done.vnfs] == ["so-s1-a", "so-s1-b"]
        for name in ("a", "b"):
            assert vnf_states(watch, "s1", name).count(V.VNF_STATE_TRIGGERED) == 1
        assert sorted(again.so.sent) == ["s1/a", "s1/b"]
        await watch.close()


async def test_tickets_only_for_accepted_schedules(server: App, client: AsyncClient) -> None:
    watch = await Collector(client.schedules.WatchSchedules(spb.WatchSchedulesRequest())).live()
    for name in ("s1", "s2", "s3"):
        await create(client, schedule(name, [vnf("a", f"ne-{name}")], [(1, 5)]))
        await settled(watch, name, S.SCHEDULE_STATE_PENDING_APPROVAL)
    await client.schedules.ApproveSchedule(spb.ApproveScheduleRequest(
        schedule_id="s1", user="u", decision=spb.APPROVAL_DECISION_REJECTED))
    await approve(client, "s2")
    await approve(client, "s3")
    await client.schedules.DeleteSchedule(spb.DeleteScheduleRequest(schedule_id="s3"))
    assert await ticket_states(client, "s1") == []
    listed = await client.schedules.ListTickets(spb.ListTicketsRequest())
    assert [(t.schedule_id, t.state) for t in listed.tickets] == [
        ("s2", OPEN), ("s3", spb.TICKET_STATE_CANCELLED)]
    assert listed.tickets[0].summary == "Replace of 1 VNFs: change s2"
    only = await client.schedules.ListTickets(spb.ListTicketsRequest(
        states=[spb.TICKET_STATE_CANCELLED]))
    assert [t.schedule_id for t in only.tickets] == ["s3"]
    page = await client.schedules.ListTickets(spb.ListTicketsRequest(page_size=1))
    assert [t.schedule_id for t in page.tickets] == ["s2"] and page.next_page_token
    page = await client.schedules.ListTickets(spb.ListTicketsRequest(
        page_size=1, page_token=page.next_page_token))
    assert [t.schedule_id for t in page.tickets] == ["s3"] and not page.next_page_token
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await client.schedules.ListTickets(spb.ListTicketsRequest(states=[0], page_size=-1))
    assert bad_fields(failure.value) == {"states[0]", "page_size"}
    await watch.close()

"""Schedules end to end through real gRPC on the test clock: create, background optimization,
approval, rejection, cancel, delete, immediate mode, conflicts across schedules, blackouts, list
filters, and the events of each step on WatchSchedules."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.rpc import error_details_pb2

from switchboard.client import AsyncClient
from switchboard.scheduler.v1 import scheduler_pb2 as spb
from switchboard.server.app import App
from switchboard.server.clock import ManualClock
from switchboard.server.timestamps import to_micros

from conftest import StartServer
from support import HOUR, START, Collector, at, detail

S = spb.ScheduleState
V = spb.VnfState


def vnf(name: str, *elements: str, time_zone: str = "") -> spb.Vnf:
    so_request: Any = {"requestDetails": {"vnf": name}}
    out = spb.Vnf(name=name, group="g1", network_elements=elements, time_zone=time_zone)
    out.so_request.update(so_request)
    return out


def schedule(schedule_id: str, vnfs: list[spb.Vnf], windows: list[tuple[float, float]],
             minutes: int = 30, back_out: int = 0, concurrency: int = 1,
             **fields: Any) -> spb.Schedule:
    values: dict[str, Any] = {
        "id": schedule_id, "name": f"change {schedule_id}", "domain": "ChangeManagement",
        "user": "jf9860", "workflow_name": "Replace", "callback_data": "cb", "vnfs": vnfs,
        "change_windows": [spb.TimeWindow(start_time=at(a), end_time=at(b))
                           for a, b in windows],
        "normal_duration": Duration(seconds=minutes * 60),
        "additional_duration": Duration(seconds=back_out * 60),
        "concurrency_limit": concurrency,
    }
    values.update(fields)
    return spb.Schedule(**values)


async def create(client: AsyncClient, body: spb.Schedule) -> spb.Schedule:
    response = await client.schedules.CreateSchedule(spb.CreateScheduleRequest(schedule=body))
    return response.schedule


def states(watch: Collector, schedule_id: str) -> list[int]:
    return [e.schedule.state for e in watch.events if e.schedule.id == schedule_id]


async def settled(watch: Collector, schedule_id: str, *final: int) -> spb.Schedule:
    """Waits until the schedule's events reach one of `final`; returns it as it was then."""
    await watch.wait_for(lambda c: any(s in final for s in states(c, schedule_id)))
    return next(e.schedule for e in watch.events
                if e.schedule.id == schedule_id and e.schedule.state in final)


def starts(s: spb.Schedule) -> dict[str, float]:
    """Each placed VNF's start, in hours after the clock's start."""
    return {v.name: (to_micros(v.start_time) - START) / HOUR for v in s.vnfs
            if v.HasField("start_time")}


async def test_create_optimize_approve(server: App, client: AsyncClient) -> None:
    watch = await Collector(client.schedules.WatchSchedules(spb.WatchSchedulesRequest())).live()
    body = schedule("s1", [vnf("a", "ne1"), vnf("b", "ne2"), vnf("c", "ne1")], [(1, 5)],
                    minutes=45, back_out=15, concurrency=2)
    created = await create(client, body)
    assert created.state == S.SCHEDULE_STATE_PENDING_SCHEDULE
    assert [v.state for v in created.vnfs] == [V.VNF_STATE_PENDING_SCHEDULE] * 3
    assert created.vnfs[0].so_request["requestDetails"]["vnf"] == "a"

    optimized = await settled(watch, "s1", S.SCHEDULE_STATE_PENDING_APPROVAL)
    assert states(watch, "s1") == [S.SCHEDULE_STATE_PENDING_SCHEDULE,
                                   S.SCHEDULE_STATE_OPTIMIZATION_IN_PROGRESS,
                                   S.SCHEDULE_STATE_PENDING_APPROVAL]
    # a and c share ne1, so they run one after the other; b runs beside the first.
    assert starts(optimized) == {"a": 1, "b": 1, "c": 2} or \
        starts(optimized) == {"a": 2, "b": 1, "c": 1}
    for v in optimized.vnfs:
        assert v.state == V.VNF_STATE_PENDING_APPROVAL
        assert to_micros(v.end_time) - to_micros(v.start_time) == HOUR  # normal + back-out
    result = optimized.optimization
    assert (result.scheduled_count, result.count_bound) == (3, 3)
    assert result.proven_optimal and result.gap == 0
    assert to_micros(result.finish_time) == START + 3 * HOUR
    last = watch.events[-1]
    assert last.previous_state == S.SCHEDULE_STATE_OPTIMIZATION_IN_PROGRESS
    assert {c.vnf_name: c.state for c in last.vnf_changes} == {
        n: V.VNF_STATE_PENDING_APPROVAL for n in "abc"}

    approved = await client.schedules.ApproveSchedule(spb.ApproveScheduleRequest(
        schedule_id="s1", user="approver", decision=spb.APPROVAL_DECISION_ACCEPTED,
        comment="ok"))
    assert approved.schedule.state == S.SCHEDULE_STATE_SCHEDULED
    assert approved.schedule.approval.user == "approver"
    assert approved.schedule.approval.decision == spb.APPROVAL_DECISION_ACCEPTED
    assert [v.state for v in approved.schedule.vnfs] == [V.VNF_STATE_SCHEDULED] * 3
    await watch.wait_for(lambda c: states(c, "s1")[-1] == S.SCHEDULE_STATE_SCHEDULED)
    assert states(watch, "s1")[-2:] == [S.SCHEDULE_STATE_ACCEPTED, S.SCHEDULE_STATE_SCHEDULED]
    assert [c.state for c in watch.events[-1].vnf_changes] == [V.VNF_STATE_SCHEDULED] * 3
    got = await client.schedules.GetSchedule(spb.GetScheduleRequest(schedule_id="s1"))
    assert got.schedule == approved.schedule

    # Approving again is refused, naming the state.
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await client.schedules.ApproveSchedule(spb.ApproveScheduleRequest(
            schedule_id="s1", user="approver", decision=spb.APPROVAL_DECISION_ACCEPTED))
    assert failure.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    violation = detail(failure.value, error_details_pb2.PreconditionFailure).violations[0]
    assert "SCHEDULED" in violation.description
    await watch.close()


async def test_rejection(server: App, client: AsyncClient) -> None:
    await create(client, schedule("s1", [vnf("a"), vnf("b")], [(1, 2)], minutes=60))
    watch = await Collector(client.schedules.WatchSchedules(
        spb.WatchSchedulesRequest(schedule_id="s1", start_revision=1))).live()
    optimized = await settled(watch, "s1", S.SCHEDULE_STATE_PENDING_APPROVAL)
    # One hour-long window, one hour each, but different elements and concurrency 1: one fits.
    assert sorted(v.state for v in optimized.vnfs) == [V.VNF_STATE_PENDING_APPROVAL,
                                                       V.VNF_STATE_NOT_SCHEDULED]
    unplaced = next(v for v in optimized.vnfs if v.state == V.VNF_STATE_NOT_SCHEDULED)
    assert unplaced.not_scheduled_reason == spb.NOT_SCHEDULED_REASON_CONCURRENCY
    assert unplaced.status_message
    rejected = await client.schedules.ApproveSchedule(spb.ApproveScheduleRequest(
        schedule_id="s1", user="approver", decision=spb.APPROVAL_DECISION_REJECTED))
    assert rejected.schedule.state == S.SCHEDULE_STATE_REJECTED
    assert sorted(v.state for v in rejected.schedule.vnfs) == [
        V.VNF_STATE_NOT_SCHEDULED, V.VNF_STATE_APPROVAL_REJECTED]
    await watch.wait_for(lambda c: states(c, "s1")[-1] == S.SCHEDULE_STATE_REJECTED)
    # A rejected schedule has ended: it cannot be cancelled, but it can be deleted.
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await client.schedules.CancelSchedule(spb.CancelScheduleRequest(schedule_id="s1"))
    assert failure.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "REJECTED" in failure.value.details()
    deleted = await client.schedules.DeleteSchedule(spb.DeleteScheduleRequest(schedule_id="s1"))
    assert deleted.schedule.state == S.SCHEDULE_STATE_DELETED
    await watch.close()


async def test_cancel_and_delete(server: App, client: AsyncClient) -> None:
    watch = await Collector(client.schedules.WatchSchedules(spb.WatchSchedulesRequest())).live()
    await create(client, schedule("s1", [vnf("a", "ne1")], [(1, 5)]))
    await settled(watch, "s1", S.SCHEDULE_STATE_PENDING_APPROVAL)
    await client.schedules.ApproveSchedule(spb.ApproveScheduleRequest(
        schedule_id="s1", user="approver", decision=spb.APPROVAL_DECISION_ACCEPTED))
    cancelled = await client.schedules.CancelSchedule(spb.CancelScheduleRequest(schedule_id="s1"))
    assert cancelled.schedule.state == S.SCHEDULE_STATE_CANCELLED
    assert [v.state for v in cancelled.schedule.vnfs] == [V.VNF_STATE_CANCELLED]
    again = await client.schedules.CancelSchedule(spb.CancelScheduleRequest(schedule_id="s1"))
    assert again.schedule == cancelled.schedule  # cancelling twice changes nothing
    deleted = await client.schedules.DeleteSchedule(spb.DeleteScheduleRequest(schedule_id="s1"))
    assert deleted.schedule.state == S.SCHEDULE_STATE_DELETED
    assert [v.state for v in deleted.schedule.vnfs] == [V.VNF_STATE_CANCELLED]
    await watch.wait_for(lambda c: states(c, "s1")[-1] == S.SCHEDULE_STATE_DELETED)
    assert states(watch, "s1")[-2:] == [S.SCHEDULE_STATE_CANCELLED, S.SCHEDULE_STATE_DELETED]
    again_deleted = await client.schedules.DeleteSchedule(
        spb.DeleteScheduleRequest(schedule_id="s1"))
    assert again_deleted.schedule == deleted.schedule

    # Deleting a pending schedule ends its VNFs as DELETED.
    await create(client, schedule("s2", [vnf("a", "ne1")], [(1, 5)]))
    await settled(watch, "s2", S.SCHEDULE_STATE_PENDING_APPROVAL)
    deleted = await client.schedules.DeleteSchedule(spb.DeleteScheduleRequest(schedule_id="s2"))
    assert [v.state for v in deleted.schedule.vnfs] == [V.VNF_STATE_DELETED]
    await watch.close()


async def test_conflicts_across_schedules(server: App, client: AsyncClient) -> None:
    watch = await Collector(client.schedules.WatchSchedules(spb.WatchSchedulesRequest())).live()
    await create(client, schedule("first", [vnf("a", "ne1", "ne2")], [(1, 4)], minutes=60))
    await create(client, schedule("second", [vnf("b", "ne2"), vnf("c", "ne3")], [(1, 4)],
                                  minutes=60, concurrency=2))
    first = await settled(watch, "first", S.SCHEDULE_STATE_PENDING_APPROVAL)
    second = await settled(watch, "second", S.SCHEDULE_STATE_PENDING_APPROVAL)
    assert starts(first) == {"a": 1}
    assert starts(second) == {"b": 2, "c": 1}  # b waits for a on ne2; c does not

    # A third that can only run when ne1 is taken by `first` is NOT_SCHEDULED: conflict.
    await create(client, schedule("third", [vnf("d", "ne1")], [(1, 2)], minutes=60))
    third = await settled(watch, "third", S.SCHEDULE_STATE_OPTIMIZATION_FAILED)
    assert third.vnfs[0].state == V.VNF_STATE_NOT_SCHEDULED
    assert third.vnfs[0].not_scheduled_reason == spb.NOT_SCHEDULED_REASON_CONFLICT
    assert third.status_message

    # Once `first` is cancelled its elements are free again.
    await client.schedules.CancelSchedule(spb.CancelScheduleRequest(schedule_id="first"))
    await create(client, schedule("fourth", [vnf("d", "ne1")], [(1, 2)], minutes=60))
    fourth = await settled(watch, "fourth", S.SCHEDULE_STATE_PENDING_APPROVAL)
    assert starts(fourth) == {"d": 1}
    await watch.close()


async def test_blackouts(server: App, client: AsyncClient) -> None:
    watch = await Collector(client.schedules.WatchSchedules(spb.WatchSchedulesRequest())).live()
    created = await client.schedules.CreateBlackout(spb.CreateBlackoutRequest(
        blackout=spb.Blackout(id="maint", network_elements=["ne1", "ne9"], start_time=at(1),
                              end_time=at(2), reason="maintenance")))
    assert created.blackout.revision > 0
    await client.schedules.CreateBlackout(spb.CreateBlackoutRequest(
        blackout=spb.Blackout(id="later", network_elements=["ne2"], start_time=at(10),
                              end_time=at(11))))
    listed = await client.schedules.ListBlackouts(spb.ListBlackoutsRequest(network_element="ne1"))
    assert [b.id for b in listed.blackouts] == ["maint"]
    listed = await client.schedules.ListBlackouts(spb.ListBlackoutsRequest(
        start_time=at(5), end_time=at(12)))
    assert [b.id for b in listed.blackouts] == ["later"]
    page = await client.schedules.ListBlackouts(spb.ListBlackoutsRequest(page_size=1))
    assert [b.id for b in page.blackouts] == ["maint"] and page.next_page_token
    page = await client.schedules.ListBlackouts(spb.ListBlackoutsRequest(
        page_size=1, page_token=page.next_page_token))
    assert [b.id for b in page.blackouts] == ["later"] and not page.next_page_token

    await create(client, schedule("s1", [vnf("a", "ne1"), vnf("b", "ne3")], [(1, 3)],
                                  concurrency=2))
    s1 = await settled(watch, "s1", S.SCHEDULE_STATE_PENDING_APPROVAL)
    assert starts(s1) == {"a": 2, "b": 1}
    await create(client, schedule("s2", [vnf("c", "ne9")], [(1, 2)]))
    s2 = await settled(watch, "s2", S.SCHEDULE_STATE_OPTIMIZATION_FAILED)
    assert s2.vnfs[0].not_scheduled_reason == spb.NOT_SCHEDULED_REASON_AVAILABILITY

    deleted = await client.schedules.DeleteBlackout(spb.DeleteBlackoutRequest(blackout_id="maint"))
    assert deleted.blackout.id == "maint"
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await client.schedules.DeleteBlackout(spb.DeleteBlackoutRequest(blackout_id="maint"))
    assert failure.value.code() == grpc.StatusCode.NOT_FOUND
    await watch.wait_for(lambda w: spb.SCHEDULE_EVENT_TYPE_BLACKOUT_DELETED in {
        e.type for e in w.events})  # delivered after the call's answer, not before
    kinds = [e.type for e in watch.events if e.HasField("blackout")]
    assert kinds == [spb.SCHEDULE_EVENT_TYPE_BLACKOUT_CREATED,
                     spb.SCHEDULE_EVENT_TYPE_BLACKOUT_CREATED,
                     spb.SCHEDULE_EVENT_TYPE_BLACKOUT_DELETED]
    await watch.close()


async def test_immediate_schedule_is_approved_by_its_creator(
        server: App, client: AsyncClient, clock: ManualClock) -> None:
    clock.set(START + HOUR // 2)
    watch = await Collector(client.schedules.WatchSchedules(spb.WatchSchedulesRequest())).live()
    await create(client, schedule("busy", [vnf("x", "ne1")], [(0.5, 3)], minutes=60))
    await settled(watch, "busy", S.SCHEDULE_STATE_PENDING_APPROVAL)
    created = await create(client, schedule("now", [vnf("a", "ne1"), vnf("b", "ne2"),
                                                     vnf("c", "ne3")], [], minutes=60,
                                            concurrency=2))
    assert created.state == S.SCHEDULE_STATE_PENDING_SCHEDULE
    now = await settled(watch, "now", S.SCHEDULE_STATE_SCHEDULED)
    assert states(watch, "now")[:4] == [  # then dispatch goes on
        S.SCHEDULE_STATE_PENDING_SCHEDULE, S.SCHEDULE_STATE_OPTIMIZATION_IN_PROGRESS,
        S.SCHEDULE_STATE_ACCEPTED, S.SCHEDULE_STATE_SCHEDULED]
    assert now.approval.user == "jf9860"
    assert now.approval.decision == spb.APPROVAL_DECISION_ACCEPTED
    assert [v.state for v in now.vnfs] == [V.VNF_STATE_SCHEDULED] * 3
    # b and c start now (concurrency 2); a waits for `busy` to free ne1.
    assert starts(now) == {"a": 1.5, "b": 0.5, "c": 0.5}
    await watch.close()


async def test_list_filters_and_pages(server: App, client: AsyncClient) -> None:
    watch = await Collector(client.schedules.WatchSchedules(spb.WatchSchedulesRequest())).live()
    await create(client, schedule("s1", [vnf("a")], [(1, 3)]))
    await create(client, schedule("s2", [vnf("b")], [(10, 12)], domain="Other"))
    await create(client, schedule("s3", [vnf("c")], [(20, 22), (30, 31)], user="someone",
                                  workflow_name="Upgrade"))
    for name in ("s1", "s2", "s3"):
        await settled(watch, name, S.SCHEDULE_STATE_PENDING_APPROVAL)
    await client.schedules.CancelSchedule(spb.CancelScheduleRequest(schedule_id="s2"))

    async def ids(**filters: Any) -> list[str]:
        response = await client.schedules.ListSchedules(spb.ListSchedulesRequest(**filters))
        return [s.id for s in response.schedules]

    assert await ids() == ["s1", "s2", "s3"]
    assert await ids(states=[S.SCHEDULE_STATE_CANCELLED]) == ["s2"]
    assert await ids(states=[S.SCHEDULE_STATE_PENDING_APPROVAL]) == ["s1", "s3"]
    assert await ids(domain="Other") == ["s2"]
    assert await ids(user="someone") == ["s3"]
    assert await ids(workflow_name="Replace") == ["s1", "s2"]
    assert await ids(start_time=at(2), end_time=at(11)) == ["s1", "s2"]
    assert await ids(start_time=at(3)) == ["s2", "s3"]  # s1's window ends at 3
    assert await ids(end_time=at(10)) == ["s1"]
    assert await ids(start_time=at(23), end_time=at(29)) == []  # between s3's windows
    assert await ids(start_time=at(23), end_time=at(30.5)) == ["s3"]
    first = await client.schedules.ListSchedules(spb.ListSchedulesRequest(page_size=2))
    assert [s.id for s in first.schedules] == ["s1", "s2"] and first.next_page_token
    second = await client.schedules.ListSchedules(spb.ListSchedulesRequest(
        page_size=2, page_token=first.next_page_token))
    assert [s.id for s in second.schedules] == ["s3"] and not second.next_page_token
    await watch.close()


async def test_watch_filters_by_schedule_and_domain(server: App, client: AsyncClient) -> None:
    other = await Collector(client.schedules.WatchSchedules(
        spb.WatchSchedulesRequest(domain="Other"))).live()
    everything = await Collector(client.schedules.WatchSchedules(
        spb.WatchSchedulesRequest())).live()
    await create(client, schedule("s1", [vnf("a")], [(1, 3)]))
    created = await create(client, schedule("s2", [vnf("b")], [(1, 3)], domain="Other"))
    mine = await Collector(client.schedules.WatchSchedules(  # s2 exists now: not NOT_FOUND
        spb.WatchSchedulesRequest(schedule_id="s2", start_revision=created.revision))).live()
    await settled(everything, "s1", S.SCHEDULE_STATE_PENDING_APPROVAL)
    await settled(everything, "s2", S.SCHEDULE_STATE_PENDING_APPROVAL)
    await settled(mine, "s2", S.SCHEDULE_STATE_PENDING_APPROVAL)
    await settled(other, "s2", S.SCHEDULE_STATE_PENDING_APPROVAL)
    assert {e.schedule.id for e in mine.events} == {"s2"}
    assert {e.schedule.id for e in other.events} == {"s2"}
    # Replay from the first revision gives the same events again, in order.
    first = everything.events[0].revision
    replay = await Collector(client.schedules.WatchSchedules(
        spb.WatchSchedulesRequest(start_revision=first))).live()
    assert [e.revision for e in replay.events] == [e.revision for e in everything.events]
    for watch in (mine, other, everything, replay):
        await watch.close()


async def test_schedule_pending_at_shutdown_is_optimized_after_restart(
        start_server: StartServer, clock: ManualClock) -> None:
    app = await start_server()
    await app.planner.stop()  # nothing optimizes while the schedule is created
    async with AsyncClient(f"127.0.0.1:{app.port}") as client:
        await create(client, schedule("s1", [vnf("a")], [(1, 3)]))
    await app.stop(grace=0)
    again = await start_server()
    async with AsyncClient(f"127.0.0.1:{again.port}") as client:
        watch = await Collector(client.schedules.WatchSchedules(
            spb.WatchSchedulesRequest(start_revision=1))).live()
        s1 = await settled(watch, "s1", S.SCHEDULE_STATE_PENDING_APPROVAL)
        assert starts(s1) == {"a": 1}
        await watch.close()


async def test_optimizations_racing_never_claim_one_element_twice(
        server: App, client: AsyncClient) -> None:
    """Two optimizations that ran at the same time (as in two server processes sharing the
    database) both chose ne1 at 1h: the second to finish sees the first's placement and is
    optimized again."""
    await server.planner.stop()
    watch = await Collector(client.schedules.WatchSchedules(spb.WatchSchedulesRequest())).live()
    await create(client, schedule("s1", [vnf("a", "ne1")], [(1, 3)], minutes=60))
    await create(client, schedule("s2", [vnf("b", "ne1")], [(1, 3)], minutes=60))
    planner = server.planner
    claimed = [await planner.claim("s1"), await planner.claim("s2")]
    solutions = [await planner.solve(s) for s in claimed if s is not None]
    assert [a.start for s in solutions for a in s.assignments] == [START // 1_000_000 + 3600] * 2
    assert await planner.finish("s1", solutions[0])
    assert not await planner.finish("s2", solutions[1])  # conflicts: nothing written
    got = await client.schedules.GetSchedule(spb.GetScheduleRequest(schedule_id="s2"))
    assert got.schedule.state == S.SCHEDULE_STATE_OPTIMIZATION_IN_PROGRESS
    assert await planner.plan_next()  # optimizes s2 again, now seeing s1
    s2 = await settled(watch, "s2", S.SCHEDULE_STATE_PENDING_APPROVAL)
    assert starts(s2) == {"b": 2}
    assert states(watch, "s2") == [S.SCHEDULE_STATE_PENDING_SCHEDULE,
                                   S.SCHEDULE_STATE_OPTIMIZATION_IN_PROGRESS,
                                   S.SCHEDULE_STATE_PENDING_APPROVAL]
    await watch.close()


async def test_result_of_a_schedule_cancelled_while_optimized_is_dropped(
        server: App, client: AsyncClient) -> None:
    await server.planner.stop()
    await create(client, schedule("s1", [vnf("a", "ne1")], [(1, 3)], minutes=60))
    claimed = await server.planner.claim("s1")
    assert claimed is not None
    solution = await server.planner.solve(claimed)
    cancelled = await client.schedules.CancelSchedule(spb.CancelScheduleRequest(schedule_id="s1"))
    assert cancelled.schedule.state == S.SCHEDULE_STATE_CANCELLED
    before = await server.events.bounds()
    assert await server.planner.finish("s1", solution)
    assert await server.events.bounds() == before
    got = await client.schedules.GetSchedule(spb.GetScheduleRequest(schedule_id="s1"))
    assert got.schedule == cancelled.schedule


async def test_allowed_time_policy_in_each_vnf_time_zone(server: App, client: AsyncClient) -> None:
    """Weekdays 00:00-06:00 local. 2030-01-01 (the clock's start) is a Tuesday: New York's
    night opens at 05:00 UTC, Tokyo's Wednesday night at 15:00 UTC on Tuesday."""
    watch = await Collector(client.schedules.WatchSchedules(spb.WatchSchedulesRequest())).live()
    policy = spb.AllowedTimePolicy(
        weekdays=[spb.WEEKDAY_MONDAY, spb.WEEKDAY_TUESDAY, spb.WEEKDAY_WEDNESDAY,
                  spb.WEEKDAY_THURSDAY, spb.WEEKDAY_FRIDAY],
        start_time=spb.LocalTime(hours=0), end_time=spb.LocalTime(hours=6))
    await create(client, schedule(
        "s1", [vnf("ny", "ne1", time_zone="America/New_York"),
               vnf("tokyo", "ne2", time_zone="Asia/Tokyo"), vnf("utc", "ne3")],
        [(1, 48)], minutes=60, concurrency=3, allowed_time_policy=policy))
    s1 = await settled(watch, "s1", S.SCHEDULE_STATE_PENDING_APPROVAL)
    assert starts(s1) == {"ny": 5, "tokyo": 15, "utc": 1}
    got = await client.schedules.GetSchedule(spb.GetScheduleRequest(schedule_id="s1"))
    assert got.schedule.allowed_time_policy == policy
    assert [v.time_zone for v in got.schedule.vnfs] == ["America/New_York", "Asia/Tokyo", "UTC"]
    await watch.close()


async def test_schedules_created_at_once_never_share_an_element_at_once(
        server: App, client: AsyncClient) -> None:
    watch = await Collector(client.schedules.WatchSchedules(spb.WatchSchedulesRequest())).live()
    names = [f"s{i}" for i in range(6)]
    await asyncio.gather(*(create(client, schedule(
        name, [vnf("a", "ne1", "ne2"), vnf("b", f"own-{name}")], [(1, 10)], minutes=60,
        concurrency=2)) for name in names))
    placed = [await settled(watch, name, S.SCHEDULE_STATE_PENDING_APPROVAL) for name in names]
    shared = sorted(starts(s)["a"] for s in placed)
    assert shared == [1, 2, 3, 4, 5, 6]  # one after the other on ne1/ne2, back to back
    assert all(starts(s)["b"] == 1 for s in placed)  # their own elements are free at once
    await watch.close()


async def test_approve_and_cancel_at_once(server: App, client: AsyncClient) -> None:
    """Whichever comes first, the schedule ends CANCELLED and its history is a valid path."""
    watch = await Collector(client.schedules.WatchSchedules(spb.WatchSchedulesRequest())).live()
    await create(client, schedule("s1", [vnf("a", "ne1")], [(1, 5)]))
    await settled(watch, "s1", S.SCHEDULE_STATE_PENDING_APPROVAL)
    approved, cancelled = await asyncio.gather(
        client.schedules.ApproveSchedule(spb.ApproveScheduleRequest(
            schedule_id="s1", user="u", decision=spb.APPROVAL_DECISION_ACCEPTED)),
        client.schedules.CancelSchedule(spb.CancelScheduleRequest(schedule_id="s1")),
        return_exceptions=True)
    assert isinstance(cancelled, spb.CancelScheduleResponse)
    assert cancelled.schedule.state == S.SCHEDULE_STATE_CANCELLED
    await watch.wait_for(lambda c: states(c, "s1")[-1] == S.SCHEDULE_STATE_CANCELLED)
    after_approval = [S.SCHEDULE_STATE_PENDING_SCHEDULE, S.SCHEDULE_STATE_OPTIMIZATION_IN_PROGRESS,
                      S.SCHEDULE_STATE_PENDING_APPROVAL]
    if isinstance(approved, grpc.aio.AioRpcError):
        assert approved.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert states(watch, "s1") == [*after_approval, S.SCHEDULE_STATE_CANCELLED]
    else:
        assert states(watch, "s1") == [*after_approval, S.SCHEDULE_STATE_ACCEPTED,
                                       S.SCHEDULE_STATE_SCHEDULED, S.SCHEDULE_STATE_CANCELLED]
    revisions = [e.revision for e in watch.events]
    assert revisions == sorted(revisions) == list(range(revisions[0], revisions[-1] + 1))
    await watch.close()

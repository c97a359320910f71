"""Scheduler calls that fail: bad input naming every field, taken ids, unknown schedules and
blackouts, wrong states. A failed call writes nothing and appends no event."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from test_scheduler_flow import create, schedule, settled, vnf

from switchboard.client import AsyncClient
from switchboard.scheduler.v1 import scheduler_pb2 as spb
from switchboard.server.app import App
from switchboard.server.clock import ManualClock

from support import HOUR, START, Collector, at, bad_fields, detail


async def rejected(app: App, client: AsyncClient, call: Callable[[], Awaitable[Any]]
                   ) -> grpc.aio.AioRpcError:
    """The call fails; no schedule, no blackout and no event were written."""
    before_events = await app.events.bounds()
    schedules = await client.schedules.ListSchedules(spb.ListSchedulesRequest())
    blackouts = await client.schedules.ListBlackouts(spb.ListBlackoutsRequest())
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call()
    assert await app.events.bounds() == before_events
    assert await client.schedules.ListSchedules(spb.ListSchedulesRequest()) == schedules
    assert await client.schedules.ListBlackouts(spb.ListBlackoutsRequest()) == blackouts
    return failure.value


def reason(error: grpc.aio.AioRpcError) -> str:
    info = detail(error, error_details_pb2.ErrorInfo)
    assert info.domain == "switchboard.scheduler"
    return str(info.reason)


async def test_every_bad_field_is_named(server: App, client: AsyncClient) -> None:
    body = schedule(
        "Bad_Id", [vnf("a", time_zone="Mars/Olympus"), vnf("a"), vnf("", "ne1")],
        [(3, 2), (1, 1.25)], minutes=20, back_out=0, concurrency=0, domain="", user="",
        workflow_name="")
    body.change_windows.append(spb.TimeWindow(start_time=at(1)))
    body.allowed_time_policy.CopyFrom(spb.AllowedTimePolicy(
        start_time=spb.LocalTime(hours=24), end_time=spb.LocalTime(minutes=60)))
    error = await rejected(server, client, lambda: create(client, body))
    assert bad_fields(error) == {
        "schedule.id", "schedule.domain", "schedule.user", "schedule.workflow_name",
        "schedule.vnfs[0].time_zone", "schedule.vnfs[1].name", "schedule.vnfs[2].name",
        "schedule.change_windows[0].end_time", "schedule.change_windows[2].end_time",
        "schedule.concurrency_limit", "schedule.allowed_time_policy.weekdays",
        "schedule.allowed_time_policy.start_time.hours",
        "schedule.allowed_time_policy.end_time.minutes",
    }
    assert reason(error) == "INVALID_ARGUMENT"


async def test_so_request_numbers_must_be_finite(server: App, client: AsyncClient) -> None:
    """JSON has no NaN or infinity: such a number in so_request is named, not INTERNAL."""
    body = schedule("s1", [vnf("a", "ne1"), vnf("b", "ne2")], [(1, 5)])
    body.vnfs[0].so_request.update({"retries": math.inf, "steps": [1, {"wait": math.nan}]})
    error = await rejected(server, client, lambda: create(client, body))
    assert bad_fields(error) == {"schedule.vnfs[0].so_request.retries",
                                 "schedule.vnfs[0].so_request.steps[1].wait"}


async def test_names_are_not_blank_padded_or_repeated(server: App,
                                                      client: AsyncClient) -> None:
    """Element names, VNF names, groups and the schedule's labels: blank, padded with
    whitespace, holding control characters or listed twice in one VNF, each is named."""
    body = schedule("s1", [vnf(" ", "ne1"), vnf("b", " ", "ne1", "ne1"), vnf("c ", "ne\t2"),
                           vnf("d", "ne3")], [(1, 5)], domain="  ", user=" u")
    body.vnfs[3].group = "\n"
    error = await rejected(server, client, lambda: create(client, body))
    assert bad_fields(error) == {
        "schedule.vnfs[0].name", "schedule.vnfs[1].network_elements[0]",
        "schedule.vnfs[1].network_elements[2]", "schedule.vnfs[2].name",
        "schedule.vnfs[2].network_elements[0]", "schedule.vnfs[3].group",
        "schedule.domain", "schedule.user"}
    error = await rejected(server, client, lambda: client.schedules.CreateBlackout(
        spb.CreateBlackoutRequest(blackout=spb.Blackout(
            id="b", network_elements=["ne1", "\t", "ne1"], start_time=at(1),
            end_time=at(2)))))
    assert bad_fields(error) == {"blackout.network_elements[1]",
                                 "blackout.network_elements[2]"}


async def test_no_vnfs(server: App, client: AsyncClient) -> None:
    error = await rejected(server, client, lambda: create(client, schedule("s1", [], [(1, 2)])))
    assert bad_fields(error) == {"schedule.vnfs"}


async def test_durations_that_fit_no_window(server: App, client: AsyncClient) -> None:
    body = schedule("s1", [vnf("a")], [(1, 2), (3, 3.5)], minutes=50, back_out=11)
    error = await rejected(server, client, lambda: create(client, body))
    assert bad_fields(error) == {"schedule.normal_duration"}
    body = schedule("s1", [vnf("a")], [(1, 2)], minutes=0, back_out=-1)
    error = await rejected(server, client, lambda: create(client, body))
    assert bad_fields(error) == {"schedule.normal_duration", "schedule.additional_duration"}
    body = schedule("s1", [vnf("a")], [(1, 2)])
    body.ClearField("normal_duration")
    error = await rejected(server, client, lambda: create(client, body))
    assert bad_fields(error) == {"schedule.normal_duration"}


async def test_windows_that_have_ended(server: App, client: AsyncClient,
                                       clock: ManualClock) -> None:
    clock.set(START + 5 * HOUR)
    body = schedule("s1", [vnf("a")], [(1, 2), (3, 4)])
    error = await rejected(server, client, lambda: create(client, body))
    assert bad_fields(error) == {"schedule.change_windows"}


async def test_missing_schedule(server: App, client: AsyncClient) -> None:
    error = await rejected(server, client, lambda: client.schedules.CreateSchedule(
        spb.CreateScheduleRequest()))
    assert "schedule" in bad_fields(error)


async def test_taken_id(server: App, client: AsyncClient) -> None:
    watch = await Collector(client.schedules.WatchSchedules(spb.WatchSchedulesRequest())).live()
    await create(client, schedule("s1", [vnf("a")], [(1, 2)]))
    await settled(watch, "s1", spb.SCHEDULE_STATE_PENDING_APPROVAL)
    error = await rejected(server, client, lambda: create(
        client, schedule("s1", [vnf("b")], [(1, 2)])))
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    assert reason(error) == "SCHEDULE_EXISTS"
    await client.schedules.CreateBlackout(spb.CreateBlackoutRequest(blackout=spb.Blackout(
        id="b1", network_elements=["ne1"], start_time=at(1), end_time=at(2))))
    error = await rejected(server, client, lambda: client.schedules.CreateBlackout(
        spb.CreateBlackoutRequest(blackout=spb.Blackout(
            id="b1", network_elements=["ne2"], start_time=at(1), end_time=at(2)))))
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    assert reason(error) == "BLACKOUT_EXISTS"
    await watch.close()


async def test_unknown_schedule(server: App, client: AsyncClient) -> None:
    calls: list[Callable[[], Awaitable[Any]]] = [
        lambda: client.schedules.GetSchedule(spb.GetScheduleRequest(schedule_id="nope")),
        lambda: client.schedules.CancelSchedule(spb.CancelScheduleRequest(schedule_id="nope")),
        lambda: client.schedules.DeleteSchedule(spb.DeleteScheduleRequest(schedule_id="nope")),
        lambda: client.schedules.ApproveSchedule(spb.ApproveScheduleRequest(
            schedule_id="nope", user="u", decision=spb.APPROVAL_DECISION_ACCEPTED)),
    ]
    for call in calls:
        error = await rejected(server, client, call)
        assert error.code() == grpc.StatusCode.NOT_FOUND
        assert reason(error) == "SCHEDULE_NOT_FOUND"
        info = detail(error, error_details_pb2.ResourceInfo)
        assert (info.resource_type, info.resource_name) == ("schedule", "nope")


async def test_bad_approval(server: App, client: AsyncClient) -> None:
    error = await rejected(server, client, lambda: client.schedules.ApproveSchedule(
        spb.ApproveScheduleRequest()))
    assert bad_fields(error) == {"schedule_id", "user", "decision"}


async def test_approval_before_optimization_is_refused(server: App, client: AsyncClient) -> None:
    await server.planner.stop()  # the schedule stays PENDING_SCHEDULE
    await create(client, schedule("s1", [vnf("a")], [(1, 2)]))
    error = await rejected(server, client, lambda: client.schedules.ApproveSchedule(
        spb.ApproveScheduleRequest(schedule_id="s1", user="u",
                                   decision=spb.APPROVAL_DECISION_ACCEPTED)))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason(error) == "SCHEDULE_STATE"
    violation = detail(error, error_details_pb2.PreconditionFailure).violations[0]
    assert (violation.type, violation.subject) == ("STATE", "schedules/s1")
    assert violation.description.startswith("is PENDING_SCHEDULE")


async def test_bad_blackouts(server: App, client: AsyncClient) -> None:
    error = await rejected(server, client, lambda: client.schedules.CreateBlackout(
        spb.CreateBlackoutRequest(blackout=spb.Blackout(
            id="-x", start_time=at(2), end_time=at(1)))))
    assert bad_fields(error) == {"blackout.id", "blackout.network_elements",
                                 "blackout.end_time"}
    error = await rejected(server, client, lambda: client.schedules.CreateBlackout(
        spb.CreateBlackoutRequest(blackout=spb.Blackout(id="b", network_elements=[""]))))
    assert bad_fields(error) == {"blackout.network_elements[0]", "blackout.start_time",
                                 "blackout.end_time"}
    error = await rejected(server, client, lambda: client.schedules.DeleteBlackout(
        spb.DeleteBlackoutRequest(blackout_id="nope")))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert reason(error) == "BLACKOUT_NOT_FOUND"


async def test_bad_list_requests(server: App, client: AsyncClient) -> None:
    error = await rejected(server, client, lambda: client.schedules.ListSchedules(
        spb.ListSchedulesRequest(states=[0], page_size=-1, page_token="%%",
                                 start_time=at(2), end_time=at(1))))
    assert bad_fields(error) == {"states[0]", "page_size", "page_token", "end_time"}
    error = await rejected(server, client, lambda: client.schedules.ListSchedules(
        spb.ListSchedulesRequest(states=[99])))  # undefined: refused before the servicer runs
    assert bad_fields(error) == {"states[0]"}
    error = await rejected(server, client, lambda: client.schedules.ListBlackouts(
        spb.ListBlackoutsRequest(page_size=-1, start_time=at(2), end_time=at(1))))
    assert bad_fields(error) == {"page_size", "end_time"}


async def test_concurrent_creates_of_one_id(server: App, client: AsyncClient) -> None:
    bodies = [schedule("same", [vnf(f"v{i}")], [(1, 2)]) for i in range(8)]
    results = await asyncio.gather(*(create(client, b) for b in bodies),
                                   return_exceptions=True)
    created = [r for r in results if isinstance(r, spb.Schedule)]
    failed = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(created) == 1 and len(failed) == 7
    assert {e.code() for e in failed} == {grpc.StatusCode.ALREADY_EXISTS}

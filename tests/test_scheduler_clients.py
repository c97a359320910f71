"""The client library's scheduler surface: the stub and the resuming watch_schedules helper, on
the blocking and the asyncio client, against the real server."""

from __future__ import annotations

import asyncio

from test_scheduler_flow import schedule, vnf

from switchboard.client import AsyncClient, Client
from switchboard.scheduler.v1 import scheduler_pb2 as spb
from switchboard.server.app import App

S = spb.ScheduleState


def _create_and_follow(target: str) -> list[int]:
    """Blocking: a schedule created, then followed until it waits for approval."""
    with Client(target) as client:
        created = client.schedules.CreateSchedule(spb.CreateScheduleRequest(
            schedule=schedule("s1", [vnf("a", "ne1")], [(1, 2)]))).schedule
        seen = []
        watch = client.watch_schedules(start_revision=created.revision, schedule_id="s1")
        for event in watch:
            seen.append(event.schedule.state)
            if event.schedule.state == S.SCHEDULE_STATE_PENDING_APPROVAL:
                watch.close()
        return seen


async def test_sync_client_watch_schedules(server: App) -> None:
    seen = await asyncio.to_thread(_create_and_follow, f"127.0.0.1:{server.port}")
    assert seen == [S.SCHEDULE_STATE_PENDING_SCHEDULE, S.SCHEDULE_STATE_OPTIMIZATION_IN_PROGRESS,
                    S.SCHEDULE_STATE_PENDING_APPROVAL]


async def test_async_client_watch_schedules(server: App, client: AsyncClient) -> None:
    created = (await client.schedules.CreateSchedule(spb.CreateScheduleRequest(
        schedule=schedule("s1", [vnf("a", "ne1")], [(1, 2)], domain="Other")))).schedule
    seen = []
    async with asyncio.timeout(10):
        async for event in client.watch_schedules(start_revision=created.revision,
                                                  domain="Other"):
            seen.append(event.schedule.state)
            if event.schedule.state == S.SCHEDULE_STATE_PENDING_APPROVAL:
                break
    assert seen == [S.SCHEDULE_STATE_PENDING_SCHEDULE, S.SCHEDULE_STATE_OPTIMIZATION_IN_PROGRESS,
                    S.SCHEDULE_STATE_PENDING_APPROVAL]

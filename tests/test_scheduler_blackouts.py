"""A blackout is authoritative, through real gRPC on the test clock: CreateBlackout reports the
placed changes it covers (in its response and as BLACKOUT_HIT events), places those that have
not started again (against other schedules, the concurrency limit and other blackouts) or makes
them NOT_SCHEDULED, and the dispatcher sends no change into a blackout."""

from __future__ import annotations

from test_scheduler_dispatch import approve, connected, planned, ticket_states, vnf_states
from test_scheduler_flow import create, schedule, settled, starts, vnf

from switchboard.client import AsyncClient
from switchboard.scheduler.v1 import scheduler_pb2 as spb
from switchboard.server.app import App
from switchboard.server.clock import ManualClock

from conftest import StartServer
from support import HOUR, START, Collector, at

S = spb.ScheduleState
V = spb.VnfState
O = spb.BlackoutHitOutcome  # noqa: E741


async def blackout(client: AsyncClient, blackout_id: str, elements: list[str], start: float,
                   end: float) -> spb.CreateBlackoutResponse:
    return await client.schedules.CreateBlackout(spb.CreateBlackoutRequest(
        blackout=spb.Blackout(id=blackout_id, network_elements=elements, start_time=at(start),
                              end_time=at(end), reason="fibre works")))


def hours(w: spb.TimeWindow) -> tuple[float, float]:
    return ((w.start_time.ToMicroseconds() - START) / HOUR,
            (w.end_time.ToMicroseconds() - START) / HOUR)


def hit_events(watch: Collector, schedule_id: str) -> list[spb.ScheduleEvent]:
    return [e for e in watch.events if e.schedule.id == schedule_id
            and e.type == spb.SCHEDULE_EVENT_TYPE_BLACKOUT_HIT]


async def get(client: AsyncClient, schedule_id: str) -> spb.Schedule:
    return (await client.schedules.GetSchedule(
        spb.GetScheduleRequest(schedule_id=schedule_id))).schedule


async def test_blackout_places_a_pending_change_again(server: App, client: AsyncClient) -> None:
    watch = await Collector(client.schedules.WatchSchedules(spb.WatchSchedulesRequest())).live()
    # Another schedule holds ne1 from 2h to 3h.
    await create(client, schedule("s0", [vnf("x", "ne1")], [(2, 3)], minutes=60))
    await settled(watch, "s0", S.SCHEDULE_STATE_PENDING_APPROVAL)
    # s1: one change at a time, so a and b take 1h and 2h (in some order).
    await create(client, schedule("s1", [vnf("a", "ne2"), vnf("b", "ne3")], [(1, 6)],
                                  minutes=60, concurrency=1))
    optimized = await settled(watch, "s1", S.SCHEDULE_STATE_PENDING_APPROVAL)
    first = next(n for n, t in starts(optimized).items() if t == 1)
    second = "b" if first == "a" else "a"
    element = {"a": "ne2", "b": "ne3"}[first]

    created = await blackout(client, "maint", [element, "ne9"], 0.5, 1.5)
    (hit,) = created.hits
    assert (hit.blackout_id, hit.schedule_id, hit.vnf_name) == ("maint", "s1", first)
    assert list(hit.network_elements) == [element]
    assert hours(hit.placed) == (1, 2)
    assert hit.outcome == O.BLACKOUT_HIT_OUTCOME_PLACED_AGAIN
    # 1.5h-2.5h would overlap the kept change (concurrency 1); 2h-3h too: 3h is the first.
    assert hours(hit.placed_again) == (3, 4)

    await watch.wait_for(lambda c: hit_events(c, "s1"))
    (event,) = hit_events(watch, "s1")
    assert list(event.blackout_hits) == [hit]
    assert event.schedule.state == S.SCHEDULE_STATE_PENDING_APPROVAL
    assert starts(event.schedule) == {first: 3, second: 2}
    assert not hit_events(watch, "s0")  # s0's change is not covered
    assert starts(await get(client, "s1")) == {first: 3, second: 2}

    approved = await approve(client, "s1")
    assert approved.state == S.SCHEDULE_STATE_SCHEDULED
    await watch.close()


async def test_blackout_that_leaves_no_room(server: App, client: AsyncClient) -> None:
    watch = await Collector(client.schedules.WatchSchedules(spb.WatchSchedulesRequest())).live()
    await create(client, schedule("s1", [vnf("a", "ne1"), vnf("b", "ne2")], [(1, 2)],
                                  minutes=60, concurrency=2))
    await create(client, schedule("s2", [vnf("c", "ne1")], [(3, 4)], minutes=60))
    await settled(watch, "s1", S.SCHEDULE_STATE_PENDING_APPROVAL)
    await settled(watch, "s2", S.SCHEDULE_STATE_PENDING_APPROVAL)

    created = await blackout(client, "maint", ["ne1"], 0, 10)
    assert [(h.schedule_id, h.vnf_name, h.outcome, h.not_scheduled_reason)
            for h in created.hits] == [
        ("s1", "a", O.BLACKOUT_HIT_OUTCOME_NOT_SCHEDULED,
         spb.NOT_SCHEDULED_REASON_AVAILABILITY),
        ("s2", "c", O.BLACKOUT_HIT_OUTCOME_NOT_SCHEDULED,
         spb.NOT_SCHEDULED_REASON_AVAILABILITY)]
    s1 = await get(client, "s1")
    assert s1.state == S.SCHEDULE_STATE_PENDING_APPROVAL
    a, b = s1.vnfs
    assert a.state == V.VNF_STATE_NOT_SCHEDULED and not a.HasField("start_time")
    assert "maint" in a.status_message
    assert b.state == V.VNF_STATE_PENDING_APPROVAL
    # s2 has nothing placed left: it is OPTIMIZATION_FAILED, as if no VNF could be placed.
    s2 = await settled(watch, "s2", S.SCHEDULE_STATE_OPTIMIZATION_FAILED)
    assert s2.vnfs[0].state == V.VNF_STATE_NOT_SCHEDULED
    (event,) = hit_events(watch, "s2")
    assert event.previous_state == S.SCHEDULE_STATE_PENDING_APPROVAL
    assert [(c.vnf_name, c.state) for c in event.vnf_changes] == [
        ("c", V.VNF_STATE_NOT_SCHEDULED)]

    approved = await approve(client, "s1")
    assert [v.state for v in approved.vnfs] == [V.VNF_STATE_NOT_SCHEDULED, V.VNF_STATE_SCHEDULED]
    await watch.close()


async def test_approved_change_is_moved_not_dispatched_into_the_outage(
        start_server: StartServer, clock: ManualClock) -> None:
    app = await start_server(so_run_seconds=60)
    async with connected(app) as client:
        watch = await Collector(client.schedules.WatchSchedules(
            spb.WatchSchedulesRequest())).live()
        await planned(client, watch, schedule("s1", [vnf("a", "ne1")], [(1, 5)], minutes=60))
        await planned(client, watch, schedule("s2", [vnf("b", "ne2")], [(1, 2)], minutes=60))

        created = await blackout(client, "maint", ["ne1", "ne2"], 0.5, 2)
        assert [(h.schedule_id, h.outcome) for h in created.hits] == [
            ("s1", O.BLACKOUT_HIT_OUTCOME_PLACED_AGAIN),
            ("s2", O.BLACKOUT_HIT_OUTCOME_NOT_SCHEDULED)]
        assert hours(created.hits[0].placed_again) == (2, 3)
        s1 = await get(client, "s1")
        assert s1.state == S.SCHEDULE_STATE_SCHEDULED  # still approved: moved in its window
        assert s1.vnfs[0].state == V.VNF_STATE_SCHEDULED
        # s2's only change was approved and is dropped: it ends, and did not complete.
        done = await settled(watch, "s2", S.SCHEDULE_STATE_COMPLETED_WITH_ERRORS)
        assert done.vnfs[0].state == V.VNF_STATE_NOT_SCHEDULED
        assert await ticket_states(client, "s2") == [spb.TICKET_STATE_OPEN,
                                                     spb.TICKET_STATE_CLOSED_UNSUCCESSFUL]

        clock.set(START + HOUR)  # the old start: nothing goes out
        await app.dispatcher.dispatch_due()
        assert app.so.sent == {}
        clock.set(START + 2 * HOUR)
        await watch.wait_for(lambda c: vnf_states(c, "s1", "a")[-1:] == [V.VNF_STATE_TRIGGERED])
        assert sorted(app.so.sent) == ["s1/a"]
        await watch.close()


async def test_a_due_change_is_reported_and_not_sent_into_the_blackout(
        start_server: StartServer, clock: ManualClock) -> None:
    app = await start_server(so_run_seconds=120, scheduler_max_outstanding=1,
                             scheduler_past_due_seconds=600)
    async with connected(app) as client:
        watch = await Collector(client.schedules.WatchSchedules(
            spb.WatchSchedulesRequest())).live()
        await planned(client, watch, schedule("s1", [vnf("a", "ne1"), vnf("b", "ne2")],
                                              [(1, 5)], concurrency=2))
        clock.set(START + HOUR)
        await watch.wait_for(lambda c: [vnf_states(c, "s1", n)[-1:] for n in "ab"].count(
            [V.VNF_STATE_TRIGGERED]) == 1)
        (sent,) = app.so.sent
        running = sent.partition("/")[2]
        waiting = "b" if running == "a" else "a"  # due, held by the cap

        created = await blackout(client, "maint", ["ne1", "ne2"], 1, 3)
        assert sorted((h.vnf_name, h.outcome) for h in created.hits) == [
            ("a", O.BLACKOUT_HIT_OUTCOME_STARTED), ("b", O.BLACKOUT_HIT_OUTCOME_STARTED)]
        clock.set(START + HOUR + 120 * 1_000_000)  # the running one ends: the cap frees
        done = await settled(watch, "s1", S.SCHEDULE_STATE_COMPLETED_WITH_ERRORS)
        states = {v.name: v for v in done.vnfs}
        assert states[running].state == V.VNF_STATE_COMPLETED
        assert states[waiting].state == V.VNF_STATE_NOT_SCHEDULED
        assert states[waiting].not_scheduled_reason == spb.NOT_SCHEDULED_REASON_AVAILABILITY
        assert "maint" in states[waiting].status_message
        assert list(app.so.sent) == [sent]
        await watch.close()


async def test_optimization_that_a_new_blackout_overtakes_runs_again(
        server: App, client: AsyncClient) -> None:
    """A blackout created while a schedule is being optimized (the planner's steps by hand)
    makes the result stale: it is not written, and the next optimization avoids the blackout."""
    await server.leases.stop()  # the planner's task stops; its steps are run below
    await create(client, schedule("s1", [vnf("a", "ne1")], [(1, 5)], minutes=60))
    claimed = await server.planner.claim("s1")
    assert claimed is not None
    solution = await server.planner.solve(claimed)
    assert solution.assignments[0].start == (START + HOUR) // 1_000_000
    created = await blackout(client, "maint", ["ne1"], 0, 2)
    assert not created.hits  # nothing of s1 is placed yet
    assert not await server.planner.finish("s1", solution)
    assert (await get(client, "s1")).state == S.SCHEDULE_STATE_OPTIMIZATION_IN_PROGRESS
    assert await server.planner.finish("s1", await server.planner.solve(claimed))
    assert starts(await get(client, "s1")) == {"a": 2}


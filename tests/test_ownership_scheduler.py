"""Ownership and audit in the scheduler: a schedule belongs to a project; callers of other
projects get NOT_FOUND for it (Get, Approve, Cancel, Delete, ListTickets, a watch naming it),
lists and watches leave it out, and nothing of it leaks through conflicts; the optimizer still
places every project's changes against every other's; blackouts are public. Every event names
who caused it: the caller, or "@server" for optimization and dispatch."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from test_authz import refusal
from test_scheduler_flow import create, schedule, settled, states, vnf

from switchboard.client import AsyncClient
from switchboard.scheduler.v1 import scheduler_pb2 as spb
from switchboard.server.app import App
from switchboard.server.clock import ManualClock

from conftest import StartServer
from support import HOUR, START, Collector, at, bad_fields, detail
from tokens import Issuer, Principals, authorizing

S = spb.ScheduleState
V = spb.VnfState
NOT_FOUND = grpc.StatusCode.NOT_FOUND

POLICY = """
[principals]
olive = ["operator", "viewer"]
abby = ["approver", "viewer"]
gus = ["operator", "viewer"]
gail = ["approver", "viewer"]
both = ["operator", "viewer"]
adam = ["admin"]

[projects.blue]
principals = ["olive", "abby", "both"]

[projects.green]
principals = ["gus", "gail", "both"]
"""
"""olive (operator) and abby (approver) are blue's; gus and gail green's; both is in both."""

Clients = Callable[[str], AsyncClient]


@pytest.fixture
def issuer() -> Issuer:
    return Issuer()


@pytest.fixture
async def app(start_server: StartServer, tmp_path: Path, issuer: Issuer) -> App:
    return await start_server(**authorizing(tmp_path, issuer, POLICY), so_run_seconds=600)


@pytest.fixture
async def as_principal(app: App, issuer: Issuer, clock: ManualClock
                       ) -> AsyncIterator[Clients]:
    """A client per principal, each with a bearer token for it."""
    async with Principals(app.port, issuer, clock) as clients:
        yield clients


async def head(app: App) -> int:
    return (await app.events.bounds())[1]


async def watch_all(client: AsyncClient, start_revision: int = 0, **filters: Any) -> Collector:
    return await Collector(client.schedules.WatchSchedules(spb.WatchSchedulesRequest(
        start_revision=start_revision, **filters))).live()


async def optimized(client: AsyncClient, body: spb.Schedule, project: str = "") -> spb.Schedule:
    """Created (in `project`) and optimized: PENDING_APPROVAL."""
    watch = await watch_all(client)
    await client.schedules.CreateSchedule(spb.CreateScheduleRequest(schedule=body,
                                                                    project=project))
    done = await settled(watch, body.id, S.SCHEDULE_STATE_PENDING_APPROVAL,
                         S.SCHEDULE_STATE_OPTIMIZATION_FAILED)
    await watch.close()
    return done


def accept(schedule_id: str, user: str) -> spb.ApproveScheduleRequest:
    return spb.ApproveScheduleRequest(schedule_id=schedule_id, user=user,
                                      decision=spb.APPROVAL_DECISION_ACCEPTED)


async def failure(call: Any) -> tuple[grpc.StatusCode, str, str, str]:
    """A refused call's code, ErrorInfo reason, ResourceInfo name and message."""
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    error = raised.value
    return (error.code(), detail(error, error_details_pb2.ErrorInfo).reason,
            detail(error, error_details_pb2.ResourceInfo).resource_name, error.details() or "")


async def test_another_projects_schedule_is_not_found_and_left_unchanged(
        app: App, as_principal: Clients) -> None:
    olive, gus, gail, abby = (as_principal(n) for n in ("olive", "gus", "gail", "abby"))
    mine = await optimized(olive, schedule("b1", [vnf("a", "ne1")], [(1, 5)]))
    assert mine.project == "blue"
    unknown = await failure(gus.schedules.GetSchedule(spb.GetScheduleRequest(
        schedule_id="b0")))
    assert unknown == (NOT_FOUND, "SCHEDULE_NOT_FOUND", "b0", "schedule 'b0' not found")
    before = await head(app)
    for call in (
            gus.schedules.GetSchedule(spb.GetScheduleRequest(schedule_id="b1")),
            gus.schedules.CancelSchedule(spb.CancelScheduleRequest(schedule_id="b1")),
            gus.schedules.DeleteSchedule(spb.DeleteScheduleRequest(schedule_id="b1")),
            gail.schedules.ApproveSchedule(accept("b1", "gail")),
            gus.schedules.ListTickets(spb.ListTicketsRequest(schedule_id="b1"))):
        assert await failure(call) == (
            NOT_FOUND, "SCHEDULE_NOT_FOUND", "b1", "schedule 'b1' not found")
    assert await head(app) == before  # nothing written
    still = await olive.schedules.GetSchedule(spb.GetScheduleRequest(schedule_id="b1"))
    assert still.schedule == mine
    # Its own project's approver (not its creator) approves it; an admin sees it.
    approved = await abby.schedules.ApproveSchedule(accept("b1", "abby"))
    assert approved.schedule.state == S.SCHEDULE_STATE_SCHEDULED
    seen = await as_principal("adam").schedules.GetSchedule(spb.GetScheduleRequest(
        schedule_id="b1"))
    assert seen.schedule.project == "blue"


async def test_create_goes_into_a_project_of_the_caller(app: App, as_principal: Clients) -> None:
    olive, both, adam = as_principal("olive"), as_principal("both"), as_principal("adam")
    body = schedule("s1", [vnf("a", "ne1")], [(1, 5)])
    before = await head(app)
    # Another project: refused; several projects and none named: which one is asked for.
    assert await refusal(olive.schedules.CreateSchedule(spb.CreateScheduleRequest(
        schedule=body, project="green"))) == (grpc.StatusCode.PERMISSION_DENIED,
                                              "NOT_OWN_PROJECT")
    bad = spb.Schedule()
    bad.CopyFrom(body)
    bad.domain = ""
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await both.schedules.CreateSchedule(spb.CreateScheduleRequest(schedule=bad))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_fields(raised.value) == {"project", "schedule.domain"}
    assert await head(app) == before
    # Named: it goes there; an admin may name any project, or none.
    assert (await optimized(olive, body)).project == "blue"
    in_green = await optimized(both, schedule("s2", [vnf("a", "ne2")], [(1, 5)]), "green")
    assert in_green.project == "green"
    by_admin = await optimized(adam, schedule("s3", [vnf("a", "ne3")], [(1, 5)]), "green")
    assert by_admin.project == "green"
    nowhere = await optimized(adam, schedule("s4", [vnf("a", "ne4")], [(1, 5)]))
    assert nowhere.project == ""
    gus = as_principal("gus")
    assert (await gus.schedules.GetSchedule(spb.GetScheduleRequest(
        schedule_id="s3"))).schedule.project == "green"
    for caller, schedule_id in ((gus, "s4"), (gus, "s1"), (olive, "s3")):
        assert (await failure(caller.schedules.GetSchedule(spb.GetScheduleRequest(
            schedule_id=schedule_id))))[0] == NOT_FOUND
    # An id taken in another project: ALREADY_EXISTS, telling nothing but that it is taken.
    before = await head(app)
    taken = await failure(gus.schedules.CreateSchedule(spb.CreateScheduleRequest(
        schedule=schedule("s1", [vnf("z", "ne9")], [(1, 5)]))))
    assert taken == (grpc.StatusCode.ALREADY_EXISTS, "SCHEDULE_EXISTS", "s1",
                     "schedule 's1' already exists")
    assert await head(app) == before


async def test_lists_page_over_the_callers_projects_only(app: App,
                                                         as_principal: Clients) -> None:
    olive, gus = as_principal("olive"), as_principal("gus")
    for owner, schedule_id in ((olive, "b1"), (gus, "g1"), (olive, "b2"), (gus, "g2"),
                               (olive, "b3")):
        await create(owner, schedule(schedule_id, [vnf("a", f"ne-{schedule_id}")], [(1, 5)]))

    async def listed(client: AsyncClient, **filters: Any) -> list[str]:
        ids, token = [], ""
        while True:
            response = await client.schedules.ListSchedules(spb.ListSchedulesRequest(
                page_size=1, page_token=token, **filters))
            ids += [s.id for s in response.schedules]
            token = response.next_page_token
            if not token:
                return ids

    assert await listed(olive) == ["b1", "b2", "b3"]
    assert await listed(gus) == ["g1", "g2"]
    assert await listed(gus, domain="ChangeManagement", start_time=at(0), end_time=at(9)) == [
        "g1", "g2"]
    assert await listed(as_principal("both")) == ["b1", "g1", "b2", "g2", "b3"]
    assert await listed(as_principal("adam")) == ["b1", "g1", "b2", "g2", "b3"]


async def test_tickets_of_schedules_the_caller_sees(app: App, as_principal: Clients) -> None:
    olive, abby, gus, gail = (as_principal(n) for n in ("olive", "abby", "gus", "gail"))
    for owner, approver, schedule_id in ((olive, abby, "b1"), (gus, gail, "g1"),
                                         (olive, abby, "b2")):
        await optimized(owner, schedule(schedule_id, [vnf("a", f"ne-{schedule_id}")], [(1, 5)]))
        await approver.schedules.ApproveSchedule(accept(schedule_id, "x"))

    async def tickets(client: AsyncClient, **filters: Any) -> list[str]:
        ids, token = [], ""
        while True:
            response = await client.schedules.ListTickets(spb.ListTicketsRequest(
                page_size=1, page_token=token, **filters))
            ids += [t.schedule_id for t in response.tickets]
            token = response.next_page_token
            if not token:
                return ids

    assert await tickets(olive) == ["b1", "b2"]
    assert await tickets(gus) == ["g1"]
    assert await tickets(gus, schedule_id="g1") == ["g1"]
    assert await tickets(gus, states=[spb.TICKET_STATE_OPEN]) == ["g1"]
    assert await tickets(as_principal("adam")) == ["b1", "g1", "b2"]
    assert (await failure(gus.schedules.ListTickets(spb.ListTicketsRequest(
        schedule_id="b2"))))[:2] == (NOT_FOUND, "SCHEDULE_NOT_FOUND")


async def test_watches_deliver_only_the_callers_schedules_and_every_blackout(
        app: App, as_principal: Clients) -> None:
    olive, gus = as_principal("olive"), as_principal("gus")
    blue_watch, green_watch = await watch_all(olive), await watch_all(gus)
    await optimized(olive, schedule("b1", [vnf("a", "ne1")], [(1, 5)]))
    await olive.schedules.CreateBlackout(spb.CreateBlackoutRequest(blackout=spb.Blackout(
        id="maint", network_elements=["ne7"], start_time=at(1), end_time=at(2))))
    await optimized(gus, schedule("g1", [vnf("a", "ne2")], [(1, 5)]))
    await as_principal("both").schedules.DeleteBlackout(spb.DeleteBlackoutRequest(
        blackout_id="maint"))
    blackout_kinds = [spb.SCHEDULE_EVENT_TYPE_BLACKOUT_CREATED,
                      spb.SCHEDULE_EVENT_TYPE_BLACKOUT_DELETED]
    for watch in (blue_watch, green_watch):
        await watch.wait_for(lambda c: [e.type for e in c.events if e.blackout.id] ==
                             blackout_kinds)
        assert [e.caused_by for e in watch.events if e.blackout.id] == ["olive", "both"]
    await blue_watch.wait_for(lambda c: states(c, "b1")[-1:] == [
        S.SCHEDULE_STATE_PENDING_APPROVAL])
    await green_watch.wait_for(lambda c: states(c, "g1")[-1:] == [
        S.SCHEDULE_STATE_PENDING_APPROVAL])
    assert {e.schedule.id for e in blue_watch.events if e.schedule.id} == {"b1"}
    assert {e.schedule.id for e in green_watch.events if e.schedule.id} == {"g1"}
    # Who caused each: the creator, then the server's optimization.
    assert [(e.schedule.state, e.caused_by) for e in blue_watch.events if e.schedule.id] == [
        (S.SCHEDULE_STATE_PENDING_SCHEDULE, "olive"),
        (S.SCHEDULE_STATE_OPTIMIZATION_IN_PROGRESS, "@server"),
        (S.SCHEDULE_STATE_PENDING_APPROVAL, "@server")]
    # A replay from the start shows the same; a watch naming the other's schedule: NOT_FOUND.
    replay = await watch_all(gus, start_revision=1)
    assert {e.schedule.id for e in replay.events if e.schedule.id} == {"g1"}
    assert len([e for e in replay.events if e.blackout.id]) == 2
    assert (await failure(gus.schedules.WatchSchedules(spb.WatchSchedulesRequest(
        schedule_id="b1")).read()))[:2] == (NOT_FOUND, "SCHEDULE_NOT_FOUND")
    listed = await gus.schedules.ListBlackouts(spb.ListBlackoutsRequest())
    assert list(listed.blackouts) == []  # deleted; blackouts are listed to all (below)
    await olive.schedules.CreateBlackout(spb.CreateBlackoutRequest(blackout=spb.Blackout(
        id="maint-2", network_elements=["ne8"], start_time=at(1), end_time=at(2))))
    assert [b.id for b in (await gus.schedules.ListBlackouts(
        spb.ListBlackoutsRequest())).blackouts] == ["maint-2"]
    for watch in (blue_watch, green_watch, replay):
        await watch.close()


async def test_a_blackout_is_honoured_by_all_and_removed_only_by_its_project(
        app: App, as_principal: Clients) -> None:
    olive, gus, adam = as_principal("olive"), as_principal("gus"), as_principal("adam")
    created = await olive.schedules.CreateBlackout(spb.CreateBlackoutRequest(
        blackout=spb.Blackout(id="maint", network_elements=["ne1"], start_time=at(0),
                              end_time=at(10))))
    assert created.blackout.project == "blue"
    # It binds green's schedule too: its only VNF touches ne1 inside the blackout.
    green = await optimized(gus, schedule("g1", [vnf("a", "ne1")], [(1, 5)]))
    assert [v.state for v in green.vnfs] == [V.VNF_STATE_NOT_SCHEDULED]
    before = await head(app)
    assert (await refusal(gus.schedules.DeleteBlackout(spb.DeleteBlackoutRequest(
        blackout_id="maint")))) == (grpc.StatusCode.PERMISSION_DENIED, "NOT_OWN_PROJECT")
    assert await head(app) == before
    assert [b.project for b in (await gus.schedules.ListBlackouts(
        spb.ListBlackoutsRequest())).blackouts] == ["blue"]
    # Named by an admin into green, or into none (then only admins remove it).
    await adam.schedules.CreateBlackout(spb.CreateBlackoutRequest(
        project="green", blackout=spb.Blackout(id="green-maint", network_elements=["ne2"],
                                               start_time=at(0), end_time=at(1))))
    await gus.schedules.DeleteBlackout(spb.DeleteBlackoutRequest(blackout_id="green-maint"))
    await adam.schedules.CreateBlackout(spb.CreateBlackoutRequest(blackout=spb.Blackout(
        id="noc", network_elements=["ne3"], start_time=at(0), end_time=at(1))))
    assert (await refusal(olive.schedules.DeleteBlackout(spb.DeleteBlackoutRequest(
        blackout_id="noc")))) == (grpc.StatusCode.PERMISSION_DENIED, "NOT_OWN_PROJECT")
    assert (await refusal(gus.schedules.CreateBlackout(spb.CreateBlackoutRequest(
        project="blue", blackout=spb.Blackout(id="x", network_elements=["ne4"],
                                              start_time=at(0), end_time=at(1)))))) == (
        grpc.StatusCode.PERMISSION_DENIED, "NOT_OWN_PROJECT")
    await olive.schedules.DeleteBlackout(spb.DeleteBlackoutRequest(blackout_id="maint"))
    await adam.schedules.DeleteBlackout(spb.DeleteBlackoutRequest(blackout_id="noc"))


async def test_dispatch_events_are_caused_by_the_server(
        app: App, as_principal: Clients, clock: ManualClock) -> None:
    olive, abby = as_principal("olive"), as_principal("abby")
    await optimized(olive, schedule("b1", [vnf("a", "ne1")], [(1, 5)]))
    watch = await watch_all(olive)
    green_watch = await watch_all(as_principal("gus"))
    await abby.schedules.ApproveSchedule(accept("b1", "abby"))
    clock.set(START + HOUR)  # a's start: it is sent
    await watch.wait_for(lambda c: any(
        ch.state == V.VNF_STATE_TRIGGERED for e in c.events for ch in e.vnf_changes))
    clock.set(START + HOUR + 600 * 1_000_000)  # the simulated SO finishes it
    await settled(watch, "b1", S.SCHEDULE_STATE_COMPLETED)
    causes = [(e.schedule.state, e.caused_by) for e in watch.events]
    assert causes[:2] == [(S.SCHEDULE_STATE_ACCEPTED, "abby"),
                          (S.SCHEDULE_STATE_SCHEDULED, "abby")]
    assert len(causes) >= 5
    assert {cause for _, cause in causes[2:]} == {"@server"}
    assert watch.events[-1].ticket.state == spb.TICKET_STATE_CLOSED_SUCCESSFUL
    assert green_watch.events == []
    await watch.close()
    await green_watch.close()


async def test_conflicts_hold_across_projects_and_name_no_other_schedule(
        app: App, as_principal: Clients) -> None:
    """A change of green's holds its element against blue's schedules: blue's VNF is not
    placed (CONFLICT), and nothing blue reads names green's schedule."""
    olive, gus = as_principal("olive"), as_principal("gus")
    held = await optimized(gus, schedule("green-secret-change", [vnf("a", "ne1")], [(1, 2)],
                                         minutes=60))
    assert held.state == S.SCHEDULE_STATE_PENDING_APPROVAL
    watch = await watch_all(olive)
    blocked = await optimized(olive, schedule("b1", [vnf("a", "ne1")], [(1, 2)], minutes=60))
    assert blocked.state == S.SCHEDULE_STATE_OPTIMIZATION_FAILED
    assert blocked.vnfs[0].not_scheduled_reason == spb.NOT_SCHEDULED_REASON_CONFLICT
    got = await olive.schedules.GetSchedule(spb.GetScheduleRequest(schedule_id="b1"))
    await watch.wait_for(lambda c: states(c, "b1")[-1:] == [
        S.SCHEDULE_STATE_OPTIMIZATION_FAILED])
    seen = got.SerializeToString() + b"".join(r.SerializeToString() for r in watch.responses)
    assert b"green-secret-change" not in seen and b"green" not in seen
    await watch.close()


async def test_admins_four_eyes_still_hold(app: App, as_principal: Clients) -> None:
    adam = as_principal("adam")
    await optimized(adam, schedule("s1", [vnf("a", "ne1")], [(1, 5)]), project="blue")
    assert await refusal(adam.schedules.ApproveSchedule(accept("s1", "adam"))) == (
        grpc.StatusCode.PERMISSION_DENIED, "SELF_APPROVAL")
    approved = await as_principal("abby").schedules.ApproveSchedule(accept("s1", "abby"))
    assert approved.schedule.state == S.SCHEDULE_STATE_SCHEDULED


async def test_without_authorization_list_tickets_of_an_unknown_schedule_is_not_found(
        client: AsyncClient) -> None:
    assert (await failure(client.schedules.ListTickets(spb.ListTicketsRequest(
        schedule_id="nope"))))[:2] == (NOT_FOUND, "SCHEDULE_NOT_FOUND")


async def test_hits_are_reported_to_those_who_see_the_schedule(
        app: App, as_principal: Clients) -> None:
    olive, gus = as_principal("olive"), as_principal("gus")
    await optimized(olive, schedule("b1", [vnf("a", "ne1")], [(1, 5)], minutes=60))
    await optimized(gus, schedule("g1", [vnf("b", "ne2")], [(1, 5)], minutes=60))
    blue_watch = await Collector(olive.schedules.WatchSchedules(
        spb.WatchSchedulesRequest(schedule_id="b1", start_revision=1))).live()
    created = await gus.schedules.CreateBlackout(spb.CreateBlackoutRequest(blackout=spb.Blackout(
        id="maint", network_elements=["ne1", "ne2"], start_time=at(0.5), end_time=at(1.5))))
    # b1 is blue's: moved all the same, but not named to gus.
    assert [h.schedule_id for h in created.hits] == ["g1"]
    got = await olive.schedules.GetSchedule(spb.GetScheduleRequest(schedule_id="b1"))
    assert got.schedule.vnfs[0].start_time == at(1.5)  # right after the blackout
    hit = spb.SCHEDULE_EVENT_TYPE_BLACKOUT_HIT
    await blue_watch.wait_for(lambda c: any(e.type == hit for e in c.events))
    (event,) = [e for e in blue_watch.events if e.type == hit]
    assert ([h.vnf_name for h in event.blackout_hits], event.caused_by) == (["a"], "gus")
    await blue_watch.close()

"""SchedulerService: validates, converts, and runs each change as one transaction.

Schedules are owned (`ownership`): one the caller does not see is NOT_FOUND, and lists, tickets
and watches leave it out. Blackouts are public: every caller lists and watches them; only
the project that declared one removes it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.scheduler.v1 import scheduler_pb2 as pb
from switchboard.scheduler.v1 import scheduler_pb2_grpc as pb_grpc
from switchboard.server import ownership
from switchboard.server.errors import (
    AlreadyExists,
    FailedPrecondition,
    NotFound,
    PreconditionViolation,
    Violations,
    require_ids,
)
from switchboard.server.eventlog import Event, EventLog, Transaction
from switchboard.server.ownership import Visibility
from switchboard.server.paging import (
    decode_revision_token,
    enum_filter,
    page,
    page_size,
)
from switchboard.server.policy import caller, check_four_eyes, refuse
from switchboard.server.rpc import Context
from switchboard.server.scheduler import blackouts, changes, model, store
from switchboard.server.scheduler.changes import AREA, BLACKOUT_KINDS, SCHEDULE_KINDS
from switchboard.server.scheduler.convert import (
    DECISION_FROM_PB,
    STATE_FROM_PB,
    TICKET_STATE_FROM_PB,
    blackout_pb,
    hit_pb,
    schedule_pb,
    ticket_pb,
)
from switchboard.server.scheduler.model import Approval, Schedule, Step
from switchboard.server.scheduler.planner import PlannerSettings
from switchboard.server.scheduler.tickets import TicketDriver
from switchboard.server.scheduler.validate import new_blackout, new_schedule
from switchboard.server.timestamps import to_micros
from switchboard.server.watch import Hub, Subject, check_start_revision


class SchedulerServicer(pb_grpc.SchedulerServiceServicer):
    """The gRPC surface of the scheduler area."""

    def __init__(self, log: EventLog, hub: Hub, tickets: TicketDriver,
                 wake_planner: Callable[[], None], wake_dispatcher: Callable[[], None],
                 planning: PlannerSettings, past_due: int) -> None:
        self.log = log
        self.hub = hub
        self.tickets = tickets
        self.wake_planner = wake_planner
        self.wake_dispatcher = wake_dispatcher
        self.planning = planning
        """How the covered changes of a new blackout are placed again (`blackouts`)."""
        self.past_due = past_due
        """The dispatcher's past-due tolerance (µs): a later start is not approved."""

    async def CreateSchedule(
        self, request: pb.CreateScheduleRequest, context: Context
    ) -> pb.CreateScheduleResponse:
        candidate = new_schedule(request, self.log.clock.now(), ownership.current(),
                                 caller.get().name or None)
        async with self.log.transaction() as tx:
            created = await changes.create_schedule_checked(tx, candidate, _exists)
        self.wake_planner()
        return pb.CreateScheduleResponse(schedule=schedule_pb(created))

    async def GetSchedule(
        self, request: pb.GetScheduleRequest, context: Context
    ) -> pb.GetScheduleResponse:
        require_ids(AREA, ("schedule_id", request.schedule_id))
        async with self.log.db.read() as conn:
            return pb.GetScheduleResponse(schedule=schedule_pb(
                await _get(conn, request.schedule_id)))

    async def ListSchedules(
        self, request: pb.ListSchedulesRequest, context: Context
    ) -> pb.ListSchedulesResponse:
        v = Violations(AREA)
        size = page_size(request.page_size, v)
        after = decode_revision_token(request, v)
        states = enum_filter(request.states, STATE_FROM_PB, "states", v)
        start = to_micros(request.start_time) if request.HasField("start_time") else None
        end = to_micros(request.end_time) if request.HasField("end_time") else None
        if start is not None and end is not None and end <= start:
            v.add("end_time", "must be after start_time")
        v.raise_if_any()
        found: list[Schedule] = []
        projects = ownership.current().visible_projects()
        async with self.log.db.read() as conn:
            # The query matches the windows' hull; schedules whose gaps between windows hold
            # the whole range are dropped here, batch by batch, until the page is full.
            while len(found) <= size:
                batch = await store.list_schedules(
                    conn, states=states, domain=request.domain, user=request.user,
                    workflow_name=request.workflow_name, start=start, end=end,
                    after_revision=after, limit=size + 1, projects=projects)
                found.extend(s for s in batch if s.overlaps(start, end))
                if len(batch) <= size:
                    break
                after = batch[-1].created_revision
        schedules, token = page(request, found, size, lambda x: x.created_revision, schedule_pb)
        return pb.ListSchedulesResponse(schedules=schedules, next_page_token=token)

    async def ApproveSchedule(
        self, request: pb.ApproveScheduleRequest, context: Context
    ) -> pb.ApproveScheduleResponse:
        v = Violations(AREA)
        v.require("schedule_id", request.schedule_id)
        v.require("user", request.user)
        decision = DECISION_FROM_PB.get(request.decision)
        if decision is None:
            v.add("decision", "must be ACCEPTED or REJECTED")
        v.raise_if_any()
        assert decision is not None

        def steps(s: Schedule, now: int) -> list[Step]:
            check_four_eyes(s.created_by, caller.get())
            return model.approve(s, Approval(request.user, decision, request.comment, now))

        async def placements(tx: Transaction, s: Schedule) -> None:
            if decision is model.Decision.ACCEPTED:
                await tx.next_revisions(0)  # every earlier writer has committed: reads are current
                await blackouts.check_approvable(tx.conn, s, tx.now, self.past_due)

        approved = await self._change(request.schedule_id, steps, placements)
        self.wake_dispatcher()
        return pb.ApproveScheduleResponse(schedule=schedule_pb(approved))

    async def CancelSchedule(
        self, request: pb.CancelScheduleRequest, context: Context
    ) -> pb.CancelScheduleResponse:
        return pb.CancelScheduleResponse(schedule=schedule_pb(await self._change(
            request.schedule_id, lambda s, now: model.cancel(s))))

    async def DeleteSchedule(
        self, request: pb.DeleteScheduleRequest, context: Context
    ) -> pb.DeleteScheduleResponse:
        return pb.DeleteScheduleResponse(schedule=schedule_pb(await self._change(
            request.schedule_id, lambda s, now: model.delete(s))))

    async def _change(self, schedule_id: str,
                      steps: Callable[[Schedule, int], list[Step]],
                      check: Callable[[Transaction, Schedule], Awaitable[None]] | None = None
                      ) -> Schedule:
        """Locks the schedule, works out its steps (refused: FAILED_PRECONDITION naming its
        state), runs `check` (which raises to refuse) and writes them with their events;
        returns the schedule after them."""
        require_ids(AREA, ("schedule_id", schedule_id))
        async with self.log.transaction() as tx:
            current = await _get(tx.conn, schedule_id, lock=True)
            try:
                planned = steps(current, tx.clock.now())
            except model.NotAllowed as refused:
                raise FailedPrecondition(
                    message=f"schedule {schedule_id} {refused}", reason="SCHEDULE_STATE",
                    area=AREA, violations=[PreconditionViolation(
                        "STATE", f"schedules/{schedule_id}", str(refused))],
                ) from None
            if check is not None:
                await check(tx, current)
            return await changes.apply(tx, planned, self.tickets) or current

    async def CreateBlackout(
        self, request: pb.CreateBlackoutRequest, context: Context
    ) -> pb.CreateBlackoutResponse:
        candidate = new_blackout(request, ownership.current())
        created, hits = await blackouts.create_blackout(
            self.log, candidate, _blackout_exists, self.planning, self.tickets)
        self.wake_dispatcher()
        sees = ownership.current().sees
        return pb.CreateBlackoutResponse(blackout=blackout_pb(created), hits=[
            hit_pb(h) for h in hits if sees(h.project)])

    async def DeleteBlackout(
        self, request: pb.DeleteBlackoutRequest, context: Context
    ) -> pb.DeleteBlackoutResponse:
        require_ids(AREA, ("blackout_id", request.blackout_id))
        async with self.log.transaction() as tx:
            found = await store.get_blackout(tx.conn, request.blackout_id, lock=True)
            if found is None:
                raise _blackout_not_found(request.blackout_id)
            if not ownership.current().changes(found.project):
                refuse(caller.get(), "NOT_OWN_PROJECT",
                       f"blackout {request.blackout_id!r} is kept by another project")
            await changes.delete_blackout(tx, found)
        return pb.DeleteBlackoutResponse(blackout=blackout_pb(found))

    async def ListBlackouts(
        self, request: pb.ListBlackoutsRequest, context: Context
    ) -> pb.ListBlackoutsResponse:
        v = Violations(AREA)
        size = page_size(request.page_size, v)
        after = decode_revision_token(request, v)
        start = to_micros(request.start_time) if request.HasField("start_time") else None
        end = to_micros(request.end_time) if request.HasField("end_time") else None
        if start is not None and end is not None and end <= start:
            v.add("end_time", "must be after start_time")
        v.raise_if_any()
        async with self.log.db.read() as conn:
            found = await store.list_blackouts(
                conn, element=request.network_element, start=start, end=end,
                after_revision=after, limit=size + 1)
        blackouts, token = page(request, found, size, lambda x: x.revision, blackout_pb)
        return pb.ListBlackoutsResponse(blackouts=blackouts, next_page_token=token)

    async def ListTickets(
        self, request: pb.ListTicketsRequest, context: Context
    ) -> pb.ListTicketsResponse:
        v = Violations(AREA)
        size = page_size(request.page_size, v)
        after = decode_revision_token(request, v)
        states = enum_filter(request.states, TICKET_STATE_FROM_PB, "states", v)
        v.raise_if_any()
        async with self.log.db.read() as conn:
            if request.schedule_id:
                await _get(conn, request.schedule_id)
            found = await self.tickets.list(
                conn, schedule_id=request.schedule_id, states=states, after=after,
                limit=size + 1, projects=ownership.current().visible_projects())
        tickets, token = page(request, found, size, lambda x: x.sequence, ticket_pb)
        return pb.ListTicketsResponse(tickets=tickets, next_page_token=token)

    async def WatchSchedules(
        self, request: pb.WatchSchedulesRequest, context: Context
    ) -> AsyncIterator[bytes]:  # encoded WatchSchedulesResponse
        check_start_revision(request.start_revision, AREA)
        schedule_id, domain = request.schedule_id, request.domain
        sees = ownership.event_filter(Visibility.OWNED)

        def matches(e: Event) -> bool:
            if e.area != AREA:
                return False
            if e.kind in BLACKOUT_KINDS:
                return not schedule_id and not domain
            return (e.kind in SCHEDULE_KINDS
                    and (sees is None or sees(e.project))
                    and (not schedule_id or e.key == schedule_id)
                    and (not domain or e.scope == domain))

        # Blackout events are public and schedule events owned: `matches` filters by project.
        async for response in self.hub.responses(
                request.start_revision, matches, AREA,
                Subject("schedule_id", "schedule", schedule_id, store.get_schedule, AREA,
                        SCHEDULE_KINDS), visibility=Visibility.PUBLIC):
            yield response


async def _exists(conn: AsyncConnection, s: Schedule) -> None:
    if await store.get_schedule(conn, s.id) is not None:
        raise AlreadyExists(
            message=f"schedule {s.id!r} already exists", reason="SCHEDULE_EXISTS", area=AREA,
            resource_type="schedule", resource_name=s.id)


async def _blackout_exists(conn: AsyncConnection, b: model.Blackout) -> None:
    if await store.get_blackout(conn, b.id) is not None:
        raise AlreadyExists(
            message=f"blackout {b.id!r} already exists", reason="BLACKOUT_EXISTS", area=AREA,
            resource_type="blackout", resource_name=b.id)


def _blackout_not_found(blackout_id: str) -> NotFound:
    return NotFound(
        message=f"blackout {blackout_id!r} not found", reason="BLACKOUT_NOT_FOUND", area=AREA,
        resource_type="blackout", resource_name=blackout_id)


async def _get(conn: AsyncConnection, schedule_id: str, lock: bool = False) -> Schedule:
    """The schedule, if the caller sees it; NOT_FOUND alike when it does not or there is none."""
    found = await store.get_schedule(conn, schedule_id, lock)
    if found is None or not ownership.current().sees(found.project):
        raise NotFound(
            message=f"schedule {schedule_id!r} not found", reason="SCHEDULE_NOT_FOUND",
            area=AREA, resource_type="schedule", resource_name=schedule_id)
    return found

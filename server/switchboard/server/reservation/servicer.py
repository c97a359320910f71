"""ReservationService: validates, converts, and runs each call as one transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable

from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.reservation.v1 import reservation_pb2 as pb
from switchboard.reservation.v1 import reservation_pb2_grpc as pb_grpc
from switchboard.server import idempotency, ownership
from switchboard.server.allocation import store as allocation_store
from switchboard.server.errors import (
    AlreadyExists,
    FailedPrecondition,
    NotFound,
    PreconditionViolation,
    Violations,
    require_ids,
)
from switchboard.server.eventlog import Event, EventLog, Transaction
from switchboard.server.ids import new_id
from switchboard.server.ownership import Visibility
from switchboard.server.paging import (
    decode_revision_token,
    decode_token,
    enum_filter,
    page,
    page_size,
)
from switchboard.server.policy import refuse
from switchboard.server.reservation import store
from switchboard.server.reservation.admission import Admission
from switchboard.server.reservation.changes import (
    CAPACITY_KINDS,
    pool_subject,
    record_capacity_event,
    record_reservation_event,
    reservation_subject,
    set_status,
)
from switchboard.server.reservation.changes import KINDS as RESERVATION_KINDS
from switchboard.server.reservation.convert import (
    PRIORITY_FROM_PB,
    STATUS_FROM_PB,
    change_pb,
    pool_capacity_pb,
    pool_pb,
    reservation_pb,
    resources_pb,
)
from switchboard.server.reservation.creation import NewReservation, shortfall
from switchboard.server.reservation.ledger import CapacityChange as LedgerChange
from switchboard.server.reservation.ledger import capacity_range
from switchboard.server.reservation.model import (
    LIVE,
    CapacityChange,
    Impairment,
    Pool,
    Reservation,
    Status,
    next_transition,
    status_at,
)
from switchboard.server.reservation.validate import (
    AREA,
    Policy,
    check_amounts,
    check_capacity_range,
    check_pool_id,
    check_reservation_window,
    check_window,
    has,
)
from switchboard.server.rpc import Context
from switchboard.server.timestamps import to_micros
from switchboard.server.watch import Hub, check_start_revision

MUTABLE_PATHS = ("name", "start_time", "end_time", "resources", "priority")
POOL_PATHS = ("provider", "availability_zone")


class ReservationServicer(pb_grpc.ReservationServiceServicer):
    """The gRPC surface of the reservation area."""

    def __init__(self, log: EventLog, hub: Hub, policy: Policy, admission: Admission) -> None:
        self.log = log
        self.hub = hub
        self.policy = policy
        self.admission = admission
        self.transition_due: Callable[[int], None] = lambda when: None
        """Told of the earliest clock-driven transition a call created (the sweeper listens)."""

    def _schedule(self, changed: Iterable[Reservation]) -> None:
        times = [t for t in map(next_transition, changed) if t is not None]
        if times:
            self.transition_due(min(times))

    # Pools -------------------------------------------------------------------------------------

    async def CreatePool(
        self, request: pb.CreatePoolRequest, context: Context
    ) -> pb.CreatePoolResponse:
        v = Violations(AREA)
        pool = request.pool
        check_pool_id(pool.id, "pool.id", v)
        if not pool.provider:
            v.add("pool.provider", "is required")
        if not pool.availability_zone:
            v.add("pool.availability_zone", "is required")
        access = ownership.current()
        project = access.project_for(request.project, v)
        async with self.log.transaction() as tx:
            earlier = await idempotency.claim(tx.conn, "CreatePool", request.request_id)
            if earlier is not None:
                existing = await store.get_pool(tx.conn, earlier, include_deleted=True)
                assert existing is not None
                if not access.changes(existing.project):
                    raise idempotency.in_use(request.request_id, AREA)
                return pb.CreatePoolResponse(pool=pool_pb(existing))
            v.raise_if_any()
            created = Pool(pool.id, pool.provider, pool.availability_zone, tx.now, project)
            if not await store.insert_pool(tx.conn, created):
                raise AlreadyExists(
                    message=f"pool {pool.id!r} already exists", reason="POOL_EXISTS", area=AREA,
                    resource_type="pool", resource_name=pool.id,
                )
            idempotency.remember(tx, "CreatePool", request.request_id, created.id)
            record_capacity_event(tx, await tx.next_revision(), "pool.created", created)
        return pb.CreatePoolResponse(pool=pool_pb(created))

    async def GetPool(
        self, request: pb.GetPoolRequest, context: Context
    ) -> pb.GetPoolResponse:
        require_ids(AREA, ("pool_id", request.pool_id))
        async with self.log.db.read() as conn:
            pool = await store.get_pool(conn, request.pool_id)
        return pb.GetPoolResponse(pool=pool_pb(_visible_pool(pool, request.pool_id)))

    async def ListPools(
        self, request: pb.ListPoolsRequest, context: Context
    ) -> pb.ListPoolsResponse:
        v = Violations(AREA)
        size = page_size(request.page_size, v)
        after = decode_token(request, v)
        v.raise_if_any()
        async with self.log.db.read() as conn:
            found = await store.list_pools(conn, after, size + 1, _visible(Visibility.SHARED))
        pools, token = page(request, found, size, lambda p: p.id, pool_pb)
        return pb.ListPoolsResponse(pools=pools, next_page_token=token)

    async def UpdatePool(
        self, request: pb.UpdatePoolRequest, context: Context
    ) -> pb.UpdatePoolResponse:
        v = Violations(AREA)
        body = request.pool
        v.require("pool.id", body.id)
        paths = check_update_mask(request.update_mask.paths, POOL_PATHS, v)
        for path in paths:
            value = getattr(body, path)
            if not value:
                v.add(f"pool.{path}", "is required when named in update_mask")
        v.raise_if_any()
        async with self.log.transaction() as tx:
            _require_changes(_visible_pool(await store.get_pool(tx.conn, body.id), body.id))
            updated = await store.update_pool(tx.conn, body.id,
                                              {p: getattr(body, p) for p in paths})
            if updated is None:
                raise _pool_not_found(body.id)
            record_capacity_event(tx, await tx.next_revision(), "pool.updated", updated)
        return pb.UpdatePoolResponse(pool=pool_pb(updated))

    async def DeletePool(
        self, request: pb.DeletePoolRequest, context: Context
    ) -> pb.DeletePoolResponse:
        v = Violations(AREA)
        v.require("pool_id", request.pool_id)
        v.raise_if_any()
        async with self.log.transaction() as tx:
            # Locked and its version moved: admission, in any process, sees the pool gone.
            claimed = await store.claim_pool(tx.conn, request.pool_id)
            pool = _require_changes(_visible_pool(claimed[0] if claimed else None, request.pool_id))
            await _require_unused(tx.conn, pool)
            await store.mark_deleted(tx.conn, pool.id, tx.now)
            record_capacity_event(tx, await tx.next_revision(), "pool.deleted", pool)
        return pb.DeletePoolResponse(pool=pool_pb(pool))

    # Capacity ----------------------------------------------------------------------------------

    async def IncreaseCapacity(
        self, request: pb.IncreaseCapacityRequest, context: Context
    ) -> pb.IncreaseCapacityResponse:
        change, restored, _ = await self._change_capacity(request, increase=True)
        return pb.IncreaseCapacityResponse(
            change=change_pb(change), restored_reservations=_visible_pbs(restored)
        )

    async def DecreaseCapacity(
        self, request: pb.DecreaseCapacityRequest, context: Context
    ) -> pb.DecreaseCapacityResponse:
        change, impaired, over = await self._change_capacity(request, increase=False)
        return pb.DecreaseCapacityResponse(
            change=change_pb(change), impaired_reservations=_visible_pbs(impaired),
            over_allocated=resources_pb(over),
        )

    async def _change_capacity(
        self, request: pb.IncreaseCapacityRequest | pb.DecreaseCapacityRequest, increase: bool
    ) -> tuple[CapacityChange, list[Reservation], dict[str, int]]:
        """The change recorded, the reservations it restored or impaired (of every project),
        and (for a cut) how far the pool is over-allocated after it."""
        method = "IncreaseCapacity" if increase else "DecreaseCapacity"
        access = ownership.current()
        v = Violations(AREA)
        check_pool_id(request.pool_id, "pool_id", v)
        amounts = check_amounts(request.resources if has(request, "resources") else None,
                                "resources", v)
        async with self.log.transaction() as tx:
            earlier = await idempotency.claim(tx.conn, method, request.request_id)
            if earlier is not None:
                existing = await store.get_change(tx.conn, earlier)
                assert existing is not None
                of = await store.get_pool(tx.conn, existing.pool_id, include_deleted=True)
                if of is None or not access.changes(of.project):
                    raise idempotency.in_use(request.request_id, AREA)
                return existing, [], {}
            start, end = check_window(request, "start_time", "end_time", "", tx.now, v,
                                      end_required=False)
            if end is not None and end <= tx.now:
                v.add("end_time", "must be in the future")
            claimed = await store.claim_pool(tx.conn, request.pool_id) if request.pool_id \
                else None
            pool = claimed[0] if claimed else None
            if pool is not None and not access.sees(pool.project, Visibility.SHARED):
                pool = None
            if request.pool_id and pool is None:
                v.add("pool_id", f"unknown pool {request.pool_id!r}")
            v.raise_if_any()
            assert pool is not None
            _require_changes(pool)
            change = CapacityChange(
                new_id(), request.pool_id, increase, amounts, start, end, request.reason, tx.now
            )
            changes = await store.load_changes(tx.conn, request.pool_id, start, end)
            changes.append(LedgerChange(start, end, change.delta()))
            check_capacity_range(*capacity_range(changes, start, end), "resources", v)
            v.raise_if_any()
            await store.insert_change(tx.conn, change)
            idempotency.remember(tx, method, request.request_id, change.id)
            kind = "capacity.increased" if increase else "capacity.decreased"
            record_capacity_event(tx, await tx.next_revision(), kind, pool, change)
            over: dict[str, int] = {}
            if increase:
                affected = await self._restore(tx, pool.id)
            else:
                affected = await self._impair(tx, pool.id, change.id)
                over = await self._over_allocation(tx, pool, change)
        self._schedule(affected)
        return change, affected, over

    async def _impair(self, tx: Transaction, pool_id: str, change_id: str) -> list[Reservation]:
        ledger, held = await store.load_ledger(tx.conn, pool_id, tx.now, None, tx.now)
        by_id = {r.id: r for r in held}
        return [await set_status(tx, by_id[i], Status.IMPAIRED, Impairment(change_id, missing))
                for i, missing in ledger.impairments(tx.now).items()]

    async def _over_allocation(self, tx: Transaction, pool: Pool,
                               change: CapacityChange) -> dict[str, int]:
        """How far the pool holds more than its capacity from now on, after a cut (and the
        impairments it caused); if at all, an OVER_ALLOCATED event says so."""
        ledger, _ = await store.load_ledger(tx.conn, pool.id, tx.now, None, tx.now)
        over = {k: max(0, -v) for k, v in ledger.free(tx.now, None).items() if v < 0}
        if over:
            record_capacity_event(tx, await tx.next_revision(), "capacity.over_allocated", pool,
                                  change, over)
        return over

    async def _restore(self, tx: Transaction, pool_id: str) -> list[Reservation]:
        candidates = {r.id: r for r in await store.impaired(tx.conn, pool_id, tx.now)}
        if not candidates:
            return []
        ledger, _ = await store.load_ledger(tx.conn, pool_id, tx.now, None, tx.now)
        ids = ledger.to_restore([r.claim() for r in candidates.values()], tx.now)
        return [
            await set_status(tx, candidates[i], status_at(candidates[i].start,
                                                          candidates[i].end, tx.now))
            for i in ids
        ]

    async def QueryCapacity(
        self, request: pb.QueryCapacityRequest, context: Context
    ) -> pb.QueryCapacityResponse:
        v = Violations(AREA)
        visible = _visible(Visibility.SHARED)
        async with self.log.db.read() as conn:
            now = self.log.clock.now()
            start, end = check_window(request, "start_time", "end_time", "", now, v,
                                      end_required=True)
            pool_ids = list(request.pool_ids)
            if pool_ids:
                known = await store.existing_pool_ids(conn, pool_ids, visible)
                for i, pool_id in enumerate(pool_ids):
                    if pool_id not in known:
                        v.add(f"pool_ids[{i}]", f"unknown pool {pool_id!r}")
            v.raise_if_any()
            assert end is not None
            if not pool_ids:
                pool_ids = [p.id for p in await store.list_pools(conn, "", 1_000_000, visible)]
            return pb.QueryCapacityResponse(
                pools=[await _capacity(conn, p, start, end, now) for p in pool_ids]
            )

    # Reservations ------------------------------------------------------------------------------

    async def CreateReservation(
        self, request: pb.CreateReservationRequest, context: Context
    ) -> pb.CreateReservationResponse:
        v = Violations(AREA)
        if not has(request, "reservation"):
            v.add("reservation", "is required")
        body = request.reservation
        check_pool_id(body.pool_id, "reservation.pool_id", v)
        amounts = check_amounts(body.resources if has(body, "resources") else None,
                                "reservation.resources", v)
        candidate = NewReservation(request, amounts, v, self.policy)
        created = await self.admission.admit(candidate)
        self._schedule([created])
        return pb.CreateReservationResponse(
            reservation=reservation_pb(created) if candidate.created_pb is None
            else candidate.created_pb)

    async def _require_fit(
        self, tx: Transaction, pool_id: str, start: int, end: int, amounts: dict[str, int],
        exclude: str | None,
    ) -> None:
        """Raises RESOURCE_EXHAUSTED, with what does fit, unless the request fits."""
        ledger, _ = await store.load_ledger(tx.conn, pool_id, start, end, tx.now)
        if ledger.check(start, end, amounts, horizon=start, exclude=exclude).ok:
            return
        horizon = tx.now + self.policy.max_start_ahead
        wide, _ = await store.load_ledger(tx.conn, pool_id, start, horizon + (end - start),
                                      tx.now)
        raise shortfall(pool_id, start, end, amounts, wide, horizon, exclude,
                        ownership.current())

    async def UpdateReservation(
        self, request: pb.UpdateReservationRequest, context: Context
    ) -> pb.UpdateReservationResponse:
        v = Violations(AREA)
        body = request.reservation
        v.require("reservation.id", body.id)
        paths = check_update_mask(request.update_mask.paths, MUTABLE_PATHS, v)
        amounts = None
        if "resources" in paths:
            amounts = check_amounts(body.resources if has(body, "resources") else None,
                                    "reservation.resources", v)
        for path in ("start_time", "end_time"):
            if path in paths and not has(body, path):
                v.add(f"reservation.{path}", "is required when named in update_mask")
        v.raise_if_any()
        async with self.log.transaction() as tx:
            current, pool = await _lock_live(tx, body.id)
            start = _micros(body, "start_time") if "start_time" in paths else current.start
            end = _micros(body, "end_time") if "end_time" in paths else current.end
            if "start_time" in paths and start != current.start and current.status in (
                Status.ACTIVE,
            ):
                raise FailedPrecondition(
                    message=f"reservation {current.id} has started; its start_time is fixed",
                    reason="RESERVATION_STARTED", area=AREA,
                    violations=[PreconditionViolation("STATE", f"reservations/{current.id}",
                                                      "status is ACTIVE")],
                )
            if end <= start:
                v.add("reservation.end_time", "must be after start_time")
            if end <= tx.now:
                v.add("reservation.end_time", "must be in the future")
            check_reservation_window(start, end, "reservation.", tx.now, self.policy, v,
                                     start_given=start != current.start)
            v.raise_if_any()
            if amounts is not None:
                await _require_room_for_instances(tx, current.id, amounts)
            amounts = amounts if amounts is not None else current.amounts
            resized = (start, end, amounts) != (current.start, current.end, current.amounts)
            if resized or current.status is Status.IMPAIRED:
                await self._require_fit(tx, pool.id, start, end, amounts, exclude=current.id)
            revision = await tx.next_revision()
            status = status_at(start, end, tx.now)
            updated = Reservation(
                id=current.id, pool_id=current.pool_id,
                name=body.name if "name" in paths else current.name,
                start=start, end=end, amounts=amounts,
                priority=PRIORITY_FROM_PB[body.priority] if "priority" in paths
                else current.priority,
                status=status, create_time=current.create_time, update_time=tx.now,
                created_revision=current.created_revision, revision=revision,
                project=current.project,
            )
            await store.save_reservation(tx.conn, updated)
            record_reservation_event(
                tx, revision, "reservation.updated", updated,
                current.status if status is not current.status else None,
            )
        self._schedule([updated])
        return pb.UpdateReservationResponse(reservation=reservation_pb(updated))

    async def CancelReservation(
        self, request: pb.CancelReservationRequest, context: Context
    ) -> pb.CancelReservationResponse:
        require_ids(AREA, ("reservation_id", request.reservation_id))
        async with self.log.transaction() as tx:
            current, _ = await _lock_live(tx, request.reservation_id)
            cancelled = await set_status(tx, current, Status.CANCELLED)
            restored = await self._restore(tx, current.pool_id)
        self._schedule(restored)
        return pb.CancelReservationResponse(reservation=reservation_pb(cancelled))

    async def GetReservation(
        self, request: pb.GetReservationRequest, context: Context
    ) -> pb.GetReservationResponse:
        require_ids(AREA, ("reservation_id", request.reservation_id))
        async with self.log.db.read() as conn:
            return pb.GetReservationResponse(
                reservation=reservation_pb(await _get(conn, request.reservation_id))
            )

    async def ListReservations(
        self, request: pb.ListReservationsRequest, context: Context
    ) -> pb.ListReservationsResponse:
        v = Violations(AREA)
        size = page_size(request.page_size, v)
        after = decode_revision_token(request, v)
        statuses = enum_filter(request.statuses, STATUS_FROM_PB, "statuses", v)
        window_start = _micros(request, "window_start") if has(request, "window_start") else None
        window_end = _micros(request, "window_end") if has(request, "window_end") else None
        if window_start is not None and window_end is not None and window_end <= window_start:
            v.add("window_end", "must be after window_start")
        if request.include_utilization:
            for name, bound in (("window_start", window_start), ("window_end", window_end)):
                if bound is None:
                    v.add(name, "is required with include_utilization")
        pools = _visible(Visibility.SHARED)
        async with self.log.db.read() as conn:
            if request.pool_id and not await store.existing_pool_ids(conn, [request.pool_id],
                                                                     pools):
                v.add("pool_id", f"unknown pool {request.pool_id!r}")
            v.raise_if_any()
            found = await store.list_reservations(
                conn, pool_id=request.pool_id, statuses=statuses, window_start=window_start,
                window_end=window_end, after_revision=after, limit=size + 1,
                projects=_visible(Visibility.OWNED),
            )
            reservations, token = page(request, found, size, lambda x: x.created_revision,
                                       reservation_pb)
            response = pb.ListReservationsResponse(reservations=reservations,
                                                   next_page_token=token)
            if request.include_utilization:
                assert window_start is not None and window_end is not None
                pool_ids = [request.pool_id] if request.pool_id else [
                    p.id for p in await store.list_pools(conn, "", 1_000_000, pools)
                ]
                response.utilization.extend(
                    [await _capacity(conn, p, window_start, window_end, self.log.clock.now())
                     for p in pool_ids]
                )
        return response

    # Watches -----------------------------------------------------------------------------------

    async def WatchCapacity(
        self, request: pb.WatchCapacityRequest, context: Context
    ) -> AsyncIterator[bytes]:  # encoded WatchCapacityResponse
        check_start_revision(request.start_revision, AREA)
        pool_id = request.pool_id

        def matches(e: Event) -> bool:
            return e.area == AREA and e.kind in CAPACITY_KINDS and (
                not pool_id or e.scope == pool_id)

        async for response in self.hub.responses(request.start_revision, matches, AREA,
                                                 pool_subject(pool_id),
                                                 visibility=Visibility.SHARED):
            yield response

    async def WatchReservations(
        self, request: pb.WatchReservationsRequest, context: Context
    ) -> AsyncIterator[bytes]:  # encoded WatchReservationsResponse
        check_start_revision(request.start_revision, AREA)
        pool_id, reservation_id = request.pool_id, request.reservation_id

        def matches(e: Event) -> bool:
            return (
                e.area == AREA and e.kind in RESERVATION_KINDS
                and (not pool_id or e.scope == pool_id)
                and (not reservation_id or e.key == reservation_id)
            )

        async for response in self.hub.responses(
                request.start_revision, matches, AREA,
                pool_subject(pool_id), reservation_subject(reservation_id),
                visibility=Visibility.OWNED):
            yield response


def check_update_mask(given: Iterable[str], allowed: tuple[str, ...], v: Violations
                      ) -> list[str]:
    """The paths of an update mask, each checked against `allowed`; at least one required."""
    paths = list(given)
    if not paths:
        v.add("update_mask", "is required: name any of " + ", ".join(allowed))
    for i, path in enumerate(paths):
        if path not in allowed:
            v.add(f"update_mask.paths[{i}]",
                  f"unknown or immutable path {path!r}; allowed: {', '.join(allowed)}")
    return [p for p in paths if p in allowed]


def _micros(message: object, name: str) -> int:
    return to_micros(getattr(message, name))


async def _capacity(conn: AsyncConnection, pool_id: str, start: int, end: int,
                    now: int) -> pb.PoolCapacity:
    ledger, _ = await store.load_ledger(conn, pool_id, start, end, now)
    minimum, maximum, timeline = ledger.figures(start, end)
    return pool_capacity_pb(pool_id, minimum, maximum, timeline)


def _visible(visibility: Visibility) -> frozenset[str] | None:
    """The projects whose resources the caller sees (None: all), for list filters."""
    return ownership.current().visible_projects(visibility)


def _visible_pool(pool: Pool | None, pool_id: str) -> Pool:
    """The pool, if the caller sees it; else NOT_FOUND, as for an unknown id."""
    if pool is None or not ownership.current().sees(pool.project, Visibility.SHARED):
        raise _pool_not_found(pool_id)
    return pool


def _require_changes(pool: Pool) -> Pool:
    """The pool (one the caller sees), if the caller may change it: a shared pool (no project)
    only admins change."""
    access = ownership.current()
    if not access.changes(pool.project):
        refuse(access.principal, "NOT_OWN_PROJECT",
               f"pool {pool.id!r} is shared infrastructure: only admins change it")
    return pool


def _visible_pbs(reservations: Iterable[Reservation]) -> list[pb.Reservation]:
    """Those of the reservations the caller sees, as messages."""
    access = ownership.current()
    return [reservation_pb(r) for r in reservations if access.sees(r.project)]


async def _require_unused(conn: AsyncConnection, pool: Pool) -> None:
    """Refuses (POOL_IN_USE) to delete a pool with live reservations or instances, naming
    some of those the caller sees."""
    visible = _visible(Visibility.OWNED)
    in_use = []
    for kind, live in (("reservations", store.live_reservation_ids),
                       ("instances", allocation_store.live_ids)):
        ids = await live(conn, pool.id, 5, visible)
        if ids:
            in_use.append((kind, f" ({', '.join(ids)}{', ...' if len(ids) == 5 else ''})"))
        elif visible is not None and await live(conn, pool.id, 1):
            in_use.append((kind, " of other projects"))
    if in_use:
        raise FailedPrecondition(
            message=f"pool {pool.id!r} is in use", reason="POOL_IN_USE", area=AREA,
            violations=[PreconditionViolation(
                "IN_USE", f"pools/{pool.id}",
                f"it has live {kind}{which}; cancel or destroy them first")
                for kind, which in in_use],
        )


async def _get(conn: AsyncConnection, reservation_id: str) -> Reservation:
    """The reservation, if the caller sees it; else NOT_FOUND, as for an unknown id."""
    found = await store.get_reservation(conn, reservation_id)
    if found is None or not ownership.current().sees(found.project):
        raise _reservation_not_found(reservation_id)
    return found


async def _lock_live(tx: Transaction, reservation_id: str) -> tuple[Reservation, Pool]:
    """A reservation a client may still change, locked with its pool. Locks are taken pool
    first, then reservation, then the event head, in every transaction, so none can deadlock.
    One the caller does not see is NOT_FOUND, before anything is locked."""
    found = await _get(tx.conn, reservation_id)
    claimed = await store.claim_pool(tx.conn, found.pool_id)
    current = await store.get_reservation(tx.conn, reservation_id, lock=True)
    assert claimed is not None and current is not None
    _require_live(current)
    return current, claimed[0]


async def _require_room_for_instances(tx: Transaction, reservation_id: str,
                                     amounts: dict[str, int]) -> None:
    """A reservation cannot shrink below what its instances take from it."""
    used = await store.used_by_instances(tx.conn, reservation_id)
    over = [f"{k} {n}" for k, n in used.items() if n > amounts.get(k, 0)]
    if over:
        raise FailedPrecondition(
            message=f"reservation {reservation_id} is in use by instances ({', '.join(over)})",
            reason="RESERVATION_IN_USE", area=AREA,
            violations=[PreconditionViolation(
                "IN_USE", f"reservations/{reservation_id}",
                f"its instances use {', '.join(over)}; destroy some first")],
        )


def _require_live(r: Reservation) -> None:
    if r.status not in LIVE:
        raise FailedPrecondition(
            message=f"reservation {r.id} is {r.status.value}",
            reason="RESERVATION_NOT_LIVE", area=AREA,
            violations=[PreconditionViolation(
                "STATE", f"reservations/{r.id}",
                f"status is {r.status.value}; allowed only when "
                + " or ".join(s.value for s in LIVE),
            )],
        )


def _reservation_not_found(reservation_id: str) -> NotFound:
    return NotFound(
        message=f"reservation {reservation_id!r} not found", reason="RESERVATION_NOT_FOUND",
        area=AREA, resource_type="reservation", resource_name=reservation_id,
    )


def _pool_not_found(pool_id: str) -> NotFound:
    return NotFound(
        message=f"pool {pool_id!r} not found", reason="POOL_NOT_FOUND", area=AREA,
        resource_type="pool", resource_name=pool_id,
    )


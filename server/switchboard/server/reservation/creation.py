"""CreateReservation's admission: the window rules, the fit against the pool's holdings, and the
shortfall detail that says what would fit instead."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.reservation.v1 import reservation_pb2 as pb
from switchboard.server.db import insert_of
from switchboard.server.errors import ResourceExhausted, Violations
from switchboard.server.eventlog import Transaction
from switchboard.server.ids import new_id
from switchboard.server.ownership import Access, Visibility
from switchboard.server.reservation import store
from switchboard.server.reservation.admission import Candidate
from switchboard.server.reservation.changes import record_reservation_event
from switchboard.server.reservation.convert import PRIORITY_FROM_PB, binding_text, resources_pb
from switchboard.server.reservation.holdings import PoolHoldings
from switchboard.server.reservation.ledger import Amounts, Fit, PoolLedger
from switchboard.server.reservation.model import Reservation, status_at
from switchboard.server.reservation.validate import (
    AREA,
    Policy,
    check_reservation_window,
    check_window,
    has,
)
from switchboard.server.timestamps import from_micros


def shortfall(pool_id: str, start: int, end: int, amounts: Amounts, wide: PoolLedger,
              horizon: int, exclude: str | None, access: Access) -> ResourceExhausted:
    """RESOURCE_EXHAUSTED for a request that does not fit, saying what does: the most of each
    resource over the window, and the earliest window of the same length up to `horizon` where
    all of it fits. `wide` must cover [start, horizon + (end - start)). Only reservations the
    caller (`access`) sees are named."""
    fit: Fit = wide.check(start, end, amounts, horizon=horizon, exclude=exclude)
    detail = pb.ReservationShortfall(
        pool_id=pool_id, max_reservable=resources_pb(fit.max_reservable),
        earliest_window_found=fit.earliest_start is not None,
        search_horizon=from_micros(horizon),
    )
    if fit.earliest_start is not None:
        detail.earliest_start_time.CopyFrom(from_micros(fit.earliest_start))
        detail.earliest_end_time.CopyFrom(from_micros(fit.earliest_start + (end - start)))
    binding = wide.binding(start, end, amounts, exclude=exclude,
                           visible=access.visible_projects(Visibility.OWNED))
    if binding is not None:
        detail.binding_time.CopyFrom(from_micros(binding.at))
        detail.binding_reservation_ids.extend(binding.reservation_ids)
    short = ", ".join(
        f"{k} {n} > {fit.max_reservable[k]}" for k, n in amounts.items()
        if n > fit.max_reservable[k]
    )
    return ResourceExhausted(
        message=f"pool {pool_id!r} cannot hold the request over its window ({short})"
                + binding_text(binding),
        reason="INSUFFICIENT_CAPACITY", area=AREA, metadata={"pool_id": pool_id},
        details=[detail],
    )


class NewReservation(Candidate[Reservation]):
    """A CreateReservation call, validated as far as possible without the database."""

    method = "CreateReservation"
    area = AREA

    def __init__(self, request: pb.CreateReservationRequest, amounts: dict[str, int],
                 violations: Violations, policy: Policy) -> None:
        super().__init__(request.reservation.pool_id, request.request_id, violations)
        self.project = self.access.project_for(request.project, violations)
        self.request = request
        self.amounts = amounts
        self.policy = policy
        self.admitted: Reservation | None = None
        self.created_pb: pb.Reservation | None = None
        """The reservation as its event carries it, once this call has created it."""

    async def earlier(self, conn: AsyncConnection, resource_id: str) -> Reservation:
        existing = await store.get_reservation(conn, resource_id)
        assert existing is not None
        return existing

    async def check(self, tx: Transaction, holdings: PoolHoldings | None) -> None:
        body, v = self.request.reservation, self.violations()
        start, end = check_window(body, "start_time", "end_time", "reservation.", tx.now, v,
                                  end_required=True)
        check_reservation_window(start, end, "reservation.", tx.now, self.policy, v,
                                 start_given=has(body, "start_time"))
        if body.pool_id and holdings is None:
            v.add("reservation.pool_id", f"unknown pool {body.pool_id!r}")
        v.raise_if_any()
        assert end is not None and holdings is not None
        if not holdings.surely_fits(start, end, self.amounts) and not holdings.ledger(
                start, end).check(start, end, self.amounts, start).ok:
            horizon = tx.now + self.policy.max_start_ahead
            wide = holdings.ledger(start, horizon + (end - start))
            raise shortfall(body.pool_id, start, end, self.amounts, wide, horizon, None,
                            self.access)
        self.admitted = Reservation(
            id=new_id(), pool_id=body.pool_id, name=body.name, start=start, end=end,
            amounts=self.amounts, priority=PRIORITY_FROM_PB[body.priority],
            status=status_at(start, end, tx.now), create_time=tx.now, update_time=tx.now,
            created_revision=0, revision=0, project=self.project,
        )
        holdings.add(self.admitted.claim())

    def write(self, tx: Transaction, revision: int) -> tuple[Reservation, str]:
        assert self.admitted is not None
        r = self.admitted.with_revisions(revision)
        self.created_pb = record_reservation_event(tx, revision, "reservation.created",
                                                   r).reservation
        tx.defer(insert_of(store.reservations), store.reservation_values(r))
        return r, r.id

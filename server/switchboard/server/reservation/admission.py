"""Admission of new reservations, many per transaction.

CreateReservation calls queue here; one task takes whatever is queued as a batch and admits it
in one transaction: each pool in the batch is locked (and its version moved), each request is
checked against the pool's holdings — cached in memory while the pool's version shows no other
change — plus the requests admitted before it in the same batch, and the admitted ones are
written together. The check and the write stay one serialized step per pool; the cost of a
transaction is shared by the whole batch.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, replace

from switchboard.reservation.v1 import reservation_pb2 as pb
from switchboard.server import idempotency
from switchboard.server.errors import ResourceExhausted, SwitchboardError, Violations
from switchboard.server.eventlog import EventLog, Transaction
from switchboard.server.reservation import store
from switchboard.server.reservation.changes import record_reservation_event
from switchboard.server.reservation.convert import PRIORITY_FROM_PB, resources_pb
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
from switchboard.server.tasks import BackgroundTask
from switchboard.server.timestamps import from_micros

METHOD = "CreateReservation"
MAX_BATCH = 256


def shortfall(pool_id: str, start: int, end: int, amounts: Amounts, wide: PoolLedger,
              horizon: int, exclude: str | None) -> ResourceExhausted:
    """RESOURCE_EXHAUSTED for a request that does not fit, saying what does: the most of each
    resource over the window, and the earliest window of the same length up to `horizon` where
    all of it fits. `wide` must cover [start, horizon + (end - start))."""
    fit: Fit = wide.check(start, end, amounts, horizon=horizon, exclude=exclude)
    detail = pb.ReservationShortfall(
        pool_id=pool_id, max_reservable=resources_pb(fit.max_reservable),
        earliest_window_found=fit.earliest_start is not None,
        search_horizon=from_micros(horizon),
    )
    if fit.earliest_start is not None:
        detail.earliest_start_time.CopyFrom(from_micros(fit.earliest_start))
        detail.earliest_end_time.CopyFrom(from_micros(fit.earliest_start + (end - start)))
    short = ", ".join(
        f"{k} {n} > {fit.max_reservable[k]}" for k, n in amounts.items()
        if n > fit.max_reservable[k]
    )
    return ResourceExhausted(
        message=f"pool {pool_id!r} cannot hold the request over its window ({short})",
        reason="INSUFFICIENT_CAPACITY", area=AREA, metadata={"pool_id": pool_id},
        details=[detail],
    )


@dataclass
class NewReservation:
    """A validated-as-far-as-possible CreateReservation request, waiting for admission.
    `violations` holds what was found without the database or the clock; they are raised only
    after the request_id is claimed, so a retry returns the first result."""

    request: pb.CreateReservationRequest
    amounts: dict[str, int]
    violations: Violations
    outcome: asyncio.Future[Reservation]


class Admission(BackgroundTask):
    """The queue of CreateReservation calls and the task that admits them in batches."""

    name = "reservation-admission"

    def __init__(self, log: EventLog, policy: Policy) -> None:
        super().__init__()
        self.log = log
        self.policy = policy
        self._queue: list[NewReservation] = []
        self._ready = asyncio.Event()
        self._holdings: dict[str, PoolHoldings] = {}

    async def admit(self, request: pb.CreateReservationRequest, amounts: dict[str, int],
                    violations: Violations) -> Reservation:
        """Queues a request; returns the created (or earlier created) reservation, or raises."""
        outcome: asyncio.Future[Reservation] = asyncio.get_running_loop().create_future()
        self._queue.append(NewReservation(request, amounts, violations, outcome))
        self._ready.set()
        return await asyncio.shield(outcome)

    async def run(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            while self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                await self._admit_batch(batch)

    async def _admit_batch(self, batch: list[NewReservation]) -> None:
        # A request_id twice in one batch: the later call gets the earlier one's outcome.
        first: dict[str, int] = {}
        same_as = {i: first.setdefault(item.request.request_id, i)
                   for i, item in enumerate(batch) if item.request.request_id}
        outcomes: list[Reservation | SwitchboardError | None] = []
        try:
            async with self.log.transaction() as tx:
                versions = await self._claim_pools(tx, batch)
                for i, item in enumerate(batch):
                    outcomes.append(
                        None if same_as.get(i, i) != i else await self._check(tx, item, versions)
                    )
                await self._write(tx, batch, outcomes)
            for pool_id, version in versions.items():
                if pool_id in self._holdings:
                    self._holdings[pool_id].version = version
        except Exception as error:  # the transaction failed: nothing was written
            self._holdings.clear()
            for item in batch:
                if not item.outcome.done():
                    item.outcome.set_exception(error)
            return
        for i, item in enumerate(batch):
            outcome = outcomes[same_as.get(i, i)]
            if isinstance(outcome, SwitchboardError):
                item.outcome.set_exception(outcome)
            else:
                assert outcome is not None
                item.outcome.set_result(outcome)

    async def _claim_pools(self, tx: Transaction, batch: list[NewReservation]) -> dict[str, int]:
        """Locks every named pool that exists, in id order; returns their new versions."""
        versions = {}
        for pool_id in sorted({item.request.reservation.pool_id for item in batch} - {""}):
            claimed = await store.claim_pool(tx.conn, pool_id)
            if claimed is not None:
                versions[pool_id] = claimed[1]
        return versions

    async def _holdings_of(self, tx: Transaction, pool_id: str, version: int) -> PoolHoldings:
        """The pool's holdings from now on: cached, unless the pool changed since (its version
        was moved once by this transaction's own claim)."""
        cached = self._holdings.get(pool_id)
        if cached is None or cached.version != version - 1:
            claims = await store.load_claims(tx.conn, pool_id, tx.now, None)
            cached = PoolHoldings(version - 1, claims.changes, claims.outside, claims.inside)
            for r in claims.held:
                cached.add(r.claim())
            self._holdings[pool_id] = cached
        return cached

    async def _check(
        self, tx: Transaction, item: NewReservation, versions: dict[str, int]
    ) -> Reservation | SwitchboardError:
        """Admits one request (its claim joins the cached holdings), or says why not."""
        request, body, v = item.request, item.request.reservation, item.violations
        found = await idempotency.claim(tx.conn, METHOD, request.request_id)
        if found is not None:
            existing = await store.get_reservation(tx.conn, found)
            assert existing is not None
            return existing
        try:
            start, end = check_window(body, "start_time", "end_time", "reservation.", tx.now, v,
                                      end_required=True)
            check_reservation_window(start, end, "reservation.", tx.now, self.policy, v,
                                     start_given=has(body, "start_time"))
            if body.pool_id and body.pool_id not in versions:
                v.add("reservation.pool_id", f"unknown pool {body.pool_id!r}")
            v.raise_if_any()
            assert end is not None
            holdings = await self._holdings_of(tx, body.pool_id, versions[body.pool_id])
            if not holdings.ledger(start, end).check(start, end, item.amounts, start).ok:
                horizon = tx.now + self.policy.max_start_ahead
                wide = holdings.ledger(start, horizon + (end - start))
                raise shortfall(body.pool_id, start, end, item.amounts, wide, horizon, None)
        except SwitchboardError as error:
            await idempotency.release(tx.conn, METHOD, request.request_id)
            return error
        admitted = Reservation(
            id=str(uuid.uuid4()), pool_id=body.pool_id, name=body.name, start=start, end=end,
            amounts=item.amounts, priority=PRIORITY_FROM_PB[body.priority],
            status=status_at(start, end, tx.now), create_time=tx.now, update_time=tx.now,
            created_revision=0, revision=0,
        )
        holdings.add(admitted.claim())
        return admitted

    async def _write(self, tx: Transaction, batch: list[NewReservation],
                     outcomes: list[Reservation | SwitchboardError | None]) -> None:
        """Gives the admitted reservations their revisions and writes them with their events."""
        new = [i for i, o in enumerate(outcomes) if isinstance(o, Reservation) and not o.revision]
        if not new:
            return
        written = []
        for i, revision in zip(new, await tx.next_revisions(len(new)), strict=True):
            admitted = outcomes[i]
            assert isinstance(admitted, Reservation)
            r = replace(admitted, created_revision=revision, revision=revision)
            outcomes[i] = r
            written.append(r)
            record_reservation_event(tx, revision, "reservation.created", r)
            await idempotency.remember(tx.conn, METHOD, batch[i].request.request_id, r.id)
        await store.insert_reservations(tx.conn, written)

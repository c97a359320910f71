"""CreateInstance's admission: against a reservation (ACTIVE, same pool, enough left after its
instances) or against capacity no reservation holds, now and from now on."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.allocation.v1 import allocation_pb2 as pb
from switchboard.server.allocation import store
from switchboard.server.allocation.changes import AREA, record_instance_event
from switchboard.server.allocation.model import Flavor, Instance, Status
from switchboard.server.db import insert_of
from switchboard.server.errors import (
    FailedPrecondition,
    PreconditionViolation,
    ResourceExhausted,
    SwitchboardError,
    Violations,
)
from switchboard.server.eventlog import Transaction
from switchboard.server.ids import new_id
from switchboard.server.ownership import Visibility
from switchboard.server.reservation import claims
from switchboard.server.reservation import store as reservation_store
from switchboard.server.reservation.admission import Candidate
from switchboard.server.reservation.convert import binding_text, resources_pb
from switchboard.server.reservation.holdings import PoolHoldings
from switchboard.server.reservation.ledger import Binding, Claim
from switchboard.server.reservation.model import Status as ReservationStatus
from switchboard.server.timestamps import format_micros, from_micros


def _not_allowed(reason: str, reservation_id: str, description: str) -> FailedPrecondition:
    return FailedPrecondition(
        message=f"reservation {reservation_id!r} {description}", reason=reason, area=AREA,
        metadata={"reservation_id": reservation_id},
        violations=[PreconditionViolation("RESERVATION", f"reservations/{reservation_id}",
                                          description)],
    )


def _absent(reservation_id: str) -> FailedPrecondition:
    """For a reservation that does not exist, or that the caller does not see."""
    return _not_allowed("RESERVATION_NOT_FOUND", reservation_id, "does not exist")


def _ended(reservation_id: str, end: int) -> FailedPrecondition:
    return _not_allowed("RESERVATION_NOT_ACTIVE", reservation_id,
                        f"is not ACTIVE: it ended at {format_micros(end)}")


def _short(reason: str, what: str, pool_id: str, reservation_id: str, flavor: Flavor,
           available: Mapping[str, int], binding: Binding | None = None) -> ResourceExhausted:
    need = flavor.amounts()
    short = ", ".join(f"{k} {n} > {available.get(k, 0)}" for k, n in need.items()
                      if n > available.get(k, 0))
    detail = pb.AllocationShortfall(
        pool_id=pool_id, reservation_id=reservation_id, requested=resources_pb(need),
        available=resources_pb({k: max(0, v) for k, v in available.items()}),
    )
    if binding is not None:
        detail.binding_time.CopyFrom(from_micros(binding.at))
        detail.binding_reservation_ids.extend(binding.reservation_ids)
    return ResourceExhausted(
        message=f"{what} cannot hold a {flavor.name} instance ({short}){binding_text(binding)}",
        reason=reason,
        area=AREA, metadata={"pool_id": pool_id}, details=[detail],
    )


class NewInstance(Candidate[Instance]):
    """A CreateInstance call, validated as far as possible without the database."""

    method = "CreateInstance"
    area = AREA

    def __init__(self, request: pb.CreateInstanceRequest, flavor: Flavor, violations: Violations,
                 on_created: Callable[[Instance], None]) -> None:
        super().__init__(request.instance.pool_id, request.request_id, violations)
        self.project = self.access.project_for(request.project, violations)
        self.request = request
        self.flavor = flavor
        self.on_created = on_created
        self.id = new_id()
        self.created_pb: pb.Instance | None = None
        """The instance as its event carries it, once this call has created it."""

    async def earlier(self, conn: AsyncConnection, resource_id: str) -> Instance:
        existing = await store.get_instance(conn, resource_id)
        assert existing is not None
        return existing

    async def check(self, tx: Transaction, holdings: PoolHoldings | None) -> None:
        body, v = self.request.instance, self.violations()
        if body.pool_id and holdings is None:
            v.add("instance.pool_id", f"unknown pool {body.pool_id!r}")
        v.raise_if_any()
        assert holdings is not None
        need = self.flavor.amounts()
        reservation_id = body.reservation_id
        if not reservation_id:
            if not holdings.surely_free_from(tx.now, need):
                free = holdings.free_from(tx.now)
                if any(n > free[k] for k, n in need.items()):
                    raise _short("INSUFFICIENT_CAPACITY",
                                 f"pool {body.pool_id!r} (capacity no reservation holds)",
                                 body.pool_id, "", self.flavor, free,
                                 holdings.binding_from(
                                     tx.now, need,
                                     self.access.visible_projects(Visibility.OWNED)))
            holdings.add_outside(Claim(self.id, tx.now, None, need))
            return
        claim = holdings.reservation(reservation_id)
        if claim is not None and not self.access.sees(claim.project):
            raise _absent(reservation_id)
        if claim is None:
            raise await self._not_holding(tx, reservation_id)
        assert claim.end is not None
        if tx.now < claim.start:
            raise _not_allowed("RESERVATION_NOT_ACTIVE", reservation_id,
                               f"is not ACTIVE: it starts at {format_micros(claim.start)}")
        if claim.end <= tx.now:
            raise _ended(reservation_id, claim.end)
        used = holdings.used(reservation_id)
        left = {k: claim.amounts.get(k, 0) - used.get(k, 0) for k in need}
        if any(n > left[k] for k, n in need.items()):
            raise _short("RESERVATION_EXHAUSTED", f"reservation {reservation_id!r}",
                         body.pool_id, reservation_id, self.flavor, left)
        holdings.add_inside(reservation_id, need, claim.end)

    async def _not_holding(self, tx: Transaction, reservation_id: str) -> SwitchboardError:
        """Why a reservation holds nothing in the instance's pool now (its window may be over
        before the sweeper has moved its status)."""
        found = await reservation_store.get_reservation(tx.conn, reservation_id)
        if found is None or not self.access.sees(found.project):
            return _absent(reservation_id)
        if found.pool_id != self.pool_id:
            return _not_allowed(
                "RESERVATION_OTHER_POOL", reservation_id,
                f"is in pool {found.pool_id!r}, not {self.pool_id!r}")
        if found.status is ReservationStatus.EXPIRED or found.end <= tx.now:
            return _ended(reservation_id, found.end)
        return _not_allowed("RESERVATION_NOT_ACTIVE", reservation_id,
                            f"is not ACTIVE: it is {found.status.value}")

    def write(self, tx: Transaction, revision: int) -> tuple[Instance, str]:
        body = self.request.instance
        need = self.flavor.amounts()
        instance = Instance(
            id=self.id, name=body.name, pool_id=body.pool_id, flavor=self.flavor.name,
            image=body.image, networks=tuple(body.networks), reservation_id=body.reservation_id,
            status=Status.BUILDING, status_message="", vim_server_id="", amounts=need,
            create_time=tx.now, update_time=tx.now, created_revision=revision,
            revision=revision, project=self.project,
        )
        self.created_pb = record_instance_event(tx, revision, "instance.created",
                                                instance).instance
        tx.defer(insert_of(store.instances), store.instance_values(instance))
        claims.hold(tx, instance.id, instance.pool_id, need, tx.now, body.reservation_id)
        return instance, instance.id

    def committed(self, result: Instance) -> None:
        self.on_created(result)

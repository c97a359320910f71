"""Reservation records and the rules on them that need neither gRPC nor a database."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum, StrEnum

from switchboard.server.reservation.ledger import RESOURCE_TYPES, Claim


class Status(StrEnum):
    PENDING = "PENDING"
    ACTIVE = "ACTIVE"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"
    IMPAIRED = "IMPAIRED"


HOLDING = (Status.PENDING, Status.ACTIVE)
"""Statuses whose reservations hold capacity."""

LIVE = (Status.PENDING, Status.ACTIVE, Status.IMPAIRED)
"""Statuses a client may still update or cancel."""


class Priority(int, Enum):
    LOW = 0
    NORMAL = 1
    HIGH = 2


@dataclass(frozen=True)
class Pool:
    id: str
    provider: str
    availability_zone: str
    create_time: int
    project: str = ""
    """Its project; "" for shared infrastructure (`ownership.Visibility.SHARED`)."""


@dataclass(frozen=True)
class CapacityChange:
    id: str
    pool_id: str
    increase: bool
    amounts: dict[str, int]
    start: int
    end: int | None
    reason: str
    create_time: int

    def delta(self) -> dict[str, int]:
        sign = 1 if self.increase else -1
        return {k: sign * v for k, v in self.amounts.items() if v}


@dataclass(frozen=True)
class Impairment:
    """Why a reservation is IMPAIRED: the capacity change that impaired it and how much of each
    resource type the pool lacked for it then."""

    change_id: str
    missing: dict[str, int]


@dataclass(frozen=True)
class Reservation:
    id: str
    pool_id: str
    name: str
    start: int
    end: int
    amounts: dict[str, int]
    priority: Priority
    status: Status
    create_time: int
    update_time: int
    created_revision: int
    revision: int
    impairment: Impairment | None = None
    """Set while IMPAIRED."""
    project: str = ""

    def claim(self) -> Claim:
        return Claim(
            id=self.id, start=self.start, end=self.end, amounts=self.amounts,
            priority=int(self.priority), order=self.created_revision, project=self.project,
        )

    def with_revisions(self, revision: int) -> Reservation:
        """This new reservation as created at `revision`."""
        return replace(self, created_revision=revision, revision=revision)

    def with_status(self, status: Status, now: int, revision: int,
                    impairment: Impairment | None = None) -> Reservation:
        """Moved to `status`; an impairment is kept only while IMPAIRED (a new one replaces
        it)."""
        if status is not Status.IMPAIRED:
            impairment = None
        elif impairment is None:
            impairment = self.impairment
        return replace(self, status=status, update_time=now, revision=revision,
                       impairment=impairment)


def status_at(start: int, end: int, now: int) -> Status:
    """The clock-driven status of a reservation that holds its capacity."""
    if now >= end:
        return Status.EXPIRED
    return Status.ACTIVE if now >= start else Status.PENDING


def next_transition(r: Reservation) -> int | None:
    """When the clock next moves this reservation's status, if it ever does."""
    if r.status is Status.PENDING:
        return r.start
    if r.status in (Status.ACTIVE, Status.IMPAIRED):
        return r.end
    return None


def instance_claim_parts(claim: Claim, holding: bool, reservation_end: int | None, now: int
                         ) -> tuple[Claim | None, Claim | None]:
    """An instance's claim split into the part its reservation holds (inside) and the part that
    counts against the pool (outside). Running instances always count: inside a reservation
    that holds capacity (PENDING or ACTIVE) up to its end; against the pool where it does not
    (IMPAIRED, ended, cancelled; no reservation at all). An instance is expected to be gone at
    its reservation's end (the end policy destroys it), so a future end bounds the claim; once
    the end has passed, it counts until it is released (the instance is DELETED)."""
    if reservation_end is None:
        return None, claim
    until = reservation_end if reservation_end > now else None
    end = claim.end if until is None or (claim.end is not None and claim.end < until) else until
    if not holding:
        return None, replace(claim, end=end)
    inside_end = reservation_end if claim.end is None else min(claim.end, reservation_end)
    inside = replace(claim, end=inside_end) if inside_end > claim.start else None
    past = max(claim.start, reservation_end)
    outside = replace(claim, start=past, end=end) if until is None and (
        end is None or end > past) else None
    return inside, outside


def amounts(values: dict[str, int]) -> dict[str, int]:
    """Every resource type, zero where absent."""
    return {k: int(values.get(k, 0)) for k in RESOURCE_TYPES}

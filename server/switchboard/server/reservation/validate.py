"""Request validation for the reservation area: every bad field is collected, then raised."""

from __future__ import annotations

import re
from dataclasses import dataclass

from google.protobuf.message import Message

from switchboard.reservation.v1 import reservation_pb2 as pb
from switchboard.server.errors import Violations
from switchboard.server.reservation.convert import amounts_of
from switchboard.server.reservation.ledger import MAX_AMOUNT, MAX_TOTAL
from switchboard.server.timestamps import to_micros

AREA = "reservation"
POOL_ID = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
DAY = 86_400_000_000


@dataclass(frozen=True)
class Policy:
    """Limits on reservations that the server enforces."""

    max_duration: int
    max_start_ahead: int


def has(message: Message, name: str) -> bool:
    return message.HasField(name)


def check_pool_id(value: str, path: str, v: Violations) -> None:
    if not value:
        v.add(path, "is required")
    elif not POOL_ID.match(value):
        v.add(path, "must be 1-63 lower-case letters, digits or '-', not starting or ending in '-'")


def check_amounts(resources: pb.Resources | None, path: str, v: Violations) -> dict[str, int]:
    if resources is None:
        v.add(path, "is required")
        return {}
    amounts = amounts_of(resources)
    negative = [k for k, n in amounts.items() if n < 0]
    for k in negative:
        v.add(f"{path}.{k}", "must not be negative")
    for k, n in amounts.items():
        if n > MAX_AMOUNT:
            v.add(f"{path}.{k}", f"must be at most {MAX_AMOUNT} (2^40)")
    if not negative and not any(amounts.values()):
        v.add(path, "at least one amount must be positive")
    return amounts


def check_window(
    message: Message, start_name: str, end_name: str, prefix: str, now: int, v: Violations,
    end_required: bool,
) -> tuple[int, int | None]:
    """(start, end) from two Timestamp fields; start defaults to now, end may be required."""
    start = to_micros(getattr(message, start_name)) if has(message, start_name) else now
    end = to_micros(getattr(message, end_name)) if has(message, end_name) else None
    if end is None:
        if end_required:
            v.add(prefix + end_name, "is required")
    elif end <= start:
        v.add(prefix + end_name, f"must be after {start_name}")
    return start, end


def check_reservation_window(
    start: int, end: int | None, prefix: str, now: int, policy: Policy, v: Violations,
    start_given: bool,
) -> None:
    """The window rules for reservations: not in the past, and within policy."""
    if start_given and start < now:
        v.add(prefix + "start_time", "must not be in the past")
    if start - now > policy.max_start_ahead:
        v.add(prefix + "start_time",
              f"must be at most {policy.max_start_ahead / DAY:g} days ahead (policy)")
    if end is not None and end - start > policy.max_duration:
        v.add(prefix + "end_time",
              f"window must be at most {policy.max_duration / DAY:g} days long (policy)")


def check_capacity_range(lowest: dict[str, int], highest: dict[str, int], path: str,
                         v: Violations) -> None:
    """A pool's capacity after a change, at its least and most over the change's window, must
    stay within +-MAX_TOTAL."""
    for k, high in highest.items():
        if high > MAX_TOTAL or lowest[k] < -MAX_TOTAL:
            value = high if high > MAX_TOTAL else lowest[k]
            v.add(f"{path}.{k}", f"would make the pool's {k} capacity {value}; it must stay "
                  f"between -{MAX_TOTAL} and {MAX_TOTAL} (2^44) at every instant")


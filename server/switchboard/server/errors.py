"""Domain errors: raised by domain logic, storage and servicers; mapped to gRPC statuses in one
place (`switchboard.server.status`). Nothing here knows about gRPC."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from google.protobuf.message import Message


@dataclass(frozen=True)
class FieldViolation:
    """One bad field of a request: its path (e.g. `reservation.end_time`) and what is wrong."""

    field: str
    description: str


@dataclass(frozen=True)
class PreconditionViolation:
    """One failed precondition: its type (e.g. `STATE`), subject and what is wrong."""

    type: str
    subject: str
    description: str


@dataclass
class SwitchboardError(Exception):
    """Base of every error a client may see. `reason` is UPPER_SNAKE; `area` names the domain."""

    message: str
    reason: str
    area: str
    metadata: Mapping[str, str] = field(default_factory=dict)
    details: Sequence[Message] = ()

    def __str__(self) -> str:
        return self.message


@dataclass
class InvalidArgument(SwitchboardError):
    """The request is malformed; `violations` names every bad field."""

    violations: Sequence[FieldViolation] = ()


@dataclass
class NotFound(SwitchboardError):
    """A named resource does not exist."""

    resource_type: str = ""
    resource_name: str = ""


@dataclass
class AlreadyExists(SwitchboardError):
    """A resource with the client-chosen id exists already."""

    resource_type: str = ""
    resource_name: str = ""


@dataclass
class FailedPrecondition(SwitchboardError):
    """The system is not in a state where the call is allowed."""

    violations: Sequence[PreconditionViolation] = ()


@dataclass
class ResourceExhausted(SwitchboardError):
    """Not enough capacity (or buffer) for the call; `details` says what would fit."""


@dataclass
class OutOfRange(SwitchboardError):
    """A position (such as a watch's start revision) lies outside what is available."""


@dataclass
class Unavailable(SwitchboardError):
    """The server cannot take the call now (it is shutting down); another replica may."""


@dataclass
class Unauthenticated(SwitchboardError):
    """The call carries no valid identity (no bearer token or client certificate, or a bad one)."""


@dataclass
class PermissionDenied(SwitchboardError):
    """The caller's roles do not allow the call (or not on what it names)."""


MESSAGE_CHARS = 1000
"""Most characters of the "field: reason" list in a status message: with the details, a status
must fit the 8 KiB of trailers a default client takes (`status.to_status`)."""
VIOLATION_CHARS = 200
"""Longest "field: reason" in a status message, and longest field or reason in the details (a
reason may quote what the client sent)."""


class Violations:
    """Collects field violations while a request is validated, then raises them all at once."""

    def __init__(self, area: str) -> None:
        self.area = area
        self.items: list[FieldViolation] = []

    def add(self, field_path: str, description: str) -> None:
        self.items.append(FieldViolation(field_path, description))

    def require(self, field_path: str, value: object) -> None:
        """A required field (an id, most often) that is empty is a violation naming it."""
        if not value:
            self.add(field_path, "is required")

    def name(self, field_path: str, value: str, required: bool = True) -> None:
        """A name (of an element, a VNF, a group): required unless not, and when given not
        blank, with no whitespace at either end and no control characters."""
        if not value:
            if required:
                self.add(field_path, "is required")
        elif not value.strip():
            self.add(field_path, "must not be blank")
        elif value != value.strip():
            self.add(field_path, "must not start or end with whitespace")
        elif not value.isprintable():
            self.add(field_path, "must not hold control characters")

    def raise_if_any(self) -> None:
        """Raises InvalidArgument: the message says "field: reason" for as many violations as
        MESSAGE_CHARS holds, then how many more; the details list them (`status.to_status`)."""
        if not self.items:
            return
        shown: list[str] = []
        used = 0
        for violation in self.items:
            text = clip(f"{violation.field}: {violation.description}")
            if shown and used + len(text) > MESSAGE_CHARS:
                break
            shown.append(text)
            used += len(text) + 2
        more = len(self.items) - len(shown)
        raise InvalidArgument(
            message="invalid request: " + "; ".join(shown) + (f"; and {more} more" if more else ""),
            reason="INVALID_ARGUMENT",
            area=self.area,
            violations=list(self.items),
        )


def clip(text: str, most: int = VIOLATION_CHARS) -> str:
    """`text`, cut to `most` characters with an ellipsis."""
    return text if len(text) <= most else text[:most - 1] + "…"


def require_ids(area: str, *fields: tuple[str, str]) -> None:
    """Raises InvalidArgument naming each (field path, value) whose required id is empty."""
    v = Violations(area)
    for path, value in fields:
        v.require(path, value)
    v.raise_if_any()

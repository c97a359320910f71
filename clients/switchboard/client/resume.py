"""What the resuming watches share: which failures to retry, and the backoff between tries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import grpc

RETRYABLE = frozenset({
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNKNOWN,
})


class WatchRequest(Protocol):
    """Every Watch* request has a start_revision (0: from now) besides its filters."""

    start_revision: int

    def CopyFrom(self, other: Any, /) -> None: ...


@dataclass
class Backoff:
    """Exponential backoff, reset after every successful response."""

    initial: float = 0.05
    maximum: float = 5.0
    current: float = 0.0

    def next(self) -> float:
        self.current = min(self.maximum, self.current * 2 if self.current else self.initial)
        return self.current

    def reset(self) -> None:
        self.current = 0.0


class Position:
    """Where a watch stands: the revision to ask for when it (re)connects."""

    def __init__(self, start_revision: int) -> None:
        self.resume_at = start_revision  # 0 until the server says where "now" is

    def passed(self, revision: int) -> None:
        """An event, or a response covering everything up to `revision`, was received."""
        self.resume_at = max(self.resume_at, revision + 1)

    @property
    def revision(self) -> int:
        """The last revision reached (through events or progress messages)."""
        return max(self.resume_at - 1, 0)

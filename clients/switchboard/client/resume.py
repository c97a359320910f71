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


class WatchResponse(Protocol):
    """Every Watch* response: events, each with a revision, and the revision reached."""

    @property
    def events(self) -> Any: ...

    @property
    def revision(self) -> int: ...


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

"""The built-in simulated VIM: builds and deletes take a configured time on the server's clock,
and a configured share of builds fail.

Whether a build fails is drawn from the instance id and the seed, so every process sharing a
database, and a process restarted mid-build, reaches the same outcome at the same time.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass

from switchboard.server.allocation.vim import ServerSpec, ServerState, ServerUpdate
from switchboard.server.clock import MICROS, Clock, DueQueue


@dataclass(frozen=True)
class SimulatedVimSettings:
    build_seconds: float = 5.0
    delete_seconds: float = 2.0
    failure_rate: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.failure_rate <= 1:
            raise ValueError(f"failure rate {self.failure_rate} is not between 0 and 1")
        if min(self.build_seconds, self.delete_seconds) < 0:
            raise ValueError("build and delete times must not be negative")


class SimulatedVim:
    """A VimDriver with no infrastructure behind it."""

    def __init__(self, clock: Clock, settings: SimulatedVimSettings) -> None:
        self.clock = clock
        self.settings = settings
        self._due: DueQueue[ServerUpdate] = DueQueue(clock)

    def _build_outcome(self, instance_id: str) -> ServerUpdate:
        rate = self.settings.failure_rate
        if rate and random.Random(f"{self.settings.seed}:{instance_id}").random() < rate:
            return ServerUpdate(instance_id, ServerState.ERROR,
                                message="simulated VIM: build failed")
        return ServerUpdate(instance_id, ServerState.ACTIVE, server_id=f"sim-{instance_id}")

    def _at(self, since: int, seconds: float, update: ServerUpdate) -> None:
        self._due.put(since + int(seconds * MICROS), update)

    async def create_server(self, spec: ServerSpec) -> None:
        self._at(self.clock.now(), self.settings.build_seconds,
                 self._build_outcome(spec.instance_id))

    async def delete_server(self, instance_id: str) -> None:
        self._at(self.clock.now(), self.settings.delete_seconds,
                 ServerUpdate(instance_id, ServerState.DELETED))

    async def recheck(self, instance_id: str, deleting: bool, since: int) -> None:
        if deleting:
            self._at(since, self.settings.delete_seconds,
                     ServerUpdate(instance_id, ServerState.DELETED))
        else:
            self._at(since, self.settings.build_seconds, self._build_outcome(instance_id))

    def updates(self) -> AsyncIterator[list[ServerUpdate]]:
        return self._due.batches()

"""The SO driver interface, and the built-in simulated SO (its requests kept in the database
the replicas share, so that it is idempotent by key across them, as a real SO is).

A driver sends one VNF's workflow request to a service orchestrator and reports, through
`updates()`, how each request ends. Requests are named by a key Switchboard chooses
(`<schedule id>/<vnf name>`); a driver must treat a second send with the same key as the first
(returning the same SO request id), so a send repeated after a crash starts nothing twice. An
HTTP driver for ONAP SO would pass the key as the request id and poll orchestration status.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import structlog
from sqlalchemy import BigInteger, Column, String, Table, select

from switchboard.server.clock import MICROS, Clock, DueQueue
from switchboard.server.db import Database, insert_if_absent, metadata

log = structlog.get_logger("switchboard.scheduler.so")


class SoStatus(StrEnum):
    COMPLETED = "COMPLETED"
    """The workflow succeeded."""
    FAILED = "FAILED"
    """The workflow failed."""


@dataclass(frozen=True)
class SoRequest:
    """One VNF's workflow request."""

    key: str
    workflow_name: str
    vnf_name: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class SoUpdate:
    """How a request ended."""

    key: str
    so_request_id: str
    status: SoStatus
    message: str = ""


class SoDriver(Protocol):
    async def send(self, request: SoRequest) -> str:
        """Sends a request (idempotent by key); returns the SO's request id. Raises when the SO
        refuses it."""

    async def recheck(self, request: SoRequest, so_request_id: str, since: int) -> None:
        """Asks about a request sent at `since` (µs) whose end this process has not seen (after
        a restart); the answer comes as an update."""

    def updates(self) -> AsyncIterator[list[SoUpdate]]:
        """Batches of updates, as they happen, for as long as the driver runs."""
        ...


@dataclass(frozen=True)
class SimulatedSoSettings:
    run_seconds: float = 60.0
    failure_rate: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.failure_rate <= 1:
            raise ValueError(f"failure rate {self.failure_rate} is not between 0 and 1")
        if self.run_seconds < 0:
            raise ValueError("the run time must not be negative")


SIMULATION_KEY = "simulation"
"""A VNF's SO request may carry {"simulation": {"seconds": 120, "outcome": "FAILED"}} to set
its own run time and outcome in the simulated SO."""


simulated_so_requests = Table(
    "simulated_so_requests",
    metadata,
    Column("key", String(320), primary_key=True),
    Column("accepted_at", BigInteger, nullable=False),
)
"""The simulated SO's requests: when each key was first accepted, by whichever replica."""


class SimulatedSo:
    """An SoDriver with no SO behind it: each request runs a configured time on the server's
    clock (or its own), and fails by a configured share (drawn from its key and the seed, so a
    restarted process reaches the same outcome) or by its own "outcome". With `db`, a key is
    accepted once over every replica on it: a replica that sends a key another accepted (it
    took over a dispatch in doubt) gets the same request, running from its first acceptance."""

    def __init__(self, clock: Clock, settings: SimulatedSoSettings,
                 db: Database | None = None) -> None:
        self.clock = clock
        self.settings = settings
        self._db = db
        self.sent: dict[str, str] = {}
        """SO request id by key, for every request this instance has accepted."""
        self._due: DueQueue[SoUpdate] = DueQueue(clock)

    def _outcome(self, request: SoRequest, so_request_id: str) -> tuple[float, SoUpdate]:
        own = request.payload.get(SIMULATION_KEY)
        own = own if isinstance(own, dict) else {}
        seconds = float(own.get("seconds", self.settings.run_seconds))
        outcome = own.get("outcome")
        if outcome is None:
            draw = random.Random(f"{self.settings.seed}:{request.key}").random()
            outcome = "FAILED" if draw < self.settings.failure_rate else "COMPLETED"
        status = SoStatus.FAILED if outcome == "FAILED" else SoStatus.COMPLETED
        message = "simulated SO: workflow failed" if status is SoStatus.FAILED else ""
        return seconds, SoUpdate(request.key, so_request_id, status, message)

    def _at(self, since: int, request: SoRequest, so_request_id: str) -> None:
        seconds, update = self._outcome(request, so_request_id)
        self._due.put(since + int(seconds * MICROS), update)

    async def send(self, request: SoRequest) -> str:
        if request.key in self.sent:
            return self.sent[request.key]
        so_request_id = f"so-{request.key.replace('/', '-')}"
        now = self.clock.now()
        since = now if self._db is None else await self._accept(request.key, now)
        self.sent[request.key] = so_request_id
        if since == now:
            log.info("simulated SO accepted a request", key=request.key)
        else:
            log.info("simulated SO already has the request", key=request.key)
        self._at(since, request, so_request_id)
        return so_request_id

    async def _accept(self, key: str, now: int) -> int:
        """When `key` was first accepted: now, unless a replica accepted it before."""
        assert self._db is not None
        async with self._db.write() as conn:
            await conn.execute(insert_if_absent(conn, simulated_so_requests, key=key,
                                                accepted_at=now))
            return int((await conn.execute(select(simulated_so_requests.c.accepted_at).where(
                simulated_so_requests.c.key == key))).scalar_one())

    async def recheck(self, request: SoRequest, so_request_id: str, since: int) -> None:
        self.sent.setdefault(request.key, so_request_id)
        self._at(since, request, so_request_id)

    def updates(self) -> AsyncIterator[list[SoUpdate]]:
        return self._due.batches()

"""Leases: a background job that must run once among the server replicas on one database (a
singleton) runs only in the replica holding its lease.

A lease is a row (name, holder, term, expires_at). A replica takes a lease that is free or has
expired by its clock, with the next term (the fencing token), and renews it every third of the
TTL while it holds it. A holder that cannot renew stops its jobs once its last successful
renewal is older than the TTL less a margin, so before its lease ends; another replica takes
the lease over within a TTL after the last renewal. Every write transaction a job makes is
fenced (`fence`): at commit it also updates the lease row on condition that the row still names
this holder and term, so a holder paused past its TTL whose job wakes after another replica
took the lease writes nothing (the transaction fails with `StaleWrite`).

Fencing checks the term, not the expiry: while no other replica has taken an expired lease no
other term exists, so the holder's writes still come before any other holder's, and a holder
that renews late (its lease still naming it) keeps its term and its jobs. A graceful stop
releases the leases (expired at once) so another replica takes them at its next renewal.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import structlog
from sqlalchemy import BigInteger, Column, String, Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.server.clock import MICROS, Clock, sleep_until_woken
from switchboard.server.db import BulkWrite, Database, insert_if_absent, metadata
from switchboard.server.errors import ResourceExhausted
from switchboard.server.eventlog import Event, Transaction, fencing
from switchboard.server.tasks import BackgroundTask
from switchboard.server.watch import Hub

log = structlog.get_logger("switchboard.server.leases")

GRACE_SECONDS = 1.0
"""Most real time a renewal in flight at its deadline gets before the jobs stop."""

leases = Table(
    "leases",
    metadata,
    Column("name", String(63), primary_key=True),
    Column("holder", String(255), nullable=False),
    Column("term", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
)


@dataclass(frozen=True, slots=True)
class Lease:
    """A lease as its holder took it: `term` fences every write made under it."""

    name: str
    holder: str
    term: int


_FENCE = BulkWrite(
    update(leases).where(leases.c.name == bindparam("lease_name"),
                         leases.c.holder == bindparam("lease_holder"),
                         leases.c.term == bindparam("lease_term"))
    .values(term=leases.c.term),
    guarded=True)


def fence(tx: Transaction, lease: Lease) -> None:
    """Makes `tx` commit only while `lease` is still held with its term (else `StaleWrite`,
    without effect): a guarded write of the lease row, checked at commit."""
    tx.defer(_FENCE, {"lease_name": lease.name, "lease_holder": lease.holder,
                      "lease_term": lease.term})


async def held(db: Database) -> dict[str, tuple[str, int, int]]:
    """Every lease row: name -> (holder, term, expires_at)."""
    async with db.read() as conn:
        rows = (await conn.execute(select(leases))).all()
    return {r.name: (r.holder, int(r.term), int(r.expires_at)) for r in rows}


class Leases(BackgroundTask):
    """The singletons of one replica: each group of background tasks runs while this replica
    holds the lease named after the group's first task; renewal and takeover as the module
    says, in one write transaction per round for all leases."""

    name = "leases"

    def __init__(self, db: Database, clock: Clock, holder: str, ttl: int) -> None:
        super().__init__()
        self.db = db
        self.clock = clock
        self.holder = holder
        """This replica's name in the lease rows."""
        self.ttl = ttl
        self.interval = max(1, ttl // 3)
        """How often (µs) the leases are renewed, and free ones sought."""
        self.margin = ttl // 4
        """How long (µs) before its lease ends a holder that could not renew stops its jobs."""
        self._groups: dict[str, Sequence[BackgroundTask]] = {}
        self.leases: dict[str, Lease] = {}
        """The leases this replica holds (its jobs run), by name."""
        self._running: set[str] = set()
        """The leases whose jobs run."""
        self._valid_until = 0
        self._next_round = 0
        self._renewed = asyncio.Event()

    def add(self, *tasks: BackgroundTask) -> None:
        """A singleton: `tasks` run together under the lease named after the first."""
        self._groups[tasks[0].name] = tasks

    async def begin(self) -> None:
        """Takes what leases it can and starts their jobs, then keeps them (`start`)."""
        async with self.db.write() as conn:
            await conn.execute(insert_if_absent(conn, leases, *(
                {"name": name, "holder": "", "term": 0, "expires_at": 0}
                for name in self._groups)))
        await self.round()
        self.start()

    async def round(self) -> None:
        """Renews the leases held, stops the jobs of those lost, takes free or expired ones
        and starts the jobs of every lease held that are not running (also those the deadline
        stopped while this round was renewing: the lease still names this holder and term)."""
        began = self.clock.now()
        async with self.db.write() as conn:
            kept = {name: lease for name, lease in self.leases.items()
                    if await self._renew(conn, lease, began)}
            taken = {}
            for name in self._groups:
                if name not in kept and (lease := await self._take(conn, name, began)):
                    taken[name] = lease
        for name in self.leases.keys() - kept.keys():
            log.warning("lease lost; its jobs stop", lease=name)
            await self._stop_group(name)
        self.leases = {**kept, **taken}
        self._valid_until = began + self.ttl - self.margin
        self._renewed.set()
        for name, lease in self.leases.items():
            if name not in self._running:
                log.info("lease held; its jobs start", lease=name, term=lease.term)
                self._start_group(lease)

    async def _renew(self, conn: AsyncConnection, lease: Lease, now: int) -> bool:
        renewed = await conn.execute(
            update(leases).where(leases.c.name == lease.name, leases.c.holder == lease.holder,
                                 leases.c.term == lease.term)
            .values(expires_at=now + self.ttl).returning(leases.c.name))
        return renewed.first() is not None

    async def _take(self, conn: AsyncConnection, name: str, now: int) -> Lease | None:
        taken = await conn.execute(
            update(leases).where(leases.c.name == name,
                                 (leases.c.expires_at <= now) | (leases.c.holder == self.holder))
            .values(holder=self.holder, term=leases.c.term + 1, expires_at=now + self.ttl)
            .returning(leases.c.term))
        term = taken.scalar()
        return None if term is None else Lease(name, self.holder, int(term))

    async def run(self) -> None:
        while True:
            self._next_round = self.clock.now() + self.interval
            await self.clock.sleep_until(self._next_round)
            attempt = asyncio.create_task(self.round())
            try:
                await self._watch(attempt)
            finally:
                attempt.cancel()
            if (error := attempt.exception()) is not None:
                log.error("renewing leases failed", error=str(error))

    async def _watch(self, attempt: asyncio.Task[None]) -> None:
        """Waits for a round; stops every job if its deadline passes first. A round that
        began past the deadline (the process was paused) gets a margin, and one still in
        flight at the deadline up to half the margin in real time (`GRACE_SECONDS` at most)
        to come back: the time its statements take, which a clock that jumps (a test's) does
        not show."""
        deadline = max(self._valid_until, self.clock.now() + self.margin)
        self._renewed.clear()
        while not attempt.done():
            await sleep_until_woken(self.clock, deadline, self._renewed)
            if not attempt.done() and self.clock.now() >= deadline and self._running:
                await asyncio.wait({attempt}, timeout=min(GRACE_SECONDS,
                                                          self.margin / MICROS / 2))
            if not attempt.done() and self.clock.now() >= deadline and self._running:
                log.warning("leases not renewed in time; their jobs stop",
                            leases=sorted(self._running))
                for name in list(self._running):
                    await self._stop_group(name)
                await asyncio.wait({attempt})

    def _start_group(self, lease: Lease) -> None:
        self._running.add(lease.name)
        context = contextvars.Context()
        context.run(fencing.set, partial(fence, lease=lease))
        for task in self._groups[lease.name]:
            task.start(context.copy())

    async def _stop_group(self, name: str) -> None:
        self._running.discard(name)
        for task in reversed(self._groups[name]):
            await task.stop()

    async def stop(self) -> None:
        """Stops renewing and every job (the leases stay held until they expire)."""
        await super().stop()
        for name in list(self._running):
            await self._stop_group(name)

    async def release(self) -> None:
        """Gives up the leases held (after `stop`): they expire now, for others to take."""
        if not self.leases:
            return
        async with self.db.write() as conn:
            for lease in self.leases.values():
                await conn.execute(
                    update(leases).where(leases.c.name == lease.name,
                                         leases.c.holder == lease.holder,
                                         leases.c.term == lease.term)
                    .values(expires_at=0))
        self.leases = {}


class Waker(BackgroundTask):
    """Wakes a singleton for events any replica writes (its own calls wake it directly): from
    now on, `wake(events)` for each batch of events of `area` that `matches`, and `wake([])`
    when it fell behind."""

    def __init__(self, name: str, hub: Hub, area: str, matches: Callable[[Event], bool],
                 wake: Callable[[Sequence[Event]], None]) -> None:
        super().__init__()
        self.name = name
        self.hub = hub
        self.area = area
        self.matches = matches
        self.wake = wake

    async def run(self) -> None:
        while not self.hub.closed:
            try:
                async for events, _ in self.hub.watch(0, self.matches, self.area):
                    if events:
                        self.wake(events)
            except ResourceExhausted:
                self.wake(())  # fell behind: look at everything once
            except Exception:
                log.exception("watching for wake-ups failed", waker=self.name)
                await self.hub.clock.sleep(1.0)

"""Admission into pools: every create that takes pool capacity (a reservation, an instance)
passes through here, many per transaction.

Calls queue here as `Candidate`s; one task takes whatever is queued as a batch and admits it in
one transaction: each pool in the batch is locked (and its version moved), each candidate is
checked against the pool's holdings — cached in memory while the pool's version shows no other
change — plus the candidates admitted before it in the same batch, and the admitted ones are
written together. The check and the write stay one serialized step per pool; the cost of a
transaction is shared by the whole batch.

Other writes can ride along (`alongside`): they run in the next batch's transaction, after its
pools are locked and before any candidate is checked, so writers that would each pay for a
transaction share the batch's (group commit). If the transaction fails with them, the
candidates are admitted again on their own: a failing rider never fails a create.

Where the database's writes are serialized in-process (SQLite), a batch is first tried in an
optimistic transaction (`eventlog.Transaction`): the pools whose holdings are cached are not
read, only their versions moved at commit, guarded (as is the log's head, and whatever riders
counted on), so a batch of creates takes one trip to the database. If something changed
meanwhile (another process wrote), the commit fails and the batch, riders included, is admitted
again the ordinary way. The workers of `--workers` learn the head from their shared writer lock
(`Database.shared_head`), so their batches go on taking one trip while each pool is written by
one of them.

A batch runs as the server, on behalf of many calls: each candidate and rider keeps its call's
principal and `ownership.Access` from when it queued, so that a call sees only the pools (and
earlier results) its caller sees, and each event names the call that caused it
(`Transaction.acting`).
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Collection
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.server import idempotency, ownership
from switchboard.server.db import StaleWrite
from switchboard.server.errors import SwitchboardError, Violations
from switchboard.server.eventlog import EventLog, Transaction
from switchboard.server.ownership import Visibility
from switchboard.server.policy import caller
from switchboard.server.reservation import store
from switchboard.server.reservation.holdings import PoolHoldings
from switchboard.server.reservation.model import HOLDING
from switchboard.server.tasks import BackgroundTask

MAX_BATCH = 256
GATHER_SECONDS = 0.005
"""The longest a batch waits for the calls the event loop has yet to run (`_gather`)."""

T = TypeVar("T")


class Owned(Protocol):
    """What a candidate creates: a resource of a project."""

    @property
    def project(self) -> str: ...


R = TypeVar("R", bound=Owned)


class Candidate(ABC, Generic[R]):
    """One create call waiting for admission into the pool `pool_id`, with its caller's
    principal and access (taken when it is made, in the call).

    `found` holds what was found wrong without the database or the clock; `check` raises it
    (with what it finds itself), after the request_id is claimed, so a retry returns the first
    result."""

    method: ClassVar[str]
    area: ClassVar[str]

    def __init__(self, pool_id: str, request_id: str, violations: Violations) -> None:
        self.pool_id = pool_id
        self.request_id = request_id
        self.found = violations
        self.principal = caller.get().name
        self.access = ownership.current()
        self.outcome: asyncio.Future[R] = asyncio.get_running_loop().create_future()

    def violations(self) -> Violations:
        """A new collection for one `check`, starting from `found`: a batch may be checked more
        than once (optimistically, then the ordinary way), and each check reports once."""
        fresh = Violations(self.found.area)
        fresh.items = list(self.found.items)
        return fresh

    @abstractmethod
    async def earlier(self, conn: AsyncConnection, resource_id: str) -> R:
        """What an earlier call with the same request_id created."""

    def replay(self, earlier: R) -> R | SwitchboardError:
        """What this call gets for a request_id an earlier call took: what it created, if
        this caller may change it, else REQUEST_ID_IN_USE."""
        if self.access.changes(earlier.project):
            return earlier
        return idempotency.in_use(self.request_id, self.area)

    @abstractmethod
    async def check(self, tx: Transaction, holdings: PoolHoldings | None) -> None:
        """Raises a SwitchboardError unless admitted; if admitted, adds the claim to `holdings`
        (None when the pool does not exist)."""

    @abstractmethod
    def write(self, tx: Transaction, revision: int) -> tuple[R, str]:
        """Writes the admitted resource under `revision` (its rows deferred to the commit,
        `Transaction.defer`); returns it and its id."""

    def committed(self, result: R) -> None:
        """Called once the batch that created `result` has committed."""


class _Rider(Generic[T]):
    """A write riding in a batch's transaction, for the principal that queued it; `pools` are
    locked for it first."""

    def __init__(self, pools: Collection[str],
                 work: Callable[[Transaction], Awaitable[T]]) -> None:
        self.pools = pools
        self.work = work
        self.principal = caller.get().name
        self.outcome: asyncio.Future[T] = asyncio.get_running_loop().create_future()


class Admission(BackgroundTask):
    """The queue of candidates and the task that admits them in batches."""

    name = "pool-admission"

    def __init__(self, log: EventLog) -> None:
        super().__init__()
        self.log = log
        self._queue: list[Candidate[Any]] = []
        self._riders: list[_Rider[Any]] = []
        self._ready = asyncio.Event()
        self._holdings: dict[str, PoolHoldings] = {}
        self._touched: dict[str, PoolHoldings] = {}
        """The holdings the batch being admitted checks against, added to tentatively."""
        self._projects: dict[str, str] = {}
        """The project of each pool claimed so far (a pool's project never changes)."""

    async def admit(self, candidate: Candidate[R]) -> R:
        """Queues a candidate; returns what it created (or what an earlier call did), or raises."""
        self._queue.append(candidate)
        self._ready.set()
        return await candidate.outcome  # a call cancelled meanwhile is still admitted

    async def alongside(self, pools: Collection[str],
                        work: Callable[[Transaction], Awaitable[T]]) -> T:
        """Runs `work` in the next batch's transaction, with `pools` locked (and their cached
        holdings dropped: the work may change them); returns its result once committed."""
        rider = _Rider(pools, work)
        self._riders.append(rider)
        self._ready.set()
        return await rider.outcome  # a caller cancelled meanwhile still has its work done

    async def run(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            while self._queue or self._riders:
                await self._gather()
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                riders, self._riders = self._riders, []
                admitted = await self._admit_batch(batch, riders, optimistic=True)
                if admitted is None:  # another process wrote meanwhile: read, and again
                    admitted = await self._admit_batch(batch, riders, optimistic=False)
                if not admitted and riders and batch:
                    await self._admit_batch(batch, [], optimistic=False)

    async def _gather(self) -> None:
        """Before a batch is taken: lets the event loop first run what else is ready to run
        (calls on their way here among it), while there is any, the queue holds less than a
        batch, and for at most `GATHER_SECONDS`. Under load batches grow, and the cost of a
        transaction is shared by more calls; with nothing else to do there is no wait."""
        # Measured (December 2026, 2 shared cores, interleaved rounds, CreateReservation at
        # 64 in flight): creates per batch 8.6 -> 15.6 with one process, 4.5 -> 9.6 with
        # --workers 2; server CPU per call 734 -> 669 and 1,115 -> 961 µs.
        loop = asyncio.get_running_loop()
        ready = getattr(loop, "_ready", None)  # asyncio's own loop: the callbacks to run next
        if ready is None:
            return
        deadline = loop.time() + GATHER_SECONDS
        # One turn of the loop at a time: there is no event to wait on.
        while ready and len(self._queue) < MAX_BATCH and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0)

    async def _admit_batch(self, batch: list[Candidate[Any]], riders: list[_Rider[Any]],
                           optimistic: bool) -> bool | None:
        """Admits a batch with its riders in one transaction; False if it failed (the riders
        then get the error, and the candidates too unless there were riders).

        An `optimistic` one counts on the cached holdings' versions and the log's head without
        reading them (`Transaction`); None if that failed because they had moved (nobody got
        an error: the batch is to be admitted again, not optimistically)."""
        # A request_id twice in one batch: the later call gets the earlier one's outcome.
        first: dict[tuple[str, str], int] = {}
        same_as = {i: first.setdefault((c.method, c.request_id), i)
                   for i, c in enumerate(batch) if c.request_id}
        outcomes: list[Any] = [None] * len(batch)
        written: list[int] = []
        done: list[Any] = []
        self._touched = {}
        try:
            async with self.log.transaction(optimistic) as tx:
                changing = {p for r in riders for p in r.pools}
                versions = await self._claim_pools(tx, {c.pool_id for c in batch}, changing)
                for rider in riders:
                    with tx.acting(rider.principal):
                        done.append(await rider.work(tx))
                earlier = await idempotency.claim_all(
                    tx.conn, [(c.method, c.request_id) for c in batch if c.request_id])
                admitted = []
                for i, candidate in enumerate(batch):
                    if same_as.get(i, i) == i:
                        outcomes[i] = await self._check(tx, candidate, versions, earlier)
                        if outcomes[i] is None:
                            admitted.append(i)
                if admitted:
                    revisions = await tx.next_revisions(len(admitted))
                    for i, revision in zip(admitted, revisions, strict=True):
                        candidate = batch[i]
                        with tx.acting(candidate.principal):
                            outcomes[i], resource_id = candidate.write(tx, revision)
                        idempotency.remember(tx, candidate.method, candidate.request_id,
                                             resource_id)
                    written = admitted
            for pool_id, version in versions.items():
                held = self._touched.get(pool_id)
                if held is None:  # not checked against: not known to be current
                    self._holdings.pop(pool_id, None)
                    continue
                held.keep()
                held.version = version
                held.revision = tx.head if tx.head is not None else held.revision
        except Exception as error:  # the transaction failed: nothing was written
            if optimistic and isinstance(error, StaleWrite):
                # As they were before the batch, they are still what they were known to be.
                for held in self._touched.values():
                    held.take_back()
                    held.contested = True
                return None
            self._holdings.clear()
            for waiting in riders or batch:
                if not waiting.outcome.done():
                    waiting.outcome.set_exception(error)
            return False
        for rider, result in zip(riders, done, strict=True):
            if not rider.outcome.done():
                rider.outcome.set_result(result)
        for i in written:
            batch[i].committed(outcomes[i])
        for i, candidate in enumerate(batch):
            outcome = outcomes[same_as.get(i, i)]
            if candidate.outcome.cancelled():
                continue
            if same_as.get(i, i) != i and not isinstance(outcome, SwitchboardError):
                outcome = candidate.replay(outcome)
            if isinstance(outcome, SwitchboardError):
                candidate.outcome.set_exception(outcome)
            else:
                candidate.outcome.set_result(outcome)
        return True

    async def _claim_pools(self, tx: Transaction, pool_ids: set[str],
                           changing: set[str]) -> dict[str, int]:
        """Locks every named pool that exists, in id order, and drops the cached holdings of
        those `changing`; returns their new versions. An optimistic transaction reads none
        of the pools whose holdings are cached, unless another process lately changed them
        (`PoolHoldings.contested`): one transaction that reads is cheaper than one that fails
        and another that reads."""
        versions = {}
        for pool_id in sorted((pool_ids | changing) - {""}):
            cached = None if pool_id in changing else self._holdings.get(pool_id)
            if cached is not None and cached.stale_at(tx.now):
                cached = None
                del self._holdings[pool_id]
            if tx.optimistic and cached is not None and not cached.contested:
                versions[pool_id] = store.claim_pool_at(tx, pool_id, cached.version)
                continue
            if pool_id in changing:
                self._holdings.pop(pool_id, None)
            claimed = await store.claim_pool(tx.conn, pool_id)
            if claimed is not None:
                versions[pool_id] = claimed[1]
                self._projects[pool_id] = claimed[0].project
        return versions

    async def _holdings_of(self, tx: Transaction, pool_id: str, version: int) -> PoolHoldings:
        """The pool's holdings from now on: cached, unless the pool changed since (its version
        was moved once by this transaction's own claim); then brought up to date with the
        reservations created since, if that is all that changed (`store.created_since`), or
        else read again. What the batch adds to them is tentative until it commits."""
        held = self._touched.get(pool_id)
        if held is not None:
            return held
        cached = self._holdings.get(pool_id)
        if cached is not None and cached.version == version - 1:
            cached.contested = False
        elif cached is not None and not await self._catch_up(tx, cached, pool_id, version - 1):
            cached = None
        if cached is None or cached.version != version - 1:
            claims = await store.load_claims(tx.conn, pool_id, tx.now, None, tx.now)
            cached = claims.holdings(version - 1, tx.now)
            self._holdings[pool_id] = cached
        cached.tentatively()
        self._touched[pool_id] = cached
        return cached

    @staticmethod
    async def _catch_up(tx: Transaction, cached: PoolHoldings, pool_id: str,
                        version: int) -> bool:
        """Adds to `cached` the reservations created in the pool since its revision, if that
        is all that changed there (in a transaction that holds the pool, at `version`); False
        if not."""
        if cached.revision is None:
            return False
        created = await store.created_since(tx.conn, pool_id, cached.revision)
        if created is None:
            return False
        for r in created:  # this process's own are there already
            if r.status in HOLDING and r.end > cached.since and cached.reservation(r.id) is None:
                cached.add(r.claim())
        cached.version = version
        return True

    async def _check(self, tx: Transaction, candidate: Candidate[Any],
                     versions: dict[str, int], earlier: dict[idempotency.Key, str]) -> Any:
        """None if admitted (its claim joins the cached holdings); else the earlier call's
        result for a retried request_id (`earlier`: what the batch's claims found), or the
        error saying why not. A pool the caller does not see is as if absent."""
        found = earlier.get((candidate.method, candidate.request_id))
        if found is not None:
            return candidate.replay(await candidate.earlier(tx.conn, found))
        version = versions.get(candidate.pool_id)
        if version is not None and not candidate.access.sees(
                self._projects[candidate.pool_id], Visibility.SHARED):
            version = None
        try:
            holdings = None if version is None else await self._holdings_of(
                tx, candidate.pool_id, version)
            await candidate.check(tx, holdings)
        except SwitchboardError as error:
            idempotency.release(tx, candidate.method, candidate.request_id)
            return error
        return None

"""Watches: replay from a revision, then live, in revision order, with progress while idle.

One `Hub` per process follows the event log. Events this process commits are handed to it at
once; events committed by other processes sharing the database are found by polling, and on
PostgreSQL at once too: their commits notify (`eventlog.CHANNEL`) and the hub listens, reading
the log when a notification names a head beyond its own. A notification is only a wake-up: the
log is the truth, and the poll finds whatever a lost notification or listener missed. Each
watcher has a bounded buffer: a watcher that falls too far behind is ended with
RESOURCE_EXHAUSTED and resumes by revision, so no watcher makes the server buffer without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from switchboard.server import ownership
from switchboard.server.clock import MICROS, Clock
from switchboard.server.db import Listener
from switchboard.server.errors import NotFound, OutOfRange, ResourceExhausted, Violations
from switchboard.server.eventlog import CHANNEL, Event, EventLog
from switchboard.server.ownership import Visibility
from switchboard.server.paging import PAGE_BYTES

Matcher = Callable[[Event], bool]

MAX_SEND_GAP = 1.0
"""Most seconds pacing holds a live event back, however many watches there are."""


@dataclass(frozen=True)
class WatchSettings:
    progress_interval: float
    poll_interval: float
    buffer_events: int
    batch_events: int
    send_rate: float


@dataclass(frozen=True)
class Subject:
    """A Watch* filter naming one resource (empty `value`: no filter). The watch is NOT_FOUND
    unless the resource exists (`lookup` finds it) or retained events name it: events of `area`
    (and `kinds`, if any) whose `column` ("key" or "scope") is the id."""

    field: str
    resource_type: str
    value: str
    lookup: Callable[[AsyncConnection, str], Awaitable[object]]
    area: str
    kinds: Sequence[str] = ()
    column: str = "key"
    visibility: Visibility = Visibility.OWNED
    """Who sees the resource (`ownership`): to others it is NOT_FOUND."""


_READ_LIMIT = 1000
"""The most events one read of the log by the hub takes."""


def _revision(event: Event) -> int:
    return event.revision


class Subscriber:
    """One watcher's bounded buffer of matching live events."""

    def __init__(self, matches: Matcher, bound: int, progress_due: int,
                 paced: bool = False) -> None:
        self.matches = matches
        self.paced = paced
        """A client's watch (`Hub.responses`), not one of the server's own."""
        self.bound = bound
        self.buffer: deque[Event] = deque()
        self.wakeup = asyncio.Event()
        self.overflowed = False
        self.progress_due = progress_due
        self.sent_at = 0.0  # time.monotonic() of the last live response

    def offer(self, events: Sequence[Event]) -> None:
        if self.overflowed:
            return
        matched = [e for e in events if self.matches(e)]
        if not matched:
            return
        if len(self.buffer) + len(matched) > self.bound:
            self.overflowed = True
            self.buffer.clear()
        else:
            self.buffer.extend(matched)
        self.wakeup.set()


class Hub:
    """Follows the log for this process and fans events out to subscribers."""

    def __init__(self, log: EventLog, clock: Clock, settings: WatchSettings) -> None:
        self.log = log
        self.clock = clock
        self.settings = settings
        self.head = 0
        self.oldest = 1
        self.subscribers: set[Subscriber] = set()
        self._poke = asyncio.Event()
        self._own: list[Event] = []
        """Events this process committed after others' not yet read (`publish`)."""
        self._tasks: list[asyncio.Task[None]] = []
        self._slack = max(1, log.retention // 10)
        self.closed = False
        self.listener: Listener | None = (
            log.db.listener(CHANNEL, self._notified, self._poke.set) if log.notifies else None)
        """Hears other processes' commits (PostgreSQL, unless notifications are off)."""

    async def start(self) -> None:
        self.oldest, self.head = await self.log.bounds()
        self.log.on_commit = self.publish
        if self.listener is not None:
            await self.listener.start()
        self._tasks = [
            asyncio.create_task(self._follow(), name="watch-follow"),
            asyncio.create_task(self._tick_progress(), name="watch-progress"),
        ]

    async def stop(self) -> None:
        self.closed = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self.listener is not None:
            await self.listener.stop()
        for sub in self.subscribers:
            sub.wakeup.set()

    def _notified(self, payload: str) -> None:
        """A transaction committed up to revision `payload`: read the log unless this hub has
        seen it (its own commits, already published)."""
        try:
            beyond = int(payload) > self.head
        except ValueError:
            beyond = True
        if beyond:
            self._poke.set()

    def publish(self, events: Sequence[Event]) -> None:
        """Events this process committed: dispatched now if they are next; else kept until
        what other processes committed before them is read (only that: under `--workers`,
        where the workers take turns, a read of each one's events, not of all: measured with
        --workers 2, 922 against 938 and 939 against 1,009 µs of server CPU per create)."""
        if events[0].revision == self.head + 1 and not self._own:
            self._dispatch(events)
        elif events[-1].revision > self.head:
            # In revision order: this process's transactions may return from commit out of it.
            self._own = sorted([*self._own, *events], key=_revision)
            self._poke.set()

    def _dispatch(self, events: Sequence[Event]) -> None:
        self.head = events[-1].revision
        for sub in self.subscribers:
            sub.offer(events)
        if self.head - self.oldest + 1 > self.log.retention + self._slack:
            self._poke.set()

    async def _follow(self) -> None:
        while True:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for loses a cancellation
            # that comes as the poke is set (LISTEN/NOTIFY pokes often), and `stop` then
            # waited on this task for ever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.poll_interval):
                    await self._poke.wait()
            self._poke.clear()
            upto = self._own[0].revision - 1 if self._own else None
            events = await self.log.read(self.head, upto, _READ_LIMIT)
            fresh = [e for e in events if e.revision > self.head]
            full = len(events) == _READ_LIMIT
            # Revisions commit in order, so all before this process's own are there to read.
            lost = upto is not None and not full and (
                fresh[-1].revision if fresh else self.head) < upto
            if (fresh and fresh[0].revision != self.head + 1) or lost:
                # The log was compacted past what this process had seen: every watcher resumes.
                self.oldest, _ = await self.log.bounds()
                for sub in self.subscribers:
                    sub.overflowed = True
                    sub.wakeup.set()
            if fresh:
                self._dispatch(fresh)
            if lost:
                self.head = max(self.head, upto or 0)
            self._dispatch_own()
            if self.head - self.oldest + 1 > self.log.retention + self._slack:
                await self.compact()
            if full:
                self._poke.set()

    def _dispatch_own(self) -> None:
        """Dispatches this process's own events that now come next; the rest wait for a read
        of what precedes them."""
        own = [e for e in self._own if e.revision > self.head]
        run = 0
        while run < len(own) and own[run].revision == self.head + 1 + run:
            run += 1
        if run:
            self._dispatch(own[:run])
        self._own = own[run:]
        if self._own:
            self._poke.set()

    async def _tick_progress(self) -> None:
        step = self.settings.progress_interval / 4
        while True:
            await self.clock.sleep(step)
            now = self.clock.now()
            for sub in self.subscribers:
                if sub.progress_due <= now:
                    sub.wakeup.set()

    async def compact(self) -> None:
        self.oldest = await self.log.compact()

    async def watch(self, start_revision: int, matches: Matcher, area: str,
                    paced: bool = False) -> AsyncIterator[tuple[list[Event], int]]:
        """Yields (events, revision): batches of matching events, or ([], revision) as progress;
        the first progress message marks the end of the replay. A `paced` watch holds live
        events back while the watches together send faster than `send_rate`.

        Raises OutOfRange when start_revision is older than the oldest retained revision or
        beyond the head + 1; ResourceExhausted when this watcher's buffer overflows.
        """
        settings = self.settings
        interval = int(settings.progress_interval * MICROS)
        sub = Subscriber(matches, settings.buffer_events, self.clock.now() + interval, paced)
        self.subscribers.add(sub)
        try:
            live_from = self.head + 1
            cursor = live_from if start_revision <= 0 else start_revision
            self.oldest, head = await self.log.bounds()
            self._check_retained(cursor, area)
            _check_not_ahead(start_revision, head, self.oldest, area)
            while cursor < live_from:
                events = await self.log.read(cursor - 1, live_from - 1, settings.batch_events)
                if not events or events[0].revision != cursor:
                    self.oldest, _ = await self.log.bounds()
                    self._check_retained(cursor, area, compacted=True)
                cursor = events[-1].revision + 1
                matched = [e for e in events if matches(e)]
                if matched:
                    yield matched, events[-1].revision
                    sub.progress_due = self.clock.now() + interval
            cursor = max(cursor, live_from)
            # Tells the client the watch is live and where it stands, before any live event.
            yield [], cursor - 1
            sub.progress_due = self.clock.now() + interval
            while True:
                if sub.overflowed:
                    raise ResourceExhausted(
                        message="watcher fell too far behind; resume from your last revision + 1",
                        reason="WATCH_BUFFER_OVERFLOW",
                        area=area,
                        metadata={"buffer_events": str(sub.bound)},
                    )
                if sub.buffer:
                    wait = self._send_gap(sub) if sub.paced else 0.0
                    if wait > 0 and len(sub.buffer) < settings.batch_events:
                        # What arrives meanwhile shares this response: fewer, fuller sends.
                        await asyncio.sleep(wait)
                        if sub.overflowed:
                            continue
                    batch: list[Event] = []
                    while sub.buffer and len(batch) < settings.batch_events:
                        event = sub.buffer.popleft()
                        if event.revision >= cursor:
                            batch.append(event)
                    if batch:
                        yield batch, batch[-1].revision
                        sub.progress_due = self.clock.now() + interval
                        sub.sent_at = time.monotonic()
                    continue
                if sub.progress_due <= self.clock.now():
                    yield [], max(self.head, cursor - 1)
                    sub.progress_due = self.clock.now() + interval
                    continue
                if self.closed:
                    return
                sub.wakeup.clear()
                await sub.wakeup.wait()
        finally:
            self.subscribers.discard(sub)

    async def responses(self, start_revision: int, matches: Matcher, area: str,
                        *subjects: Subject, visibility: Visibility) -> AsyncIterator[bytes]:
        """`watch`, each batch (or progress message) as its Watch*Response's wire bytes
        (`encode_response`): what a Watch* RPC yields. Only events of resources the caller
        sees (`ownership`, by the area's `visibility`) are sent; a subject it does not see is
        NOT_FOUND."""
        sees = ownership.event_filter(visibility)
        if sees is not None:
            def visible_matches(event: Event, matches: Matcher = matches) -> bool:
                return sees(event.project) and matches(event)
            matches = visible_matches
        for subject in subjects:
            await self._require_known(subject, area)
        async for events, revision in self.watch(start_revision, matches, area, paced=True):
            for chunk, upto in split_batch(events, revision):
                yield encode_response(chunk, upto)

    async def _require_known(self, subject: Subject, area: str) -> None:
        if not subject.value:
            return
        seen = ownership.current()
        async with self.log.db.read() as conn:
            found = await subject.lookup(conn, subject.value)
        if found and seen.sees(getattr(found, "project", ""), subject.visibility):
            return
        if await self.log.mentions(subject.area, subject.kinds, subject.column, subject.value,
                                   seen.visible_projects(subject.visibility)):
            return
        kind = subject.resource_type
        raise NotFound(
            message=f"{kind} {subject.value!r} not found (nor any retained event of it)",
            reason=kind.upper().replace(" ", "_") + "_NOT_FOUND", area=area,
            resource_type=kind, resource_name=subject.value,
        )

    def _send_gap(self, sub: Subscriber) -> float:
        """Seconds `sub` waits before its next live response so that all live watches together
        send about `send_rate` responses a second (0: at once). A transport delay, so it reads
        the wall clock, not the server clock."""
        if not self.settings.send_rate:
            return 0.0
        gap = min(MAX_SEND_GAP, len(self.subscribers) / self.settings.send_rate)
        return sub.sent_at + gap - time.monotonic()

    def _check_retained(self, cursor: int, area: str, compacted: bool = False) -> None:
        if cursor < self.oldest or compacted:
            raise OutOfRange(
                message=(
                    f"revision {cursor} is no longer retained; re-read state and watch from "
                    f"revision {self.oldest}"
                ),
                reason="REVISION_COMPACTED",
                area=area,
                metadata={"oldest_revision": str(self.oldest)},
            )


def _check_not_ahead(start_revision: int, head: int, oldest: int, area: str) -> None:
    if start_revision > head + 1:
        raise OutOfRange(
            message=(
                f"revision {start_revision} is beyond the log's head {head}; watch from at "
                f"most revision {head + 1} (0: from now)"
            ),
            reason="REVISION_AHEAD",
            area=area,
            metadata={"head_revision": str(head), "oldest_revision": str(oldest)},
        )


def check_start_revision(value: int, area: str) -> None:
    """Validates a Watch* request's start_revision."""
    v = Violations(area)
    if value < 0:
        v.add("start_revision", "must not be negative")
    v.raise_if_any()


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def split_batch(events: Sequence[Event], revision: int,
                budget: int = PAGE_BYTES) -> Iterator[tuple[Sequence[Event], int]]:
    """A batch as the responses it is sent in: each ends before an event that would take its
    payloads past `budget` (one event always goes), so that every response fits a default
    client's 4 MiB whatever the events hold (a schedule's event may be ~1 MB). A response but
    the last stands at its last event's revision: a client resuming from there misses nothing."""
    start, total = 0, 0
    for i, event in enumerate(events):
        total += len(event.payload) + 8  # with the field's tag and length prefix
        if i > start and total > budget:
            yield events[start:i], events[i - 1].revision
            start, total = i, len(event.payload) + 8
    yield events[start:], revision


def encode_response(events: Sequence[Event], revision: int) -> bytes:
    """A Watch*Response as wire bytes, spliced from the stored payloads, so that no event is
    parsed or serialized again for each watcher it goes to.

    Every Watch*Response is `repeated <Event> events = 1; int64 revision = 2;`, and every stored
    payload is its event message serialized."""
    parts: list[bytes] = []
    for e in events:
        parts += (b"\x0a", _varint(len(e.payload)), e.payload)
    if revision:
        parts += (b"\x10", _varint(revision))
    return b"".join(parts)

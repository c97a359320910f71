"""The one source of time for the server: a system clock, and a manual clock for tests."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import AsyncIterator
from typing import Generic, Protocol, TypeVar

MICROS = 1_000_000


class Clock(Protocol):
    """Wall-clock time in integer microseconds since the Unix epoch, and sleeping against it."""

    def now(self) -> int: ...

    async def sleep_until(self, when: int) -> None: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Real time."""

    def now(self) -> int:
        return time.time_ns() // 1000

    async def sleep_until(self, when: int) -> None:
        delay = (when - self.now()) / MICROS
        if delay > 0:
            await asyncio.sleep(delay)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ManualClock:
    """Time that moves only when a test calls `advance` or `set`; sleepers wake as it passes."""

    def __init__(self, start: int) -> None:
        self._now = start
        self._sleepers: list[tuple[int, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now(self) -> int:
        return self._now

    async def sleep_until(self, when: int) -> None:
        if when <= self._now:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (when, next(self._seq), future))
        await future

    async def sleep(self, seconds: float) -> None:
        await self.sleep_until(self._now + int(seconds * MICROS))

    def advance(self, seconds: float) -> None:
        self.set(self._now + int(seconds * MICROS))

    def set(self, when: int) -> None:
        """Moves time to `when` (never backwards) and wakes every sleeper that is due."""
        self._now = max(self._now, when)
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)


async def sleep_until_woken(clock: Clock, when: int | None, wake: asyncio.Event) -> None:
    """Sleeps until `when` (µs, on `clock`; None: no limit) or until `wake` is set."""
    if when is None:
        await wake.wait()
        return
    waiters: set[asyncio.Future[object]] = {asyncio.ensure_future(wake.wait()),
                                            asyncio.ensure_future(clock.sleep_until(when))}
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


T = TypeVar("T")


class DueQueue(Generic[T]):
    """Items that fall due at instants on a clock, handed out in batches as they do (what the
    simulated drivers report)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._due: list[tuple[int, int, T]] = []
        self._seq = itertools.count()
        self._wake = asyncio.Event()

    def put(self, when: int, item: T) -> None:
        """`item` falls due at `when` (µs)."""
        heapq.heappush(self._due, (when, next(self._seq), item))
        self._wake.set()

    async def batches(self) -> AsyncIterator[list[T]]:
        """Every item, in batches, once due, in the order they fall due; runs forever."""
        while True:
            self._wake.clear()
            now = self.clock.now()
            ready = []
            while self._due and self._due[0][0] <= now:
                ready.append(heapq.heappop(self._due)[2])
            if ready:
                yield ready
                continue
            await sleep_until_woken(self.clock, self._due[0][0] if self._due else None,
                                    self._wake)

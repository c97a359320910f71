"""Background work the app owns: one asyncio task per worker, started and stopped with the app."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Awaitable, Callable


class BackgroundTask:
    """Runs `run()` as a named task from `start()` until `stop()` cancels it, in a context of
    its own: it runs as the server (`policy.SERVER`), whatever call may have started it (and,
    for a singleton, with its lease's fence: `leases`)."""

    name = "background"

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None

    def start(self, context: contextvars.Context | None = None) -> None:
        self._task = asyncio.create_task(self.run(), name=self.name,
                                         context=context or contextvars.Context())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run(self) -> None:
        raise NotImplementedError


class Job(BackgroundTask):
    """A background task that runs `work()`: one part of a component's work, started and
    stopped apart from the rest (a singleton part, under a lease)."""

    def __init__(self, name: str, work: Callable[[], Awaitable[None]]) -> None:
        super().__init__()
        self.name = name
        self._work = work

    async def run(self) -> None:
        await self._work()

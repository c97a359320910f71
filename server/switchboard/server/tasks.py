"""Background work the app owns: one asyncio task per worker, started and stopped with the app."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars


class BackgroundTask:
    """Runs `run()` as a named task from `start()` until `stop()` cancels it, in a context of
    its own: it runs as the server (`policy.SERVER`), whatever call may have started it."""

    name = "background"

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=self.name,
                                         context=contextvars.Context())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run(self) -> None:
        raise NotImplementedError

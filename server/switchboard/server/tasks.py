"""Background work the app owns: one asyncio task per worker, started and stopped with the app."""

from __future__ import annotations

import asyncio
import contextlib


class BackgroundTask:
    """Runs `run()` as a named task from `start()` until `stop()` cancels it."""

    name = "background"

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=self.name)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run(self) -> None:
        raise NotImplementedError

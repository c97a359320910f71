"""Real server processes for tests: `python -m switchboard.server` with JSON logs on stderr,
read line by line so a test can wait for what a process logged."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

QUICK = ("--log-format", "json", "--log-level", "info", "--watch-poll-interval", "0.05",
         "--shutdown-grace", "1")
"""Arguments every test process gets: JSON logs (read by `ServerProcess`), quick polling and a
short drain."""


class ServerProcess:
    """A running server command and what it logged (JSON lines)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[dict[str, Any]] = []
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())
        self.port = 0
        self.pids: list[int] = []
        """The workers' process ids, for a `--workers` command."""

    async def _read(self) -> None:
        assert self.process.stderr is not None
        async for raw in self.process.stderr:
            try:
                line = json.loads(raw)
            except ValueError:
                line = {"event": raw.decode(errors="replace")}
            async with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        async with self._changed:
            self._changed.notify_all()

    def found(self, event: str, **fields: Any) -> list[dict[str, Any]]:
        """The lines logged so far of `event` with these fields."""
        return [line for line in self.lines if line.get("event") == event
                and all(line.get(k) == v for k, v in fields.items())]

    async def logged(self, event: str, count: int = 1, within: float = 30,
                     **fields: Any) -> list[dict[str, Any]]:
        """Waits (at most `within` s) until `count` lines of `event` with these fields are
        logged."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(
                lambda: len(self.found(event, **fields)) >= count or self._reader.done())
        found = self.found(event, **fields)
        assert len(found) >= count, f"no {count} x {event} {fields}: {self.lines[-20:]}"
        return found

    async def logged_any(self, *events: str, within: float = 30) -> None:
        """Waits (at most `within` s) until one of `events` is logged."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(
                lambda: any(self.found(e) for e in events) or self._reader.done())
        assert any(self.found(e) for e in events), f"none of {events}: {self.lines[-20:]}"

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def send(self, signum: int) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signum)

    async def stop(self, signum: int = signal.SIGTERM) -> int:
        """`signum` (SIGTERM: a clean stop) unless it has exited; its exit status."""
        self.send(signum)
        if signum != signal.SIGCONT:
            self.send(signal.SIGCONT)  # a stopped process acts on nothing else
        async with asyncio.timeout(30):
            code = await self.process.wait()
            await self._reader
        return code


@asynccontextmanager
async def server_process(database_url: str, *args: str,
                         ready: str = "serving") -> AsyncIterator[ServerProcess]:
    """A server command on port 0 of loopback on `database_url`, once it has logged `ready`
    (whose `port` is the one it serves); stopped at the end if the test has not."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "switchboard.server", "--host", "127.0.0.1", "--port", "0",
        "--database-url", database_url, *QUICK, *args, stderr=asyncio.subprocess.PIPE)
    server = ServerProcess(process)
    try:
        server.port = (await server.logged(ready))[0]["port"]
        yield server
    finally:
        await server.stop()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True

"""Shared fixtures: the real server in-process on an ephemeral loopback port, a manual clock, and
a fresh database per test on SQLite and, when SWITCHBOARD_TEST_POSTGRES_URL names a server
(`.ci/run` starts one), on PostgreSQL."""

from __future__ import annotations

import asyncio
import io
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from switchboard.client import AsyncClient
from switchboard.server.app import App
from switchboard.server.clock import ManualClock
from switchboard.server.config import Settings

from support import START

POSTGRES_URL = os.environ.get("SWITCHBOARD_TEST_POSTGRES_URL", "")

BACKENDS = [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.skipif(
        not POSTGRES_URL, reason="SWITCHBOARD_TEST_POSTGRES_URL not set")),
]


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A new, empty database for one test."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'switchboard.db'}"
        return
    name = "sb_" + uuid.uuid4().hex[:12]
    admin = POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base, _, _ = POSTGRES_URL.rpartition("/")
    yield f"{base}/{name}"
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        host="127.0.0.1", port=0, database_url=database_url, watch_poll_interval=0.05,
        shutdown_grace=1.0,
    )


StartServer = Callable[..., Awaitable[App]]


@pytest.fixture
async def start_server(settings: Settings, clock: ManualClock) -> AsyncIterator[StartServer]:
    """Starts servers (with setting overrides); stops every one at the end of the test."""
    apps: list[App] = []

    async def start(**overrides: Any) -> App:
        app = App(replace(settings, **overrides), clock=clock)
        await app.start()
        apps.append(app)
        return app

    yield start
    for app in apps:
        if app.server is not None and not app.hub.closed:
            await stopped(app)


STOP_SECONDS = 30
"""How long a server may take to stop at the end of a test before the test fails, showing
what every task was waiting on (a stop that hangs would otherwise hang the whole run)."""


async def stopped(app: App) -> None:
    stopping = asyncio.ensure_future(app.stop(grace=0))
    done, _ = await asyncio.wait({stopping}, timeout=STOP_SECONDS)
    if done:
        stopping.result()
        return
    stacks = io.StringIO()
    for task in asyncio.all_tasks():
        print(f"--- {task.get_name()}", file=stacks)
        for frame in task.get_stack(limit=12):
            code = frame.f_code
            print(f"  {code.co_filename}:{frame.f_lineno} {code.co_name}", file=stacks)
    stopping.cancel()
    pytest.fail(f"the server did not stop within {STOP_SECONDS} s; its tasks:\n"
                f"{stacks.getvalue()}")


@pytest.fixture
async def server(start_server: StartServer) -> App:
    return await start_server()


@pytest.fixture
async def client(server: App) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(f"127.0.0.1:{server.port}") as c:
        yield c

"""Cross-replica watch wake-up (PostgreSQL LISTEN/NOTIFY): two Apps on one database, whose
polls are too rare to matter unless a test says otherwise, so that only a notification can
bring a write through A to a watch on B."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from switchboard.client import AsyncClient
from switchboard.reservation.v1 import reservation_pb2 as pb
from switchboard.server.app import App

from conftest import StartServer
from support import Collector, make_pool, reserve

NEVER = 3600.0
"""A poll interval no test outlasts."""


@pytest.fixture(autouse=True)
def _postgresql_only(database_url: str) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("replicas share one PostgreSQL database")


@pytest.fixture
async def replicas(start_server: StartServer) -> AsyncIterator[tuple[AsyncClient, App]]:
    """A client of replica A, and replica B; neither polls."""
    a = await start_server(watch_poll_interval=NEVER)
    b = await start_server(watch_poll_interval=NEVER)
    async with AsyncClient(f"127.0.0.1:{a.port}") as client:
        yield client, b


async def _watch(app: App) -> AsyncIterator[Collector]:
    async with AsyncClient(f"127.0.0.1:{app.port}") as client:
        watch = await Collector(client.reservations.WatchReservations(
            pb.WatchReservationsRequest())).live()
        try:
            yield watch
        finally:
            await watch.close()


async def test_a_write_through_a_wakes_a_watch_on_b(
        replicas: tuple[AsyncClient, App]) -> None:
    a, b = replicas
    await make_pool(a, cores=10)
    async for watch in _watch(b):
        for count in (1, 2, 3):
            await reserve(a, 1, 2, cores=1)
            await watch.wait_for(lambda c, count=count: len(c.events) == count)
        assert [e.reservation.pool_id for e in watch.events] == ["pool-a"] * 3


async def test_listener_killed_reconnects_and_wakes_again(
        replicas: tuple[AsyncClient, App], database_url: str) -> None:
    a, b = replicas
    assert b.hub.listener is not None
    killed = b.hub.listener.pid
    assert killed is not None
    await make_pool(a, cores=10)
    async for watch in _watch(b):
        conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
        try:
            assert await conn.fetchval("SELECT pg_terminate_backend($1)", killed)
        finally:
            await conn.close()
        async with asyncio.timeout(30):  # until B listens on a new connection
            while b.hub.listener.pid in (None, killed):  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        await reserve(a, 1, 2, cores=1)  # written after B listens again: only NOTIFY wakes it
        await watch.wait_for(lambda c: len(c.events) == 1)


async def test_polling_delivers_what_no_notification_announces(
        start_server: StartServer) -> None:
    a = await start_server(watch_poll_interval=NEVER, watch_poll_only=True)  # sends no NOTIFY
    b = await start_server(watch_poll_interval=0.05)
    assert a.hub.listener is None and b.hub.listener is not None
    async with AsyncClient(f"127.0.0.1:{a.port}") as client:
        await make_pool(client, cores=10)
        async for watch in _watch(b):
            await reserve(client, 1, 2, cores=1)
            await watch.wait_for(lambda c: len(c.events) == 1)

"""`--workers`: one command runs several server processes on one port. Real processes: the
supervisor (`python -m switchboard.server --workers 2`) and its workers, on one SQLite file
or one PostgreSQL database, called over many connections that the kernel spreads over them."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from processes import ServerProcess, alive, server_process
from test_participant_flow import (
    DEPLOYED,
    NO_ERROR,
    acm_of,
    composition,
    names,
    participants,
    two_participants,
)

from switchboard.client import AsyncClient
from switchboard.participant.v1 import participant_pb2
from switchboard.participant.v1 import participant_pb2_grpc as ppb_grpc
from switchboard.reservation.v1 import reservation_pb2 as pb
from switchboard.server.app import App
from switchboard.server.clock import ManualClock
from switchboard.server.config import Settings, parse_settings
from switchboard.server.timestamps import from_micros

from support import HOUR, Collector

CAPACITY = 100
CONNECTIONS = 32
"""Connections the creates go over: all 32 on one of two workers has odds of 2^-31."""
CALLS_PER_CONNECTION = 8
CREATE = "/switchboard.reservation.v1.ReservationService/CreateReservation"
SEPARATE = [("grpc.use_local_subchannel_pool", 1)]
"""Channel options that give each channel a connection of its own."""


@asynccontextmanager
async def workers(database_url: str, n: int = 2) -> AsyncIterator[ServerProcess]:
    """`--workers n` on port 0 (the first worker picks the port, the others share it), until
    every worker serves (`pids`: theirs); stopped at the end if the test has not."""
    async with server_process(database_url, "--workers", str(n),
                              ready="workers serving") as supervisor:
        supervisor.pids = supervisor.found("workers serving")[0]["pids"]
        yield supervisor


async def health(target: str, service: str = "") -> int:
    async with grpc.aio.insecure_channel(target, options=SEPARATE) as channel:
        response = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=10)
    return int(response.status)


async def test_two_workers_share_the_port_admit_exactly_and_stop_together(
        database_url: str) -> None:
    """Creates over 32 connections reach both workers; exactly the capacity is admitted; every
    watch, wherever it is served, sees every reservation's revision in order with no gap; and
    SIGTERM stops both workers cleanly."""
    async with workers(database_url) as supervisor:
        assert len(set(supervisor.pids)) == 2
        assert await health(supervisor.target) == health_pb2.HealthCheckResponse.SERVING
        now = time.time_ns() // 1000
        async with AsyncClient(supervisor.target) as client:
            await client.reservations.CreatePool(pb.CreatePoolRequest(
                pool=pb.Pool(id="pool-a", provider="openstack", availability_zone="az1")))
            await client.reservations.IncreaseCapacity(pb.IncreaseCapacityRequest(
                pool_id="pool-a", resources=pb.Resources(cores=CAPACITY),
                start_time=from_micros(now)))
        channels = [grpc.aio.insecure_channel(supervisor.target, options=SEPARATE)
                    for _ in range(CONNECTIONS)]
        clients = [AsyncClient(channel=channel) for channel in channels]
        try:
            watches = [await Collector(c.reservations.WatchReservations(
                pb.WatchReservationsRequest())).live() for c in clients[:4]]
            request = pb.CreateReservationRequest(reservation=pb.Reservation(
                pool_id="pool-a", start_time=from_micros(now + HOUR),
                end_time=from_micros(now + 2 * HOUR), resources=pb.Resources(cores=1)))

            async def creates(c: AsyncClient) -> list[grpc.StatusCode]:
                codes = []
                for _ in range(CALLS_PER_CONNECTION):
                    try:
                        await c.reservations.CreateReservation(request)
                        codes.append(grpc.StatusCode.OK)
                    except grpc.aio.AioRpcError as error:
                        codes.append(error.code())
                return codes

            codes = [code for per in await asyncio.gather(*(creates(c) for c in clients))
                     for code in per]
            assert set(codes) == {grpc.StatusCode.OK, grpc.StatusCode.RESOURCE_EXHAUSTED}
            assert codes.count(grpc.StatusCode.OK) == CAPACITY

            capacity = await clients[0].reservations.QueryCapacity(pb.QueryCapacityRequest(
                pool_ids=["pool-a"], start_time=from_micros(now + HOUR),
                end_time=from_micros(now + 2 * HOUR)))
            assert capacity.pools[0].minimum.reserved.cores == CAPACITY
            listed = await clients[1].reservations.ListReservations(
                pb.ListReservationsRequest(pool_id="pool-a", page_size=1000))
            assert sum(r.resources.cores for r in listed.reservations) == CAPACITY

            replay = Collector(clients[2].reservations.WatchReservations(
                pb.WatchReservationsRequest(start_revision=1)))
            await replay.wait_for(lambda c: len(c.events) >= CAPACITY)
            await replay.close()
            made = [e.revision for e in replay.events]
            assert {e.reservation.id for e in replay.events} == {
                r.id for r in listed.reservations}
            assert made == list(range(made[0], made[0] + CAPACITY))  # nothing else wrote
            for watch in watches:
                await watch.wait_for(lambda c: len(c.events) >= CAPACITY)
                assert [e.revision for e in watch.events] == made
                await watch.close()

            served = await supervisor.logged("rpc", len(codes), method=CREATE)
            assert {line["pid"] for line in served} == set(supervisor.pids)
        finally:
            for channel in channels:
                await channel.close()

        assert await supervisor.stop() == 0
        stopped = await supervisor.logged("stopped", 2)
        assert {line["pid"] for line in stopped} == set(supervisor.pids)
        assert not any(alive(pid) for pid in supervisor.pids)


async def test_a_worker_that_dies_stops_the_others_and_the_command_fails(
        tmp_path: Any) -> None:
    async with workers(f"sqlite+aiosqlite:///{tmp_path / 'switchboard.db'}") as supervisor:
        first, second = supervisor.pids
        os.kill(second, signal.SIGKILL)
        async with asyncio.timeout(30):
            assert await supervisor.process.wait() == 1
        await supervisor.logged("worker exited unexpectedly; stopping the others", pid=second)
        await supervisor.logged("stopped", pid=first)
        assert not alive(first)


async def test_the_participant_protocol_works_through_every_worker(tmp_path: Any) -> None:
    """Participants connected to one worker are online on all of them, and operations
    started through connections spread over the workers reach them and complete."""
    async with workers(f"sqlite+aiosqlite:///{tmp_path / 'switchboard.db'}") as supervisor:
        services = participant_pb2.DESCRIPTOR.services_by_name
        for name in ("AutomationCompositionService", "ParticipantProtocolService"):
            assert await health(supervisor.target, services[name].full_name) == \
                health_pb2.HealthCheckResponse.SERVING
        journal: list[tuple[str, str, str]] = []
        channels = [grpc.aio.insecure_channel(supervisor.target, options=SEPARATE)
                    for _ in range(CONNECTIONS)]
        try:
            async with participants(supervisor.target, *two_participants(journal)), \
                    AsyncClient(supervisor.target) as client, acm_of(client) as via:
                stubs = [ppb_grpc.AutomationCompositionServiceStub(c) for c in channels]
                for stub in stubs:  # over both workers (all on one: odds 2^-31)
                    listed = await stub.ListParticipants(
                        participant_pb2.ListParticipantsRequest())
                    assert {p.id: p.online for p in listed.participants} == {
                        "p1": True, "p2": True}
                await via.primed(composition())
                ids = [f"inst-{n}" for n in range(8)]
                for instance_id in ids:
                    await via.instance(instance_id)
                started = await asyncio.gather(*(
                    stubs[n].DeployInstance(participant_pb2.DeployInstanceRequest(
                        instance_id=instance_id)) for n, instance_id in enumerate(ids)))
                done = [await via.settles(s.instance) for s in started]
                assert {(i.deploy_state, i.result) for i in done} == {(DEPLOYED, NO_ERROR)}
                assert len(names(journal, "deploy")) == 3 * len(ids)
        finally:
            for c in channels:
                await c.close()


async def test_a_worker_is_not_serving_until_told(settings: Settings,
                                                  clock: ManualClock) -> None:
    app = App(replace(settings, workers=2), clock=clock)
    port = await app.start(ready=False)
    try:
        target = f"127.0.0.1:{port}"
        assert await health(target) == health_pb2.HealthCheckResponse.NOT_SERVING
        await app.ready()
        assert await health(target) == health_pb2.HealthCheckResponse.SERVING
    finally:
        await app.stop(grace=0)


def test_workers_need_a_shared_database(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--workers", "2", "--database-url", "sqlite+aiosqlite://"],
                 ["--workers", "0"], ["--workers", "257"]):
        with pytest.raises(SystemExit) as failed:
            parse_settings(argv, {})
        assert failed.value.code == 2
        assert "--workers (or SWITCHBOARD_WORKERS)" in capsys.readouterr().err
    assert parse_settings([], {"SWITCHBOARD_WORKERS": "3"}).workers == 3

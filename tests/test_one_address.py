"""One client, several replicas: `AsyncClient` and `Client` given the addresses of three
server replicas on one PostgreSQL database spread their calls over all three (round_robin),
every service works through them, a watch through them sees the writes made through each
replica, a stopped replica is skipped, and TLS checks the one server name given for all; bad
address lists are refused before anything connects."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from test_allocation_flow import POOL, TWO_MEDIUM
from test_participant_flow import (
    DEPLOYED,
    NO_ERROR,
    acm_of,
    composition,
    names,
    participants,
    two_participants,
)
from test_scheduler_flow import schedule, vnf

from switchboard.allocation.v1 import allocation_pb2 as apb
from switchboard.client import AsyncClient, Client, TlsConfig
from switchboard.client._channel import channel_spec
from switchboard.cmhandle.v1 import cmhandle_pb2 as cpb
from switchboard.reservation.v1 import reservation_pb2 as pb
from switchboard.scheduler.v1 import scheduler_pb2 as spb
from switchboard.server.app import App
from switchboard.server.clock import ManualClock

from certs import Ca
from conftest import BACKENDS, StartServer
from support import Collector, allocate, detail, make_pool, reserve
from tokens import Issuer, authorizing

replicated = pytest.mark.parametrize("database_url", [BACKENDS[1]], indirect=True)


async def replicas(start_server: StartServer, count: int = 3, **overrides: object) -> list[App]:
    return [await start_server(**overrides) for _ in range(count)]


def addresses(apps: list[App], host: str = "127.0.0.1") -> list[str]:
    return [f"{host}:{app.port}" for app in apps]


# Addresses ------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [
    [], ["127.0.0.1"], ["127.0.0.1:0"], ["127.0.0.1:x"], ["::1:50051"], ["[nothere]:1"],
    ["dns:///localhost:1"], ["127.0.0.1:1,127.0.0.1:2"], ["name.invalid:50051"],
    ["127.0.0.1:1", "127.0.0.1:1"], "",
])
def test_a_bad_address_list_is_refused_naming_the_address(bad: list[str] | str) -> None:
    for make in (AsyncClient, Client):
        with pytest.raises(ValueError, match="target") as refused:
            make(bad)
        for address in set(bad) if isinstance(bad, list) else ():
            assert repr(address) in str(refused.value)


def test_every_bad_address_is_named_at_once() -> None:
    with pytest.raises(ValueError) as refused:
        Client(["127.0.0.1:1", "127.0.0.1:0", "localhost:2", "::1:3"])
    message = str(refused.value)
    assert "'127.0.0.1:0'" in message and "'::1:3'" in message
    assert "'127.0.0.1:1'" not in message and "'localhost:2'" not in message


def test_addresses_become_one_balanced_target() -> None:
    v4 = channel_spec(["127.0.0.1:1", "10.0.0.2:2"], None, None)
    assert v4.target == "ipv4:127.0.0.1:1,10.0.0.2:2"
    assert dict(v4.options)["grpc.service_config"] == (
        '{"loadBalancingConfig": [{"round_robin": {}}]}')
    mixed = channel_spec(("[::1]:1", "127.0.0.1:2"), None, None)
    assert mixed.target == "ipv6:[::1]:1,[::ffff:127.0.0.1]:2"
    assert "grpc.service_config" in dict(channel_spec("dns:///localhost:1", None, None).options)
    assert channel_spec("localhost:1", None, None).options == ()  # as before: pick_first
    named = channel_spec(["localhost:1"], TlsConfig(server_name="sb.test"), None)
    assert dict(named.options)["grpc.ssl_target_name_override"] == "sb.test"


async def test_a_dns_target_and_a_list_of_one_reach_the_server(server: App) -> None:
    for target in (f"dns:///localhost:{server.port}", [f"localhost:{server.port}"]):
        async with AsyncClient(target) as client:
            await client.reservations.ListPools(pb.ListPoolsRequest(), timeout=5)


# Three replicas -------------------------------------------------------------------------------


@replicated
async def test_calls_are_spread_over_every_replica(start_server: StartServer) -> None:
    # Each replica admits `burst` calls of the (anonymous) caller and then refuses with
    # RATE_LIMITED: the clock never moves, so no token comes back. Three times `burst` calls
    # succeeding through one client means each replica served its `burst`.
    burst = 4
    apps = await replicas(start_server, request_rate_per_principal=0.001,
                          request_burst_per_principal=burst)
    served, refused = 0, 0
    async with AsyncClient(addresses(apps)) as client, asyncio.timeout(10):
        while served < 3 * burst:
            try:
                await client.reservations.ListPools(pb.ListPoolsRequest())
                served += 1
            except grpc.aio.AioRpcError as error:
                assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error
                refused += 1
        with pytest.raises(grpc.aio.AioRpcError) as exhausted:
            await client.reservations.ListPools(pb.ListPoolsRequest())
        assert detail(exhausted.value, error_details_pb2.ErrorInfo).reason == "RATE_LIMITED"
    # pick_first would have sent every call to one replica: `burst` served, then refusals.
    assert served == 3 * burst


@replicated
async def test_every_service_works_through_one_client(start_server: StartServer) -> None:
    a, b, c = await replicas(start_server)
    journal: list[tuple[str, str, str]] = []
    async with AsyncClient(addresses([a, b, c])) as client:
        await make_pool(client, **POOL)
        reservation = await reserve(client, 0, 5, **TWO_MEDIUM)
        instance = await allocate(client, reservation_id=reservation.id)
        await client.schedules.CreateSchedule(spb.CreateScheduleRequest(
            schedule=schedule("s1", [vnf("a", "ne1")], [(1, 5)])))
        registered = await client.cm_inventory.UpdateRegistration(cpb.UpdateRegistrationRequest(
            dmi_plugin="127.0.0.1:1", created=[cpb.NewCmHandle(id="h1")]))
        assert [r.error for r in registered.created] == [
            cpb.RegistrationError.REGISTRATION_ERROR_UNSPECIFIED]
        for _ in range(3):  # each read through the next replica: all see every write
            got = await client.reservations.GetReservation(pb.GetReservationRequest(
                reservation_id=reservation.id))
            assert got.reservation.resources.cores == TWO_MEDIUM["cores"]
            assert (await client.allocations.GetInstance(apb.GetInstanceRequest(
                instance_id=instance.id))).instance.reservation_id == reservation.id
            assert (await client.schedules.GetSchedule(spb.GetScheduleRequest(
                schedule_id="s1"))).schedule.id == "s1"
            assert (await client.cm_handles.GetCmHandle(cpb.GetCmHandleRequest(
                cm_handle_id="h1"))).cm_handle.id == "h1"
        # Participants given the three addresses too; prime, instance and deploy through the
        # one client.
        async with participants(addresses([a, b, c]), *two_participants(journal)), \
                acm_of(client) as via:
            await via.primed(composition())
            await via.instance()
            deployed = await via.act("Deploy")
            assert (deployed.deploy_state, deployed.result) == (DEPLOYED, NO_ERROR)
            assert names(journal, "deploy") == ["e0", "e1", "e2"]



@replicated
async def test_a_watch_through_the_client_sees_the_writes_through_each_replica(
        start_server: StartServer) -> None:
    apps = await replicas(start_server)
    async with AsyncClient(addresses(apps)) as client:
        watch = await Collector(client.reservations.WatchCapacity(
            pb.WatchCapacityRequest())).live()
        for n, app in enumerate(apps):  # one write through each replica, on its own address
            async with AsyncClient(f"127.0.0.1:{app.port}") as direct:
                await direct.reservations.CreatePool(pb.CreatePoolRequest(pool=pb.Pool(
                    id=f"pool-{n}", provider="openstack", availability_zone="az")))
        await watch.wait_for(lambda w: len(w.events) >= 3)
        await watch.close()
    assert [e.pool.id for e in watch.events] == ["pool-0", "pool-1", "pool-2"]
    revisions = [e.revision for e in watch.events]
    assert revisions == sorted(set(revisions))  # in order, none repeated


@replicated
async def test_calls_go_on_through_the_others_when_a_replica_stops(
        start_server: StartServer) -> None:
    apps = await replicas(start_server)
    async with AsyncClient(addresses(apps)) as client:
        await make_pool(client)
        await apps[1].stop()
        for _ in range(12):
            await reserve(client, 1, 2, cores=1)
        listed = await client.reservations.ListReservations(pb.ListReservationsRequest(
            pool_id="pool-a"))
        assert len(listed.reservations) == 12
    async with AsyncClient(f"127.0.0.1:{apps[1].port}") as stopped:
        with pytest.raises(grpc.aio.AioRpcError) as down:
            await stopped.reservations.ListPools(pb.ListPoolsRequest(), timeout=5)
        assert down.value.code() == grpc.StatusCode.UNAVAILABLE


@replicated
async def test_the_blocking_client_spreads_its_calls_too(start_server: StartServer) -> None:
    burst = 3
    apps = await replicas(start_server, request_rate_per_principal=0.001,
                          request_burst_per_principal=burst)

    def blocking() -> tuple[int, int]:
        served = refused = 0
        with Client(addresses(apps, host="localhost")) as client:
            while served < 3 * burst and refused < 100:
                try:
                    client.reservations.ListPools(pb.ListPoolsRequest())
                    served += 1
                except grpc.RpcError as error:
                    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error
                    refused += 1
        return served, refused

    served, _ = await asyncio.to_thread(blocking)
    assert served == 3 * burst


# TLS ------------------------------------------------------------------------------------------


@replicated
async def test_tls_checks_the_one_server_name_and_tokens_still_work(
        start_server: StartServer, tmp_path: Path, clock: ManualClock) -> None:
    ca, issuer = Ca(), Issuer()
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(ca.pem)
    cert, key = ca.issue("localhost", server=True).write(tmp_path, "server")
    policy = '[principals]\nalice = ["viewer"]\n'
    apps = await replicas(start_server, tls_cert_file=str(cert), tls_key_file=str(key),
                          **authorizing(tmp_path, issuer, policy))
    token = issuer.token("alice", clock.now())
    # An address list names no one host: without a server name, no certificate matches.
    async with AsyncClient(addresses(apps), tls=TlsConfig(ca=ca_file), token=token) as client:
        with pytest.raises(grpc.aio.AioRpcError) as unnamed:
            await client.reservations.ListPools(pb.ListPoolsRequest(), timeout=5)
        assert unnamed.value.code() == grpc.StatusCode.UNAVAILABLE
    async with AsyncClient(addresses(apps), tls=TlsConfig(ca=ca_file, server_name="wrong.test"),
                           token=token) as client:
        with pytest.raises(grpc.aio.AioRpcError) as wrong:
            await client.reservations.ListPools(pb.ListPoolsRequest(), timeout=5)
        assert wrong.value.code() == grpc.StatusCode.UNAVAILABLE
    named = TlsConfig(ca=ca_file, server_name="localhost")
    async with AsyncClient(addresses(apps), tls=named, token=token) as client:
        for _ in range(6):  # twice through each replica
            await client.reservations.ListPools(pb.ListPoolsRequest())

    def blocking() -> None:
        with Client(addresses(apps), tls=named, token=token) as client:
            for _ in range(6):
                client.reservations.ListPools(pb.ListPoolsRequest())

    await asyncio.to_thread(blocking)
    async with AsyncClient(addresses(apps), tls=named) as anonymous:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await anonymous.reservations.ListPools(pb.ListPoolsRequest())
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED

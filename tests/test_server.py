"""The server around the service: health, reflection, graceful shutdown, restart on the same
database (and port), configuration, and the per-RPC log line."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import grpc
import pytest
import structlog
from google.protobuf import descriptor_pool
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from switchboard.client import AsyncClient
from switchboard.client.aio import ResumingWatch
from switchboard.reservation.v1 import reservation_pb2 as pb
from switchboard.server.app import SERVICES, App
from switchboard.server.config import (
    CHOICES,
    RULES,
    Settings,
    env_name,
    flag_name,
    parse_settings,
)

from certs import Ca
from support import Collector, make_pool, reserve
from tokens import Issuer

SERVICE = "switchboard.reservation.v1.ReservationService"
HEALTH = "grpc.health.v1.Health"
REFLECTION = "grpc.reflection.v1alpha.ServerReflection"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING

# Reconnect quickly after a server restart instead of after gRPC's default 1 s+ backoff.
FAST_RECONNECT = [
    ("grpc.initial_reconnect_backoff_ms", 50),
    ("grpc.min_reconnect_backoff_ms", 50),
    ("grpc.max_reconnect_backoff_ms", 250),
]


def target(app: App) -> str:
    return f"127.0.0.1:{app.port}"


@contextlib.asynccontextmanager
async def channel_to(app: App) -> AsyncIterator[grpc.aio.Channel]:
    channel = grpc.aio.insecure_channel(target(app))
    try:
        yield channel
    finally:
        await channel.close()


# Health ----------------------------------------------------------------------------------------


async def test_health_check_serving(server: App) -> None:
    async with channel_to(server) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for name in ("", *SERVICES):
            response = await health.Check(health_pb2.HealthCheckRequest(service=name))
            assert response.status == SERVING, name
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"))
        assert failure.value.code() == grpc.StatusCode.NOT_FOUND


# Reflection ------------------------------------------------------------------------------------


async def test_reflection_lists_services(server: App) -> None:
    async with channel_to(server) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        call = stub.ServerReflectionInfo(iter([
            reflection_pb2.ServerReflectionRequest(list_services=""),
            reflection_pb2.ServerReflectionRequest(file_containing_symbol=SERVICE),
        ]))
        responses = [r async for r in call]
    assert len(responses) == 2
    listed = {s.name for s in responses[0].list_services_response.service}
    assert listed == {*SERVICES, HEALTH, REFLECTION}
    assert responses[1].file_descriptor_response.file_descriptor_proto, responses[1]


Methods = dict[str, tuple[str, str, bool]]


def _methods(service: Any) -> Methods:
    return {m.name: (m.input_type.full_name, m.output_type.full_name, m.server_streaming)
            for m in service.methods}


def _describe_over_reflection(address: str) -> tuple[set[str], dict[str, Methods]]:
    """Blocking: the services the server lists, and each of our services' methods as resolved
    purely from the descriptors the server sends."""
    with grpc.insecure_channel(address) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        services = set(database.get_services())
        pool = DescriptorPool(database)
        methods = {name: _methods(pool.FindServiceByName(name)) for name in SERVICES}
    return services, methods


async def test_reflection_descriptors_match_the_proto(server: App) -> None:
    # The descriptor database is a blocking client; the server runs on this event loop.
    services, described = await asyncio.to_thread(_describe_over_reflection, target(server))
    assert services == {*SERVICES, HEALTH, REFLECTION}
    for name in SERVICES:
        expected = descriptor_pool.Default().FindServiceByName(name)
        assert described[name] == _methods(expected), name
    methods = described[SERVICE]
    assert methods["WatchReservations"][2] is True
    assert methods["CreateReservation"] == (
        "switchboard.reservation.v1.CreateReservationRequest",
        "switchboard.reservation.v1.CreateReservationResponse",
        False,
    )


# Graceful shutdown -----------------------------------------------------------------------------


async def test_graceful_shutdown(server: App) -> None:
    async with channel_to(server) as channel:
        reservations = AsyncClient(channel=channel).reservations
        health_watch = health_pb2_grpc.HealthStub(channel).Watch(
            health_pb2.HealthCheckRequest(service=SERVICE))
        assert (await health_watch.read()).status == SERVING

        watch = reservations.WatchReservations(pb.WatchReservationsRequest())
        first = await watch.read()
        assert first != grpc.aio.EOF
        assert not first.events  # the progress message: the watch is live

        stopping = asyncio.create_task(server.stop(grace=2))
        async with asyncio.timeout(5):
            assert (await health_watch.read()).status == NOT_SERVING
            # The watch stream ends by itself, with OK, well before the grace period runs out.
            rest = []
            while (response := await watch.read()) != grpc.aio.EOF:
                rest.append(response)
            assert await watch.code() == grpc.StatusCode.OK
        assert all(not r.events for r in rest)
        health_watch.cancel()
        async with asyncio.timeout(5):
            await stopping
        assert server.hub.closed

        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await reservations.ListPools(pb.ListPoolsRequest(), timeout=5)
        assert failure.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_health_watch_sees_not_serving_and_ends_at_once_on_shutdown(server: App) -> None:
    """An open Health/Watch does not hold shutdown for the grace period: it gets NOT_SERVING
    and ends with OK, and stop returns long before the (30 s) grace is up."""
    async with channel_to(server) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        watches = [health.Watch(health_pb2.HealthCheckRequest(service=name))
                   for name in ("", SERVICE)]
        for watch in watches:
            assert (await watch.read()).status == SERVING
        async with asyncio.timeout(10):  # far under the grace: stop did not wait for it
            await server.stop(grace=30)
            for watch in watches:
                assert (await watch.read()).status == NOT_SERVING
                assert await watch.read() == grpc.aio.EOF
                assert await watch.code() == grpc.StatusCode.OK


async def test_stop_without_grace_argument_uses_setting(start_server: Any) -> None:
    app = await start_server(shutdown_grace=0.5)
    async with channel_to(app) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        assert (await health.Check(health_pb2.HealthCheckRequest())).status == SERVING
        watch = AsyncClient(channel=channel).reservations.WatchReservations(
            pb.WatchReservationsRequest())
        await watch.read()
        with structlog.testing.capture_logs() as logs:
            async with asyncio.timeout(5):
                await app.stop()
        assert await watch.code() == grpc.StatusCode.OK
        stopping = [e for e in logs if e["event"] == "stopping"]
        assert [e["grace_seconds"] for e in stopping] == [0.5]
        assert logs[-1]["event"] == "stopped"
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await health.Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert failure.value.code() == grpc.StatusCode.UNAVAILABLE


# Restart ---------------------------------------------------------------------------------------


async def test_restart_keeps_state_and_history(start_server: Any) -> None:
    first = await start_server()
    async with AsyncClient(target(first)) as client:
        await make_pool(client, cores=10)
        created = await reserve(client, 1, 2, cores=4)
    await first.stop(grace=1)

    second = await start_server()
    async with AsyncClient(target(second)) as client:
        got = await client.reservations.GetReservation(
            pb.GetReservationRequest(reservation_id=created.id))
        assert got.reservation == created

        capacity = await Collector(client.reservations.WatchCapacity(
            pb.WatchCapacityRequest(start_revision=1))).live()
        assert [(e.revision, e.type) for e in capacity.events] == [
            (1, pb.CAPACITY_EVENT_TYPE_POOL_CREATED),
            (2, pb.CAPACITY_EVENT_TYPE_CAPACITY_INCREASED),
        ]
        watch = await Collector(client.reservations.WatchReservations(
            pb.WatchReservationsRequest(start_revision=1))).live()
        assert [(e.revision, e.type, e.reservation.id) for e in watch.events] == [
            (created.revision, pb.RESERVATION_EVENT_TYPE_CREATED, created.id)]
        assert watch.events[0].reservation == created
        # The first progress message after the replay stands at the restored head.
        assert watch.responses[-1].revision == created.revision

        # Revisions carry on from the log, not from 1, and the live part of the watch works.
        later = await reserve(client, 1, 2, cores=4)
        assert later.revision == created.revision + 1
        await watch.wait_for(lambda c: len(c.events) == 2)
        assert [e.reservation.id for e in watch.events] == [created.id, later.id]
        await capacity.close()
        await watch.close()


async def test_resuming_watch_survives_restart_on_same_port(start_server: Any) -> None:
    first = await start_server()
    port = first.port
    async with AsyncClient(target(first)) as writer:
        await make_pool(writer, cores=100)
        before = await reserve(writer, 1, 2, cores=1)

    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=FAST_RECONNECT)
    async with AsyncClient(channel=channel) as client:
        watch = client.watch_reservations(start_revision=1)
        received: asyncio.Queue[pb.ReservationEvent] = asyncio.Queue()

        async def follow() -> None:
            async for event in watch:
                received.put_nowait(event)

        follower = asyncio.create_task(follow())
        try:
            async with asyncio.timeout(10):
                event = await received.get()
            assert (event.revision, event.reservation.id) == (before.revision, before.id)

            await first.stop(grace=1)
            assert not follower.done(), follower
            second = await start_server(port=port)
            assert second.port == port

            async with AsyncClient(target(second)) as writer:
                after = [await reserve(writer, 1, 2, cores=1) for _ in range(2)]
                await writer.reservations.CancelReservation(
                    pb.CancelReservationRequest(reservation_id=after[0].id))
                more = await reserve(writer, 3, 4, cores=2)

            seen = []
            async with asyncio.timeout(15):
                while len(seen) < 4:
                    seen.append(await received.get())
            assert [(e.type, e.reservation.id) for e in seen] == [
                (pb.RESERVATION_EVENT_TYPE_CREATED, after[0].id),
                (pb.RESERVATION_EVENT_TYPE_CREATED, after[1].id),
                (pb.RESERVATION_EVENT_TYPE_STATUS_CHANGED, after[0].id),
                (pb.RESERVATION_EVENT_TYPE_CREATED, more.id),
            ]
            revisions = [before.revision, *(e.revision for e in seen)]
            assert revisions == sorted(set(revisions)), revisions  # increasing, no duplicates
            assert seen[0].revision == after[0].revision

            # No replayed duplicate is queued behind them: the next event is the next write.
            async with AsyncClient(target(second)) as writer:
                last = await reserve(writer, 5, 6, cores=1)
            async with asyncio.timeout(10):
                event = await received.get()
            assert (event.revision, event.reservation.id) == (last.revision, last.id)
            assert watch.revision == last.revision
        finally:
            follower.cancel()
            await asyncio.gather(follower, return_exceptions=True)


class GatedCall:
    """Wraps a Watch* stub method for ResumingWatch: records each request and holds every
    reconnection back until `gate` is set (so writes can land while the watch is away)."""

    def __init__(self, method: Any) -> None:
        self.method = method
        self.requests: list[Any] = []
        self.gate = asyncio.Event()
        self.answered = asyncio.Event()  # a response has reached the watch
        self.reconnecting = asyncio.Event()  # the watch has asked again

    def __call__(self, request: Any) -> Any:
        self.requests.append(request)
        if len(self.requests) > 1:
            self.reconnecting.set()
        return _GatedStream(self, request, held=len(self.requests) > 1)


class _GatedStream:
    def __init__(self, owner: GatedCall, request: Any, held: bool) -> None:
        self.owner, self.request, self.held = owner, request, held
        self.call: Any = None

    async def __aiter__(self) -> AsyncIterator[Any]:
        if self.held:
            await self.owner.gate.wait()
        self.call = self.owner.method(self.request)
        async for response in self.call:
            self.owner.answered.set()
            yield response  # ResumingWatch handles it before this task next waits

    def cancel(self) -> None:
        if self.call is not None:
            self.call.cancel()


async def test_resuming_watch_from_now_on_empty_log_misses_nothing(start_server: Any) -> None:
    """A watch from now on an empty log stands at revision 0; after a restart it must resume at
    revision 1, not "from now" again, or it loses what was written while it was away."""
    first = await start_server()
    port = first.port
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=FAST_RECONNECT)
    async with AsyncClient(channel=channel) as client:
        call = GatedCall(client.reservations.WatchReservations)
        watch = ResumingWatch(call, pb.WatchReservationsRequest())
        received: asyncio.Queue[pb.ReservationEvent] = asyncio.Queue()

        async def follow() -> None:
            async for event in watch:
                received.put_nowait(event)

        follower = asyncio.create_task(follow())
        try:
            async with asyncio.timeout(10):
                await call.answered.wait()  # the watch is live, at revision 0
            assert watch.revision == 0
            await first.stop(grace=1)
            second = await start_server(port=port)
            async with AsyncClient(target(second)) as writer:
                await make_pool(writer, cores=10)
                written = await reserve(writer, 1, 2, cores=1)
            async with asyncio.timeout(10):
                await call.reconnecting.wait()
            call.gate.set()
            assert call.requests[-1].start_revision == 1
            async with asyncio.timeout(5):
                event = await received.get()
            assert (event.revision, event.reservation.id) == (written.revision, written.id)
        finally:
            follower.cancel()
            await asyncio.gather(follower, return_exceptions=True)


# Configuration ---------------------------------------------------------------------------------


def test_defaults() -> None:
    settings = parse_settings([], environ={})
    assert settings == Settings()
    assert settings.port == 50051
    assert settings.database_url == "sqlite+aiosqlite:///./switchboard.db"


def test_environment_overrides_default_and_flag_overrides_environment() -> None:
    environ = {
        "SWITCHBOARD_PORT": "6000",
        "SWITCHBOARD_DATABASE_URL": "sqlite+aiosqlite:///env.db",
        "SWITCHBOARD_SHUTDOWN_GRACE": "2.5",
        "SWITCHBOARD_LOG_FORMAT": "json",
    }
    from_env = parse_settings([], environ=environ)
    assert from_env.port == 6000
    assert from_env.database_url == "sqlite+aiosqlite:///env.db"
    assert from_env.shutdown_grace == 2.5
    assert from_env.log_format == "json"
    assert from_env.log_level == "info"  # neither flag nor environment: the default

    from_flags = parse_settings(
        ["--port", "7000", "--database-url", "postgresql+asyncpg://db/x", "--log-level", "debug"],
        environ=environ,
    )
    assert from_flags.port == 7000
    assert from_flags.database_url == "postgresql+asyncpg://db/x"
    assert from_flags.log_level == "debug"
    assert from_flags.shutdown_grace == 2.5  # no flag: the environment still applies
    assert from_flags.log_format == "json"


def test_every_setting_has_a_flag_and_an_environment_variable(tmp_path: Path) -> None:
    defaults = Settings()
    flavors = tmp_path / "flavors.json"
    flavors.write_text('[{"name": "f1", "vcpus": 1, "ram_mb": 512, "disk_gb": 1}]')
    ca = Ca()
    cert, key = ca.issue("localhost", server=True).write(tmp_path, "server")
    (tmp_path / "ca.pem").write_bytes(ca.pem)
    policy = tmp_path / "policy.toml"
    policy.write_text('[principals]\nalice = ["viewer"]\n')
    valid = {"database_url": "postgresql+asyncpg://db/x", "flavors_file": str(flavors),
             "tls_cert_file": str(cert), "tls_key_file": str(key),
             "tls_client_ca_file": str(tmp_path / "ca.pem"),
             "outbound_tls_cert_file": str(cert), "outbound_tls_key_file": str(key),
             "outbound_tls_ca_file": str(tmp_path / "ca.pem"),
             "policy_file": str(policy), "jwt_key_file": str(Issuer().write_pem(
                 tmp_path / "jwt.pem"))}
    overrides = {
        name: (valid[name] if name in valid
               else str(value + 1) if isinstance(value, int | float)
               else next(c for c in CHOICES[name] if c != value) if name in CHOICES
               else "x-" + value)
        for name, value in vars(defaults).items()
        if not isinstance(value, bool)  # --insecure goes without TLS: below
    }
    from_env = parse_settings([], environ={env_name(k): v for k, v in overrides.items()})
    argv = [a for k, v in overrides.items() for a in ("--" + k.replace("_", "-"), v)]
    from_flags = parse_settings(argv, environ={})
    for name, value in overrides.items():
        expected = type(getattr(defaults, name))(value)
        assert getattr(from_env, name) == expected, name
        assert getattr(from_flags, name) == expected, name
    assert parse_settings([], environ={"SWITCHBOARD_INSECURE": "true"}).insecure
    assert not parse_settings([], environ={"SWITCHBOARD_INSECURE": "false"}).insecure
    assert parse_settings(["--insecure"], environ={"SWITCHBOARD_INSECURE": "no"}).insecure


@pytest.mark.parametrize("source", ["flag", "environment"])
def test_a_setting_outside_its_choices_is_refused(
        source: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv, environ = (["--log-format", "xml"], {}) if source == "flag" \
        else ([], {"SWITCHBOARD_LOG_FORMAT": "xml"})
    with pytest.raises(SystemExit) as exited:
        parse_settings(argv, environ)
    assert exited.value.code == 2
    assert "--log-format (or SWITCHBOARD_LOG_FORMAT) must be one of console, json, not 'xml'" \
        in capsys.readouterr().err


@pytest.mark.parametrize("flavor", [
    {"name": "huge", "vcpus": 2**40 + 1, "ram_mb": 1, "disk_gb": 1},
    {"name": "n" * 256, "vcpus": 1, "ram_mb": 1, "disk_gb": 1},
])
def test_a_flavor_beyond_the_request_bounds_is_refused(
        flavor: dict[str, object], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A flavor's amounts are held to the bound on every requested amount (2^40), its name to
    what CreateInstance may name: else an instance of it could overflow the pool's sums."""
    catalogue = tmp_path / "flavors.json"
    catalogue.write_text(json.dumps([flavor]))
    with pytest.raises(SystemExit) as exited:
        parse_settings(["--flavors-file", str(catalogue)], environ={})
    assert exited.value.code == 2
    assert "--flavors-file" in capsys.readouterr().err


BAD_VALUES = {
    "host": "", "database_url": "mysql://db/x", "flavors_file": "/no/such/flavors.json",
    "log_format": "xml", "log_level": "loud", "port": "65536", "vim_failure_rate": "1.5",
    "so_failure_rate": "-0.1", "vim_seed": "0x1", "so_seed": "1.5", "insecure": "maybe",
    "jwt_issuer": "https://issuer .test", "jwt_audience": "a\tb",
}
"""A value against each setting's rule; any other numeric setting is given "nan" or "-1"."""


def _bad_value(name: str) -> str:
    if name in BAD_VALUES:
        return BAD_VALUES[name]
    return "nan" if isinstance(getattr(Settings(), name), float) else "-1"


@pytest.mark.parametrize("name", [f.name for f in fields(Settings)])
@pytest.mark.parametrize("source", ["flag", "environment"])
def test_every_bad_setting_is_one_line_naming_its_flag_and_rule(
        name: str, source: str, capsys: pytest.CaptureFixture[str]) -> None:
    if source == "flag" and isinstance(getattr(Settings(), name), bool):
        pytest.skip("a boolean's flag takes no value")
    value = _bad_value(name)
    argv, environ = ([flag_name(name), value], {}) if source == "flag" \
        else ([], {env_name(name): value})
    with pytest.raises(SystemExit) as exited:
        parse_settings(argv, environ)
    assert exited.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"switchboard-server: error: {flag_name(name)} "
                               f"(or {env_name(name)}) must ")
    assert RULES[name][0] in lines[0]
    assert lines[0].endswith(f"not {value!r}")


def test_bad_settings_stop_the_real_entry_point_with_status_2_and_no_traceback() -> None:
    """Several bad settings at once, a combination among them, from flags and the environment:
    one line each, exit status 2."""
    environ = {**os.environ, "SWITCHBOARD_WATCH_BATCH_EVENTS": "many"}
    done = subprocess.run(
        [sys.executable, "-m", "switchboard.server", "--port", "70000",
         "--cmhandle-sync-backoff-seconds", "3600", "--cmhandle-sync-backoff-cap-seconds", "60"],
        env=environ, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [
        "switchboard-server: error: --port (or SWITCHBOARD_PORT) must be at least 0 and at most "
        "65535, not '70000'",
        "switchboard-server: error: --watch-batch-events (or SWITCHBOARD_WATCH_BATCH_EVENTS) "
        "must be an integer (must be at least 1 and at most 2147483647), not 'many'",
        "switchboard-server: error: --cmhandle-sync-backoff-seconds "
        "(or SWITCHBOARD_CMHANDLE_SYNC_BACKOFF_SECONDS) must be at most "
        "--cmhandle-sync-backoff-cap-seconds (60.0), not 3600.0",
    ]


def test_process_environment_is_the_default_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_PORT", "6001")
    assert parse_settings([]).port == 6001
    assert parse_settings(["--port", "6002"]).port == 6002


# Logging ---------------------------------------------------------------------------------------


def _rpc_lines(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [entry for entry in logs if entry.get("event") == "rpc"]


async def _logged(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rpc lines, once there is one (at most 5 s). The line is written when the handler
    finishes, which for an aborted call is just after the client already has the status."""
    for _ in range(500):
        if _rpc_lines(logs):
            break
        await asyncio.sleep(0.01)
    return _rpc_lines(logs)


async def test_one_log_line_per_unary_rpc(client: AsyncClient) -> None:
    with structlog.testing.capture_logs() as logs:
        await client.reservations.CreatePool(pb.CreatePoolRequest(
            pool=pb.Pool(id="pool-a", provider="openstack", availability_zone="az1")))
        lines = await _logged(logs)
    assert len(lines) == 1, logs
    line = lines[0]
    assert line["method"] == "/switchboard.reservation.v1.ReservationService/CreatePool"
    assert line["code"] == "OK"
    assert line["log_level"] == "info"
    assert line["peer"].startswith("ipv4:127.0.0.1:"), line["peer"]
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0


async def test_one_log_line_for_a_failed_unary_rpc(client: AsyncClient) -> None:
    with structlog.testing.capture_logs() as logs:
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await client.reservations.GetReservation(
                pb.GetReservationRequest(reservation_id="nope"))
        lines = await _logged(logs)
    assert failure.value.code() == grpc.StatusCode.NOT_FOUND
    assert len(lines) == 1, logs
    assert lines[0]["method"] == "/switchboard.reservation.v1.ReservationService/GetReservation"
    assert lines[0]["code"] == "NOT_FOUND"
    assert lines[0]["log_level"] == "info"  # a domain error, not a server fault


async def test_one_log_line_for_a_streaming_reflection_call(server: App) -> None:
    """Every kind of RPC is logged, the bidirectional reflection stream included."""
    with structlog.testing.capture_logs() as logs:
        async with grpc.aio.insecure_channel(target(server)) as channel:
            stub = reflection_pb2_grpc.ServerReflectionStub(channel)
            call = stub.ServerReflectionInfo(
                iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
            responses = [r async for r in call]
        lines = await _logged(logs)
    assert len(responses) == 1
    assert [line["method"] for line in lines] == [
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"]
    assert lines[0]["code"] == "OK"

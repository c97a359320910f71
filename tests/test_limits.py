"""Per-principal limits: the bound on open Watch* streams and the request rate (a token bucket
on the server's clock), against the real server with two principals, and with authorization
off (every caller the anonymous principal); and `limits.Limits` directly."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
import structlog
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status
from test_server import _logged

from switchboard.client import AsyncClient
from switchboard.reservation.v1 import reservation_pb2 as rpb
from switchboard.server.app import App
from switchboard.server.clock import ManualClock
from switchboard.server.config import parse_settings
from switchboard.server.errors import ResourceExhausted
from switchboard.server.limits import Limits, LimitSettings

from conftest import StartServer
from support import START, Collector, detail
from tokens import Issuer, authorizing

POLICY = """
[principals]
alice = ["viewer"]
bob = ["viewer", "operator"]
"""

Clients = Callable[[str], AsyncClient]


@pytest.fixture
async def start_authz(start_server: StartServer, tmp_path: Path
                      ) -> AsyncIterator[Callable[..., Any]]:
    """Starts an authorizing server with the given limits; gives it and a client per
    principal (each with its own bearer token)."""
    issuer = Issuer()
    opened: list[AsyncClient] = []

    async def start(**limits: Any) -> tuple[App, Clients]:
        app = await start_server(**authorizing(tmp_path, issuer, POLICY), **limits)

        def client(name: str) -> AsyncClient:
            c = AsyncClient(f"127.0.0.1:{app.port}", token=issuer.token(name, START))
            opened.append(c)
            return c

        return app, client

    yield start
    for c in opened:
        await c.close()


def watch(client: AsyncClient, **fields: str) -> Collector:
    return Collector(client.reservations.WatchReservations(
        rpb.WatchReservationsRequest(**fields)))


async def refused(collector: Collector) -> grpc.aio.AioRpcError:
    """The error a watch stream ended with (it must end with one)."""
    await collector.wait_for(lambda c: c.task.done())
    assert collector.error is not None, collector.responses
    return collector.error


async def slots_free(app: App, principal: str, open_now: int) -> None:
    """Waits (at most 5 s) until the server has released every slot but `open_now`: a
    cancelled stream's handler ends just after the client has gone."""
    for _ in range(500):
        if app.limits.watches(principal) == open_now:
            return
        await asyncio.sleep(0.01)
    assert app.limits.watches(principal) == open_now


def reason(error: grpc.aio.AioRpcError) -> tuple[grpc.StatusCode, str, dict[str, str]]:
    info = detail(error, error_details_pb2.ErrorInfo)
    return error.code(), info.reason, dict(info.metadata)


async def refusal(call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    return raised.value


def retry_delay(error: grpc.aio.AioRpcError) -> float:
    status = rpc_status.from_call(error)
    assert status is not None
    for packed in status.details:
        info = error_details_pb2.RetryInfo()
        if packed.Unpack(info):
            return info.retry_delay.seconds + info.retry_delay.nanos / 1e9
    raise AssertionError("no RetryInfo")


# --- watch streams -------------------------------------------------------------------------


async def test_a_principal_over_its_watch_bound_is_refused_while_another_still_watches(
        start_authz: Callable[..., Any]) -> None:
    app, client = await start_authz(max_watches_per_principal=2)
    alice, bob = client("alice"), client("bob")
    first, second = await watch(alice).live(), await watch(alice).live()
    with structlog.testing.capture_logs() as logs:
        error = await refused(watch(alice))
        lines = await _logged(logs)
    assert reason(error) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "TOO_MANY_WATCHES",
                             {"principal": "alice", "max_watches": "2"})
    assert [(e["code"], e["principal"], e["reason"]) for e in lines] == [
        ("RESOURCE_EXHAUSTED", "alice", "TOO_MANY_WATCHES")]
    others = [await watch(bob).live(), await watch(bob).live()]
    # Health's Watch is open to all and not counted.
    health = health_pb2_grpc.HealthStub(alice.channel).Watch(health_pb2.HealthCheckRequest())
    assert (await health.read()).status == health_pb2.HealthCheckResponse.SERVING
    health.cancel()

    await first.close()
    await slots_free(app, "alice", 1)
    third = await watch(alice).live()
    assert (await refused(watch(alice))).code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    for c in (second, third, *others):
        await c.close()
    await slots_free(app, "alice", 0)
    await slots_free(app, "bob", 0)


async def test_a_watch_that_fails_or_is_ended_by_the_server_frees_its_slot(
        start_server: StartServer, clock: ManualClock) -> None:
    app = await start_server(max_watches_per_principal=1)
    async with AsyncClient(f"127.0.0.1:{app.port}") as client:
        for _ in range(3):  # a watch of an unknown pool fails NOT_FOUND, each time
            error = await refused(watch(client, pool_id="no-such-pool"))
            assert error.code() is grpc.StatusCode.NOT_FOUND
        await slots_free(app, "", 0)
        live = await watch(client).live()
        assert app.limits.watches("") == 1
        await app.stop(grace=0)  # the drain ends the stream
        await live.wait_for(lambda c: c.task.done())
        assert app.limits.watches("") == 0


# --- request rate --------------------------------------------------------------------------


async def test_a_burst_passes_the_next_call_is_rate_limited_and_the_clock_refills(
        start_authz: Callable[..., Any], clock: ManualClock) -> None:
    _, client = await start_authz(request_rate_per_principal=2,
                                    request_burst_per_principal=3)
    alice, bob = client("alice"), client("bob")
    pools = rpb.ListPoolsRequest()
    for _ in range(3):
        await bob.reservations.ListPools(pools)
    with structlog.testing.capture_logs() as logs:
        error = await refusal(bob.reservations.ListPools(pools))
        lines = await _logged(logs)
    assert reason(error) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "RATE_LIMITED",
                             {"principal": "bob", "retry_after_ms": "500"})
    assert retry_delay(error) == 0.5
    assert [(e["code"], e["principal"], e["reason"]) for e in lines] == [
        ("RESOURCE_EXHAUSTED", "bob", "RATE_LIMITED")]
    await alice.reservations.ListPools(pools)  # her own bucket

    clock.advance(0.25)  # half a token: still none
    error = await refusal(bob.reservations.ListPools(pools))
    assert reason(error)[2]["retry_after_ms"] == "250"
    clock.advance(0.25)
    await bob.reservations.ListPools(pools)
    assert (await refusal(bob.reservations.ListPools(pools))).code() \
        is grpc.StatusCode.RESOURCE_EXHAUSTED
    clock.advance(60)  # refills to the burst, not beyond
    for _ in range(3):
        await bob.reservations.ListPools(pools)
    assert (await refusal(bob.reservations.ListPools(pools))).code() \
        is grpc.StatusCode.RESOURCE_EXHAUSTED
    # Refused callers take no token: a call refused authorization is not counted.
    clock.advance(60)
    for _ in range(5):
        assert (await refusal(alice.reservations.CreatePool(rpb.CreatePoolRequest()))).code() \
            is grpc.StatusCode.PERMISSION_DENIED
    for _ in range(3):
        await alice.reservations.ListPools(pools)


async def test_health_checks_are_not_rate_limited(start_authz: Callable[..., Any]) -> None:
    _, client = await start_authz(request_rate_per_principal=1)
    health = health_pb2_grpc.HealthStub(client("alice").channel)
    for _ in range(5):
        await health.Check(health_pb2.HealthCheckRequest())


async def test_limits_hold_with_authorization_off_for_all_callers_together(
        start_server: StartServer, clock: ManualClock) -> None:
    app = await start_server(max_watches_per_principal=1, request_rate_per_principal=1,
                             request_burst_per_principal=2)
    target = f"127.0.0.1:{app.port}"
    async with AsyncClient(target) as one, AsyncClient(target) as other:
        await one.reservations.ListPools(rpb.ListPoolsRequest())
        await other.reservations.ListPools(rpb.ListPoolsRequest())
        error = await refusal(one.reservations.ListPools(rpb.ListPoolsRequest()))
        assert reason(error) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "RATE_LIMITED",
                                 {"principal": "", "retry_after_ms": "1000"})
        clock.advance(1)
        live = await watch(one).live()
        clock.advance(1)
        assert reason(await refused(watch(other)))[1] == "TOO_MANY_WATCHES"
        await live.close()
        await slots_free(app, "", 0)
        clock.advance(1)
        await (await watch(other).live()).close()


# --- Limits, directly -----------------------------------------------------------------------


def test_the_bucket_gives_the_burst_then_the_rate() -> None:
    clock = ManualClock(START)
    limits = Limits(LimitSettings(rate=10, burst=5), clock)
    for _ in range(5):
        limits.admit("p")
    with pytest.raises(ResourceExhausted) as raised:
        limits.admit("p")
    assert raised.value.metadata["retry_after_ms"] == "100"
    clock.advance(0.1)
    limits.admit("p")
    with pytest.raises(ResourceExhausted):
        limits.admit("p")
    limits.admit("q")  # another principal: its own bucket


def test_the_burst_defaults_to_the_rate_and_no_rate_is_no_bound() -> None:
    clock = ManualClock(START)
    limits = Limits(LimitSettings(rate=2.5), clock)
    for _ in range(3):
        limits.admit("p")
    with pytest.raises(ResourceExhausted):
        limits.admit("p")
    slow = Limits(LimitSettings(rate=0.1), clock)
    slow.admit("p")  # at least one
    with pytest.raises(ResourceExhausted) as raised:
        slow.admit("p")
    assert raised.value.metadata["retry_after_ms"] == "10000"
    unbounded = Limits(LimitSettings(), clock)
    for _ in range(10_000):
        unbounded.admit("p")
    assert unbounded.principals == 0


def test_the_table_of_buckets_is_bounded_forgetting_the_least_recently_seen() -> None:
    clock = ManualClock(START)
    limits = Limits(LimitSettings(rate=1, burst=1), clock, principals_kept=3)
    for name in ("a", "b", "c"):
        limits.admit(name)
    with pytest.raises(ResourceExhausted):
        limits.admit("a")  # seen again: now the most recent
    limits.admit("d")  # forgets b, the least recently seen
    assert limits.principals == 3
    for name in ("a", "c", "d"):
        with pytest.raises(ResourceExhausted):
            limits.admit(name)
    limits.admit("b")  # forgotten: a fresh bucket
    for name in (f"x{i}" for i in range(1000)):
        limits.admit(name)
    assert limits.principals == 3


def test_watch_slots_are_counted_per_principal_and_freed() -> None:
    limits = Limits(LimitSettings(max_watches=2), ManualClock(START))
    limits.open_watch("p")
    limits.open_watch("p")
    with pytest.raises(ResourceExhausted) as raised:
        limits.open_watch("p")
    assert (raised.value.reason, raised.value.metadata["max_watches"]) == (
        "TOO_MANY_WATCHES", "2")
    limits.open_watch("q")
    limits.close_watch("p")
    limits.open_watch("p")
    for name in ("p", "p", "q"):
        limits.close_watch(name)
    assert (limits.watches("p"), limits.watches("q")) == (0, 0)
    unbounded = Limits(LimitSettings(max_watches=0), ManualClock(START))
    for _ in range(5000):
        unbounded.open_watch("p")
    assert unbounded.watches("p") == 5000


def test_limit_settings_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_settings(["--request-burst-per-principal", "5", "--max-watches-per-principal",
                        "-1"], environ={})
    assert capsys.readouterr().err.splitlines() == [
        "switchboard-server: error: --max-watches-per-principal (or "
        "SWITCHBOARD_MAX_WATCHES_PER_PRINCIPAL) must be at least 0 and at most 2147483647, "
        "not '-1'",
        "switchboard-server: error: --request-burst-per-principal (or "
        "SWITCHBOARD_REQUEST_BURST_PER_PRINCIPAL) needs --request-rate-per-principal: a burst "
        "bounds a rate"]
    settings = parse_settings([], environ={"SWITCHBOARD_REQUEST_RATE_PER_PRINCIPAL": "2.5"})
    assert (settings.request_rate_per_principal, settings.max_watches_per_principal) == (2.5,
                                                                                        1000)

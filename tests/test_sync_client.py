"""The blocking client: calls against the real server, and its resuming watch against a scripted
server (grpc_testing) that drops the stream and then reports a compacted revision."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import grpc
import grpc_testing
import pytest
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from switchboard.allocation.v1 import allocation_pb2 as apb
from switchboard.client import Client, WatchOutOfRange
from switchboard.client.resume import Backoff
from switchboard.client.sync import ResumingWatch
from switchboard.reservation.v1 import reservation_pb2 as pb
from switchboard.server.app import App

from conftest import StartServer
from support import at

T = TypeVar("T")

SERVICE = pb.DESCRIPTOR.services_by_name["ReservationService"]
WATCH = SERVICE.methods_by_name["WatchReservations"]
TIMEOUT = 5.0


# Against the real server -----------------------------------------------------------------------


def _create_and_get(target: str) -> tuple[pb.Reservation, pb.Reservation, list[pb.Pool]]:
    with Client(target) as client:
        stub = client.reservations
        stub.CreatePool(pb.CreatePoolRequest(
            pool=pb.Pool(id="pool-a", provider="openstack", availability_zone="az1")))
        stub.IncreaseCapacity(pb.IncreaseCapacityRequest(
            pool_id="pool-a", resources=pb.Resources(cores=10), start_time=at(0)))
        created = stub.CreateReservation(pb.CreateReservationRequest(
            reservation=pb.Reservation(pool_id="pool-a", name="sync", start_time=at(1),
                                       end_time=at(2), resources=pb.Resources(cores=4)),
        )).reservation
        got = stub.GetReservation(pb.GetReservationRequest(reservation_id=created.id))
        pools = list(stub.ListPools(pb.ListPoolsRequest()).pools)
        return created, got.reservation, pools


async def test_create_get_round_trip(server: App) -> None:
    # Blocking calls go to a thread: the server runs on this test's event loop.
    created, got, pools = await asyncio.to_thread(_create_and_get, f"127.0.0.1:{server.port}")
    assert created.id
    assert created.status == pb.RESERVATION_STATUS_PENDING
    assert got == created
    assert (got.name, got.pool_id, got.resources.cores) == ("sync", "pool-a", 4)
    assert (got.start_time, got.end_time) == (at(1), at(2))
    assert [p.id for p in pools] == ["pool-a"]


def _blocking_error(target: str) -> grpc.RpcError:
    with Client(target) as client:
        try:
            client.reservations.GetReservation(pb.GetReservationRequest(reservation_id="nope"))
        except grpc.RpcError as error:
            return error
    raise AssertionError("GetReservation of a missing id succeeded")


async def test_errors_surface_as_rpc_errors(server: App) -> None:
    error = await asyncio.to_thread(_blocking_error, f"127.0.0.1:{server.port}")
    assert error.code() == grpc.StatusCode.NOT_FOUND  # type: ignore[attr-defined]


async def test_watch_replays_then_close_ends_it(server: App) -> None:
    """Also a regression test: a client cancelling a stream used to crash the server (the
    interceptor read context.peer() after the call had ended)."""
    target = f"127.0.0.1:{server.port}"
    created, _, _ = await asyncio.to_thread(_create_and_get, target)
    with Client(target) as client:
        watch = client.watch_reservations(start_revision=1)
        first: list[pb.ReservationEvent] = []
        got_first = threading.Event()

        def consume() -> None:
            for event in watch:
                first.append(event)
                got_first.set()

        consumer = asyncio.create_task(asyncio.to_thread(consume))
        assert await asyncio.to_thread(got_first.wait, TIMEOUT)
        assert [(e.type, e.reservation.id) for e in first] == [
            (pb.RESERVATION_EVENT_TYPE_CREATED, created.id)]
        assert watch.revision >= created.revision
        watch.close()  # from another thread than the one iterating
        async with asyncio.timeout(TIMEOUT):
            await consumer  # iteration ends quietly: no error, no reconnect
        assert len(first) == 1


def _allocate_and_follow(target: str) -> list[tuple[int, str]]:
    """Blocking: an instance created, then followed on the resuming watch until ACTIVE."""
    with Client(target) as client:
        client.reservations.CreatePool(pb.CreatePoolRequest(
            pool=pb.Pool(id="pool-a", provider="openstack", availability_zone="az1")))
        client.reservations.IncreaseCapacity(pb.IncreaseCapacityRequest(
            pool_id="pool-a", start_time=at(0), resources=pb.Resources(
                instances=1, cores=1, ram_mb=512, gigabytes=1)))
        created = client.allocations.CreateInstance(apb.CreateInstanceRequest(
            instance=apb.Instance(pool_id="pool-a", flavor="m1.tiny", image="cirros"))).instance
        seen = []
        watch = client.watch_instances(start_revision=created.revision, pool_id="pool-a")
        for event in watch:
            seen.append((event.instance.status, event.instance.id))
            if event.instance.status == apb.INSTANCE_STATUS_ACTIVE:
                watch.close()
        return [(status, "created" if i == created.id else i) for status, i in seen]


async def test_allocate_and_follow_the_build(start_server: StartServer) -> None:
    app = await start_server(vim_build_seconds=0)
    seen = await asyncio.to_thread(_allocate_and_follow, f"127.0.0.1:{app.port}")
    assert seen == [(apb.INSTANCE_STATUS_BUILDING, "created"),
                    (apb.INSTANCE_STATUS_ACTIVE, "created")]


# Against a scripted server ---------------------------------------------------------------------


def _in_thread(fn: Callable[[], T]) -> Callable[[float], T]:
    """Runs fn in a daemon thread (so a hung call cannot hang the test run); returns a function
    that waits at most `timeout` seconds for its result or re-raises its exception."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as e:  # re-raised in the waiting thread
            outcome["error"] = e

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def result(timeout: float = TIMEOUT) -> T:
        thread.join(timeout)
        assert not thread.is_alive(), f"{fn} did not finish within {timeout} s"
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]  # type: ignore[no-any-return]

    return result


class ScriptedServer:
    """The fake server side of a grpc_testing channel, one WatchReservations call at a time."""

    def __init__(self) -> None:
        self.channel = grpc_testing.channel([SERVICE], grpc_testing.strict_real_time())

    def next_watch(self) -> tuple[pb.WatchReservationsRequest, Any]:
        """The next WatchReservations call the client makes (within TIMEOUT)."""
        _, request, rpc = _in_thread(lambda: self.channel.take_unary_stream(WATCH))()
        return request, rpc


def _wait_until(predicate: Callable[[], bool]) -> None:
    """Polls (at most TIMEOUT) until the watch has consumed what the fake server sent: a
    grpc_testing stream that terminates with an error drops responses not yet read."""
    deadline = time.monotonic() + TIMEOUT
    while not predicate():
        assert time.monotonic() < deadline, "the watch did not consume the response in time"
        time.sleep(0.005)


def _event(revision: int) -> pb.ReservationEvent:
    return pb.ReservationEvent(
        revision=revision, type=pb.RESERVATION_EVENT_TYPE_CREATED,
        reservation=pb.Reservation(id=f"r{revision}", pool_id="pool-a", revision=revision))


def _out_of_range(oldest: int) -> grpc.Status:
    info = error_details_pb2.ErrorInfo(
        reason="REVISION_COMPACTED", domain="switchboard.reservation",
        metadata={"oldest_revision": str(oldest)})
    detail = any_pb2.Any()
    detail.Pack(info)
    return rpc_status.to_status(status_pb2.Status(
        code=code_pb2.OUT_OF_RANGE,
        message=f"revision 8 is no longer retained; watch from revision {oldest}",
        details=[detail]))


class CountingBackoff(Backoff):
    """Backoff that counts resets: one per response the watch has read."""

    responses_read = 0

    def reset(self) -> None:
        self.responses_read += 1
        super().reset()


def _watch(fake: ScriptedServer, request: pb.WatchReservationsRequest, sleeps: list[float],
           backoff: Backoff | None = None) -> ResumingWatch:
    stub = Client(channel=fake.channel).reservations
    return ResumingWatch(stub.WatchReservations, request, backoff=backoff, sleep=sleeps.append)


def _collect(watch: ResumingWatch, into: list[int]) -> Callable[[], None]:
    def consume() -> None:
        for event in watch:
            into.append(event.revision)

    return consume


def test_resuming_watch_reconnects_then_raises_out_of_range() -> None:
    fake = ScriptedServer()
    sleeps: list[float] = []
    revisions: list[int] = []
    watch = _watch(fake, pb.WatchReservationsRequest(start_revision=5, pool_id="pool-a"), sleeps)
    finished = _in_thread(_collect(watch, revisions))
    try:
        request, rpc = fake.next_watch()
        assert (request.start_revision, request.pool_id) == (5, "pool-a")
        rpc.send_response(pb.WatchReservationsResponse(events=[_event(5), _event(6)], revision=6))
        _wait_until(lambda: watch.revision == 6)
        rpc.terminate((), grpc.StatusCode.UNAVAILABLE, "server restarting")

        request, rpc = fake.next_watch()
        assert request.start_revision == 7  # resumes right after the last event delivered
        assert request.pool_id == "pool-a"  # with the same filters
        assert sleeps == [0.05]  # one backoff step before reconnecting
        rpc.send_response(pb.WatchReservationsResponse(events=[_event(7)], revision=7))
        _wait_until(lambda: watch.revision == 7)
        status = _out_of_range(100)
        rpc.terminate(status.trailing_metadata, status.code, status.details)

        with pytest.raises(WatchOutOfRange) as failure:
            finished()
    finally:
        watch.close()
    assert failure.value.oldest_revision == 100
    assert "no longer retained" in str(failure.value)
    assert revisions == [5, 6, 7]  # each event once, in order
    assert watch.revision == 7


def test_resuming_watch_from_now_resumes_after_progress_revision() -> None:
    fake = ScriptedServer()
    sleeps: list[float] = []
    revisions: list[int] = []
    watch = _watch(fake, pb.WatchReservationsRequest(), sleeps)
    finished = _in_thread(_collect(watch, revisions))
    try:
        request, rpc = fake.next_watch()
        assert request.start_revision == 0  # from now
        rpc.send_response(pb.WatchReservationsResponse(revision=9))  # progress: live at 9
        _wait_until(lambda: watch.revision == 9)
        rpc.terminate((), grpc.StatusCode.RESOURCE_EXHAUSTED, "watcher fell behind")

        request, rpc = fake.next_watch()
        assert request.start_revision == 10  # not "from now" again: nothing written meanwhile lost
        rpc.send_response(pb.WatchReservationsResponse(events=[_event(10)], revision=10))
        _wait_until(lambda: watch.revision == 10)
        rpc.terminate((), grpc.StatusCode.PERMISSION_DENIED, "not retryable")
        with pytest.raises(grpc.RpcError) as failure:
            finished()
    finally:
        watch.close()
    assert failure.value.code() == grpc.StatusCode.PERMISSION_DENIED  # type: ignore[attr-defined]
    assert revisions == [10]
    assert sleeps == [0.05]


def test_resuming_watch_from_now_on_empty_log_resumes_at_revision_1() -> None:
    """Revision 0 (an empty log) is a position too: resuming "from now" again would lose what
    was written while the watch was away."""
    fake = ScriptedServer()
    backoff = CountingBackoff()
    watch = _watch(fake, pb.WatchReservationsRequest(), [], backoff)
    finished = _in_thread(_collect(watch, []))
    try:
        request, rpc = fake.next_watch()
        assert request.start_revision == 0
        rpc.send_response(pb.WatchReservationsResponse(revision=0))  # live; the log is empty
        _wait_until(lambda: backoff.responses_read == 1)
        rpc.terminate((), grpc.StatusCode.UNAVAILABLE, "server restarting")
        request, rpc = fake.next_watch()
        rpc.terminate((), grpc.StatusCode.PERMISSION_DENIED, "end of script")
        with pytest.raises(grpc.RpcError):
            finished()
    finally:
        watch.close()
    assert request.start_revision == 1


def test_close_ends_a_blocked_watch() -> None:
    fake = ScriptedServer()
    revisions: list[int] = []
    watch = _watch(fake, pb.WatchReservationsRequest(start_revision=3), [])
    finished = _in_thread(_collect(watch, revisions))
    request, rpc = fake.next_watch()
    rpc.send_response(pb.WatchReservationsResponse(events=[_event(3)], revision=3))
    _wait_until(lambda: watch.revision == 3)
    assert revisions == [3]
    watch.close()
    finished()  # returns, without raising, although the stream ended CANCELLED
    _in_thread(rpc.cancelled)()  # the fake server saw the cancellation
    assert request.start_revision == 3
    assert revisions == [3]

"""Watches: replay then live, resume by revision, other processes' events, retention, slow
watchers, progress while idle."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from processes import server_process

from switchboard.client import AsyncClient, WatchOutOfRange
from switchboard.reservation.v1 import reservation_pb2 as pb
from switchboard.server.app import App
from switchboard.server.clock import ManualClock
from switchboard.server.db import Database
from switchboard.server.eventlog import Event, EventLog
from switchboard.server.timestamps import from_micros
from switchboard.server.watch import Hub, WatchSettings, encode_response

from support import START, Collector, at, detail, make_pool, reserve


async def test_reconnect_with_last_plus_one_misses_nothing(client: AsyncClient) -> None:
    await make_pool(client, cores=1000)
    await make_pool(client, "pool-b", cores=1000)
    for i in range(5):
        await reserve(client, 1, 2, pool_id=("pool-a", "pool-b")[i % 2], cores=1)
    seen: list[int] = []
    first = Collector(client.reservations.WatchReservations(
        pb.WatchReservationsRequest(start_revision=1, pool_id="pool-a")))
    await first.live()
    await first.close()
    seen += [e.revision for e in first.events]
    last = first.responses[-1].revision
    for i in range(6):  # written while nobody watches
        await reserve(client, 1, 2, pool_id=("pool-a", "pool-b")[i % 2], cores=1)
    second = Collector(client.reservations.WatchReservations(
        pb.WatchReservationsRequest(start_revision=last + 1, pool_id="pool-a")))
    await second.live()
    for _ in range(3):  # live
        await reserve(client, 1, 2, cores=1)
    await second.wait_for(lambda c: len(c.events) == 6)
    seen += [e.revision for e in second.events]
    await second.close()
    everything = Collector(client.reservations.WatchReservations(
        pb.WatchReservationsRequest(start_revision=1, pool_id="pool-a")))
    await everything.live()
    await everything.close()
    expected = [e.revision for e in everything.events]
    assert len(expected) == 3 + 3 + 3
    assert seen == expected
    assert all(e.reservation.pool_id == "pool-a" for e in everything.events)


async def test_progress_while_idle(client: AsyncClient, clock: ManualClock, server: App) -> None:
    await make_pool(client, cores=10)
    await make_pool(client, "pool-b", cores=10)
    watch = await Collector(client.reservations.WatchReservations(
        pb.WatchReservationsRequest(pool_id="pool-b"))).live()
    await reserve(client, 1, 2, cores=1)  # does not match: only moves the revision
    head = (await server.events.bounds())[1]
    clock.advance(server.settings.watch_progress_interval * 2)
    await watch.wait_for(lambda c: c.responses[-1].revision == head)
    assert not watch.events
    await watch.close()


async def test_start_before_retention_is_out_of_range(start_server: object) -> None:
    app = await start_server(event_retention=5)
    async with AsyncClient(f"127.0.0.1:{app.port}") as client:
        await make_pool(client, cores=100)
        for _ in range(20):
            await reserve(client, 1, 2, cores=1)
        async with asyncio.timeout(10):  # until compaction has caught up with the last write
            while (bounds := await app.events.bounds())[1] - bounds[0] + 1 > 6:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        oldest = bounds[0]
        assert oldest > 1
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            async for _ in client.reservations.WatchReservations(
                    pb.WatchReservationsRequest(start_revision=1)):
                pass
        assert failure.value.code() == grpc.StatusCode.OUT_OF_RANGE
        info = detail(failure.value, error_details_pb2.ErrorInfo)
        assert info.metadata["oldest_revision"] == str(oldest)
        with pytest.raises(WatchOutOfRange) as raised:
            async for _ in client.watch_reservations(start_revision=1):
                pass
        assert raised.value.oldest_revision == oldest
        replay = Collector(client.reservations.WatchReservations(
            pb.WatchReservationsRequest(start_revision=oldest)))
        await replay.live()
        assert replay.events[0].revision == oldest
        await replay.close()


STALLED_WATCHER = """
import asyncio, sys
import grpc
from switchboard.reservation.v1 import reservation_pb2 as pb, reservation_pb2_grpc as pb_grpc

async def main():
    # A small HTTP/2 window that does not grow: once the process is stopped, the server can
    # send only that much before its writes block.
    options = [("grpc.http2.bdp_probe", 0), ("grpc.http2.lookahead_bytes", 16384)]
    async with grpc.aio.insecure_channel(sys.argv[1], options=options) as channel:
        stub = pb_grpc.ReservationServiceStub(channel)
        events = 0
        try:
            async for response in stub.WatchReservations(pb.WatchReservationsRequest()):
                events += len(response.events)
                print("live", flush=True)
        except grpc.aio.AioRpcError as e:
            print(e.code().name, events, flush=True)

asyncio.run(main())
"""


async def test_busy_watch_is_paced_into_fuller_responses(start_server: object) -> None:
    # One response a second for the whole server: the first event goes out at once, the
    # three written right after it wait and share the next response.
    app = await start_server(watch_send_rate=1.0)
    async with AsyncClient(f"127.0.0.1:{app.port}") as client:
        await make_pool(client, cores=100)
        watch = await Collector(client.reservations.WatchReservations(
            pb.WatchReservationsRequest())).live()
        first = await reserve(client, 1, 2, cores=1)
        await watch.wait_for(lambda c: len(c.events) == 1)
        rest = [await reserve(client, 1, 2, cores=1) for _ in range(3)]
        await watch.wait_for(lambda c: len(c.events) == 4)
        await watch.close()
    batches = [[e.reservation.id for e in r.events] for r in watch.responses if r.events]
    assert batches == [[first.id], [r.id for r in rest]]


async def test_stalled_watcher_is_cut_off_not_buffered(start_server: object) -> None:
    app = await start_server(watch_buffer_events=20, watch_batch_events=5)
    target = f"127.0.0.1:{app.port}"
    async with AsyncClient(target) as client:
        await make_pool(client, cores=100_000)
        watcher = await asyncio.create_subprocess_exec(
            sys.executable, "-c", STALLED_WATCHER, target, stdout=asyncio.subprocess.PIPE)
        assert watcher.stdout is not None
        assert await watcher.stdout.readline() == b"live\n"
        try:
            watcher.send_signal(signal.SIGSTOP)  # stops reading, connection stays open
            (subscriber,) = [s for s in app.hub.subscribers if s.paced]  # not the server's own
            written = 0
            while not subscriber.overflowed:
                await client.reservations.CreateReservation(pb.CreateReservationRequest(
                    reservation=pb.Reservation(pool_id="pool-a", name="x" * 255, start_time=at(1),
                                               end_time=at(2), resources=pb.Resources(cores=1))))
                written += 1
                assert len(subscriber.buffer) <= 20
                assert written < 2000, "the stalled watcher was never cut off"
        finally:
            watcher.send_signal(signal.SIGCONT)  # (on failure too: no process left stopped)
        lines = (await watcher.stdout.read()).decode().split()
        await watcher.wait()
        assert lines[-2] == "RESOURCE_EXHAUSTED"
        assert int(lines[-1]) < written
        # The resuming helper picks up from any revision and sees every event exactly once.
        revisions = []
        async for event in client.watch_reservations(start_revision=1):
            revisions.append(event.revision)
            if len(revisions) == written:
                break
        assert revisions == sorted(set(revisions))


async def test_watch_on_one_process_sees_writes_of_another(database_url: str) -> None:
    async with server_process(database_url) as first, server_process(database_url) as second:
        a, b = first.target, second.target
        async with AsyncClient(a) as writer, AsyncClient(b) as reader:
            watch = await Collector(reader.reservations.WatchReservations(
                pb.WatchReservationsRequest())).live()
            now = time.time_ns() // 1000
            await writer.reservations.CreatePool(pb.CreatePoolRequest(
                pool=pb.Pool(id="pool-a", provider="p", availability_zone="z")))
            await writer.reservations.IncreaseCapacity(pb.IncreaseCapacityRequest(
                pool_id="pool-a", resources=pb.Resources(cores=10)))
            made = []
            for i in range(5):
                response = await writer.reservations.CreateReservation(
                    pb.CreateReservationRequest(reservation=pb.Reservation(
                        pool_id="pool-a", start_time=from_micros(now + (i + 1) * 60_000_000),
                        end_time=from_micros(now + (i + 2) * 60_000_000),
                        resources=pb.Resources(cores=1))))
                made.append(response.reservation.id)
            await watch.wait_for(lambda c: len(c.events) == 5)
            assert [e.reservation.id for e in watch.events] == made
            revisions = [e.revision for e in watch.events]
            assert revisions == sorted(revisions)
            await watch.close()


def test_encoded_responses_are_the_messages_on_the_wire() -> None:
    events = [
        pb.ReservationEvent(revision=revision, type=pb.RESERVATION_EVENT_TYPE_CREATED,
                            reservation=pb.Reservation(id=f"r{revision}", name="x" * size))
        for revision, size in ((1, 0), (300, 200), (2**40, 70_000))
    ]
    stored = [Event(e.revision, "reservation", "reservation.created", e.reservation.id, "pool-a",
                    e.SerializeToString(), 0) for e in events]
    for batch, revision in ((stored, 2**40 + 5), (stored[:1], 1), ([], 0), ([], 2**63 - 1)):
        wire = encode_response(batch, revision)
        expected = pb.WatchReservationsResponse(
            events=[e.decode(pb.ReservationEvent) for e in batch], revision=revision)
        assert pb.WatchReservationsResponse.FromString(wire) == expected
        assert wire == expected.SerializeToString()


async def test_a_hub_reads_only_what_other_processes_committed_before_its_own(
        tmp_path: Path) -> None:
    """Two processes on one SQLite file (`--workers`): events this process commits after
    another's it has not read yet wait while the hub reads only the other's (up to just
    before its own), and then go out after them, in revision order, with no gap."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'switchboard.db'}"
    db, other = Database(url, shared=True), Database(url, shared=True)
    await db.create_schema()
    clock = ManualClock(START)
    log, other_log = EventLog(db, clock, retention=100), EventLog(other, clock, retention=100)
    await log.initialize()
    hub = Hub(log, clock, WatchSettings(progress_interval=60, poll_interval=60,
                                        buffer_events=100, batch_events=100, send_rate=1000))
    read_back: list[int] = []
    read = log.read

    async def counted(after: int, upto: int | None, limit: int) -> list[Event]:
        events = await read(after, upto, limit)
        read_back.extend(e.revision for e in events)
        return events

    log.read = counted  # type: ignore[method-assign]

    async def append(on: EventLog, count: int) -> None:
        async with on.transaction() as tx:
            for revision in await tx.next_revisions(count):
                tx.append(revision, "test", "test.event", "k", "s", b"")

    seen: list[int] = []
    live = asyncio.Event()

    async def follow() -> None:
        async for events, _ in hub.watch(0, lambda e: True, "test"):
            seen.extend(e.revision for e in events)
            live.set()

    await hub.start()
    watching = asyncio.create_task(follow())
    try:
        await asyncio.wait_for(live.wait(), 10)
        await append(other_log, 2)  # unheard of: on SQLite the hub polls (every 60 s here)
        await append(log, 1)
        await append(log, 2)
        await append(other_log, 1)
        await append(log, 1)
        async with asyncio.timeout(10):
            while seen != [1, 2, 3, 4, 5, 6, 7]:  # noqa: ASYNC110 (what the hub hands out)
                await asyncio.sleep(0.01)
        assert sorted(read_back) == [1, 2, 6]  # the other's: its own were never read back
    finally:
        watching.cancel()
        await hub.stop()
        await db.close()
        await other.close()

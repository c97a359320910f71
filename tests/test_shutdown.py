"""Graceful stop with calls in flight: every call that reached the server before the stop began
is served (or fails with its own status), never CANCELLED; calls after it get UNAVAILABLE."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import grpc
import pytest

from switchboard.client import AsyncClient
from switchboard.reservation.v1 import reservation_pb2 as pb
from switchboard.server.app import App

from conftest import StartServer
from support import HOUR, START, make_pool

CLIENT = """
import asyncio, json, sys
import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from switchboard.reservation.v1 import reservation_pb2 as pb, reservation_pb2_grpc as pb_grpc

async def main():
    target, count, start, end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    request = pb.CreateReservationRequest(reservation=pb.Reservation(
        pool_id="pool-a", resources=pb.Resources(cores=1),
        start_time=Timestamp(seconds=start // 10**6), end_time=Timestamp(seconds=end // 10**6)))
    async with grpc.aio.insecure_channel(target) as channel:
        await channel.channel_ready()
        stub = pb_grpc.ReservationServiceStub(channel)
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        calls = [stub.CreateReservation(request, timeout=60) for _ in range(count)]
        await asyncio.sleep(0.5)  # lets this process's gRPC core put every call on the wire
        print("sent", flush=True)
        codes = []
        for call in calls:
            try:
                await call
                codes.append("OK")
            except grpc.aio.AioRpcError as e:
                codes.append(e.code().name)
        print(json.dumps(codes), flush=True)

asyncio.run(main())
"""

CALLS = 30


@pytest.mark.parametrize("run", range(2))
async def test_calls_received_before_stop_are_served_and_later_ones_unavailable(
        start_server: StartServer, run: int) -> None:
    app: App = await start_server()
    target = f"127.0.0.1:{app.port}"
    async with AsyncClient(target) as client:
        await make_pool(client, cores=1000)
    window = (str(START + HOUR), str(START + 2 * HOUR))
    # Blocking pipes on purpose: the test blocks this loop, the server's, while it reads.
    process = subprocess.Popen(  # noqa: ASYNC220
        [sys.executable, "-c", CLIENT, target, str(CALLS), *window],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdin is not None and process.stdout is not None
    try:
        assert (await asyncio.to_thread(process.stdout.readline)).strip() == "ready"
        process.stdin.write("go\n")
        process.stdin.flush()
        # Read without yielding: this event loop, the server's, takes no call meanwhile, so the
        # calls wait in the gRPC core, received but not yet taken, when the stop begins.
        assert process.stdout.readline().strip() == "sent"
        stopping = asyncio.create_task(app.stop(grace=30))
        async with asyncio.timeout(20):
            while not app.drain.refusing:  # noqa: ASYNC110
                await asyncio.sleep(0.001)
        async with AsyncClient(target) as late:
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await late.reservations.ListPools(pb.ListPoolsRequest(), timeout=10)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        codes = json.loads(await asyncio.to_thread(process.stdout.readline))
        async with asyncio.timeout(20):
            await stopping
    finally:
        process.kill()
        process.wait()
    assert codes == ["OK"] * CALLS

"""Helpers for tests: timestamps, resources, rich-status details, and common setups."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from switchboard.allocation.v1 import allocation_pb2 as allocation_pb
from switchboard.client import AsyncClient
from switchboard.reservation.v1 import reservation_pb2 as pb
from switchboard.server.clock import ManualClock
from switchboard.server.timestamps import from_micros

HOUR = 3_600_000_000
DAY = 24 * HOUR
START = 1_893_456_000_000_000  # 2030-01-01T00:00:00Z in µs, the manual clock's start


def at(hours: float) -> Timestamp:
    """A timestamp `hours` after the test clock's start."""
    return from_micros(START + int(hours * HOUR))


def details(error: grpc.aio.AioRpcError) -> list[Any]:
    """The unpacked google.rpc details of a failed call."""
    status = rpc_status.from_call(error)
    assert status is not None, "no rich status on the error"
    kinds = [
        error_details_pb2.ErrorInfo, error_details_pb2.BadRequest,
        error_details_pb2.PreconditionFailure, error_details_pb2.ResourceInfo,
        pb.ReservationShortfall, allocation_pb.AllocationShortfall,
    ]
    out = []
    for detail in status.details:
        for kind in kinds:
            if detail.Is(kind.DESCRIPTOR):
                message = kind()
                detail.Unpack(message)
                out.append(message)
    return out


def detail(error: grpc.aio.AioRpcError, kind: type[Any]) -> Any:
    found = [d for d in details(error) if isinstance(d, kind)]
    assert found, f"no {kind.__name__} in {details(error)}"
    return found[0]


def bad_fields(error: grpc.aio.AioRpcError) -> set[str]:
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error
    return {v.field for v in detail(error, error_details_pb2.BadRequest).field_violations}


async def make_pool(client: AsyncClient, pool_id: str = "pool-a", **resources: int) -> None:
    """A pool with open-ended capacity from the clock's start."""
    await client.reservations.CreatePool(pb.CreatePoolRequest(
        pool=pb.Pool(id=pool_id, provider="openstack", availability_zone=pool_id)))
    await client.reservations.IncreaseCapacity(pb.IncreaseCapacityRequest(
        pool_id=pool_id, resources=pb.Resources(**(resources or {"cores": 100})),
        start_time=at(0)))


async def reserve(client: AsyncClient, start: float, end: float, pool_id: str = "pool-a",
                  **resources: int) -> pb.Reservation:
    response = await client.reservations.CreateReservation(pb.CreateReservationRequest(
        reservation=pb.Reservation(pool_id=pool_id, start_time=at(start), end_time=at(end),
                                   resources=pb.Resources(**resources))))
    return response.reservation


async def allocate(client: AsyncClient, pool_id: str = "pool-a", flavor: str = "m1.medium",
                   reservation_id: str = "", request_id: str = "") -> allocation_pb.Instance:
    response = await client.allocations.CreateInstance(allocation_pb.CreateInstanceRequest(
        instance=allocation_pb.Instance(name="vm", pool_id=pool_id, flavor=flavor,
                                        image="cirros", networks=["mgmt"],
                                        reservation_id=reservation_id),
        request_id=request_id))
    return response.instance


class Collector:
    """Reads a raw Watch* stream in the background, keeping responses."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.responses: list[Any] = []
        self.error: grpc.aio.AioRpcError | None = None
        self._changed = asyncio.Condition()
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for response in self.stream:
                async with self._changed:
                    self.responses.append(response)
                    self._changed.notify_all()
        except grpc.aio.AioRpcError as e:
            self.error = e
        async with self._changed:
            self._changed.notify_all()

    @property
    def events(self) -> list[Any]:
        return [e for r in self.responses for e in r.events]

    async def wait_for(self, predicate: Any, within: float = 10) -> None:
        """Waits (at most `within` s, against a hang) until predicate(self) holds or the stream
        ends."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: predicate(self) or self.task.done())
        assert predicate(self), f"condition not met; error={self.error}"

    async def live(self) -> Collector:
        """Waits for the first progress message: replay done, live from here."""
        await self.wait_for(lambda c: any(not r.events for r in c.responses))
        return self

    async def close(self) -> None:
        self.stream.cancel()
        await asyncio.gather(self.task, return_exceptions=True)




def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def advance_until(clock: ManualClock, seconds: float, watch: Collector,
                        predicate: Callable[[Collector], bool], rounds: int = 20) -> None:
    """Moves the test clock on by `seconds` until `predicate` holds: a background task takes
    its next clock reading only after finishing an earlier round's work."""
    for _ in range(rounds):
        clock.advance(seconds)
        try:
            async with asyncio.timeout(0.5):
                await watch.wait_for(predicate)
            return
        except (TimeoutError, AssertionError):
            continue
    await watch.wait_for(predicate)

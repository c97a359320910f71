"""The asyncio client: stubs on one channel, and watches that resume by themselves."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc

from switchboard.allocation.v1 import allocation_pb2 as allocation_pb
from switchboard.allocation.v1 import allocation_pb2_grpc as allocation_grpc
from switchboard.client._channel import Target, channel_spec
from switchboard.client.errors import out_of_range
from switchboard.client.resume import RETRYABLE, Backoff, Position, WatchRequest
from switchboard.client.tls import TlsConfig
from switchboard.cmhandle.v1 import cmhandle_pb2 as cmhandle_pb
from switchboard.cmhandle.v1 import cmhandle_pb2_grpc as cmhandle_grpc
from switchboard.participant.v1 import participant_pb2 as participant_pb
from switchboard.participant.v1 import participant_pb2_grpc as participant_grpc
from switchboard.reservation.v1 import reservation_pb2 as reservation_pb
from switchboard.reservation.v1 import reservation_pb2_grpc as reservation_grpc
from switchboard.scheduler.v1 import scheduler_pb2 as scheduler_pb
from switchboard.scheduler.v1 import scheduler_pb2_grpc as scheduler_grpc


class ResumingWatch:
    """Async iterator over the events of a Watch* RPC that survives dropped connections.

    After a dropped connection, a server restart or a RESOURCE_EXHAUSTED (slow watcher) it
    reconnects with backoff and resumes at `revision + 1`, so no event is missed or repeated.
    Raises `WatchOutOfRange` when the server no longer retains the revision to resume from.
    """

    def __init__(self, call: Callable[[Any], Any], request: WatchRequest,
                 backoff: Backoff | None = None) -> None:
        self._call = call
        self._request = request
        self._backoff = backoff or Backoff()
        self._position = Position(request.start_revision)

    @property
    def revision(self) -> int:
        """The last revision this watch has reached (through events or progress messages)."""
        return self._position.revision

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._events()

    async def _events(self) -> AsyncIterator[Any]:
        while True:
            request = type(self._request)()
            request.CopyFrom(self._request)
            request.start_revision = self._position.resume_at
            stream = self._call(request)
            try:
                async for response in stream:
                    self._backoff.reset()
                    for event in response.events:
                        self._position.passed(event.revision)
                        yield event
                    self._position.passed(response.revision)
            except grpc.aio.AioRpcError as error:
                if error.code() == grpc.StatusCode.OUT_OF_RANGE:
                    raise out_of_range(error) from error
                if error.code() not in RETRYABLE:
                    raise
            finally:
                stream.cancel()
            await asyncio.sleep(self._backoff.next())


class AsyncClient:
    """Switchboard over one asyncio channel. Use as `async with AsyncClient(target) as c:`."""

    def __init__(self, target: Target = "localhost:50051",
                 channel: grpc.aio.Channel | None = None, *, tls: TlsConfig | None = None,
                 token: str | None = None) -> None:
        """`target`: one target string, or the `host:port` addresses of several replicas,
        which calls are spread over (round_robin; a `dns:` target too).
        `tls`: connect over TLS (mTLS with a client certificate); plaintext without.
        `token`: a bearer token sent with every call (over TLS, or plaintext to a loopback
        address only)."""
        if channel is not None and (tls is not None or token is not None):
            raise ValueError("AsyncClient: give a channel or tls/token, not both")
        self.channel = channel or channel_spec(target, tls, token).aio()
        self.reservations = reservation_grpc.ReservationServiceStub(self.channel)
        self.allocations = allocation_grpc.AllocationServiceStub(self.channel)
        self.schedules = scheduler_grpc.SchedulerServiceStub(self.channel)
        self.cm_handles = cmhandle_grpc.CmHandleServiceStub(self.channel)
        self.cm_inventory = cmhandle_grpc.CmHandleInventoryServiceStub(self.channel)
        self.compositions = participant_grpc.AutomationCompositionServiceStub(self.channel)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self.channel.close()

    def watch_reservations(self, start_revision: int = 0, pool_id: str = "",
                           reservation_id: str = "") -> ResumingWatch:
        """Reservation events from start_revision (0: from now), resuming after failures."""
        return ResumingWatch(self.reservations.WatchReservations,
                             reservation_pb.WatchReservationsRequest(
                                 start_revision=start_revision, pool_id=pool_id,
                                 reservation_id=reservation_id))

    def watch_capacity(self, start_revision: int = 0, pool_id: str = "") -> ResumingWatch:
        """Pool and capacity events from start_revision (0: from now), resuming after failures."""
        return ResumingWatch(self.reservations.WatchCapacity,
                             reservation_pb.WatchCapacityRequest(
                                 start_revision=start_revision, pool_id=pool_id))

    def watch_instances(self, start_revision: int = 0, pool_id: str = "", instance_id: str = "",
                        reservation_id: str = "") -> ResumingWatch:
        """Instance events from start_revision (0: from now), resuming after failures."""
        return ResumingWatch(self.allocations.WatchInstances,
                             allocation_pb.WatchInstancesRequest(
                                 start_revision=start_revision, pool_id=pool_id,
                                 instance_id=instance_id, reservation_id=reservation_id))

    def watch_compositions(self, start_revision: int = 0,
                           composition_id: str = "") -> ResumingWatch:
        """Composition-definition events from start_revision (0: from now), resuming after
        failures; with composition_id, only that composition's."""
        return ResumingWatch(self.compositions.WatchCompositions,
                             participant_pb.WatchCompositionsRequest(
                                 start_revision=start_revision, composition_id=composition_id))

    def watch_composition_instances(self, start_revision: int = 0, instance_id: str = "",
                                    composition_id: str = "") -> ResumingWatch:
        """Automation-composition instance events from start_revision (0: from now), resuming
        after failures; with instance_id or composition_id, only those instances'."""
        return ResumingWatch(self.compositions.WatchInstances,
                             participant_pb.WatchInstancesRequest(
                                 start_revision=start_revision, instance_id=instance_id,
                                 composition_id=composition_id))

    def watch_schedules(self, start_revision: int = 0, schedule_id: str = "",
                        domain: str = "") -> ResumingWatch:
        """Schedule and blackout events from start_revision (0: from now), resuming after
        failures; with schedule_id or domain, only that schedule's or domain's events."""
        return ResumingWatch(self.schedules.WatchSchedules,
                             scheduler_pb.WatchSchedulesRequest(
                                 start_revision=start_revision, schedule_id=schedule_id,
                                 domain=domain))

    def watch_lcm_events(self, start_revision: int = 0, cm_handle_id: str = "") -> ResumingWatch:
        """CM handle LCM events from start_revision (0: from now), resuming after failures;
        with cm_handle_id, only that handle's."""
        return ResumingWatch(self.cm_handles.WatchLcmEvents, cmhandle_pb.WatchLcmEventsRequest(
            start_revision=start_revision, cm_handle_id=cm_handle_id))

    def watch_trust_levels(self, start_revision: int = 0,
                           cm_handle_id: str = "") -> ResumingWatch:
        """CM handle effective-trust changes from start_revision (0: from now), resuming after
        failures; with cm_handle_id, only that handle's."""
        return ResumingWatch(self.cm_handles.WatchTrustLevels,
                             cmhandle_pb.WatchTrustLevelsRequest(
                                 start_revision=start_revision, cm_handle_id=cm_handle_id))

"""The blocking client: stubs on one channel, and watches that resume by themselves."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
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
    """Iterator over the events of a Watch* RPC that survives dropped connections; see
    `switchboard.client.aio.ResumingWatch`. `close()` ends it from another thread."""

    def __init__(self, call: Callable[[Any], Any], request: WatchRequest,
                 backoff: Backoff | None = None, sleep: Callable[[float], None] = time.sleep
                 ) -> None:
        self._call = call
        self._request = request
        self._backoff = backoff or Backoff()
        self._sleep = sleep
        self._stream: Any = None
        self._closed = False
        self._position = Position(request.start_revision)

    @property
    def revision(self) -> int:
        """The last revision this watch has reached (through events or progress messages)."""
        return self._position.revision

    def __iter__(self) -> Iterator[Any]:
        while not self._closed:
            request = type(self._request)()
            request.CopyFrom(self._request)
            request.start_revision = self._position.resume_at
            self._stream = self._call(request)
            try:
                for response in self._stream:
                    self._backoff.reset()
                    for event in response.events:
                        self._position.passed(event.revision)
                        yield event
                    self._position.passed(response.revision)
            except grpc.RpcError as error:
                if self._closed:
                    return
                if error.code() == grpc.StatusCode.OUT_OF_RANGE:
                    raise out_of_range(error) from error
                if error.code() not in RETRYABLE:
                    raise
            self._sleep(self._backoff.next())

    def close(self) -> None:
        self._closed = True
        if self._stream is not None:
            self._stream.cancel()


class Client:
    """Switchboard over one blocking channel. Use as `with Client(target) as c:`."""

    def __init__(self, target: Target = "localhost:50051",
                 channel: grpc.Channel | None = None, *, tls: TlsConfig | None = None,
                 token: str | None = None) -> None:
        """`target`: one target string, or the `host:port` addresses of several replicas,
        which calls are spread over (round_robin; a `dns:` target too).
        `tls`: connect over TLS (mTLS with a client certificate); plaintext without.
        `token`: a bearer token sent with every call (over TLS, or plaintext to a loopback
        address only)."""
        if channel is not None and (tls is not None or token is not None):
            raise ValueError("Client: give a channel or tls/token, not both")
        self.channel = channel or channel_spec(target, tls, token).blocking()
        self.reservations = reservation_grpc.ReservationServiceStub(self.channel)
        self.allocations = allocation_grpc.AllocationServiceStub(self.channel)
        self.schedules = scheduler_grpc.SchedulerServiceStub(self.channel)
        self.cm_handles = cmhandle_grpc.CmHandleServiceStub(self.channel)
        self.cm_inventory = cmhandle_grpc.CmHandleInventoryServiceStub(self.channel)
        self.compositions = participant_grpc.AutomationCompositionServiceStub(self.channel)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.channel.close()

    def watch_reservations(self, start_revision: int = 0, pool_id: str = "",
                           reservation_id: str = "") -> ResumingWatch:
        return ResumingWatch(self.reservations.WatchReservations,
                             reservation_pb.WatchReservationsRequest(
                                 start_revision=start_revision, pool_id=pool_id,
                                 reservation_id=reservation_id))

    def watch_capacity(self, start_revision: int = 0, pool_id: str = "") -> ResumingWatch:
        return ResumingWatch(self.reservations.WatchCapacity,
                             reservation_pb.WatchCapacityRequest(
                                 start_revision=start_revision, pool_id=pool_id))

    def watch_instances(self, start_revision: int = 0, pool_id: str = "", instance_id: str = "",
                        reservation_id: str = "") -> ResumingWatch:
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

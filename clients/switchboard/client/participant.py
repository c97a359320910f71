"""A library for writing participants of the automation-composition runtime.

Implement a `Handler` (one callback per operation, each called per element; priming once per
element definition), then run a `Participant` with it: it registers the replica, opens the
message stream, calls the handler for every message (messages concurrently, the elements of one
message concurrently), acknowledges each message with the per-element outcomes, and sends a
heartbeat (`ReportStatus`, with element statuses set through `report`) every heartbeat interval.

When the stream drops or the server restarts, it reconnects, registering again if the server no
longer knows the replica; the server then re-sends every message not yet acknowledged, in order
(a message already being handled is not handled twice). A replica that registers again receives
a sync message (`Handler.sync`). A status request from the runtime is answered at once with
`ReportStatus` (the statuses set through `report`, after `Handler.status` has had its say).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import structlog
from google.protobuf.struct_pb2 import Struct

from switchboard.client._channel import Target, channel_spec
from switchboard.client.tls import TlsConfig
from switchboard.participant.v1 import participant_pb2 as pb
from switchboard.participant.v1 import participant_pb2_grpc as pb_grpc

log = structlog.get_logger("switchboard.client.participant")


@dataclass(frozen=True)
class Outcome:
    """What a callback did with one element: success or not, in words, and out-properties."""

    success: bool = True
    message: str = ""
    out_properties: Mapping[str, Any] | None = None


ElementCallback = Callable[[str, pb.ElementMessage], Awaitable[Outcome]]


class Handler:
    """The callbacks a participant implements. Each gets the composition id (prime, deprime) or
    the instance id (the others) and one element, and returns its `Outcome`; raising counts as
    failure. By default every callback succeeds at once."""

    async def prime(self, composition_id: str, element: pb.ElementMessage) -> Outcome:
        return Outcome()

    async def deprime(self, composition_id: str, element: pb.ElementMessage) -> Outcome:
        return Outcome()

    async def deploy(self, instance_id: str, element: pb.ElementMessage) -> Outcome:
        return Outcome()

    async def undeploy(self, instance_id: str, element: pb.ElementMessage) -> Outcome:
        return Outcome()

    async def lock(self, instance_id: str, element: pb.ElementMessage) -> Outcome:
        return Outcome()

    async def unlock(self, instance_id: str, element: pb.ElementMessage) -> Outcome:
        return Outcome()

    async def update(self, instance_id: str, element: pb.ElementMessage) -> Outcome:
        return Outcome()

    async def delete(self, instance_id: str, element: pb.ElementMessage) -> Outcome:
        return Outcome()

    async def migrate(self, instance_id: str, target_composition_id: str,
                      element: pb.ElementMessage) -> Outcome:
        """Move the element to `target_composition_id` (`element` is its definition there; also
        called to migrate back after a failure)."""
        return Outcome()

    async def migrate_precheck(self, instance_id: str, target_composition_id: str,
                               element: pb.ElementMessage) -> Outcome:
        """Whether `migrate` would succeed; change nothing."""
        return Outcome()

    async def status(self, participant: Participant) -> None:
        """The runtime asked for this participant's status: set the elements' statuses with
        `participant.report` here; they are sent when this returns."""

    async def sync(self, message: pb.ParticipantMessage) -> None:
        """After a re-registration: the primed compositions and the instances with elements on
        this participant, as the runtime knows them."""


def _callback(handler: Handler, message: pb.ParticipantMessage) -> ElementCallback | None:
    target = message.composition_target_id
    if message.type == pb.MESSAGE_TYPE_MIGRATE:
        return lambda instance_id, e: handler.migrate(instance_id, target, e)
    if message.type == pb.MESSAGE_TYPE_MIGRATE_PRECHECK:
        return lambda instance_id, e: handler.migrate_precheck(instance_id, target, e)
    return {
        pb.MESSAGE_TYPE_PRIME: handler.prime, pb.MESSAGE_TYPE_DEPRIME: handler.deprime,
        pb.MESSAGE_TYPE_DEPLOY: handler.deploy, pb.MESSAGE_TYPE_UNDEPLOY: handler.undeploy,
        pb.MESSAGE_TYPE_LOCK: handler.lock, pb.MESSAGE_TYPE_UNLOCK: handler.unlock,
        pb.MESSAGE_TYPE_UPDATE: handler.update, pb.MESSAGE_TYPE_DELETE: handler.delete,
    }.get(message.type)


async def _outcome(callback: ElementCallback, subject: str, e: pb.ElementMessage) -> Outcome:
    try:
        return await callback(subject, e)
    except Exception as error:  # a failing callback fails its element, not the participant
        log.warning("participant callback failed", element=e.name, error=str(error))
        return Outcome(False, f"{type(error).__name__}: {error}")


def _result(name: str, outcome: Outcome) -> pb.ElementResult:
    result = pb.ElementResult(name=name, success=outcome.success, message=outcome.message)
    if outcome.out_properties is not None:
        result.out_properties.update(dict(outcome.out_properties))
    return result


class Participant:
    """One participant replica. `await start()` registers it (raising the server's error, e.g.
    FAILED_PRECONDITION for an element type another participant owns) and runs it in the
    background until `await stop()` (which may be called again: it then does nothing).
    `target`, `tls` and `token` as for `AsyncClient`: one target or several replicas'
    addresses, TLS (mTLS with a client certificate) and a bearer token naming the
    participant's principal; plaintext without."""

    def __init__(self, target: Target, participant_id: str, replica_id: str,
                 element_types: Sequence[str], handler: Handler, *,
                 heartbeat_interval: float | None = None, retry_delay: float = 0.2,
                 tls: TlsConfig | None = None, token: str | None = None) -> None:
        self.target = target
        self._spec = channel_spec(target, tls, token)
        self.participant_id = participant_id
        self.replica_id = replica_id
        self.element_types = list(element_types)
        self.handler = handler
        self.heartbeat_interval = heartbeat_interval
        self.retry_delay = retry_delay
        self.rejoined = False
        self.rejected: list[pb.RejectedStatus] = []
        """Element statuses the server did not apply, as it answered them."""
        self._channel: grpc.aio.Channel | None = None
        self._stub: pb_grpc.ParticipantProtocolServiceStub | None = None
        self._interval = 10.0
        self._seen: set[int] = set()
        self._statuses: dict[tuple[str, str], pb.ElementStatus] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._loops: list[asyncio.Task[None]] = []

    @property
    def stub(self) -> pb_grpc.ParticipantProtocolServiceStub:
        assert self._stub is not None, "not started"
        return self._stub

    async def start(self) -> None:
        self._channel = self._spec.aio()
        self._stub = pb_grpc.ParticipantProtocolServiceStub(self._channel)
        await self._register()
        self._loops = [asyncio.create_task(self._receive(), name="participant-receive"),
                       asyncio.create_task(self._heartbeat(), name="participant-heartbeat")]

    async def stop(self, deregister: bool = True) -> None:
        """Stops; with `deregister`, removes the replica from the server first (a participant
        stopping for good); without, the server sees it go silent (as after a crash)."""
        for task in [*self._loops, *self._tasks]:
            task.cancel()
        for task in [*self._loops, *self._tasks]:
            with contextlib.suppress(asyncio.CancelledError, grpc.aio.AioRpcError):
                await task
        self._loops = []
        if self._channel is None:
            return  # stopped already
        if deregister:
            with contextlib.suppress(grpc.aio.AioRpcError):
                await self.stub.Deregister(pb.DeregisterRequest(
                    participant_id=self.participant_id, replica_id=self.replica_id))
        await self._channel.close()
        self._channel = None

    def report(self, instance_id: str, name: str, use_state: str = "",
               operational_state: str = "", out_properties: Mapping[str, Any] | None = None,
               statistics: Mapping[str, Any] | None = None) -> None:
        """Sets an element's status (and statistics: counters, gauges), sent with the next
        heartbeat. Statuses the server did not apply are in `rejected` afterwards."""
        status = pb.ElementStatus(instance_id=instance_id, name=name, use_state=use_state,
                                  operational_state=operational_state)
        if out_properties is not None:
            status.out_properties.CopyFrom(Struct())
            status.out_properties.update(dict(out_properties))
        if statistics is not None:
            status.statistics.CopyFrom(Struct())
            status.statistics.update(dict(statistics))
        self._statuses[(instance_id, name)] = status

    async def _register(self) -> None:
        response = await self.stub.Register(pb.RegisterRequest(
            participant_id=self.participant_id, replica_id=self.replica_id,
            element_types=self.element_types))
        self.rejoined = response.rejoined
        self._interval = (self.heartbeat_interval if self.heartbeat_interval is not None
                          else response.heartbeat_interval.ToMicroseconds() / 1e6)

    async def _receive(self) -> None:
        request = pb.ReceiveMessagesRequest(participant_id=self.participant_id,
                                            replica_id=self.replica_id)
        while True:
            stream = self.stub.ReceiveMessages(request)
            try:
                async for response in stream:
                    self._dispatch(response.message)
            except grpc.aio.AioRpcError as error:
                if error.code() == grpc.StatusCode.NOT_FOUND:
                    await self._register_again()
                else:
                    log.debug("message stream ended", code=error.code().name)
            finally:
                stream.cancel()
            await asyncio.sleep(self.retry_delay)

    async def _register_again(self) -> None:
        with contextlib.suppress(grpc.aio.AioRpcError):
            await self._register()

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self._report_status()

    async def _report_status(self) -> bool:
        """Sends the statuses set since the last report (kept for the next one if it fails)."""
        statuses, self._statuses = list(self._statuses.values()), {}
        try:
            response = await self.stub.ReportStatus(pb.ReportStatusRequest(
                participant_id=self.participant_id, replica_id=self.replica_id,
                elements=statuses))
            for r in response.rejected:
                log.warning("element status rejected", instance_id=r.instance_id,
                            element=r.name, reason=r.reason, message=r.message)
            self.rejected += response.rejected
            return True
        except grpc.aio.AioRpcError as error:
            for status in statuses:
                self._statuses.setdefault((status.instance_id, status.name), status)
            if error.code() == grpc.StatusCode.NOT_FOUND:
                await self._register_again()
            return False

    def _dispatch(self, message: pb.ParticipantMessage) -> None:
        if message.id in self._seen:
            return
        self._seen.add(message.id)
        task = asyncio.create_task(self._handle(message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, message: pb.ParticipantMessage) -> None:
        results: list[pb.ElementResult] = []
        callback = _callback(self.handler, message)
        if message.type == pb.MESSAGE_TYPE_SYNC:
            await self.handler.sync(message)
        elif message.type == pb.MESSAGE_TYPE_STATUS_REQUEST:
            await self.handler.status(self)
            await self._report_status()
        elif callback is not None and message.type in (pb.MESSAGE_TYPE_PRIME,
                                                         pb.MESSAGE_TYPE_DEPRIME):
            by_type: dict[str, list[pb.ElementMessage]] = {}
            for e in message.elements:
                by_type.setdefault(e.type, []).append(e)
            for element_type, elements in sorted(by_type.items()):
                outcomes = await asyncio.gather(*(
                    _outcome(callback, message.composition_id, e) for e in elements))
                failed = [f"{e.name}: {o.message}" for e, o in zip(elements, outcomes,
                                                                    strict=True)
                          if not o.success]
                results.append(_result(element_type, Outcome(not failed, "; ".join(failed))))
        elif callback is not None:
            outcomes = await asyncio.gather(*(
                _outcome(callback, message.instance_id, e) for e in message.elements))
            results = [_result(e.name, o)
                       for e, o in zip(message.elements, outcomes, strict=True)]
        await self._acknowledge(message.id, results)

    async def _acknowledge(self, message_id: int, results: list[pb.ElementResult]) -> None:
        request = pb.AcknowledgeRequest(participant_id=self.participant_id,
                                        replica_id=self.replica_id, message_id=message_id,
                                        results=results)
        while True:
            try:
                await self.stub.Acknowledge(request)
                return
            except grpc.aio.AioRpcError as error:
                if error.code() == grpc.StatusCode.NOT_FOUND:
                    await self._register_again()
                elif error.code() not in (grpc.StatusCode.UNAVAILABLE,
                                          grpc.StatusCode.DEADLINE_EXCEEDED):
                    log.warning("acknowledgement refused", message_id=message_id,
                                code=error.code().name)
                    return
            await asyncio.sleep(self.retry_delay)

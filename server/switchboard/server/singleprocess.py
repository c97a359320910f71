"""Services that work within one server process only, refused when `--workers` runs several.

The participant runtime keeps which participants are online, which process holds each
participant's message stream and the operations in progress in the memory of the process the
participant is connected to (issue 16 moves that into the database). With several workers on one
port the kernel spreads connections over them, so a participant would be online on one worker
while a prime or deploy arrives on another and fails, or waits on a participant it can never
reach. Rather than half work, every call of these services is refused with FAILED_PRECONDITION
`NEEDS_ONE_WORKER`, and their health is NOT_SERVING: run participants against `--workers 1`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import Any

import grpc

from switchboard.participant.v1 import participant_pb2
from switchboard.server.errors import FailedPrecondition
from switchboard.server.rpc import HANDLER_KINDS, Handler

SERVICES = tuple(participant_pb2.DESCRIPTOR.services_by_name[name].full_name for name in (
    "AutomationCompositionService", "ParticipantProtocolService"))
"""The services refused under `--workers` above 1."""


class SingleProcessOnly(grpc.aio.ServerInterceptor):
    """Refuses every call of `services` (full names) with FAILED_PRECONDITION."""

    def __init__(self, services: Collection[str] = SERVICES) -> None:
        self._prefixes = tuple(f"/{name}/" for name in services)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        if handler is None or not handler_call_details.method.startswith(self._prefixes):
            return handler
        for kind, make in HANDLER_KINDS:
            if getattr(handler, kind):
                return make(  # type: ignore[no-any-return]
                    _refused, request_deserializer=handler.request_deserializer,
                    response_serializer=handler.response_serializer)
        return handler


async def _refused(request: Any, context: Any) -> None:
    raise FailedPrecondition(
        message="the participant protocol needs one server process: this server runs several "
                "workers (--workers), and the participant runtime keeps its state in the "
                "process a participant is connected to; run participants against --workers 1",
        reason="NEEDS_ONE_WORKER", area="participant")

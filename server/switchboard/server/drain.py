"""The first step of a graceful stop: serve the calls that had reached the server, then refuse
new ones with UNAVAILABLE.

grpc-python takes calls from the gRPC core one at a time, and the core cancels (CANCELLED) the
calls it has received but the server has not taken yet when the server stops: with a burst of
calls in flight, most of them. So the stop begins by draining: calls go on being taken and
served until none has come for `QUIET` seconds (at most `LIMIT`, and never beyond the grace
period); from then on every call is refused with UNAVAILABLE, and then the server stops, giving
the calls it took the grace period. Health is NOT_SERVING all along, so clients that follow it
send nothing new meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from switchboard.server.errors import Unavailable
from switchboard.server.rpc import HANDLER_KINDS, Handler

QUIET = 0.2
"""Seconds without a new call after which the calls in flight are all taken."""

LIMIT = 2.0
"""Most seconds the drain lasts under a steady stream of calls."""


class Drain(grpc.aio.ServerInterceptor):
    """Notes when each call is taken; once `refusing`, refuses every call with UNAVAILABLE."""

    def __init__(self) -> None:
        self.refusing = False
        self.last_call = 0.0  # time.monotonic() when the last call was taken

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        self.last_call = time.monotonic()
        handler = await continuation(handler_call_details)
        if handler is None or not self.refusing:
            return handler
        for kind, make in HANDLER_KINDS:
            if getattr(handler, kind):
                return make(  # type: ignore[no-any-return]
                    _refused, request_deserializer=handler.request_deserializer,
                    response_serializer=handler.response_serializer)
        return handler

    async def drain(self, grace: float) -> None:
        """Waits until no call has come for QUIET seconds since the drain began or the last
        call (at most LIMIT and `grace`), then
        refuses every call. A transport delay: it reads the wall clock, not the server clock."""
        start = time.monotonic()
        deadline = start + min(LIMIT, grace)
        while (now := time.monotonic()) < deadline:
            quiet_from = max(start, self.last_call)
            if now >= quiet_from + QUIET:
                break
            await asyncio.sleep(min(deadline, quiet_from + QUIET) - now)
        self.refusing = True


async def _refused(request: Any, context: Any) -> None:
    raise Unavailable(message="the server is shutting down; retry on another replica",
                      reason="SHUTTING_DOWN", area="server")

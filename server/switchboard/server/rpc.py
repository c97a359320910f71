"""The interceptor every RPC passes through: callers without the right identity and roles
refused (with a policy, `identity.Authorizer`), callers past their request rate or watch bound
refused (`limits.Limits`), requests that do not decode or are out of bounds refused, one log
line per call, and domain errors turned into rich gRPC statuses."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

import grpc
import structlog
from google.protobuf.message import DecodeError

from switchboard.server import requestcheck
from switchboard.server.errors import (
    InvalidArgument,
    PermissionDenied,
    ResourceExhausted,
    SwitchboardError,
    Unauthenticated,
)
from switchboard.server.identity import Authorizer
from switchboard.server.limits import AREA as LIMITS_AREA
from switchboard.server.limits import Limits
from switchboard.server.permissions import PERMISSIONS, Need
from switchboard.server.policy import ANONYMOUS, caller
from switchboard.server.status import to_status

Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"
Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"

log = structlog.get_logger("switchboard.rpc")


HANDLER_KINDS: tuple[tuple[str, Callable[..., Any]], ...] = (
    ("unary_unary", grpc.unary_unary_rpc_method_handler),
    ("unary_stream", grpc.unary_stream_rpc_method_handler),
    ("stream_unary", grpc.stream_unary_rpc_method_handler),
    ("stream_stream", grpc.stream_stream_rpc_method_handler),
)
"""The four kinds of handler: the attribute that holds each one's behavior, and its maker."""


@dataclass(frozen=True)
class _Gate:
    """What is checked before one method's calls run."""

    method: str
    authorizer: Authorizer | None
    limits: Limits | None
    """None: no limits (none configured, or an open method: health and reflection)."""
    check: bool
    """The request is unary: checked before the call runs."""
    watch: bool
    """A Watch* stream: counted among its principal's open watches while it runs."""


class RpcInterceptor(grpc.aio.ServerInterceptor):
    """`authorizer`: who may call what; None: authorization is off, everyone may call all.
    `limits`: per-principal request rate and watch bound; None: no limits."""

    def __init__(self, authorizer: Authorizer | None = None,
                 limits: Limits | None = None) -> None:
        self.authorizer = authorizer
        self.limits = limits
        self._wrapped: dict[str, tuple[Handler, Handler]] = {}
        """By method: the handler last given for it, and its wrapping (made once, not per call:
        the servicers' handlers do not change; the drain's refusing ones are wrapped anew)."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        wrapped = self._wrapped.get(method)
        if wrapped is not None and wrapped[0] is handler:
            return wrapped[1]
        made = self._wrap(method, handler)
        self._wrapped[method] = (handler, made)
        return made

    def _wrap(self, method: str, handler: Handler) -> Handler:
        permission = PERMISSIONS.get(method)
        limited = permission is None or permission.need is not Need.OPEN
        gate = _Gate(method, self.authorizer, self.limits if limited else None,
                     not handler.request_streaming,
                     handler.response_streaming and method.rpartition("/")[2].startswith("Watch"))
        for kind, make in HANDLER_KINDS:
            behavior = getattr(handler, kind)
            if behavior:
                if handler.request_streaming:
                    behavior = _checked_stream(behavior)
                # Handlers that stream with `yield` are async generators; unary ones, and
                # streaming ones that call context.write(), are coroutines.
                wrap = _stream if inspect.isasyncgenfunction(behavior) else _unary
                return make(  # type: ignore[no-any-return]
                    wrap(gate, behavior),
                    request_deserializer=_decoded_or(handler.request_deserializer),
                    response_serializer=_bytes_or(handler.response_serializer),
                )
        return handler


class Undecodable:
    """What a request deserializer gives for bytes that are not a valid message of its type."""

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    def error(self) -> InvalidArgument:
        return InvalidArgument(message=f"request is not a valid {self.type_name}",
                               reason="MALFORMED_REQUEST",
                               area=requestcheck.area(self.type_name))


def _decoded_or(deserialize: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    """The request deserializer, giving `Undecodable` instead of raising (grpcio would answer
    UNKNOWN), so that the call is refused with INVALID_ARGUMENT."""
    if deserialize is None:
        return None
    message_type = getattr(deserialize, "__self__", None)
    undecodable = Undecodable(getattr(getattr(message_type, "DESCRIPTOR", None), "full_name",
                                      "request message"))

    def deserializer(data: bytes) -> Any:
        try:
            return deserialize(data)
        except DecodeError:
            return undecodable

    return deserializer


def _check(request: Any) -> None:
    """Refuses a request that did not decode or breaks its fields' bounds (`requestcheck`)."""
    if isinstance(request, Undecodable):
        raise request.error()
    requestcheck.check(request)


def _admit(gate: _Gate, request: Any, context: Context) -> str:
    """The checks before a call runs: its caller (first, so that a caller without the right
    learns nothing of the request's validity), its rate, then its request if it has only one.
    Returns the caller's principal."""
    if gate.authorizer is not None:
        gate.authorizer.admit(gate.method, request if gate.check else None, context)
    else:
        caller.set(ANONYMOUS)
    principal = caller.get().name
    if gate.limits is not None:
        gate.limits.admit(principal)
    if gate.check:
        _check(request)
    return principal


def _checked_stream(behavior: Callable[..., Any]) -> Callable[..., Any]:
    """A request-streaming behavior whose requests are each checked as they arrive."""
    def checked(requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async def each() -> AsyncIterator[Any]:
            async for request in requests:
                _check(request)
                yield request
        return each()

    if inspect.isasyncgenfunction(behavior):
        async def stream(requests: AsyncIterator[Any], context: Context) -> AsyncIterator[Any]:
            async for response in behavior(checked(requests), context):
                yield response
        return stream

    async def call(requests: AsyncIterator[Any], context: Context) -> Any:
        return await behavior(checked(requests), context)
    return call


def _bytes_or(serialize: Callable[[Any], bytes] | None) -> Callable[[Any], bytes] | None:
    """The response serializer, letting through responses a servicer already encoded (watch
    responses spliced from stored events, `watch.encode_response`)."""
    if serialize is None:
        return None

    def serializer(response: Any) -> bytes:
        return response if isinstance(response, bytes) else serialize(response)

    return serializer


def _finish(method: str, peer: str, context: Context, started: float,
            error: BaseException | None, authorized: bool) -> None:
    code = context.code()
    if isinstance(error, asyncio.CancelledError):
        name = "CANCELLED"
    elif isinstance(code, grpc.StatusCode):
        name = code.name
    else:
        name = "OK" if code in (None, 0) else str(code)
    fields: dict[str, Any] = {
        "method": method, "peer": peer, "code": name,
        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
    }
    if authorized:
        fields["principal"] = caller.get().name
    if isinstance(error, Unauthenticated | PermissionDenied) or (
            isinstance(error, ResourceExhausted) and error.area == LIMITS_AREA):
        fields["reason"] = error.reason
    if error is not None and not isinstance(error, SwitchboardError | asyncio.CancelledError):
        log.error("rpc", **fields, exc_info=error)
    else:
        log.info("rpc", **fields)


@contextlib.asynccontextmanager
async def _observed(method: str, context: Context, authorized: bool) -> AsyncIterator[None]:
    """Runs one call: domain errors become rich statuses, others INTERNAL; logs it at the end
    (with its principal and, when refused as such, why, if `authorized`)."""
    started = time.perf_counter()
    peer = context.peer()  # read now: after a cancelled stream, grpcio may crash on it
    error: BaseException | None = None
    try:
        yield
    except asyncio.CancelledError as e:  # the client went away
        error = e
        raise
    except SwitchboardError as e:
        error = e
        await context.abort_with_status(to_status(e))
    except Exception as e:
        error = e
        if context.code() is None:
            await context.abort(grpc.StatusCode.INTERNAL, "internal error")
        raise
    finally:
        _finish(method, peer, context, started, error, authorized)


def _unary(gate: _Gate, behavior: Callable[[Any, Context], Awaitable[Any]]
           ) -> Callable[[Any, Context], Awaitable[Any]]:
    authorized = gate.authorizer is not None
    if not gate.watch or gate.limits is None:
        async def wrapper(request: Any, context: Context) -> Any:
            async with _observed(gate.method, context, authorized):
                _admit(gate, request, context)
                return await behavior(request, context)
        return wrapper
    limits = gate.limits

    async def watch(request: Any, context: Context) -> Any:
        async with _observed(gate.method, context, authorized):
            principal = _admit(gate, request, context)
            limits.open_watch(principal)
            try:
                return await behavior(request, context)
            finally:
                limits.close_watch(principal)
    return watch


def _stream(gate: _Gate, behavior: Callable[[Any, Context], AsyncIterator[Any]]
            ) -> Callable[[Any, Context], AsyncIterator[Any]]:
    authorized = gate.authorizer is not None
    limits = gate.limits if gate.watch else None

    async def wrapper(request: Any, context: Context) -> AsyncIterator[Any]:
        async with _observed(gate.method, context, authorized):
            principal = _admit(gate, request, context)
            if limits is None:
                async for response in behavior(request, context):
                    yield response
                return
            # The slot is the stream's until it ends in any way: done, failed, cancelled by
            # the client, or ended by the server's drain.
            limits.open_watch(principal)
            try:
                async for response in behavior(request, context):
                    yield response
            finally:
                limits.close_watch(principal)

    return wrapper

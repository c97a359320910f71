"""The interceptor every RPC passes through: callers without the right identity and roles
refused (with a policy, `identity.Authorizer`), requests that do not decode or are out of bounds
refused, one log line per call, and domain errors turned into rich gRPC statuses."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeAlias

import grpc
import structlog
from google.protobuf.message import DecodeError

from switchboard.server import requestcheck
from switchboard.server.errors import (
    InvalidArgument,
    PermissionDenied,
    SwitchboardError,
    Unauthenticated,
)
from switchboard.server.identity import Authorizer
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


class RpcInterceptor(grpc.aio.ServerInterceptor):
    """`authorizer`: who may call what; None: authorization is off, everyone may call all."""

    def __init__(self, authorizer: Authorizer | None = None) -> None:
        self.authorizer = authorizer

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        for kind, make in HANDLER_KINDS:
            behavior = getattr(handler, kind)
            if behavior:
                if handler.request_streaming:
                    behavior = _checked_stream(behavior)
                # Handlers that stream with `yield` are async generators; unary ones, and
                # streaming ones that call context.write(), are coroutines.
                wrap = _stream if inspect.isasyncgenfunction(behavior) else _unary
                return make(  # type: ignore[no-any-return]
                    wrap(method, behavior, not handler.request_streaming, self.authorizer),
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


def _admit(authorizer: Authorizer | None, method: str, request: Any, context: Context,
           unary_request: bool) -> None:
    """The checks before a call runs: its caller (first, so that a caller without the right
    learns nothing of the request's validity), then its request if it has only one."""
    if authorizer is not None:
        authorizer.admit(method, request if unary_request else None, context)
    else:
        caller.set(ANONYMOUS)
    if unary_request:
        _check(request)


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
    if isinstance(error, Unauthenticated | PermissionDenied):
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


def _unary(
    method: str, behavior: Callable[[Any, Context], Awaitable[Any]], check: bool,
    authorizer: Authorizer | None,
) -> Callable[[Any, Context], Awaitable[Any]]:
    async def wrapper(request: Any, context: Context) -> Any:
        async with _observed(method, context, authorizer is not None):
            _admit(authorizer, method, request, context, check)
            return await behavior(request, context)

    return wrapper


def _stream(
    method: str, behavior: Callable[[Any, Context], AsyncIterator[Any]], check: bool,
    authorizer: Authorizer | None,
) -> Callable[[Any, Context], AsyncIterator[Any]]:
    async def wrapper(request: Any, context: Context) -> AsyncIterator[Any]:
        async with _observed(method, context, authorizer is not None):
            _admit(authorizer, method, request, context, check)
            async for response in behavior(request, context):
                yield response

    return wrapper

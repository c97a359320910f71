"""The interceptor every RPC passes through: one log line per call, and domain errors turned
into rich gRPC statuses."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import structlog

from switchboard.server.errors import SwitchboardError
from switchboard.server.status import to_status

log = structlog.get_logger("switchboard.rpc")


class RpcInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None:
            return handler
        method = details.method
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                _unary(method, handler.unary_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                _stream(method, handler.unary_stream),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler


def _finish(method: str, context: grpc.aio.ServicerContext, started: float,
            error: BaseException | None) -> None:
    code = context.code()
    name = code.name if isinstance(code, grpc.StatusCode) else (
        "OK" if code in (None, 0) else str(code))
    fields: dict[str, Any] = {
        "method": method, "peer": context.peer(), "code": name,
        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
    }
    if error is not None and not isinstance(error, SwitchboardError):
        log.error("rpc", **fields, exc_info=error)
    else:
        log.info("rpc", **fields)


def _unary(method: str, behavior: Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]
           ) -> Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]:
    async def wrapper(request: Any, context: grpc.aio.ServicerContext) -> Any:
        started = time.perf_counter()
        error: BaseException | None = None
        try:
            return await behavior(request, context)
        except SwitchboardError as e:
            error = e
            await context.abort_with_status(to_status(e))
        except Exception as e:
            error = e
            if context.code() is None:
                await context.abort(grpc.StatusCode.INTERNAL, "internal error")
            raise
        finally:
            _finish(method, context, started, error)

    return wrapper


def _stream(method: str,
            behavior: Callable[[Any, grpc.aio.ServicerContext], AsyncIterator[Any]]
            ) -> Callable[[Any, grpc.aio.ServicerContext], AsyncIterator[Any]]:
    async def wrapper(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        started = time.perf_counter()
        error: BaseException | None = None
        try:
            async for response in behavior(request, context):
                yield response
        except SwitchboardError as e:
            error = e
            await context.abort_with_status(to_status(e))
        except Exception as e:
            error = e
            if context.code() is None:
                await context.abort(grpc.StatusCode.INTERNAL, "internal error")
            raise
        finally:
            _finish(method, context, started, error)

    return wrapper

"""Request bytes that are not a valid message get INVALID_ARGUMENT on every RPC of every service
the server hosts (its own, health and reflection), found from their descriptors."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pool
from google.rpc import error_details_pb2
from grpc_health.v1 import health
from grpc_reflection.v1alpha import reflection

from switchboard.server.app import SERVICES, App

from support import detail

NOT_PROTOBUF = b"\xff\xff\xff"  # a truncated varint tag


def _methods() -> list[Any]:
    pool = descriptor_pool.Default()
    return [m for name in (*SERVICES, health.SERVICE_NAME, reflection.SERVICE_NAME)
            for m in pool.FindServiceByName(name).methods]


def _call(channel: grpc.aio.Channel, method: Any) -> Any:
    path = f"/{method.containing_service.full_name}/{method.name}"
    kind = {(False, False): channel.unary_unary, (False, True): channel.unary_stream,
            (True, False): channel.stream_unary, (True, True): channel.stream_stream}[
        (method.client_streaming, method.server_streaming)]
    stub = kind(path)
    if method.client_streaming:
        async def one() -> Any:
            yield NOT_PROTOBUF
        return stub(one(), timeout=10)
    return stub(NOT_PROTOBUF, timeout=10)


METHODS = _methods()


def test_every_rpc_is_covered() -> None:
    """The 53 RPCs of the issue, plus Health (Check, Watch) and reflection."""
    assert len(METHODS) >= 53 + 3


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.full_name)
async def test_undecodable_request_is_invalid_argument(server: App, method: Any) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        call = _call(channel, method)
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            if method.server_streaming:
                async for _ in call:
                    pass
            else:
                await call
    error = failure.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error
    assert error.details() == f"request is not a valid {method.input_type.full_name}"
    info = detail(error, error_details_pb2.ErrorInfo)
    assert info.reason == "MALFORMED_REQUEST"

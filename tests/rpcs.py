"""Every RPC the server hosts, found from the service descriptors, and a way to call any of them
with a request message (so that a new RPC is covered without editing the tests)."""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import descriptor_pool
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message_factory import GetMessageClass

from switchboard.server.app import SERVICES


def methods() -> list[MethodDescriptor]:
    """Every method of every Switchboard service the server hosts."""
    pool = descriptor_pool.Default()
    return [m for name in SERVICES for m in pool.FindServiceByName(name).methods]


def method_id(method: MethodDescriptor) -> str:
    return f"{method.containing_service.name}.{method.name}"


def request_of(method: MethodDescriptor, **fields: Any) -> Any:
    return GetMessageClass(method.input_type)(**fields)


def stream_of(channel: grpc.aio.Channel, method: MethodDescriptor, request: Any) -> Any:
    """The call of a server-streaming method (a unary-request one)."""
    response = GetMessageClass(method.output_type)
    return channel.unary_stream(
        f"/{method.containing_service.full_name}/{method.name}",
        request_serializer=type(request).SerializeToString,
        response_deserializer=response.FromString)(request)


async def call(channel: grpc.aio.Channel, method: MethodDescriptor, request: Any) -> Any:
    """The response of a unary method, or the first response of a server-streaming one."""
    response = GetMessageClass(method.output_type)
    path = f"/{method.containing_service.full_name}/{method.name}"
    if not method.server_streaming:
        return await channel.unary_unary(
            path, request_serializer=type(request).SerializeToString,
            response_deserializer=response.FromString)(request, timeout=10)
    stream = stream_of(channel, method, request)
    try:
        return await stream.read()
    finally:
        stream.cancel()

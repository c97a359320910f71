"""Exceptions the client raises, and reading `google.rpc` details off a failed call."""

from __future__ import annotations

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status


class WatchOutOfRange(Exception):
    """The watch's start revision is older than what the server retains. Re-read the state you
    need with Get/List calls, then watch again from `oldest_revision`."""

    def __init__(self, message: str, oldest_revision: int) -> None:
        super().__init__(message)
        self.oldest_revision = oldest_revision


def error_info(error: grpc.RpcError) -> error_details_pb2.ErrorInfo | None:
    """The ErrorInfo detail of a failed call, if it carries one."""
    status = rpc_status.from_call(error)
    if status is None:
        return None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info
    return None


def out_of_range(error: grpc.RpcError) -> WatchOutOfRange:
    info = error_info(error)
    oldest = int(info.metadata.get("oldest_revision", "0")) if info else 0
    return WatchOutOfRange(error.details() or "revision not retained", oldest)

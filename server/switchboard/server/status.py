"""Maps domain errors to gRPC statuses with `google.rpc` details (the one place that does).

A status travels in the trailers, and a default client takes 8 KiB of them (grpc's soft limit;
past it, some calls and past 16 KiB all fail RESOURCE_EXHAUSTED, not with the status). So a
status keeps to a budget: its message at most MESSAGE_WIRE characters once percent-encoded, its
details at most DETAILS_BYTES; grpc-status-details-bin carries both, base64 (4/3): at most 7 KB
in all. Violations past the budget are left out of the details, which say how many there were
(ErrorInfo `violations`); the message says "and N more"."""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from switchboard.server.errors import (
    VIOLATION_CHARS,
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    OutOfRange,
    PermissionDenied,
    ResourceExhausted,
    SwitchboardError,
    Unauthenticated,
    Unavailable,
    clip,
)

MESSAGE_WIRE = 1500
DETAILS_BYTES = 2500

_CODES: dict[type[SwitchboardError], int] = {
    InvalidArgument: code_pb2.INVALID_ARGUMENT,
    NotFound: code_pb2.NOT_FOUND,
    AlreadyExists: code_pb2.ALREADY_EXISTS,
    FailedPrecondition: code_pb2.FAILED_PRECONDITION,
    ResourceExhausted: code_pb2.RESOURCE_EXHAUSTED,
    OutOfRange: code_pb2.OUT_OF_RANGE,
    Unavailable: code_pb2.UNAVAILABLE,
    Unauthenticated: code_pb2.UNAUTHENTICATED,
    PermissionDenied: code_pb2.PERMISSION_DENIED,
}


def to_status(error: SwitchboardError) -> grpc.Status:
    """A rich status: ErrorInfo always, plus BadRequest, PreconditionFailure or ResourceInfo."""
    info = error_details_pb2.ErrorInfo(reason=error.reason, domain=f"switchboard.{error.area}",
                                       metadata=dict(error.metadata))
    listed: Message | None = None
    total = 0
    if isinstance(error, InvalidArgument):
        listed, total = error_details_pb2.BadRequest(), len(error.violations)
        for v in error.violations:
            listed.field_violations.add(field=clip(v.field), description=clip(v.description))
    elif isinstance(error, FailedPrecondition):
        listed, total = error_details_pb2.PreconditionFailure(), len(error.violations)
        for p in error.violations:
            listed.violations.add(type=p.type, subject=clip(p.subject),
                                  description=clip(p.description))
    details: list[Message] = [info]
    if listed is not None:
        details.append(listed)
    elif isinstance(error, NotFound | AlreadyExists):
        details.append(error_details_pb2.ResourceInfo(
            resource_type=error.resource_type, resource_name=clip(error.resource_name),
            description=clip(error.message, VIOLATION_CHARS * 2)))
    details.extend(error.details)
    if listed is not None and sum(d.ByteSize() for d in details) > DETAILS_BYTES:
        _trim(listed, info, total, sum(d.ByteSize() for d in details if d is not listed))
    packed = []
    for detail in details:
        wrapper = any_pb2.Any()
        wrapper.Pack(detail)
        packed.append(wrapper)
    status: grpc.Status = rpc_status.to_status(status_pb2.Status(
        code=_CODES[type(error)], message=_fit(error.message), details=packed))
    return status


def _trim(listed: Message, info: error_details_pb2.ErrorInfo, total: int, others: int) -> None:
    """Drops the violations past DETAILS_BYTES, noting in `info` how many there were."""
    info.metadata["violations"] = str(total)
    entries: Any = getattr(listed, listed.DESCRIPTOR.fields[0].name)
    used = others + 64  # what ErrorInfo's new entry and the wrappers take
    keep = 0
    for entry in entries:
        used += entry.ByteSize() + 4
        if keep and used > DETAILS_BYTES:
            break
        keep += 1
    del entries[keep:]


def _wire_chars(text: str) -> int:
    """Characters of `text` as grpc-message carries it (percent-encoded beyond printable ASCII)."""
    return sum(1 if 0x20 <= b <= 0x7E and b != 0x25 else 3 for b in text.encode())


def _fit(message: str) -> str:
    """`message`, cut so that it takes at most MESSAGE_WIRE characters on the wire."""
    if _wire_chars(message) <= MESSAGE_WIRE:
        return message
    low, high = 0, len(message)
    while low < high:  # the longest prefix that fits with its ellipsis
        mid = (low + high + 1) // 2
        if _wire_chars(message[:mid] + "…") <= MESSAGE_WIRE:
            low = mid
        else:
            high = mid - 1
    return message[:low] + "…"

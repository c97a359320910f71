"""Conversions between protobuf Timestamps and the server's integer microseconds."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp


def to_micros(ts: Timestamp) -> int:
    return ts.seconds * 1_000_000 + ts.nanos // 1000


def from_micros(micros: int) -> Timestamp:
    seconds, rest = divmod(micros, 1_000_000)
    return Timestamp(seconds=seconds, nanos=rest * 1000)


def format_micros(micros: int) -> str:
    """RFC 3339, as in JSON: 2030-01-01T02:00:00Z."""
    return from_micros(micros).ToJsonString()

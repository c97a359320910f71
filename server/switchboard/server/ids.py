"""Ids of the resources the server creates: UUIDs of version 7 (RFC 9562), whose first 48 bits
are the time of creation in milliseconds. Ids made one after another sort together, so new rows
go to the last pages of a table's key index instead of to random ones (with version-4 UUIDs a
batch of inserts dirtied a page per row, and the index pages stopped fitting in cache)."""

from __future__ import annotations

import os
import time

_VERSION = 0x7 << 76
_VARIANT = 0b10 << 62
_RAND_A = 0xFFF << 64
_RAND_B = (1 << 62) - 1


def new_id() -> str:
    """A new version-7 UUID in its canonical text form; the 74 bits after the time are random."""
    bits = int.from_bytes(os.urandom(10), "big")
    value = (time.time_ns() // 1_000_000) << 80 | _VERSION | bits & _RAND_A | _VARIANT \
        | bits & _RAND_B
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

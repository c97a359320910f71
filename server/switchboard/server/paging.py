"""What every List RPC shares: `page_size` / `page_token`, the page byte budget, and enum
filters."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from google.protobuf.message import Message

from switchboard.server.errors import Violations

T = TypeVar("T")
M = TypeVar("M")

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
PAGE_BYTES = 3 << 20
"""Most bytes of serialized items in one page, so that a page fits a default client's 4 MiB
message limit whatever is stored (a page always holds at least one item; the request bounds
keep any one item well under 4 MiB)."""


def page_size(value: int, violations: Violations) -> int:
    if value < 0:
        violations.add("page_size", "must not be negative")
    return min(value or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def encode_token(position: str) -> str:
    return base64.urlsafe_b64encode(position.encode()).decode()


def next_page_token(found: Sequence[T], size: int, position: Callable[[T], object]) -> str:
    """The token after a page read with a limit of `size + 1`: the position of its last item,
    or "" when nothing follows."""
    return encode_token(str(position(found[size - 1]))) if len(found) > size else ""


def _serialized_size(message: Any) -> int:
    return int(message.ByteSize()) if isinstance(message, Message) else len(str(message).encode())


def page(found: Sequence[T], size: int, position: Callable[[T], object],
         convert: Callable[[T], M]) -> tuple[list[M], str]:
    """The page of a read with a limit of `size + 1`, converted, and its next_page_token. The
    page ends early, with a token, before an item that would take it past PAGE_BYTES."""
    items: list[M] = []
    total = 0
    for item in found[:size]:
        converted = convert(item)
        total += _serialized_size(converted) + 8  # with the field's tag and length prefix
        if items and total > PAGE_BYTES:
            return items, encode_token(str(position(found[len(items) - 1])))
        items.append(converted)
    return items, next_page_token(found, size, position)


def decode_token(token: str, violations: Violations) -> str:
    """The position a token stands for ('' for the first page)."""
    if not token:
        return ""
    try:
        return base64.b64decode(token.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        violations.add("page_token", "is not a token this server issued")
        return ""


def decode_revision_token(token: str, violations: Violations) -> int:
    """The revision a token for a list in creation-revision order stands for (0: first page)."""
    position = decode_token(token, violations)
    if not position:
        return 0
    try:
        return int(position)
    except ValueError:
        violations.add("page_token", "is not a token this server issued")
        return 0


def enum_filter(values: Iterable[int], known: Mapping[Any, T], path: str,
                violations: Violations) -> list[T]:
    """A repeated enum filter (e.g. `statuses`) as domain values; unknown ones are violations."""
    out = []
    for i, value in enumerate(values):
        if value in known:
            out.append(known[value])
        else:
            violations.add(f"{path}[{i}]", f"unknown value {value}")
    return out

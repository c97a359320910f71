"""What every List RPC shares: `page_size` / `page_token` (tokens bound to the filters they
were made with), the page byte budget, and enum filters."""

from __future__ import annotations

import base64
import binascii
import hashlib
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


def _filters(request: Message) -> str:
    """A digest of a List request's type and fields other than `page_token` and `page_size`:
    what a token is bound to, so that one made for a list is refused for another list or the
    same list with other filters."""
    others = type(request)()
    others.CopyFrom(request)
    others.ClearField("page_token")
    others.ClearField("page_size")
    digest = hashlib.blake2b(request.DESCRIPTOR.full_name.encode(), digest_size=_DIGEST_BYTES)
    digest.update(others.SerializeToString(deterministic=True))
    return digest.hexdigest()


_DIGEST_BYTES = 6


def _token(request: Message, position: object) -> str:
    return base64.urlsafe_b64encode(f"{_filters(request)}{position}".encode()).decode()


def _serialized_size(message: Any) -> int:
    return int(message.ByteSize()) if isinstance(message, Message) else len(str(message).encode())


def page(request: Message, found: Sequence[T], size: int, position: Callable[[T], object],
         convert: Callable[[T], M]) -> tuple[list[M], str]:
    """The page of a read with a limit of `size + 1`, converted, and its next_page_token (the
    position of its last item, bound to the request's filters; "" when nothing follows). The
    page ends early, with a token, before an item that would take it past PAGE_BYTES."""
    items: list[M] = []
    total = 0
    for item in found[:size]:
        converted = convert(item)
        total += _serialized_size(converted) + 8  # with the field's tag and length prefix
        if items and total > PAGE_BYTES:
            return items, _token(request, position(found[len(items) - 1]))
        items.append(converted)
    return items, _token(request, position(found[size - 1])) if len(found) > size else ""


def decode_token(request: Any, violations: Violations) -> str:
    """The position a List request's `page_token` stands for ('' for the first page); a token
    this server did not issue, or issued for other filters, is a violation."""
    token: str = request.page_token
    if not token:
        return ""
    try:
        decoded = base64.b64decode(token.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    filters, position = decoded[:2 * _DIGEST_BYTES], decoded[2 * _DIGEST_BYTES:]
    if not position:
        violations.add("page_token", "is not a token this server issued")
    elif filters != _filters(request):
        violations.add("page_token", "was issued for a list with other filters: give the same "
                                     "filters as the call that returned it, or no token")
        return ""
    return position


def decode_revision_token(request: Any, violations: Violations) -> int:
    """The revision the request's token stands for, for a list in creation-revision order (0:
    first page)."""
    position = decode_token(request, violations)
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

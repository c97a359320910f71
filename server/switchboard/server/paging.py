"""`page_size` / `page_token` handling shared by every List RPC."""

from __future__ import annotations

import base64
import binascii

from switchboard.server.errors import Violations

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


def page_size(value: int, violations: Violations) -> int:
    if value < 0:
        violations.add("page_size", "must not be negative")
    return min(value or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def encode_token(position: str) -> str:
    return base64.urlsafe_b64encode(position.encode()).decode()


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

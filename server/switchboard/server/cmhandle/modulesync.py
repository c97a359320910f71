"""Planning module sync: which handles are due, grouped so that handles sharing a module-set tag
share one fetch from their DMI plugin, and the backoff of retries after failures.

Due: ADVISED and LOCKED(MODULE_UPGRADE) handles at once; LOCKED(MODULE_SYNC_FAILED) and
LOCKED(MODULE_UPGRADE_FAILED) ones once their backoff from the last failure has passed. NCMP
waits 2^failures minutes, without bound; here the doubling starts at `base` and stops at `cap`,
without jitter, so that plans are deterministic. Times are microseconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from switchboard.server.cmhandle.model import CmHandle, HandleState, LockReason

MICROS = 1_000_000

_RETRIED = frozenset({LockReason.MODULE_SYNC_FAILED, LockReason.MODULE_UPGRADE_FAILED})
_MAX_DOUBLINGS = 62  # beyond this any sensible cap is reached; keeps the numbers small


@dataclass(frozen=True)
class Backoff:
    """After the n-th consecutive failure, the next attempt waits min(cap, base * 2^(n-1))."""

    base: int = 30 * MICROS
    cap: int = 30 * 60 * MICROS

    def __post_init__(self) -> None:
        if not 0 < self.base <= self.cap:
            raise ValueError(f"need 0 < base <= cap, got base={self.base}, cap={self.cap}")

    def delay(self, failures: int) -> int:
        if failures < 1:
            raise ValueError(f"failures must be at least 1, got {failures}")
        return min(self.cap, self.base << min(failures - 1, _MAX_DOUBLINGS))

    def next_attempt(self, failures: int, failed_at: int) -> int:
        """When to try again after `failures` consecutive failures, the last at `failed_at`."""
        return failed_at + self.delay(failures)


def due(h: CmHandle, now: int, backoff: Backoff) -> bool:
    """Whether `h` is to be synced at `now`."""
    if h.state is HandleState.ADVISED or h.lock_reason is LockReason.MODULE_UPGRADE:
        return True
    if h.state is not HandleState.LOCKED or h.lock_reason not in _RETRIED:
        return False
    return h.failed_at is None or backoff.next_attempt(h.sync_failures, h.failed_at) <= now


@dataclass(frozen=True)
class FetchGroup:
    """Handles of one DMI plugin whose module set one fetch gives: those sharing a non-empty
    module-set tag, or one untagged handle (`module_set_tag` "")."""

    dmi_plugin: str
    module_set_tag: str
    handle_ids: tuple[str, ...]
    """Sorted; the first is the one to fetch for."""


def plan(handles: Iterable[CmHandle], now: int, backoff: Backoff) -> list[FetchGroup]:
    """The fetches for the handles of `handles` due at `now`, ordered by plugin, tag and ids."""
    tagged: dict[tuple[str, str], list[str]] = {}
    groups: list[FetchGroup] = []
    for h in handles:
        if not due(h, now, backoff):
            continue
        if h.module_set_tag:
            tagged.setdefault((h.dmi_plugin, h.module_set_tag), []).append(h.id)
        else:
            groups.append(FetchGroup(h.dmi_plugin, "", (h.id,)))
    groups += [FetchGroup(plugin, tag, tuple(sorted(ids))) for (plugin, tag), ids in tagged.items()]
    return sorted(groups, key=lambda g: (g.dmi_plugin, g.module_set_tag, g.handle_ids))

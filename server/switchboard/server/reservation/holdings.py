"""A pool's holdings from some instant on, kept in memory and indexed by time, so that admitting
a reservation needs no query of its own. Valid while the pool's version is the one it was
loaded at (every change of what a pool holds moves the version, in any process)."""

from __future__ import annotations

from bisect import bisect_left, insort
from dataclasses import dataclass, field

from switchboard.server.reservation.ledger import CapacityChange, Claim, PoolLedger


def _overlaps(start: int, end: int | None, lo: int, hi: int) -> bool:
    return start < hi and (end is None or end > lo)


@dataclass
class PoolHoldings:
    """Capacity changes, reservation claims and allocation claims of one pool."""

    version: int
    changes: list[CapacityChange]
    outside: list[Claim]
    inside: list[Claim]
    _claims: list[tuple[int, str, Claim]] = field(default_factory=list)
    _longest: int = 0

    def add(self, claim: Claim) -> None:
        """A reservation's claim (it must have an end)."""
        assert claim.end is not None
        insort(self._claims, (claim.start, claim.id, claim))
        self._longest = max(self._longest, claim.end - claim.start)

    def ledger(self, start: int, end: int) -> PoolLedger:
        """The ledger over [start, end): only what overlaps the window."""
        # A claim overlapping the window starts after start - longest and before end.
        first = bisect_left(self._claims, (start - self._longest,))
        last = bisect_left(self._claims, (end,))
        held = [c for _, _, c in self._claims[first:last] if c.end is not None and c.end > start]
        return PoolLedger(
            [c for c in self.changes if _overlaps(c.start, c.end, start, end)],
            held,
            allocations_outside=[c for c in self.outside if _overlaps(c.start, c.end, start, end)],
            allocations_inside=[c for c in self.inside if _overlaps(c.start, c.end, start, end)],
        )

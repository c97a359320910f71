"""A pool's holdings from some instant on, kept in memory and indexed by time, so that admitting
a reservation or an instance needs no query of its own. Valid while the pool's version is the
one it was loaded at (every change of what a pool holds moves the version, in any process).

Windows asked about never start before the current time, and every instance claim started at
or before it and is open-ended, so open instance claims are kept as one running total."""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

from switchboard.server.reservation.ledger import (
    Binding,
    CapacityChange,
    Claim,
    OpenEndedFree,
    PoolLedger,
)


def _overlaps(start: int, end: int | None, lo: int, hi: int) -> bool:
    return start < hi and (end is None or end > lo)


def _add(total: dict[str, int], amounts: Mapping[str, int]) -> None:
    for k, v in amounts.items():
        total[k] = total.get(k, 0) + v


def _restore(total: dict[str, int], before: Mapping[str, int]) -> Callable[[], None]:
    def restore() -> None:
        total.clear()
        total.update(before)

    return restore


@dataclass
class PoolHoldings:
    """Capacity changes, reservation claims and instance claims of one pool, from `since` on."""

    version: int
    since: int
    changes: list[CapacityChange]
    valid_until: int | None = None
    """From this instant on the holdings are stale even at the same version: an instance's
    reservation ends, and the instance counts against the pool until it is deleted."""
    revision: int | None = None
    """A revision of the event log up to which every change of the pool is in these holdings
    (None: not known), from which they can be brought up to date (`Admission`)."""
    contested: bool = False
    """Whether another process changed the pool lately, so that counting on these holdings
    without reading the pool's version is likely to fail (`Admission`)."""
    _undo: list[Callable[[], None]] | None = None
    _outside: dict[str, int] = field(default_factory=dict)
    _outside_bounded: list[Claim] = field(default_factory=list)
    _inside: dict[str, dict[str, int]] = field(default_factory=dict)
    _claims: list[tuple[int, str, Claim]] = field(default_factory=list)
    _by_id: dict[str, Claim] = field(default_factory=dict)
    _longest: int = 0
    _open_ended: OpenEndedFree | None = None
    _added_since: dict[str, int] = field(default_factory=dict)
    """What the reservation claims added since `_open_ended` was computed hold together."""

    def add(self, claim: Claim) -> None:
        """A reservation's claim (it must have an end)."""
        assert claim.end is not None
        insort(self._claims, (claim.start, claim.id, claim))
        self._by_id[claim.id] = claim
        self._longest = max(self._longest, claim.end - claim.start)
        if self._open_ended is not None:
            _add(self._added_since, claim.amounts)
        if self._undo is not None:
            self._undo.append(lambda: self._remove(claim))

    def _remove(self, claim: Claim) -> None:  # `_longest` stays: it is only a bound
        del self._claims[bisect_left(self._claims, (claim.start, claim.id))]
        del self._by_id[claim.id]
        self._open_ended = None

    def reservation(self, reservation_id: str) -> Claim | None:
        """The claim of a reservation that holds capacity in this pool, if there is one."""
        return self._by_id.get(reservation_id)

    def add_outside(self, claim: Claim) -> None:
        """An instance's claim outside any reservation."""
        if self._undo is not None:
            self._undo.append(_restore(self._outside, dict(self._outside)) if claim.end is None
                              else lambda: self._remove_outside(claim))
        if claim.end is None:
            _add(self._outside, claim.amounts)
        else:
            self._outside_bounded.append(claim)
            self._open_ended = None

    def _remove_outside(self, claim: Claim) -> None:
        self._outside_bounded.remove(claim)
        self._open_ended = None

    def add_inside(self, reservation_id: str, amounts: Mapping[str, int], until: int) -> None:
        """An instance's claim inside a reservation that ends at `until`: only counted against
        that reservation."""
        if self._undo is not None:
            if reservation_id in self._inside:
                self._undo.append(_restore(self._inside[reservation_id],
                                           dict(self._inside[reservation_id])))
            else:
                self._undo.append(lambda: self._drop_inside(reservation_id))
        _add(self._inside.setdefault(reservation_id, {}), amounts)
        if self.valid_until is None or until < self.valid_until:
            self.valid_until = until  # kept if undone: stale early is only a reload

    def _drop_inside(self, reservation_id: str) -> None:
        del self._inside[reservation_id]

    def tentatively(self) -> None:
        """From here on, what is added can be taken back (`take_back`), until `keep`."""
        self._undo = []

    def keep(self) -> None:
        self._undo = None

    def take_back(self) -> None:
        """Undoes what was added since `tentatively` (a transaction that added it failed)."""
        undo, self._undo = self._undo or [], None
        for step in reversed(undo):
            step()

    def stale_at(self, now: int) -> bool:
        """Whether the clock has made these holdings stale (`valid_until`)."""
        return self.valid_until is not None and now >= self.valid_until

    def used(self, reservation_id: str) -> dict[str, int]:
        """What the instances allocated against a reservation take from it."""
        return dict(self._inside.get(reservation_id, {}))

    def free_from(self, at: int) -> dict[str, int]:
        """Per type, the least capacity that no reservation or instance holds at any instant
        from `at` on (`ledger(at, None).free(at, None)`, kept between calls)."""
        if self._open_ended is None or self._added_since:
            held = [c for _, _, c in self._claims]
            self._open_ended = PoolLedger(
                self.changes, held, allocations_outside=self._outside_bounded
            ).open_ended_free()
            self._added_since.clear()
        free = self._open_ended(at)
        return {k: v - self._outside.get(k, 0) for k, v in free.items()}

    def binding_from(self, at: int, amounts: Mapping[str, int],
                     visible: Collection[str] | None = None) -> Binding | None:
        """Where `amounts` does not fit in `free_from(at)`: the instant that binds and the
        reservations (of the `visible` projects) holding capacity there (`PoolLedger.binding`)."""
        outside = list(self._outside_bounded)
        if self._outside:
            outside.append(Claim("instances", self.since, None, self._outside))
        held = [c for _, _, c in self._claims]
        return PoolLedger(self.changes, held, allocations_outside=outside).binding(
            at, None, amounts, visible=visible)

    def surely_free_from(self, at: int, amounts: Mapping[str, int]) -> bool:
        """A cheap sufficient test for `amounts` fitting in `free_from(at)`: the free capacity
        as last computed, less all that the reservations added since then hold (whenever they
        hold it), still leaves room. Spares recomputing over every reservation of the pool
        each time reservations and unreserved instances take turns."""
        if self._open_ended is None:
            return False
        free = self._open_ended(at)
        return all(n <= free[k] - self._outside.get(k, 0) - self._added_since.get(k, 0)
                   for k, n in amounts.items())

    def surely_fits(self, start: int, end: int, amounts: Mapping[str, int]) -> bool:
        """A cheap sufficient test for `ledger(start, end).check(...).ok`: the least capacity
        over the window, less everything held at any time within it, still leaves room."""
        inside = [c for c in self.changes if _overlaps(c.start, c.end, start, end)]
        instants = {start, *(t for c in inside for t in (c.start, c.end)
                             if t is not None and start < t < end)}
        first = bisect_left(self._claims, (start - self._longest,))
        last = bisect_left(self._claims, (end,))
        held = [c for _, _, c in self._claims[first:last] if c.end is not None and c.end > start]
        held += [c for c in self._outside_bounded if _overlaps(c.start, c.end, start, end)]
        for k, need in amounts.items():
            if need <= 0:
                continue
            capacity = min(sum(c.delta.get(k, 0) for c in inside
                               if c.start <= t and (c.end is None or t < c.end))
                           for t in instants)
            taken = self._outside.get(k, 0) + sum(c.amounts.get(k, 0) for c in held)
            if capacity - taken < need:
                return False
        return True

    def ledger(self, start: int, end: int) -> PoolLedger:
        """The ledger of what holds capacity over [start, end), for `check`."""
        # A claim overlapping the window starts after start - longest and before end.
        first = bisect_left(self._claims, (start - self._longest,))
        last = bisect_left(self._claims, (end,))
        held = [c for _, _, c in self._claims[first:last] if c.end is not None and c.end > start]
        outside = [c for c in self._outside_bounded if _overlaps(c.start, c.end, start, end)]
        if self._outside:
            outside.append(Claim("instances", self.since, None, self._outside))
        return PoolLedger(
            [c for c in self.changes if _overlaps(c.start, c.end, start, end)],
            held,
            allocations_outside=outside,
        )

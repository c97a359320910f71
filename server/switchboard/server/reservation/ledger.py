"""Capacity ledger of one resource pool: what is free, what fits, what to impair and restore.

Pure computation, no I/O. Time is integer microseconds since the Unix epoch; every interval is
half-open [start, end), and `end=None` means open-ended. Every quantity over time is a step
function built by sweeping sorted breakpoints, never by stepping through time.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

RESOURCE_TYPES: tuple[str, ...] = (
    "cores",
    "ram_mb",
    "instances",
    "gigabytes",
    "volumes",
    "snapshots",
    "networks",
    "ports",
    "routers",
    "subnets",
    "addresses",
)
MAX_AMOUNT = 2**40
"""The most of one resource type in any request (Resources fields)."""
MAX_TOTAL = 2**44
"""The most (and, negated, the least) a pool's capacity of one type may be at any instant, so that
every sum of capacity, reservations and instances stays far inside int64."""

Amounts = Mapping[str, int]
"""Quantities keyed by resource type; a missing key means 0."""

_N = len(RESOURCE_TYPES)
_INDEX = {name: i for i, name in enumerate(RESOURCE_TYPES)}
# Slots of the wide vectors behind `figures`: total, reserved, allocated, available.
_TOTAL, _RESERVED, _ALLOCATED, _AVAILABLE = range(4)


@dataclass(frozen=True)
class CapacityChange:
    """A signed change of the pool's capacity over [start, end): positive adds, negative removes."""

    start: int
    end: int | None
    delta: Mapping[str, int]


@dataclass(frozen=True)
class Claim:
    """Capacity held by a reservation or an allocation over [start, end).

    `priority`: higher is more important. `order`: creation sequence, larger is created later.
    `holder`: for an instance's claim, the reservation it was allocated against ("" if none).
    `project`: a reservation's project (which callers may be told of it: `binding`).
    """

    id: str
    start: int
    end: int | None
    amounts: Mapping[str, int]
    priority: int = 0
    order: int = 0
    holder: str = ""
    project: str = ""


@dataclass(frozen=True)
class Fit:
    """Whether a request fits, the most of each type reservable over its window, and the earliest
    start (no later than the horizon) at which the whole request fits, or None."""

    ok: bool
    max_reservable: dict[str, int]
    earliest_start: int | None


@dataclass(frozen=True)
class Figures:
    """Per resource type: capacity, reserved, allocated (outside + inside) and available."""

    total: dict[str, int]
    reserved: dict[str, int]
    allocated: dict[str, int]
    available: dict[str, int]

    @property
    def over_allocated(self) -> dict[str, int]:
        """How far what is held exceeds capacity (where available is negative)."""
        return {k: max(0, -v) for k, v in self.available.items()}


@dataclass(frozen=True)
class Binding:
    """The instant at which a request binds, and the reservations holding capacity there."""

    at: int
    reservation_ids: list[str]


@dataclass(frozen=True)
class Step:
    """The figures holding from `at` until the next step."""

    at: int
    figures: Figures


_Span = tuple[int, int | None, Sequence[int]]
"""A contribution of a vector over [start, end)."""


def _vector(amounts: Amounts) -> list[int]:
    vec = [0] * _N
    for name, value in amounts.items():
        if name not in _INDEX:
            raise ValueError(f"unknown resource type {name!r}")
        vec[_INDEX[name]] = value
    return vec


def _claimed(claim: Claim) -> tuple[Claim, list[int]]:
    vec = _vector(claim.amounts)
    if any(v < 0 for v in vec):
        raise ValueError(f"claim {claim.id!r} has a negative amount")
    return claim, vec


def _as_dict(vec: Iterable[int]) -> dict[str, int]:
    return dict(zip(RESOURCE_TYPES, vec, strict=True))


def _wide(vec: Sequence[int], *slots: tuple[int, int]) -> list[int]:
    """`vec` placed, with a sign, in the given slots of a `figures` vector."""
    out = [0] * (4 * _N)
    for slot, sign in slots:
        out[slot * _N : (slot + 1) * _N] = [sign * v for v in vec]
    return out


def _figures(vec: Sequence[int]) -> Figures:
    parts = [_as_dict(vec[slot * _N : (slot + 1) * _N]) for slot in range(4)]
    return Figures(total=parts[0], reserved=parts[1], allocated=parts[2], available=parts[3])


def _require_window(start: int, end: int | None) -> None:
    if end is not None and end <= start:
        raise ValueError(f"empty window [{start}, {end})")


class _Profile:
    """A step function of vectors: `values[i]` holds on [times[i], times[i + 1]) (the last one
    forever), and zero holds before `times[0]`. Segment index -1 stands for that zero region."""

    def __init__(self, spans: Iterable[_Span], width: int, extra: Iterable[int] = ()) -> None:
        deltas: dict[int, list[int]] = {t: [0] * width for t in extra}
        for start, end, vec in spans:
            if end is not None and end <= start:
                continue
            for at, sign in ((start, 1), (end, -1)):
                if at is None:
                    continue
                delta = deltas.setdefault(at, [0] * width)
                for k, v in enumerate(vec):
                    delta[k] += sign * v
        self.width = width
        self.times = sorted(deltas)
        self.values: list[list[int]] = []
        running = [0] * width
        for at in self.times:
            running = [a + b for a, b in zip(running, deltas[at], strict=True)]
            self.values.append(running)

    def index(self, at: int) -> int:
        """Index of the segment holding at `at`."""
        return bisect_right(self.times, at) - 1

    def segments(self, start: int, end: int | None) -> range:
        """Indices of the segments meeting the non-empty window [start, end)."""
        stop = len(self.times) if end is None else bisect_left(self.times, end)
        return range(self.index(start), stop)

    def value(self, i: int) -> list[int]:
        return self.values[i] if i >= 0 else [0] * self.width

    def end_of(self, i: int) -> int | None:
        return self.times[i + 1] if i + 1 < len(self.times) else None

    def minimum(self, start: int, end: int | None) -> list[int]:
        rows = [self.value(i) for i in self.segments(start, end)]
        return [min(column) for column in zip(*rows, strict=True)]


class _Grid:
    """Mutable vectors over fixed segments (`rows[i]` holds from `times[i]`), counting negative
    entries from the segment holding at `now` on. Claims' bounds must be among `times`."""

    def __init__(self, times: list[int], rows: list[list[int]], now: int) -> None:
        self.times = times
        self.rows = rows
        self.first = bisect_right(times, now) - 1
        self.negatives = sum(v < 0 for row in rows[self.first :] for v in row)

    def negative_prefix(self) -> list[list[int]]:
        """Per type, the running count of negative entries from `first` on, by segment."""
        counts = [[0] * (len(self.rows) + 1) for _ in range(_N)]
        for i, row in enumerate(self.rows):
            for k, column in enumerate(counts):
                column[i + 1] = column[i] + (i >= self.first and row[k] < 0)
        return counts

    def span(self, claim: Claim) -> range:
        start = max(bisect_left(self.times, claim.start), self.first)
        stop = len(self.times) if claim.end is None else bisect_left(self.times, claim.end)
        return range(start, stop)

    def add(self, span: range, vec: Sequence[int], sign: int) -> None:
        changed = [(k, sign * v) for k, v in enumerate(vec) if v]
        for i in span:
            row = self.rows[i]
            for k, v in changed:
                old = row[k]
                row[k] = old + v
                self.negatives += (row[k] < 0) - (old < 0)

    def contributes(self, span: range, vec: Sequence[int]) -> bool:
        """Whether a claim of `vec` over `span` holds some type that is negative there."""
        wanted = [k for k, v in enumerate(vec) if v > 0]
        return any(self.rows[i][k] < 0 for i in span for k in wanted)

    def fits(self, span: range, vec: Sequence[int]) -> bool:
        wanted = [(k, v) for k, v in enumerate(vec) if v > 0]
        return all(self.rows[i][k] >= v for i in span for k, v in wanted)


def _bounds(claims: Iterable[Claim]) -> list[int]:
    return [t for c in claims for t in (c.start, c.end) if t is not None]


class PoolLedger:
    """Capacity, reservations and allocations of one pool.

    `reservations` hold capacity; `allocations_outside` (instances where no reservation holds
    them: unreserved, or their reservation does not hold them there) hold capacity too;
    `allocations_inside` (instances inside a reservation that holds them, `holder` naming it)
    are only reported. available(t) = capacity(t) - reserved(t) - allocated_outside(t), per
    resource type; it is negative where a capacity cut left more held than there is.
    """

    def __init__(
        self,
        changes: Iterable[CapacityChange],
        reservations: Iterable[Claim],
        allocations_outside: Iterable[Claim] = (),
        allocations_inside: Iterable[Claim] = (),
    ) -> None:
        self._capacity = [(c.start, c.end, _vector(c.delta)) for c in changes]
        self._reservations = [_claimed(c) for c in reservations]
        self._outside = [_claimed(c) for c in allocations_outside]
        self._inside = [_claimed(c) for c in allocations_inside]
        self._available = self._available_profile(exclude=None)

    def _available_spans(self, exclude: str | None, reservations: bool = True) -> list[_Span]:
        """Capacity less what holds it; leaving out reservation `exclude`, and its instances
        (were it to hold again, they would be inside it)."""
        held = [(c, v) for c, v in self._reservations if reservations and c.id != exclude]
        outside = [(c, v) for c, v in self._outside if exclude is None or c.holder != exclude]
        spans: list[_Span] = list(self._capacity)
        spans += [(c.start, c.end, [-v for v in vec]) for c, vec in [*held, *outside]]
        return spans

    def _available_profile(self, exclude: str | None) -> _Profile:
        return _Profile(self._available_spans(exclude), _N)

    @cached_property
    def _figures_profile(self) -> _Profile:
        spans: list[_Span] = [
            (s, e, _wide(vec, (_TOTAL, 1), (_AVAILABLE, 1))) for s, e, vec in self._capacity
        ]
        for slots, claims in (
            (((_RESERVED, 1), (_AVAILABLE, -1)), self._reservations),
            (((_ALLOCATED, 1), (_AVAILABLE, -1)), self._outside),
            (((_ALLOCATED, 1),), self._inside),
        ):
            spans += [(c.start, c.end, _wide(vec, *slots)) for c, vec in claims]
        return _Profile(spans, 4 * _N)

    def free(self, start: int, end: int | None) -> dict[str, int]:
        """Per type, the minimum of available over [start, end) (may be negative)."""
        _require_window(start, end)
        return _as_dict(self._available.minimum(start, end))

    def open_ended_free(self) -> OpenEndedFree:
        """`free(at, None)` for any `at`, answered without a sweep each time."""
        return OpenEndedFree(self._available)

    def check(
        self, start: int, end: int, amounts: Amounts, horizon: int, exclude: str | None = None
    ) -> Fit:
        """Whether `amounts` fits over [start, end), leaving out reservation `exclude`'s claim."""
        _require_window(start, end)
        need = _vector(amounts)
        profile = self._available if exclude is None else self._available_profile(exclude)
        lowest = profile.minimum(start, end)
        max_reservable = _as_dict(max(0, v) for v in lowest)
        wanted = [k for k, v in enumerate(need) if v > 0]
        if all(lowest[k] >= need[k] for k in wanted):
            return Fit(ok=True, max_reservable=max_reservable, earliest_start=start)
        earliest = _earliest(profile, start, end - start, need, wanted, horizon)
        return Fit(ok=False, max_reservable=max_reservable, earliest_start=earliest)

    def binding(self, start: int, end: int | None, amounts: Amounts,
                exclude: str | None = None, limit: int = 20,
                visible: Collection[str] | None = None) -> Binding | None:
        """Where `amounts` does not fit over [start, end) (leaving out reservation `exclude`):
        the earliest instant at which a short type falls to its least over the window, and the
        reservations holding a type short there (earliest created first, at most `limit`; only
        those of the `visible` projects, if not None). None if it fits."""
        _require_window(start, end)
        need = _vector(amounts)
        profile = self._available if exclude is None else self._available_profile(exclude)
        segments = profile.segments(start, end)
        lowest = profile.minimum(start, end)
        short = [k for k, v in enumerate(need) if v > 0 and lowest[k] < v]
        if not short:
            return None
        first = next(i for i in segments if any(profile.value(i)[k] == lowest[k] for k in short))
        at = max(start, profile.times[first]) if first >= 0 else start
        there = [k for k in short if profile.value(first)[k] < need[k]]
        holding = sorted(
            (c for c, vec in self._reservations
             if c.id != exclude and c.start <= at and (c.end is None or at < c.end)
             and any(vec[k] > 0 for k in there) and (visible is None or c.project in visible)),
            key=lambda c: (c.order, c.id))
        return Binding(at, [c.id for c in holding[:limit]])

    def figures(self, start: int, end: int) -> tuple[Figures, Figures, list[Step]]:
        """Minimum and maximum of each figure over [start, end), and its timeline of changes."""
        _require_window(start, end)
        profile = self._figures_profile
        segments = profile.segments(start, end)
        rows = [profile.value(i) for i in segments]
        timeline: list[Step] = []
        previous: list[int] | None = None
        for i, row in zip(segments, rows, strict=True):
            if row != previous:
                at = start if i == segments[0] else profile.times[i]
                timeline.append(Step(at=at, figures=_figures(row)))
                previous = row
        low = _figures([min(column) for column in zip(*rows, strict=True)])
        high = _figures([max(column) for column in zip(*rows, strict=True)])
        return low, high, timeline

    def to_impair(self, now: int) -> list[str]:
        """Ids of the reservations to impair, in removal order (`impairments`)."""
        return list(self.impairments(now))

    def impairments(self, now: int) -> dict[str, dict[str, int]]:
        """The reservations to impair, in removal order, each with how much of each type the
        pool lacks for it to hold again, so that from `now` on reserved plus allocated outside
        never exceeds capacity. A reservation taken away leaves its instances holding what
        they use (`used`), so taking it away frees only the rest. Where instances alone exceed
        capacity, no reservation holding that type is kept. Otherwise the least important and
        latest created go first; then any removal that turns out unnecessary is undone, so
        the result is minimal."""
        live = [(c, vec) for c, vec in self._reservations if c.end is None or c.end > now]
        used = self.used(now)
        spare = {c.id: [a - u for a, u in zip(vec, used.get(c.id, [0] * _N), strict=True)]
                 for c, vec in live}
        # Base: capacity less every instance, inside reservations or not.
        spans = self._available_spans(None, False)
        spans += [(c.start, c.end, [-v for v in vec]) for c, vec in self._inside]
        base = _Profile(spans, _N, extra=[now, *_bounds(c for c, _ in live)])
        grid = _Grid(base.times, base.values, now)
        forced = sorted(
            ((c, vec) for c, vec in live if any(
                vec[k] > 0 and grid.rows[i][k] < 0 for i in grid.span(c) for k in range(_N))),
            key=lambda item: (item[0].priority, -item[0].order, item[0].id))
        forced_ids = {c.id for c, _ in forced}
        kept = [(c, spare[c.id]) for c, _ in live if c.id not in forced_ids]
        # Slack: the base (never below zero) less what kept reservations hold beyond their
        # instances.
        rows = [[max(0, v) for v in row] for row in base.values]
        grid = _Grid(base.times, rows, now)
        for c, vec in kept:
            grid.add(grid.span(c), vec, -1)
        removed: list[tuple[Claim, list[int], range]] = []
        if grid.negatives:
            counts = grid.negative_prefix()
            candidates = []
            for claim, vec in kept:
                span = grid.span(claim)
                if any(v > 0 and counts[k][span.stop] > counts[k][span.start]
                       for k, v in enumerate(vec)):
                    candidates.append((claim, vec, span))
            candidates.sort(key=lambda item: (item[0].priority, -item[0].order, item[0].id))
            for claim, vec, span in candidates:
                if not grid.negatives:
                    break
                if grid.contributes(span, vec):
                    grid.add(span, vec, 1)
                    removed.append((claim, vec, span))
            # Nothing is short now (amounts are never negative), so a claim can go back
            # exactly where it fits locally.
            for claim, vec, span in reversed(removed):
                if grid.fits(span, vec):
                    grid.add(span, vec, -1)
                    removed.remove((claim, vec, span))
        # What is left, base below zero included, against what each impaired one would take.
        left = [[r - max(0, b) + b for r, b in zip(row, brow, strict=True)]
                for row, brow in zip(grid.rows, base.values, strict=True)]
        out: dict[str, dict[str, int]] = {}
        for claim, vec in [*forced, *((c, v) for c, v, _ in removed)]:
            need = spare[claim.id]
            missing = [0] * _N
            for i in grid.span(claim):
                for k in range(_N):
                    if vec[k] > 0:
                        missing[k] = max(missing[k], need[k] - left[i][k])
            out[claim.id] = _as_dict(missing)
        return out

    def used(self, now: int) -> dict[str, list[int]]:
        """Per reservation, what its instances inside it hold at `now`."""
        out: dict[str, list[int]] = {}
        for c, vec in self._inside:
            if c.holder and c.start <= now and (c.end is None or c.end > now):
                total = out.setdefault(c.holder, [0] * _N)
                for k, v in enumerate(vec):
                    total[k] += v
        return out

    def to_restore(self, candidates: Iterable[Claim], now: int) -> list[str]:
        """Ids of the impaired `candidates` that fit back over [max(start, now), end), tried most
        important and earliest created first, each restored one holding capacity for the rest.
        A candidate's own instances (outside claims it is `holder` of) are inside it once
        restored."""
        pending = sorted(
            (c for c in candidates if c.end is None or c.end > now),
            key=lambda c: (-c.priority, c.order, c.id),
        )
        profile = _Profile(self._available_spans(None), _N, extra=[now, *_bounds(pending)])
        grid = _Grid(profile.times, profile.values, now)
        own: dict[str, list[tuple[range, list[int]]]] = {}
        for c, vec in self._outside:
            if c.holder:
                own.setdefault(c.holder, []).append((grid.span(c), vec))
        restored: list[str] = []
        for claim in pending:
            (_, vec), span = _claimed(claim), grid.span(claim)
            mine = own.get(claim.id, [])
            for s, v in mine:  # restored, it holds its own instances
                grid.add(s, v, 1)
            if grid.fits(span, vec):
                grid.add(span, vec, -1)
                restored.append(claim.id)
            else:
                for s, v in mine:
                    grid.add(s, v, -1)
        return restored


def capacity_range(changes: Iterable[CapacityChange], start: int, end: int | None
                   ) -> tuple[dict[str, int], dict[str, int]]:
    """Per type, the least and the most capacity over [start, end)."""
    profile = _Profile([(c.start, c.end, _vector(c.delta)) for c in changes], _N, extra=[start])
    rows = [profile.value(i) for i in profile.segments(start, end)]
    columns = list(zip(*rows, strict=True))
    return _as_dict(map(min, columns)), _as_dict(map(max, columns))


class OpenEndedFree:
    """Per type, the minimum of available from an instant on, for any instant: suffix minima of
    the available profile, looked up by bisection."""

    def __init__(self, profile: _Profile) -> None:
        self._times = profile.times
        self._minima: list[list[int]] = []
        running: list[int] | None = None
        for row in reversed(profile.values):
            running = row if running is None else [min(a, b) for a, b in zip(running, row,
                                                                             strict=True)]
            self._minima.append(running)
        self._minima.reverse()

    def __call__(self, at: int) -> dict[str, int]:
        i = bisect_right(self._times, at) - 1
        if not self._minima:
            return _as_dict([0] * _N)
        if i < 0:  # before the first breakpoint nothing is available
            return _as_dict(min(0, v) for v in self._minima[0])
        return _as_dict(self._minima[i])


def _earliest(
    profile: _Profile,
    start: int,
    length: int,
    need: Sequence[int],
    wanted: Sequence[int],
    horizon: int,
) -> int | None:
    """The earliest t in (start, horizon] at which `need` fits over [t, t + length), or None.

    Only breakpoints where some wanted type increases can be such a t. After a failed try, every
    candidate before the end of the last blocking segment fails too, so it is skipped."""
    not_before = start + 1
    for i in range(profile.index(start) + 1, profile.index(horizon) + 1):
        at = profile.times[i]
        if at < not_before:
            continue
        row, before = profile.values[i], profile.value(i - 1)
        if not any(row[k] > before[k] for k in wanted):
            continue
        blocked = next(
            (
                j
                for j in reversed(profile.segments(at, at + length))
                if any(profile.value(j)[k] < need[k] for k in wanted)
            ),
            None,
        )
        if blocked is None:
            return at
        resume = profile.end_of(blocked)
        if resume is None:
            return None
        not_before = resume
    return None

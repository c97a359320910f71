"""The optimizer with kept changes (a schedule's changes that stay while others are placed again
after a blackout): they count toward the concurrency limit, in list scheduling, branch and bound
and the completion; checked by hand and against exhaustive search on small instances."""

from __future__ import annotations

from itertools import product

from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard.server.scheduler.optimizer import (
    Interval,
    Problem,
    Reason,
    Vnf,
    optimize,
)


def running(starts: list[int], d: int, kept: tuple[Interval, ...], t: int) -> int:
    return sum(s <= t < s + d for s in starts) + sum(k.start <= t < k.end for k in kept)


def valid(p: Problem, starts: list[int | None]) -> bool:
    d, placed = p.duration_s, [s for s in starts if s is not None]
    for s in starts:
        if s is not None and not any(w.start <= s and s + d <= w.end for w in p.windows):
            return False
    for (i, a), (j, b) in product(enumerate(starts), repeat=2):
        if i < j and a is not None and b is not None and abs(a - b) < d \
                and p.vnfs[i].elements & p.vnfs[j].elements:
            return False
    return all(running(placed, d, p.kept, t) <= p.concurrency_limit
               for s in placed for t in range(s, s + d))


def best_count(p: Problem) -> int:
    """The most VNFs any placement fits, by trying every integer start."""
    w = p.windows[0]
    options = [None, *range(w.start, w.end - p.duration_s + 1)]
    return max(sum(s is not None for s in starts)
               for starts in product(options, repeat=len(p.vnfs))
               if valid(p, list(starts)))


def test_kept_changes_take_concurrency() -> None:
    p = Problem(vnfs=(Vnf("a", frozenset({"x"})), Vnf("b", frozenset({"y"}))), duration_s=100,
                windows=(Interval(50, 400),), concurrency_limit=1, kept=(Interval(100, 200),))
    solution = optimize(p, time_limit_s=1)
    assert [a.start for a in solution.assignments] == [200, 300]
    assert solution.proven_optimal


def test_no_room_beside_kept_changes_is_concurrency() -> None:
    p = Problem(vnfs=(Vnf("a", frozenset({"x"})),), duration_s=100,
                windows=(Interval(50, 250),), concurrency_limit=1, kept=(Interval(100, 200),))
    (a,) = optimize(p, time_limit_s=1).assignments
    assert (a.start, a.reason) == (None, Reason.CONCURRENCY)


def test_kept_changes_in_list_scheduling_past_the_exact_search() -> None:
    # 40 VNFs (more than branch and bound takes), concurrency 2, one kept change in the middle:
    # 2 per 10 s in [0, 50) and [100, 200), 1 per 10 s beside the kept one: 35 fit.
    vnfs = tuple(Vnf(f"v{i}", frozenset({f"e{i}"})) for i in range(40))
    p = Problem(vnfs=vnfs, duration_s=10, windows=(Interval(0, 200),), concurrency_limit=2,
                kept=(Interval(50, 100),))
    solution = optimize(p, time_limit_s=1)
    starts = [a.start for a in solution.assignments]
    assert valid(p, starts)
    assert solution.scheduled == 35


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 3), d=st.integers(2, 4), cap=st.integers(1, 2),
       kept=st.lists(st.tuples(st.integers(0, 10), st.integers(1, 5)), max_size=3),
       shared=st.booleans())
def test_kept_against_exhaustive_search(n: int, d: int, cap: int,
                                        kept: list[tuple[int, int]], shared: bool) -> None:
    vnfs = tuple(Vnf(f"v{i}", frozenset({"x" if shared else f"e{i}"})) for i in range(n))
    p = Problem(vnfs=vnfs, duration_s=d, windows=(Interval(0, 12),), concurrency_limit=cap,
                kept=tuple(Interval(a, a + k) for a, k in kept))
    solution = optimize(p, time_limit_s=1)
    starts = [a.start for a in solution.assignments]
    assert valid(p, starts)
    assert solution.scheduled == best_count(p)

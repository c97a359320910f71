"""The change-schedule optimizer against an independent checker of every constraint, an
exhaustive search on small instances, and hand-made cases: conflicts across two schedules,
blackouts, several windows, a time-zone policy across a daylight-saving change, and VNFs that
cannot be placed, with their reasons."""

from __future__ import annotations

import time as clock
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from switchboard.server.scheduler.optimizer import (
    Interval,
    Objective,
    Occupation,
    Problem,
    Reason,
    Solution,
    Vnf,
    _branch_and_bound,
    _Instance,
    optimize,
)
from switchboard.server.scheduler.timepolicy import AllowedTimePolicy

MIN = 60
HOUR = 3600
T0 = int(datetime(2026, 1, 5, tzinfo=UTC).timestamp())  # a Monday, 00:00 UTC


def utc(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


# -- the independent checker ---------------------------------------------------------------------


def overlaps(a: int, b: int, c: int, d: int) -> bool:
    return a < d and c < b


def fits_alone(p: Problem, v: Vnf, s: int, *, others: bool = True) -> bool:
    """Whether [s, s + duration) lies inside one window and one allowed interval, and clear of the
    blackouts (and, if `others`, the other schedules' changes) of the VNF's elements."""
    e = s + p.duration_s
    if not any(w.start <= s and e <= w.end for w in p.windows):
        return False
    if p.policy is not None:
        allowed = p.policy.intervals(v.time_zone, s - 2 * 86400, e + 2 * 86400)
        if not any(a <= s and e <= b for a, b in allowed):
            return False
    busy = [*p.blackouts, *p.other_changes] if others else p.blackouts
    return not any(o.element in v.elements and overlaps(s, e, o.start, o.end) for o in busy)


def candidate_starts(p: Problem, extra: Sequence[int] = ()) -> list[int]:
    """Every instant at which a change can be first allowed to start: a window or allowed-interval
    start, or the end of a blackout, another change, or (`extra`) a change of this schedule.

    If some start s of a VNF is feasible (for any subset of the constraints), so is one of these:
    move s left while it stays feasible. It stops only where starting one second earlier leaves a
    window or allowed interval (so s is its start) or overlaps an interval that [s, s + duration)
    does not (so s is that interval's end), or the concurrency count just before s is higher
    (some change of this schedule ends at s)."""
    points = {w.start for w in p.windows}
    points |= {o.end for o in [*p.blackouts, *p.other_changes]}
    points |= set(extra)
    if p.policy is not None and p.windows:
        lo, hi = min(w.start for w in p.windows), max(w.end for w in p.windows)
        for zone in {v.time_zone for v in p.vnfs}:
            points |= {a for a, _ in p.policy.intervals(zone, lo, hi)}
    return sorted(points)


def peak_concurrency(starts: Sequence[int], d: int) -> int:
    events = sorted([(s, 1) for s in starts] + [(s + d, -1) for s in starts])
    peak = running = 0
    for _, step in events:  # at equal times an end (-1) sorts first: half-open intervals
        running += step
        peak = max(peak, running)
    return peak


def check(p: Problem, sol: Solution) -> None:
    """Every constraint, the figures, and that each reason is the true one."""
    d = p.duration_s
    assert [a.vnf for a in sol.assignments] == [v.name for v in p.vnfs]
    placed = [
        (v, a.start) for v, a in zip(p.vnfs, sol.assignments, strict=True) if a.start is not None
    ]
    for a in sol.assignments:
        assert (a.start is None) != (a.reason is None), a
    for v, s in placed:
        assert fits_alone(p, v, s), (v, s)
    for k, (v, s) in enumerate(placed):
        for w, t in placed[k + 1 :]:
            assert not (v.elements & w.elements and overlaps(s, s + d, t, t + d)), (v, w)
    assert peak_concurrency([s for _, s in placed], d) <= p.concurrency_limit

    assert sol.scheduled == len(placed)
    assert sol.finish == (max(s for _, s in placed) + d if placed else None)
    assert sol.count_bound >= sol.scheduled
    if sol.finish is not None:
        assert sol.finish_bound is not None and sol.finish_bound <= sol.finish
    if sol.scheduled < sol.count_bound:
        assert sol.gap_on is Objective.COUNT
        assert sol.gap == pytest.approx((sol.count_bound - sol.scheduled) / sol.count_bound)
    else:
        assert sol.gap_on is (Objective.FINISH if sol.scheduled else Objective.COUNT)
    assert sol.proven_optimal == (sol.gap == 0)
    if sol.proven_optimal and sol.finish is not None:
        assert (sol.count_bound, sol.finish_bound) == (sol.scheduled, sol.finish)

    ends = [s + d for _, s in placed]
    points = candidate_starts(p, ends)
    for v, a in zip(p.vnfs, sol.assignments, strict=True):
        if a.reason is None:
            continue
        available = [c for c in points if fits_alone(p, v, c, others=False)]
        clear = [
            c
            for c in available
            if fits_alone(p, v, c)
            and not any(v.elements & w.elements and overlaps(c, c + d, s, s + d) for w, s in placed)
        ]
        room = [
            c
            for c in clear
            if peak_concurrency([c] + [s for _, s in placed], d) <= p.concurrency_limit
        ]
        assert not room, f"{v.name} could still start at {room[0]}"
        expected = (
            Reason.AVAILABILITY
            if not available
            else Reason.CONFLICT
            if not clear
            else Reason.CONCURRENCY
        )
        assert a.reason is expected, (v.name, a.reason, expected)


# -- exhaustive search ---------------------------------------------------------------------------


def exhaustive(p: Problem) -> tuple[int, int | None]:
    """The best (VNFs scheduled, finish) over all schedules, by enumeration.

    Continuous time needs only finitely many starts: take an optimal schedule and move its
    changes left one at a time, each as far as it stays feasible, until none moves. The count
    stays, the finish does not grow, and it ends because starts are integers that only
    decrease. Then (see `candidate_starts`) each start is a `candidate_starts(p)` point or the
    end of another change of the schedule, which starts earlier. So it suffices to enumerate
    those schedules, adding changes in (start, VNF index) order: a start that is another change's
    end becomes available once that change is added."""
    d, n = p.duration_s, len(p.vnfs)
    base = candidate_starts(p)
    alone = {(i, c) for i, v in enumerate(p.vnfs) for c in base if fits_alone(p, v, c)}
    best: tuple[int, int | None] = (0, None)

    def extend(placed: list[tuple[int, int]]) -> None:
        nonlocal best
        finish = max(s for s, _ in placed) + d if placed else None
        if (len(placed), -(finish or 0)) > (best[0], -(best[1] or 0)):
            best = (len(placed), finish)
        last = placed[-1] if placed else (-(2**62), -1)
        used = {i for _, i in placed}
        for c in sorted(set(base) | {s + d for s, _ in placed}):
            for i, v in enumerate(p.vnfs):
                if i in used or (c, i) <= last:
                    continue
                if not ((i, c) in alone or (c not in base and fits_alone(p, v, c))):
                    continue
                if any(
                    v.elements & p.vnfs[j].elements and overlaps(c, c + d, s, s + d)
                    for s, j in placed
                ):
                    continue
                if peak_concurrency([c] + [s for s, _ in placed], d) > p.concurrency_limit:
                    continue
                extend([*placed, (c, i)])

    extend([])
    assert n >= best[0]
    return best


# -- generated instances -------------------------------------------------------------------------

ELEMENTS = ["ne-a", "ne-b", "ne-c", "ne-d", "ne-e", "ne-f"]
ZONES = ["UTC", "Europe/Berlin", "America/New_York"]
NIGHT = utc("2025-03-29T21:00")  # the spring-forward night in Berlin starts two hours later


@st.composite
def problems(
    draw: st.DrawFn,
    *,
    vnfs: tuple[int, int],
    touched: tuple[int, int] = (0, 2),
    n_elements: int,
    windows: int,
    durations_per_window: int = 4,
) -> Problem:
    """Random instances, times to the minute, so that starts fall between whole durations; the
    windows are 1 to `durations_per_window` durations long, so that VNFs compete for them."""
    elements = ELEMENTS[:n_elements]
    t0 = draw(st.sampled_from([T0, NIGHT]))
    d = draw(st.sampled_from([20, 30, 45, 60]))
    chosen = tuple(
        Vnf(
            f"vnf-{k}",
            draw(
                st.frozensets(st.sampled_from(elements), min_size=touched[0], max_size=touched[1])
            ),
            draw(st.sampled_from(ZONES)),
        )
        for k in range(draw(st.integers(*vnfs)))
    )
    spans = []
    for _ in range(draw(st.integers(1, windows))):
        a = t0 + draw(st.integers(0, 4 * d)) * MIN
        length = draw(st.integers(d, durations_per_window * d))
        spans.append(Interval(a, a + length * MIN))
    horizon = max(w.end for w in spans) - t0

    def occupations() -> tuple[Occupation, ...]:
        out = []
        for _ in range(draw(st.integers(0, 2))):
            a = t0 + draw(st.integers(0, horizon // MIN)) * MIN
            length = draw(st.integers(5, 90)) * MIN
            out.append(Occupation(draw(st.sampled_from(elements)), a, a + length))
        return tuple(out)

    policy = None
    if draw(st.integers(0, 3)) == 0:
        policy = AllowedTimePolicy(
            frozenset(range(7)),
            time(draw(st.integers(0, 23)), draw(st.sampled_from([0, 30]))),
            time(draw(st.integers(0, 23)), draw(st.sampled_from([0, 15]))),
        )
    return Problem(
        vnfs=chosen,
        duration_s=d * MIN,
        windows=tuple(spans),
        concurrency_limit=draw(st.integers(1, 3)),
        policy=policy,
        blackouts=occupations(),
        other_changes=occupations(),
    )


@settings(max_examples=60, deadline=None, database=None, derandomize=True)
@given(problems(vnfs=(3, 6), n_elements=3, windows=2))
def test_small_instances_are_optimal_against_exhaustive_search(p: Problem) -> None:
    sol = optimize(p, time_limit_s=20)
    check(p, sol)
    best = exhaustive(p)
    assert (sol.scheduled, sol.finish) == best
    assert sol.proven_optimal
    assert exact_search_alone(p) == best


def exact_search_alone(p: Problem) -> tuple[int, int | None]:
    """What the optimizer's branch and bound finds with no schedule to start from (the list
    scheduling before it usually leaves it nothing to improve)."""
    inst = _Instance(p)
    found, complete = _branch_and_bound(inst, [None] * len(p.vnfs), clock.monotonic() + 20)
    assert complete
    placed = [s for s in found if s is not None]
    return len(placed), max(placed) + p.duration_s if placed else None


@settings(max_examples=60, deadline=None, database=None, derandomize=True)
@given(problems(vnfs=(5, 7), touched=(2, 2), n_elements=4, windows=1, durations_per_window=6))
def test_dense_conflicts_are_optimal_against_exhaustive_search(p: Problem) -> None:
    """VNFs that each touch two of four elements: the bounds miss the conflicts' structure, so
    these often need the exact search."""
    sol = optimize(p, time_limit_s=20)
    check(p, sol)
    best = exhaustive(p)
    assert (sol.scheduled, sol.finish) == best
    assert sol.proven_optimal
    assert exact_search_alone(p) == best


@settings(max_examples=40, deadline=None, database=None, derandomize=True)
@given(problems(vnfs=(1, 40), n_elements=6, windows=3))
def test_every_result_satisfies_every_constraint(p: Problem) -> None:
    check(p, optimize(p, time_limit_s=2))
    check(p, optimize(p, baseline=True))


# -- cases ---------------------------------------------------------------------------------------


def vnf(name: str, *elements: str, zone: str = "UTC") -> Vnf:
    return Vnf(name, frozenset(elements), zone)


def starts(sol: Solution) -> dict[str, int | None]:
    return {a.vnf: a.start for a in sol.assignments}


def reasons(sol: Solution) -> dict[str, Reason | None]:
    return {a.vnf: a.reason for a in sol.assignments}


def test_changes_of_another_schedule_are_not_overlapped() -> None:
    first = Problem(
        vnfs=(vnf("a1", "ne-1"), vnf("a2", "ne-2")),
        duration_s=HOUR,
        windows=(Interval(T0, T0 + 2 * HOUR),),
        concurrency_limit=2,
    )
    one = optimize(first)
    check(first, one)
    assert starts(one) == {"a1": T0, "a2": T0}
    taken = tuple(
        Occupation(e, a.start, a.start + HOUR)
        for v, a in zip(first.vnfs, one.assignments, strict=True)
        if a.start is not None
        for e in v.elements
    )
    second = Problem(
        vnfs=(vnf("b1", "ne-1", "ne-3"), vnf("b2", "ne-2"), vnf("b3", "ne-2")),
        duration_s=HOUR,
        windows=(Interval(T0, T0 + 2 * HOUR),),
        concurrency_limit=3,
        other_changes=taken,
    )
    two = optimize(second)
    check(second, two)
    assert starts(two) == {"b1": T0 + HOUR, "b2": T0 + HOUR, "b3": None}
    assert reasons(two)["b3"] is Reason.CONFLICT
    assert two.proven_optimal


def test_pairwise_conflicts_beyond_the_bounds_are_solved_exactly() -> None:
    # Three VNFs, each pair sharing an element: only two fit in two hours, though each element
    # alone and the concurrency limit would allow all three.
    p = Problem(
        vnfs=(vnf("x", "ne-a", "ne-b"), vnf("y", "ne-b", "ne-c"), vnf("z", "ne-c", "ne-a")),
        duration_s=HOUR,
        windows=(Interval(T0, T0 + 2 * HOUR),),
        concurrency_limit=3,
    )
    sol = optimize(p)
    check(p, sol)
    assert sol.scheduled == 2 and sol.finish == T0 + 2 * HOUR
    assert sol.proven_optimal and sol.method == "list-scheduling+branch-and-bound"
    assert list(reasons(sol).values()).count(Reason.CONFLICT) == 1


def test_blackouts_are_avoided_and_reported_as_availability() -> None:
    p = Problem(
        vnfs=(vnf("v1", "ne-1"), vnf("v2", "ne-2"), vnf("v3", "ne-3")),
        duration_s=30 * MIN,
        windows=(Interval(T0, T0 + 2 * HOUR),),
        concurrency_limit=3,
        blackouts=(
            Occupation("ne-1", T0, T0 + 47 * MIN),
            Occupation("ne-2", T0 + 10 * MIN, T0 + 100 * MIN),
            Occupation("ne-3", T0 + 20 * MIN, T0 + 100 * MIN),
        ),
    )
    sol = optimize(p)
    check(p, sol)
    assert starts(sol) == {"v1": T0 + 47 * MIN, "v2": None, "v3": None}
    assert reasons(sol) == {"v1": None, "v2": Reason.AVAILABILITY, "v3": Reason.AVAILABILITY}


def test_several_windows_each_change_inside_one() -> None:
    windows = (Interval(T0, T0 + 90 * MIN), Interval(T0 + 90 * MIN, T0 + 3 * HOUR))
    p = Problem(
        vnfs=tuple(vnf(f"v{k}", "ne-1") for k in range(4)),
        duration_s=HOUR,
        windows=windows,
        concurrency_limit=4,
    )
    sol = optimize(p)
    check(p, sol)
    # Back to back the four fit in 4 hours, but no change may straddle 01:30: one per 1h30.
    assert sorted(s for s in starts(sol).values() if s is not None) == [
        T0,
        T0 + 90 * MIN,
    ]
    assert sol.proven_optimal and sol.finish == T0 + 150 * MIN


def test_time_zone_policy_across_spring_forward() -> None:
    night = AllowedTimePolicy(frozenset(range(7)), time(0), time(6))
    # Local midnight is 23:00Z in Berlin, 05:00Z in New York. On 30 March 2025 Berlin's night
    # from 00:00 to 06:00 is 5 hours long; New York's is 6 hours (its change was on 9 March).
    window = (Interval(utc("2025-03-29T12:00"), utc("2025-03-30T12:00")),)
    vnfs = (
        vnf("berlin", "ne-1", zone="Europe/Berlin"),
        vnf("new-york", "ne-2", zone="America/New_York"),
    )
    fits = Problem(vnfs, 5 * HOUR, window, 2, night)
    sol = optimize(fits)
    check(fits, sol)
    assert starts(sol) == {"berlin": utc("2025-03-29T23:00"), "new-york": utc("2025-03-30T04:00")}
    too_long = replace(fits, duration_s=5 * HOUR + 1)
    sol = optimize(too_long)
    check(too_long, sol)
    assert starts(sol) == {"berlin": None, "new-york": utc("2025-03-30T04:00")}
    assert reasons(sol)["berlin"] is Reason.AVAILABILITY


def test_infeasible_vnfs_are_reported_with_their_reasons() -> None:
    p = Problem(
        vnfs=(
            vnf("first", "ne-1"),
            vnf("shares-ne-1", "ne-1", "ne-3"),
            vnf("blacked-out", "ne-4"),
            vnf("too-busy", "ne-5"),
            vnf("too-long", "ne-6", zone="Europe/Berlin"),
        ),
        duration_s=HOUR,
        windows=(Interval(T0, T0 + HOUR),),
        concurrency_limit=3,
        blackouts=(Occupation("ne-4", T0 + 59 * MIN, T0 + 61 * MIN),),
        other_changes=(Occupation("ne-5", T0 - HOUR, T0 + 1),),
        # 00:00-01:00 UTC is 01:00-02:00 in Berlin, after its allowed 00:00-01:30.
        policy=AllowedTimePolicy(frozenset(range(7)), time(0), time(1, 30)),
    )
    sol = optimize(p)
    check(p, sol)
    assert sol.scheduled == 1 and sol.proven_optimal
    assert reasons(sol)["blacked-out"] is Reason.AVAILABILITY
    assert reasons(sol)["too-busy"] is Reason.CONFLICT
    assert reasons(sol)["too-long"] is Reason.AVAILABILITY
    # Only one of the two VNFs touching ne-1 can run in the one-hour window.
    assert sorted(str(reasons(sol)[v]) for v in ("first", "shares-ne-1")) == ["None", "conflict"]


def test_concurrency_is_the_reason_when_slots_run_out() -> None:
    p = Problem(
        vnfs=tuple(vnf(f"v{k}", f"ne-{k}") for k in range(5)),
        duration_s=HOUR,
        windows=(Interval(T0, T0 + 2 * HOUR),),
        concurrency_limit=2,
    )
    sol = optimize(p)
    check(p, sol)
    assert sol.scheduled == 4 and sol.proven_optimal
    assert list(reasons(sol).values()).count(Reason.CONCURRENCY) == 1


def test_starts_are_continuous_not_whole_duration_slots() -> None:
    # A blackout ending at 00:17 leaves 1h43 before 02:00: one 1h change at 00:17 plus nothing
    # else on ne-1; on a grid of whole hours it would not fit at all.
    p = Problem(
        vnfs=(vnf("v", "ne-1"),),
        duration_s=HOUR,
        windows=(Interval(T0, T0 + 2 * HOUR),),
        concurrency_limit=1,
        blackouts=(Occupation("ne-1", T0, T0 + 17 * MIN),),
    )
    sol = optimize(p)
    check(p, sol)
    assert starts(sol) == {"v": T0 + 17 * MIN}


def test_no_window_means_nothing_is_placed() -> None:
    p = Problem(vnfs=(vnf("v", "ne-1"),), duration_s=HOUR, windows=(), concurrency_limit=1)
    sol = optimize(p)
    check(p, sol)
    assert reasons(sol) == {"v": Reason.AVAILABILITY}
    assert sol.proven_optimal and sol.count_bound == 0


def test_invalid_problems_are_rejected() -> None:
    ok = Problem((vnf("v", "ne-1"),), HOUR, (Interval(T0, T0 + HOUR),), 1)
    for bad in (
        replace(ok, duration_s=0),
        replace(ok, concurrency_limit=0),
        replace(ok, vnfs=(vnf("v"), vnf("v"))),
        replace(ok, windows=(Interval(T0, T0),)),
    ):
        with pytest.raises(ValueError):
            optimize(bad)


def test_the_time_limit_is_kept_and_the_gap_is_honest() -> None:
    # Three elements shared by 300 VNFs: the element chains, not concurrency, bind.
    p = Problem(
        vnfs=tuple(vnf(f"v{k}", f"ne-{k % 3}", f"ne-{k % 7 % 3 + 3}") for k in range(300)),
        duration_s=37 * MIN,
        windows=(Interval(T0, T0 + 24 * HOUR),),
        concurrency_limit=5,
        blackouts=tuple(
            Occupation(f"ne-{k}", T0 + k * 3001, T0 + k * 3001 + 4321) for k in range(6)
        ),
    )
    began = clock.monotonic()
    sol = optimize(p, time_limit_s=0.5)
    assert clock.monotonic() - began < 1.5
    check(p, sol)

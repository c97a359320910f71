"""Switchboard change-schedule optimizer benchmark: the optimizer against an earliest-fit greedy.

Generated instances, fixed seed, 30-minute changes, concurrency 10:
  small: 1,000 VNFs each touching 1-3 of 200 elements, one 24-hour window;
  large: 10,000 VNFs each touching 1-3 of 2,000 elements, one 7-day window.
Each comes as specified ("plain") and with element time already taken ("busy"): one blackout of
1-4 h on 10% of the elements and 1-3 changes of other schedules, 30-60 min, on 30% of them, all at
random seconds.

For each instance and each method (the optimizer; the baseline: each VNF in input order at its
earliest feasible start) it prints the time taken, the VNFs scheduled, the finish (time from the
window's start), the bounds (no schedule places more than `count bound` VNFs; none placing as
many as this one finishes before `finish bound`), the gap and whether the result is proven
optimal. The gap is on the count, (bound - scheduled) / bound, unless the count equals its bound;
then it is on the finish, (finish - bound) / (bound - window start). Targets: small under 5 s
within 5% of the bound; large under 60 s. A missed target prints NO; the script never fails on one.

    .venv/bin/python bench/scheduler_bench.py                    # all four instances, ~10 s
    .venv/bin/python bench/scheduler_bench.py --seed 7 --only small --variant busy
    .venv/bin/python bench/scheduler_bench.py --time-limit 2     # per optimizer run
"""

from __future__ import annotations

import argparse
import random
import time
from dataclasses import dataclass

from switchboard.server.scheduler.optimizer import (
    Interval,
    Occupation,
    Problem,
    Solution,
    Vnf,
    optimize,
)

DAY = 86_400
START = 1_767_571_200  # 2026-01-05 00:00 UTC


@dataclass(frozen=True)
class Size:
    name: str
    vnfs: int
    elements: int
    days: int
    time_limit_s: float
    target_s: float
    target_gap: float | None


SIZES = [
    Size("small", 1_000, 200, 1, 4.5, 5.0, 0.05),
    Size("large", 10_000, 2_000, 7, 55.0, 60.0, None),
]


def generate(size: Size, busy: bool, seed: int) -> Problem:
    rng = random.Random(f"{seed}-{size.name}")
    elements = [f"ne-{k}" for k in range(size.elements)]
    vnfs = tuple(
        Vnf(f"vnf-{k}", frozenset(rng.sample(elements, rng.randint(1, 3))))
        for k in range(size.vnfs)
    )
    horizon = size.days * DAY
    blackouts, others = [], []
    if busy:
        for e in elements:
            if rng.random() < 0.1:
                a = START + rng.randrange(horizon)
                blackouts.append(Occupation(e, a, a + rng.randint(3_600, 4 * 3_600)))
            if rng.random() < 0.3:
                for _ in range(rng.randint(1, 3)):
                    a = START + rng.randrange(horizon)
                    others.append(Occupation(e, a, a + rng.randint(1_800, 3_600)))
    return Problem(
        vnfs=vnfs,
        duration_s=1_800,
        windows=(Interval(START, START + horizon),),
        concurrency_limit=10,
        blackouts=tuple(blackouts),
        other_changes=tuple(others),
    )


def hms(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    h, rest = divmod(seconds - START, 3_600)
    return f"{h}:{rest // 60:02}:{rest % 60:02}"


def row(label: str, sol: Solution, elapsed: float, size: Size) -> str:
    met = elapsed < size.target_s and (size.target_gap is None or sol.gap <= size.target_gap)
    return (
        f"  {label:<9} {elapsed:7.2f} s {sol.scheduled:>6} {hms(sol.finish):>10}"
        f" {sol.count_bound:>7} {hms(sol.finish_bound):>10} {sol.gap:7.2%} {sol.gap_on:<6}"
        f" {'yes' if sol.proven_optimal else 'no':<6} {'yes' if met else 'NO':<6} {sol.method}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--time-limit", type=float, help="seconds per optimizer run (default 4.5 small, 55 large)"
    )
    parser.add_argument("--only", choices=[s.name for s in SIZES])
    parser.add_argument("--variant", choices=["plain", "busy", "both"], default="both")
    args = parser.parse_args()
    print(
        f"seed {args.seed}; finish and finish bound as h:mm:ss from the window's start\n"
        f"  {'method':<9} {'time':>9} {'VNFs':>6} {'finish':>10} {'bound':>7} {'bound':>10}"
        f" {'gap':>7} {'on':<6} {'proven':<6} {'target':<6} method"
    )
    variants = [False, True] if args.variant == "both" else [args.variant == "busy"]
    for size in SIZES:
        if args.only and size.name != args.only:
            continue
        for busy in variants:
            problem = generate(size, busy, args.seed)
            print(
                f"{size.name} ({size.vnfs:,} VNFs, {size.elements:,} elements, {size.days} d),"
                f" {'busy' if busy else 'plain'}: {len(problem.blackouts)} blackouts,"
                f" {len(problem.other_changes)} other changes"
            )
            limit = args.time_limit or size.time_limit_s
            began = time.perf_counter()
            sol = optimize(problem, time_limit_s=limit)
            print(row("optimizer", sol, time.perf_counter() - began, size))
            began = time.perf_counter()
            sol = optimize(problem, baseline=True)
            print(row("greedy", sol, time.perf_counter() - began, size))


if __name__ == "__main__":
    main()

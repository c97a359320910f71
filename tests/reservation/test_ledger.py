"""Tests of the pool capacity ledger: free, check, figures, to_impair, to_restore."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from switchboard.server.reservation.holdings import PoolHoldings
from switchboard.server.reservation.ledger import (
    RESOURCE_TYPES,
    Binding,
    CapacityChange,
    Claim,
    Figures,
    PoolLedger,
    Step,
)

LOW, NORMAL, HIGH = 0, 1, 2


def full(**amounts: int) -> dict[str, int]:
    """A dict over every resource type, zero where not given."""
    return {k: amounts.get(k, 0) for k in RESOURCE_TYPES}


def cap(start: int, end: int | None, **delta: int) -> CapacityChange:
    return CapacityChange(start=start, end=end, delta=delta)


def claim(
    id: str, start: int, end: int | None, priority: int = 0, order: int = 0, **amounts: int
) -> Claim:
    return Claim(id=id, start=start, end=end, amounts=amounts, priority=priority, order=order)


# free


def test_free_with_overlapping_claims_and_open_ended_capacity() -> None:
    ledger = PoolLedger(
        [cap(0, None, cores=10, ram_mb=1000), cap(50, 80, cores=5)],
        [claim("a", 10, 30, cores=3), claim("b", 20, 40, cores=4, ram_mb=500)],
        allocations_outside=[claim("x", 35, None, cores=1)],
    )
    assert ledger.free(0, 10) == full(cores=10, ram_mb=1000)
    assert ledger.free(0, 30) == full(cores=3, ram_mb=500)  # a and b overlap on [20, 30)
    assert ledger.free(30, 40) == full(cores=5, ram_mb=500)
    assert ledger.free(40, None) == full(cores=9, ram_mb=1000)
    assert ledger.free(55, 60) == full(cores=14, ram_mb=1000)
    assert ledger.free(100, None) == full(cores=9, ram_mb=1000)
    assert ledger.free(-100, 0) == full()  # before any capacity


def test_free_may_be_negative_and_rejects_empty_window() -> None:
    ledger = PoolLedger([cap(0, None, cores=2)], [claim("a", 0, 10, cores=5)])
    assert ledger.free(0, 10)["cores"] == -3
    with pytest.raises(ValueError):
        ledger.free(10, 10)


def test_unknown_resource_type_and_negative_claim_are_rejected() -> None:
    with pytest.raises(ValueError):
        PoolLedger([cap(0, None, gpus=1)], [])
    with pytest.raises(ValueError):
        PoolLedger([cap(0, None, cores=1)], [claim("a", 0, None, cores=-1)])


# check


def test_check_ok() -> None:
    ledger = PoolLedger([cap(0, None, cores=10, ram_mb=100)], [claim("a", 0, 50, cores=6)])
    fit = ledger.check(10, 20, {"cores": 4, "ram_mb": 100}, horizon=1000)
    assert fit.ok
    assert fit.earliest_start == 10
    assert fit.max_reservable == full(cores=4, ram_mb=100)


def test_check_not_ok_earliest_start_after_blocking_claim_ends() -> None:
    ledger = PoolLedger(
        [cap(0, None, cores=10)],
        [claim("a", 0, 50, cores=6), claim("b", 60, 70, cores=8)],
    )
    fit = ledger.check(10, 20, {"cores": 5}, horizon=1000)
    assert not fit.ok
    assert fit.max_reservable == full(cores=4)
    assert fit.earliest_start == 50  # [50, 60) fits exactly before b starts

    # 15 long does not fit between a and b: the next chance is after b.
    fit = ledger.check(10, 25, {"cores": 5}, horizon=1000)
    assert not fit.ok
    assert fit.earliest_start == 70


def test_check_earliest_start_on_capacity_increase_and_decrease_end() -> None:
    ledger = PoolLedger(
        [cap(0, None, cores=4), cap(100, None, cores=4), cap(0, 30, cores=-4)],
        [],
    )
    fit = ledger.check(0, 10, {"cores": 3}, horizon=1000)
    assert fit.max_reservable == full()
    assert fit.earliest_start == 30  # end of the capacity decrease
    assert ledger.check(0, 10, {"cores": 8}, horizon=1000).earliest_start == 100


def test_check_no_earliest_start_within_horizon() -> None:
    ledger = PoolLedger([cap(0, None, cores=10)], [claim("a", 0, 500, cores=8)])
    fit = ledger.check(0, 10, {"cores": 5}, horizon=499)
    assert not fit.ok
    assert fit.earliest_start is None
    assert ledger.check(0, 10, {"cores": 5}, horizon=500).earliest_start == 500


def test_check_never_fits_when_blocked_forever() -> None:
    ledger = PoolLedger([cap(0, None, cores=10)], [claim("a", 5, None, cores=8)])
    assert ledger.check(0, 10, {"cores": 5}, horizon=10**9).earliest_start is None
    # A type not asked for never blocks.
    assert ledger.check(0, 10, {"ram_mb": 0}, horizon=10**9).ok


def test_check_exclude_own_claim_during_update() -> None:
    ledger = PoolLedger(
        [cap(0, None, cores=10)],
        [claim("mine", 0, 100, cores=6), claim("other", 0, 100, cores=2)],
    )
    # Growing "mine" from 6 to 8 cores fits once its own 6 are left out.
    assert not ledger.check(0, 100, {"cores": 8}, horizon=0).ok
    fit = ledger.check(0, 100, {"cores": 8}, horizon=0, exclude="mine")
    assert fit.ok
    assert fit.max_reservable == full(cores=8)
    assert not ledger.check(0, 100, {"cores": 9}, horizon=0, exclude="mine").ok
    # Excluding does not change the ledger itself.
    assert ledger.free(0, 100) == full(cores=2)


# figures


def test_figures_minimum_maximum_timeline() -> None:
    ledger = PoolLedger(
        [cap(0, None, cores=10), cap(40, 60, cores=-2)],
        [claim("r", 10, 50, cores=4)],
        allocations_outside=[claim("out", 20, None, cores=1)],
        allocations_inside=[claim("in", 30, 50, cores=3)],
    )
    low, high, timeline = ledger.figures(0, 100)

    def figs(total: int, reserved: int, allocated: int, available: int) -> Figures:
        return Figures(
            total=full(cores=total),
            reserved=full(cores=reserved),
            allocated=full(cores=allocated),
            available=full(cores=available),
        )

    assert timeline == [
        Step(0, figs(10, 0, 0, 10)),
        Step(10, figs(10, 4, 0, 6)),
        Step(20, figs(10, 4, 1, 5)),
        Step(30, figs(10, 4, 4, 5)),  # inside allocations do not consume capacity
        Step(40, figs(8, 4, 4, 3)),
        Step(50, figs(8, 0, 1, 7)),
        Step(60, figs(10, 0, 1, 9)),
    ]
    assert low == figs(8, 0, 0, 3)
    assert high == figs(10, 4, 4, 10)


def test_figures_window_inside_and_coalesced() -> None:
    ledger = PoolLedger(
        [cap(0, None, cores=10)],
        [claim("r", 10, 50, cores=4), claim("s", 50, 60, cores=4)],  # r then s: no change at 50
    )
    low, high, timeline = ledger.figures(15, 55)
    assert [step.at for step in timeline] == [15]
    assert low == high == timeline[0].figures
    assert low.available == full(cores=6)
    _, _, timeline = ledger.figures(15, 70)
    assert [step.at for step in timeline] == [15, 60]


# to_impair


def test_to_impair_no_violation() -> None:
    ledger = PoolLedger([cap(0, None, cores=10)], [claim("a", 0, None, cores=10)])
    assert ledger.to_impair(0) == []


def test_to_impair_low_before_normal_before_high() -> None:
    ledger = PoolLedger(
        [cap(0, None, cores=10), cap(0, None, cores=-6)],  # capacity dropped to 4
        [
            claim("high", 0, None, HIGH, 1, cores=2),
            claim("low", 0, None, LOW, 2, cores=2),
            claim("normal", 0, None, NORMAL, 3, cores=2),
        ],
    )
    assert ledger.to_impair(0) == ["low"]
    smaller = PoolLedger(
        [cap(0, None, cores=2, ram_mb=10)],
        [
            claim("high", 0, None, HIGH, 1, cores=2),
            claim("low", 0, None, LOW, 2, cores=2),
            claim("normal", 0, None, NORMAL, 3, cores=2),
        ],
    )
    assert smaller.to_impair(0) == ["low", "normal"]


def test_to_impair_latest_created_first_within_priority() -> None:
    ledger = PoolLedger(
        [cap(0, None, cores=4)],
        [
            claim("first", 0, None, NORMAL, 1, cores=2),
            claim("third", 0, None, NORMAL, 3, cores=2),
            claim("second", 0, None, NORMAL, 2, cores=2),
        ],
    )
    assert ledger.to_impair(0) == ["third"]


def test_to_impair_put_back_keeps_result_minimal() -> None:
    # Excess 5: removing the two small latest-created ones (2 + 2) is not enough, so the big
    # early one goes too; then the small ones are no longer needed and are put back.
    ledger = PoolLedger(
        [cap(0, None, cores=5)],
        [
            claim("big", 0, None, LOW, 1, cores=6),
            claim("small1", 0, None, LOW, 2, cores=2),
            claim("small2", 0, None, LOW, 3, cores=2),
        ],
    )
    assert ledger.to_impair(0) == ["big"]


def test_to_impair_put_back_partial() -> None:
    ledger = PoolLedger(
        [cap(0, None, cores=5)],
        [
            claim("big", 0, None, LOW, 1, cores=6),
            claim("small1", 0, None, LOW, 2, cores=3),
            claim("small2", 0, None, LOW, 3, cores=3),
        ],
    )
    # Excess 7: small2, small1, big removed; small1 fits back, small2 then does not.
    assert ledger.to_impair(0) == ["small2", "big"]


def test_to_impair_ignores_ended_reservations_and_the_past() -> None:
    ledger = PoolLedger(
        [cap(0, None, cores=10), cap(0, 100, cores=-8)],
        [
            claim("past", 0, 50, LOW, 9, cores=10),
            claim("now", 40, 150, LOW, 1, cores=4),
            claim("later", 120, 200, LOW, 8, cores=10),
        ],
    )
    # From 60 on: capacity 2 until 100 (now holds 4), then 10 (now 4 + later 10 on [120, 150)).
    assert ledger.to_impair(60) == ["now"]
    assert ledger.to_impair(150) == []


def test_to_impair_when_allocations_alone_violate() -> None:
    ledger = PoolLedger(
        [cap(0, None, cores=4, ram_mb=100)],
        [
            claim("cores", 0, None, HIGH, 1, cores=1),
            claim("ram", 0, None, LOW, 2, ram_mb=50),
            claim("elsewhen", 200, 300, LOW, 3, cores=2),
        ],
        allocations_outside=[claim("x", 0, 100, cores=5)],
    )
    assert ledger.to_impair(0) == ["cores"]


def test_impairments_free_only_what_instances_do_not_use() -> None:
    """Taking a reservation away leaves its instances holding what they use: a full one frees
    nothing, so the one with spare room goes, with what it then lacks."""
    ledger = PoolLedger(
        [cap(0, None, cores=10)],
        [claim("full", 0, 100, LOW, 9, cores=4), claim("roomy", 0, 100, HIGH, 1, cores=6)],
        allocations_inside=[Claim("i", 0, 100, {"cores": 4}, holder="full")],
    )
    cut = PoolLedger(
        [cap(0, None, cores=10), cap(10, None, cores=-3)],
        [claim("full", 0, 100, LOW, 9, cores=4), claim("roomy", 0, 100, HIGH, 1, cores=6)],
        allocations_inside=[Claim("i", 0, 100, {"cores": 4}, holder="full")],
    )
    assert ledger.impairments(10) == {}
    assert cut.impairments(10) == {"roomy": full(cores=3)}


def test_impairments_where_instances_alone_exceed_capacity() -> None:
    """Instances alone over capacity: every reservation holding that type there goes, the
    missing amount counting the over-allocation."""
    ledger = PoolLedger(
        [cap(0, None, cores=2, ram_mb=10)],
        [claim("r", 0, 100, cores=3), claim("ram", 0, 100, ram_mb=5)],
        allocations_inside=[Claim("i", 0, 100, {"cores": 3}, holder="r")],
    )
    assert ledger.impairments(10) == {"r": full(cores=1)}


def test_to_restore_takes_back_the_candidates_own_instances() -> None:
    ledger = PoolLedger(
        [cap(0, None, cores=3)], [],
        allocations_outside=[Claim("i", 0, 100, {"cores": 3}, holder="r"),
                             Claim("other", 0, 100, {"cores": 0}, holder="s")],
    )
    assert ledger.to_restore([claim("r", 0, 100, cores=3), claim("s", 0, 100, cores=1)],
                             now=10) == ["r"]


def test_check_leaving_out_a_reservation_leaves_out_its_instances() -> None:
    """An impaired reservation's instances count against the pool; checking the reservation
    itself again (UpdateReservation) counts them inside it."""
    ledger = PoolLedger([cap(0, None, cores=3)], [],
                        allocations_outside=[Claim("i", 0, 100, {"cores": 3}, holder="r")])
    assert not ledger.check(10, 50, {"cores": 3}, horizon=10).ok
    assert ledger.check(10, 50, {"cores": 3}, horizon=10, exclude="r").ok


def test_binding_is_the_first_instant_at_the_least() -> None:
    ledger = PoolLedger(
        [cap(0, None, cores=10, ram_mb=10)],
        [claim("early", 20, 30, 0, 1, cores=4), claim("late", 50, 60, 0, 2, cores=7),
         claim("also", 55, 70, 0, 3, cores=1), claim("ram", 50, 60, 0, 4, ram_mb=5)],
    )
    assert ledger.binding(0, None, {"cores": 2}) is None
    found = ledger.binding(0, None, {"cores": 3, "ram_mb": 1})
    assert found is not None
    assert (found.at, found.reservation_ids) == (55, ["late", "also"])
    assert ledger.binding(0, 40, {"cores": 7}) == Binding(20, ["early"])
    assert ledger.binding(0, 100, {"cores": 7}, exclude="late") == Binding(20, ["early"])


# to_restore


def test_to_restore_most_important_first_and_sees_earlier_restores() -> None:
    ledger = PoolLedger([cap(0, None, cores=10)], [claim("held", 0, None, cores=4)])
    candidates = [
        claim("low", 0, 100, LOW, 1, cores=4),
        claim("high_late", 0, 100, HIGH, 5, cores=4),
        claim("high_early", 0, 100, HIGH, 2, cores=2),
        claim("gone", 0, 10, HIGH, 0, cores=100),  # ended before now
        claim("tiny", 50, 60, LOW, 9, cores=0),
    ]
    assert ledger.to_restore(candidates, now=20) == ["high_early", "high_late", "tiny"]


def test_to_restore_fits_only_from_now() -> None:
    ledger = PoolLedger([cap(0, None, cores=10)], [claim("held", 0, 50, cores=8)])
    late = claim("late", 0, 100, cores=5)
    assert ledger.to_restore([late], now=40) == []
    assert ledger.to_restore([late], now=50) == ["late"]


# randomized properties


def _capacity_at(changes: list[CapacityChange], t: int, k: str) -> int:
    return sum(c.delta.get(k, 0) for c in changes if c.start <= t and (c.end is None or t < c.end))


def _held_at(claims: list[Claim], t: int, k: str) -> int:
    return sum(c.amounts.get(k, 0) for c in claims if c.start <= t and (c.end is None or t < c.end))


def _random_ledger(
    rng: random.Random,
) -> tuple[list[CapacityChange], list[Claim], list[Claim], list[str]]:
    kinds = ["cores", "ram_mb", "ports"]

    def end(start: int) -> int | None:
        return None if rng.random() < 0.2 else start + rng.randint(1, 20)

    def amounts(top: int) -> dict[str, int]:
        return {k: rng.randint(0, top) for k in rng.sample(kinds, rng.randint(1, 3))}

    changes = [CapacityChange(0, None, {k: rng.randint(4, 14) for k in kinds})]
    for _ in range(rng.randint(0, 3)):
        start = rng.randint(0, 30)
        delta = {k: rng.randint(-6, 6) for k in rng.sample(kinds, rng.randint(1, 2))}
        changes.append(CapacityChange(start, end(start), delta))
    reservations = []
    for n in range(rng.randint(0, 6)):
        start = rng.randint(0, 30)
        reservations.append(
            Claim(f"r{n}", start, end(start), amounts(5), rng.randint(0, 2), rng.randint(0, 9))
        )
    outside = []
    for n in range(rng.randint(0, 2)):
        start = rng.randint(0, 30)
        outside.append(Claim(f"o{n}", start, end(start), amounts(3)))
    return changes, reservations, outside, kinds


TIMES = range(-2, 60)  # every random breakpoint is in [0, 50]; after that all is constant


def test_randomized_against_brute_force() -> None:
    rng = random.Random(20240601)
    seen: Counter[str] = Counter()
    for _ in range(200):
        seen.update(_check_random_case(rng))
    # The cases reach every interesting branch.
    for branch in ("fits", "fits later", "never fits", "impaired", "restored"):
        assert seen[branch] >= 5, (branch, seen)


def _check_random_case(rng: random.Random) -> list[str]:
    """Checks one random ledger against brute force; returns the branches it reached."""
    changes, reservations, outside, kinds = _random_ledger(rng)
    ledger = PoolLedger(changes, reservations, outside)

    def available(t: int, k: str, held: list[Claim]) -> int:
        return _capacity_at(changes, t, k) - _held_at(held + outside, t, k)

    # check() against brute force, including the earliest start.
    start = rng.randint(0, 30)
    length = rng.randint(1, 15)
    need = {k: rng.randint(0, 6) for k in rng.sample(kinds, rng.randint(1, 2))}
    horizon = rng.randint(start, 45)
    exclude = rng.choice([None, *(r.id for r in reservations)])
    held = [r for r in reservations if r.id != exclude]

    def fits(at: int) -> bool:
        return all(
            available(t, k, held) >= v
            for k, v in need.items()
            if v > 0
            for t in range(at, at + length)
        )

    fit = ledger.check(start, start + length, need, horizon, exclude=exclude)
    assert fit.ok == fits(start)
    expected = next((t for t in range(start, horizon + 1) if fits(t)), None)
    assert fit.earliest_start == expected
    seen = ["fits" if fit.ok else "never fits" if expected is None else "fits later"]
    for k in kinds:
        lowest = min(available(t, k, held) for t in range(start, start + length))
        assert fit.max_reservable[k] == max(0, lowest)
        assert ledger.free(start, start + length)[k] == min(
            available(t, k, reservations) for t in range(start, start + length)
        )

    # to_impair(): no violation left among the remaining reservations, and minimal.
    now = rng.randint(0, 35)

    def violated(kept: list[Claim]) -> bool:
        return any(
            _held_at(kept, t, k) > max(0, available(t, k, []))
            for t in TIMES
            if t >= now
            for k in kinds
        )

    impaired = ledger.to_impair(now)
    assert len(set(impaired)) == len(impaired)
    kept = [r for r in reservations if r.id not in impaired]
    assert not violated(kept)
    if not violated(reservations):
        assert impaired == []
    for rid in impaired:
        back = next(r for r in reservations if r.id == rid)
        assert back.end is None or back.end > now
        assert violated([*kept, back])
    seen += ["impaired"] * bool(impaired)

    # to_restore(): of random impaired ones, the restored fit together with the rest from now
    # on, and no other live candidate fits into the result.
    impaired_now = [r for r in reservations if rng.random() < 0.5]
    rest = [r for r in reservations if r not in impaired_now]
    restored = PoolLedger(changes, rest, outside).to_restore(impaired_now, now)
    assert len(set(restored)) == len(restored)
    together = rest + [r for r in impaired_now if r.id in restored]
    for r in impaired_now:
        after = [c for c in together if c is not r]
        fits_back = all(
            available(t, k, after) >= v
            for k, v in r.amounts.items()
            if v > 0
            for t in TIMES
            if t >= max(now, r.start) and (r.end is None or t < r.end)
        )
        if r.id in restored:
            assert r.end is None or r.end > now
            assert fits_back
        elif r.end is None or r.end > now:
            assert not fits_back
    seen += ["restored"] * bool(restored)
    return seen


def test_open_ended_free_matches_free_to_the_end() -> None:
    rng = random.Random(20261123)
    for _ in range(200):
        changes, reservations, outside, _ = _random_ledger(rng)
        ledger = PoolLedger(changes, reservations, outside)
        free_from = ledger.open_ended_free()
        for at in (-5, *rng.sample(range(0, 60), 8)):
            assert free_from(at) == ledger.free(at, None), at
    assert PoolLedger([], []).open_ended_free()(0) == full()


def test_holdings_quick_fit_is_never_wrong_and_often_decides() -> None:
    rng = random.Random(7)
    quick = 0
    for _ in range(300):
        changes, reservations, outside, kinds = _random_ledger(rng)
        holdings = PoolHoldings(0, 0, changes)
        for r in reservations:
            if r.end is not None:
                holdings.add(r)
        for o in outside:
            holdings.add_outside(o)
        start = rng.randint(0, 40)
        end = start + rng.randint(1, 15)
        need = {k: rng.randint(0, 4) for k in rng.sample(kinds, rng.randint(1, 3))}
        if holdings.surely_fits(start, end, need):
            quick += 1
            assert holdings.ledger(start, end).check(start, end, need, start).ok
    assert quick >= 30


def test_holdings_quick_free_from_is_never_wrong_and_often_decides() -> None:
    """Reservations added after free_from was computed make the quick test cautious, never
    wrong; free_from itself stays exact."""
    rng = random.Random(11)
    quick = 0
    for _ in range(300):
        changes, reservations, outside, kinds = _random_ledger(rng)
        bounded = [r for r in reservations if r.end is not None]
        # Instance claims in holdings are open-ended and have started.
        open_claims = [Claim(o.id, 0, None, o.amounts) for o in outside]
        first = rng.randint(0, len(bounded))
        holdings = PoolHoldings(0, 0, changes)
        for r in bounded[:first]:
            holdings.add(r)
        for o in open_claims:
            holdings.add_outside(o)
        at = rng.randint(0, 40)
        holdings.free_from(at)
        for r in bounded[first:]:
            holdings.add(r)
        need = {k: rng.randint(0, 3) for k in rng.sample(kinds, rng.randint(1, 3))}
        exact = PoolLedger(changes, bounded, open_claims).free(at, None)
        if holdings.surely_free_from(at, need):
            quick += 1
            assert all(n <= exact[k] for k, n in need.items())
        assert holdings.free_from(at) == exact
    assert quick >= 30


def test_holdings_take_back_what_a_failed_batch_added() -> None:
    """Claims added tentatively (a batch not yet committed) and then taken back leave the
    holdings answering every question as before; kept ones stay."""
    rng = random.Random(12)
    for _ in range(200):
        changes, reservations, outside, kinds = _random_ledger(rng)
        holdings = PoolHoldings(0, 0, changes)
        bounded = [r for r in reservations if r.end is not None]
        split = rng.randint(0, len(bounded))
        for r in bounded[:split]:
            holdings.add(r)

        def answers(holdings: PoolHoldings, kinds: list[str]) -> list[object]:
            need = {k: 2 for k in kinds[:2]}
            return [holdings.free_from(at) for at in (0, 10, 30)] + [
                holdings.ledger(0, 40).check(0, 40, need, 0).ok, holdings.used("r0"),
                holdings.surely_fits(5, 20, need)]

        before = answers(holdings, kinds)
        holdings.tentatively()
        for r in bounded[split:]:
            holdings.add(r)
        for o in outside:
            holdings.add_outside(o)
        holdings.add_inside("r0", {kinds[0]: 1}, 50)
        holdings.take_back()
        assert answers(holdings, kinds) == before
        assert all(holdings.reservation(r.id) is None for r in bounded[split:])
        holdings.tentatively()
        for r in bounded[split:]:
            holdings.add(r)
        holdings.keep()
        holdings.take_back()  # nothing tentative left
        assert all(holdings.reservation(r.id) is not None for r in bounded)

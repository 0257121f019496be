"""The exact optimiser against brute force on small instances, and against greedy.

The policy under test (module docstring of ``matching``): a floor no lower than first come,
first served gives; then the priority-weighted fill; then the common floor up to the district
rate − slack; then distance. Rates are filled over *fillable* wishes (some pledge fits).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from fractions import Fraction

import pytest

from plugins.childcare.microwish.matching import (
    Matching,
    PledgeOffer,
    WishNeed,
    area_distance,
    fits,
    greedy_fcfs,
    solve,
)

COMMUNITIES = ("d1.s1.c1", "d1.s1.c2", "d1.s2.c3")
ITEMS = (("bag", None), ("coat", "120"), ("coat", "130"))
SLACK = Fraction(1, 5)

Pairs = Sequence[tuple[int, int]]
Score = tuple[int, int, Fraction, int]


def _worst_fillable(
    wishes: Sequence[WishNeed], pledges: Sequence[PledgeOffer], pairs: Pairs
) -> Fraction | None:
    """Lowest filled / fillable over communities with a fillable wish; None if none has one."""
    can = {w.id for w in wishes if any(fits(w, p) and p.quantity > 0 for p in pledges)}
    filled = {w for w, _ in pairs}
    rates = []
    for community in {w.community for w in wishes}:
        mine = [w for w in wishes if w.community == community and w.id in can]
        if mine:
            rates.append(Fraction(sum(w.id in filled for w in mine), len(mine)))
    return min(rates) if rates else None


def _solver_weights(wishes: Sequence[WishNeed], pledges: Sequence[PledgeOffer]) -> dict[int, int]:
    """Priority p ≥ 1 weighs p·K and priority 0 weighs 1 (K as the module docstring says)."""
    can = [w for w in wishes if any(fits(w, p) and p.quantity > 0 for p in pledges)]
    k = 1 + min(sum(w.priority == 0 for w in can), sum(p.quantity for p in pledges))
    return {w.id: w.priority * k if w.priority else 1 for w in wishes}


def _assignments(wishes: Sequence[WishNeed], pledges: Sequence[PledgeOffer]) -> list[Pairs]:
    options = [[None, *(p.id for p in pledges if fits(w, p))] for w in wishes]
    quantity = {p.id: p.quantity for p in pledges}
    found: list[Pairs] = []
    for choice in itertools.product(*options):
        used: dict[int, int] = {}
        for pledge_id in choice:
            if pledge_id is not None:
                used[pledge_id] = used.get(pledge_id, 0) + 1
        if all(n <= quantity[p] for p, n in used.items()):
            found.append([(w.id, p) for w, p in zip(wishes, choice, strict=True) if p is not None])
    return found


def _brute(
    wishes: Sequence[WishNeed], pledges: Sequence[PledgeOffer]
) -> tuple[Score, Fraction, Fraction]:
    """(best score, guaranteed floor, floor reached) by enumerating every assignment."""
    by_id = {w.id: w for w in wishes}
    where = {p.id: p.dropoff for p in pledges}
    greedy = greedy_fcfs(wishes, pledges)
    worst_greedy = _worst_fillable(wishes, pledges, [(w, p) for w, p, _ in greedy.pairs])
    guaranteed = worst_greedy if worst_greedy is not None else Fraction(0)
    admissible = [
        pairs
        for pairs in _assignments(wishes, pledges)
        if (_worst_fillable(wishes, pledges, pairs) or Fraction(0)) >= guaranteed
    ]
    weights = _solver_weights(wishes, pledges)
    best_weight = max(sum(weights[w] for w, _ in pairs) for pairs in admissible)
    fillable_weight = sum(
        weights[w.id] for w in wishes if any(fits(w, p) and p.quantity > 0 for p in pledges)
    )
    ceiling = guaranteed
    if fillable_weight:
        ceiling = max(guaranteed, Fraction(best_weight, fillable_weight) - SLACK)

    def score(pairs: Pairs) -> Score:
        worst = _worst_fillable(wishes, pledges, pairs)
        fairness = min(worst, ceiling) if worst is not None else Fraction(0)
        return (
            sum(by_id[w].priority for w, _ in pairs),
            sum(by_id[w].priority == 0 for w, _ in pairs),
            fairness,
            -sum(area_distance(where[p], by_id[w].community) for w, p in pairs),
        )

    best = max(score(pairs) for pairs in admissible)
    return best, guaranteed, best[2]


def _instance(rng: random.Random) -> tuple[list[WishNeed], list[PledgeOffer]]:
    wishes = []
    for i in range(rng.randint(1, 6)):
        category, size = rng.choice(ITEMS)
        wishes.append(
            WishNeed(i + 1, rng.choice(COMMUNITIES), category, size, rng.choice((0, 1, 1, 2, 3)))
        )
    pledges = []
    for j in range(rng.randint(1, 3)):
        category, size = rng.choice(ITEMS)
        pledges.append(
            PledgeOffer(j + 1, rng.choice(COMMUNITIES), category, size, rng.randint(1, 2))
        )
    return wishes, pledges


def _check_valid(
    found: Matching, wishes: Sequence[WishNeed], pledges: Sequence[PledgeOffer]
) -> None:
    """Every pair fits, each wish is filled at most once, no pledge gives more than it has."""
    by_wish = {w.id: w for w in wishes}
    by_pledge = {p.id: p for p in pledges}
    assert len({w for w, _, _ in found.pairs}) == len(found.pairs)
    for wish_id, pledge_id, distance in found.pairs:
        assert fits(by_wish[wish_id], by_pledge[pledge_id])
        assert distance == area_distance(by_pledge[pledge_id].dropoff, by_wish[wish_id].community)
    for p in pledges:
        assert sum(pid == p.id for _, pid, _ in found.pairs) <= p.quantity
    assert found.weight == sum(by_wish[w].priority for w, _, _ in found.pairs)


@pytest.mark.parametrize("seed", range(300))
def test_exact_matching_equals_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    wishes, pledges = _instance(rng)
    found = solve(wishes, pledges, fairness_slack=float(SLACK))
    _check_valid(found, wishes, pledges)
    best, guaranteed, reached = _brute(wishes, pledges)
    pairs = [(w, p) for w, p, _ in found.pairs]
    where = {p.id: p.dropoff for p in pledges}
    by_id = {w.id: w for w in wishes}
    worst = _worst_fillable(wishes, pledges, pairs)
    assert found.weight == best[0]
    assert sum(by_id[w].priority == 0 for w, _ in pairs) == best[1]
    assert worst is None or worst >= reached
    assert found.distance_m == -best[3]
    assert found.distance_m == sum(area_distance(where[p], by_id[w].community) for w, p in pairs)
    assert found.guaranteed_floor == float(guaranteed)
    assert found.floor_rate == float(reached)


def _larger_instance(rng: random.Random) -> tuple[list[WishNeed], list[PledgeOffer]]:
    """Scarce, uneven supply with sizes some community asks for and nobody pledges."""
    communities = [f"d1.s{i % 2}.c{i}" for i in range(rng.randint(2, 5))]
    sizes = ("110", "120", "130", "140")
    wishes = []
    for i in range(rng.randint(5, 40)):
        coat = rng.random() < 0.5
        wishes.append(
            WishNeed(
                i + 1,
                rng.choice(communities),
                "coat" if coat else rng.choice(("bag", "books")),
                rng.choice(sizes) if coat else None,
                rng.choice((0, 1, 1, 1, 2, 3)),
            )
        )
    pledges = []
    for j in range(rng.randint(1, 12)):
        coat = rng.random() < 0.5
        pledges.append(
            PledgeOffer(
                j + 1,
                rng.choice(communities),
                "coat" if coat else rng.choice(("bag", "books")),
                rng.choice(sizes[:2]) if coat else None,  # nobody pledges 130 or 140
                rng.randint(1, 3),
            )
        )
    return wishes, pledges


@pytest.mark.parametrize("seed", range(400))
def test_exact_never_worse_than_greedy_on_weight_and_worst_fillable_rate(seed: int) -> None:
    rng = random.Random(1_000 + seed)
    wishes, pledges = _larger_instance(rng)
    slack = rng.choice((0.0, 0.1, 0.2, 0.5, 1.0))
    exact = solve(wishes, pledges, fairness_slack=slack)
    greedy = greedy_fcfs(wishes, pledges)
    _check_valid(exact, wishes, pledges)
    exact_worst = _worst_fillable(wishes, pledges, [(w, p) for w, p, _ in exact.pairs])
    greedy_worst = _worst_fillable(wishes, pledges, [(w, p) for w, p, _ in greedy.pairs])
    assert exact.weight >= greedy.weight
    if exact_worst is None or greedy_worst is None:  # nothing fillable: nothing filled
        assert exact_worst is None and greedy_worst is None and not exact.pairs
        return
    assert exact_worst >= greedy_worst
    assert exact.worst_fillable_rate(wishes, pledges) == float(exact_worst)
    assert exact.floor_rate >= exact.guaranteed_floor == float(greedy_worst)


def test_unfillable_wish_elsewhere_does_not_collapse_the_floor() -> None:
    # Two bags for two communities of two bag wishes each are split 1/1 ...
    wishes = [
        WishNeed(1, "d1.s1.c1", "school_bag", None),
        WishNeed(2, "d1.s1.c1", "school_bag", None),
        WishNeed(3, "d1.s2.c3", "school_bag", None),
        WishNeed(4, "d1.s2.c3", "school_bag", None),
    ]
    pledges = [PledgeOffer(1, "d1.s1.c1", "school_bag", None, 2)]
    # ... and stay split when a third community wants a shoe size nobody pledged.
    unfillable = WishNeed(5, "d1.s3.c5", "shoes", "40")
    for asked in ([*wishes, unfillable], wishes):
        found = solve(asked, pledges, fairness_slack=0.2)
        by_community = found.filled_by_community(asked)
        assert by_community["d1.s1.c1"] == (1, 2)
        assert by_community["d1.s2.c3"] == (1, 2)
        assert found.weight == 2
        assert found.floor_rate == pytest.approx(0.3)
        assert found.worst_fillable_rate(asked, pledges) == 0.5
    # The unfillable wish is simply not filled; over all wishes its community stays at 0.
    assert solve([*wishes, unfillable], pledges).worst_fill_rate([*wishes, unfillable]) == 0.0


def test_all_priorities_zero_still_fill_every_wish_a_unit_fits() -> None:
    wishes = [
        WishNeed(1, "d1.s1.c1", "bag", None, 0),
        WishNeed(2, "d1.s1.c1", "bag", None, 0),
        WishNeed(3, "d1.s2.c3", "bag", None, 0),
        WishNeed(4, "d1.s2.c3", "coat", "120", 0),
    ]
    pledges = [
        PledgeOffer(1, "d1.s1.c1", "bag", None, 2),
        PledgeOffer(2, "d1.s1.c1", "bag", None, 5),
    ]
    found = solve(wishes, pledges)
    assert found.weight == 0
    assert sorted(w for w, _, _ in found.pairs) == [1, 2, 3]  # the coat: nobody pledged one
    assert found.worst_fillable_rate(wishes, pledges) == 1.0
    scarce = solve(wishes, [PledgeOffer(1, "d1.s1.c1", "bag", None, 2)])
    assert len(scarce.pairs) == 2
    assert scarce.filled_by_community(wishes)["d1.s2.c3"] == (1, 2)  # the floor still holds


def test_priority_zero_yields_to_any_priority_and_takes_what_is_left() -> None:
    wishes = [
        WishNeed(1, "d1.s1.c1", "bag", None, 0),
        WishNeed(2, "d2.s1.c1", "bag", None, 1),
        WishNeed(3, "d2.s1.c1", "bag", None, 0),
    ]
    one = solve(wishes, [PledgeOffer(1, "d1.s1.c1", "bag", None, 1)], fairness_slack=1.0)
    assert [w for w, _, _ in one.pairs] == [2]
    two = solve(wishes, [PledgeOffer(1, "d1.s1.c1", "bag", None, 2)], fairness_slack=1.0)
    assert sorted(w for w, _, _ in two.pairs) == [1, 2] and two.weight == 1


def test_negative_priority_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="priority: wish 7"):
        solve(
            [WishNeed(7, "d1.s1.c1", "bag", None, -1)], [PledgeOffer(1, "d1.s1.c1", "bag", None, 1)]
        )


def test_floor_never_below_greedy_even_when_weight_would_gain() -> None:
    # Greedy (wish order) gives c2 one of its two bag wishes; a heavier answer would give both
    # bags to c1's priority-3 wishes and leave c2 at 0. The floor keeps c2 at 1/2.
    wishes = [
        WishNeed(1, "d1.s1.c2", "bag", None, 1),
        WishNeed(2, "d1.s1.c1", "bag", None, 3),
        WishNeed(3, "d1.s1.c1", "bag", None, 3),
        WishNeed(4, "d1.s1.c2", "bag", None, 1),
    ]
    pledges = [PledgeOffer(1, "d1.s1.c1", "bag", None, 2)]
    greedy = greedy_fcfs(wishes, pledges)
    found = solve(wishes, pledges, fairness_slack=1.0)
    assert found.filled_by_community(wishes) == {"d1.s1.c1": (1, 2), "d1.s1.c2": (1, 2)}
    assert found.weight == greedy.weight == 4
    assert greedy.worst_fillable_rate(wishes, pledges) == 0.5
    assert found.worst_fillable_rate(wishes, pledges) == 0.5
    assert found.guaranteed_floor == 0.5
    assert found.distance_m == 1_500  # of the answers as good, the nearest: c1 keeps one


def test_fairness_floor_lifts_a_community_without_losing_weight() -> None:
    # Two communities want bags; both bags are dropped at c1. Weight is the same either way,
    # so the floor gives c3 its share although c1 is nearer.
    wishes = [
        WishNeed(1, "d1.s1.c1", "bag", None),
        WishNeed(2, "d1.s1.c1", "bag", None),
        WishNeed(3, "d1.s2.c3", "bag", None),
        WishNeed(4, "d1.s2.c3", "bag", None),
    ]
    pledges = [PledgeOffer(1, "d1.s1.c1", "bag", None, 2)]
    nearest = solve(wishes, pledges, fairness_slack=1.0)
    fair = solve(wishes, pledges, fairness_slack=0.2)
    assert nearest.weight == fair.weight == 2
    assert nearest.distance_m == 0 and sorted(w for w, _, _ in nearest.pairs) == [1, 2]
    assert fair.worst_fill_rate(wishes) == 0.5 and fair.floor_rate == pytest.approx(0.3)


def test_priority_beats_distance() -> None:
    wishes = [WishNeed(1, "d1.s1.c1", "bag", None, 1), WishNeed(2, "d2.s1.c1", "bag", None, 3)]
    found = solve(wishes, [PledgeOffer(1, "d1.s1.c1", "bag", None, 1)])
    assert found.pairs == [(2, 1, 12_000)]


def test_sizes_must_fit() -> None:
    wishes = [WishNeed(1, "d1.s1.c1", "coat", "120"), WishNeed(2, "d1.s1.c1", "bag", None)]
    pledges = [
        PledgeOffer(1, "d1.s1.c1", "coat", "130", 5),
        PledgeOffer(2, "d1.s1.c1", "bag", "L", 1),
    ]
    assert solve(wishes, pledges).pairs == [(2, 2, 0)]

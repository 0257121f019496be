"""The exact optimiser against brute force on small instances, and against greedy."""

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

Score = tuple[int, Fraction, int]


def _score(
    wishes: Sequence[WishNeed], pairs: Sequence[tuple[int, int]], target: Fraction | None
) -> Score:
    """(weight, fairness up to the target, −distance): larger is better."""
    by_id = {w.id: w for w in wishes}
    pledges = {p.id: p for p in _PLEDGES}
    weight = sum(by_id[w].priority for w, _ in pairs)
    distance = sum(area_distance(pledges[p].dropoff, by_id[w].community) for w, p in pairs)
    fairness = Fraction(0)
    if target is not None and target > 0:
        rates = []
        for community in {w.community for w in wishes}:
            n = sum(w.community == community for w in wishes)
            got = sum(by_id[w].community == community for w, _ in pairs)
            rates.append(Fraction(got, n))
        fairness = min(min(rates), target)
    return weight, fairness, -distance


_PLEDGES: list[PledgeOffer] = []


def _brute(wishes: Sequence[WishNeed], pledges: Sequence[PledgeOffer]) -> Score:
    options = [[None, *(p.id for p in pledges if fits(w, p))] for w in wishes]
    feasible: list[list[tuple[int, int]]] = []
    for choice in itertools.product(*options):
        used: dict[int, int] = {}
        for pledge_id in choice:
            if pledge_id is not None:
                used[pledge_id] = used.get(pledge_id, 0) + 1
        if all(used[p.id] <= p.quantity for p in pledges if p.id in used):
            feasible.append(
                [(w.id, p) for w, p in zip(wishes, choice, strict=True) if p is not None]
            )
    best_weight = max(_score(wishes, pairs, None)[0] for pairs in feasible)
    total = sum(w.priority for w in wishes)
    target = Fraction(best_weight, total) - SLACK
    return max(_score(wishes, pairs, target) for pairs in feasible)


def _instance(rng: random.Random) -> tuple[list[WishNeed], list[PledgeOffer]]:
    wishes = []
    for i in range(rng.randint(1, 6)):
        category, size = rng.choice(ITEMS)
        if category == "bag" or rng.random() < 0.8:
            size = size if category == "coat" else None
        wishes.append(
            WishNeed(i + 1, rng.choice(COMMUNITIES), category, size, rng.choice((1, 1, 2, 3)))
        )
    pledges = []
    for j in range(rng.randint(1, 3)):
        category, size = rng.choice(ITEMS)
        pledges.append(
            PledgeOffer(j + 1, rng.choice(COMMUNITIES), category, size, rng.randint(1, 2))
        )
    return wishes, pledges


@pytest.mark.parametrize("seed", range(300))
def test_exact_matching_equals_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    wishes, pledges = _instance(rng)
    _PLEDGES[:] = pledges
    found: Matching = solve(wishes, pledges, fairness_slack=float(SLACK))
    # Every pair fits and no pledge gives more than it has.
    by_wish = {w.id: w for w in wishes}
    by_pledge = {p.id: p for p in pledges}
    assert len({w for w, _, _ in found.pairs}) == len(found.pairs)
    for wish_id, pledge_id, distance in found.pairs:
        assert fits(by_wish[wish_id], by_pledge[pledge_id])
        assert distance == area_distance(by_pledge[pledge_id].dropoff, by_wish[wish_id].community)
    for p in pledges:
        assert sum(pid == p.id for _, pid, _ in found.pairs) <= p.quantity
    best = _brute(wishes, pledges)
    total = sum(w.priority for w in wishes)
    target = Fraction(best[0], total) - SLACK
    got = _score(wishes, [(w, p) for w, p, _ in found.pairs], target)
    assert got == best
    assert found.weight == best[0] and found.distance_m == -best[2]
    assert greedy_fcfs(wishes, pledges).weight <= found.weight


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

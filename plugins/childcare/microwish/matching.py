"""Exact matching of pledged goods to wishes, by OR-Tools min-cost flow.

The problem is a transportation problem. Wishes that are alike for the solver (community,
category, size, priority) form one node and pledges alike (drop-off, category, size) another,
so 10,000 wishes and 3,000 pledges become a network of a few thousand nodes.

Rates are taken over *fillable* wishes: a wish is fillable when at least one pledge fits it
(same category, and the same size where the wish sets one). A wish nothing could fill (a shoe
size nobody pledged) neither lowers its community's rate nor the floor of the others; a
community with no fillable wish takes no part in the floor. A community's fill rate is its
filled wishes over its fillable wishes.

The policy is lexicographic and every level is solved exactly:

1. *Guaranteed floor.* Every community gets at least the rate first come, first served
   (``greedy_fcfs``) gives its worst-off community. Greedy's own assignment meets that floor,
   so it is always feasible, and the result is never worse than greedy on both the weight and
   the worst community rate.
2. *Weight.* Subject to that floor, maximise the priority-weighted number of wishes filled.
   A priority-0 wish carries no weight but still beats leaving a fitting unit unused: the
   solver weighs priority p ≥ 1 as ``p·K`` and priority 0 as 1, with K larger than the number
   of priority-0 wishes that could be filled, so the reported weight (sum of priorities) is
   maximal first and the number of priority-0 wishes filled second.
3. *Fairness.* Among those solutions, raise every community to the common floor
   ``district rate − slack`` (the district rate is the solver weight reached over the solver
   weight of all fillable wishes) as far as that weight allows: the highest common floor is
   found by binary search over the finitely many rates k/n_c above the guaranteed floor, each
   step a min-cost flow with lower bounds on the community arcs.
4. *Distance.* Among those, minimise the total distance from drop-off point to community.

Levels 2 and 4 share one cost function, ``−weight·BIG + distance`` with BIG larger than any
possible total distance, so each solve is exact for both; flows of a network with integral
capacities are integral, so no rounding is involved. Money pledges are not matched here: they
fund procurement.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
from ortools.graph.python import min_cost_flow

__all__ = [
    "DistanceFn",
    "Matching",
    "PledgeOffer",
    "WishNeed",
    "area_distance",
    "fillable",
    "fits",
    "greedy_fcfs",
    "solve",
]

DistanceFn = Callable[[str, str], int]
"""Distance in metres from a drop-off point to a community."""


@dataclass(frozen=True, slots=True)
class WishNeed:
    """A wish as the optimiser sees it (ids and codes only)."""

    id: int
    community: str
    category: str
    size: str | None
    priority: int = 1


@dataclass(frozen=True, slots=True)
class PledgeOffer:
    """A goods pledge as the optimiser sees it."""

    id: int
    dropoff: str
    category: str
    size: str | None
    quantity: int


@dataclass(slots=True)
class Matching:
    """The assignment and its figures."""

    pairs: list[tuple[int, int, int]] = field(default_factory=list)
    """(wish id, pledge id, distance in metres) for every filled wish."""
    weight: int = 0
    """Sum of the priorities of the filled wishes."""
    distance_m: int = 0
    floor_rate: float = 0.0
    """The common floor every community with fillable wishes reached (filled / fillable)."""
    guaranteed_floor: float = 0.0
    """The floor taken from first come, first served, which the floor never falls below."""
    seconds: float = 0.0

    def filled_by_community(self, wishes: Sequence[WishNeed]) -> dict[str, tuple[int, int]]:
        """Community → (filled, wishes)."""
        where = {w.id: w.community for w in wishes}
        totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for w in wishes:
            totals[w.community][1] += 1
        for wish_id, _pledge, _d in self.pairs:
            totals[where[wish_id]][0] += 1
        return {c: (v[0], v[1]) for c, v in sorted(totals.items())}

    def worst_fill_rate(self, wishes: Sequence[WishNeed]) -> float:
        """The lowest fill rate of any community with wishes, over all its wishes."""
        rates = [f / n for f, n in self.filled_by_community(wishes).values() if n]
        return min(rates) if rates else 1.0

    def worst_fillable_rate(
        self, wishes: Sequence[WishNeed], pledges: Sequence[PledgeOffer]
    ) -> float:
        """The lowest fill rate over fillable wishes of any community that has some.

        This is the rate the fairness floor is about (see the module docstring).
        """
        return float(_worst_rate(self.pairs, wishes, fillable(wishes, pledges)))


def fits(wish: WishNeed, pledge: PledgeOffer) -> bool:
    """Whether a pledge can fill a wish: same category, and the same size where one is set."""
    return wish.category == pledge.category and (wish.size is None or wish.size == pledge.size)


def fillable(wishes: Sequence[WishNeed], pledges: Sequence[PledgeOffer]) -> set[int]:
    """Ids of the wishes at least one pledge (of quantity 1 or more) fits."""
    items = {(p.category, p.size) for p in pledges if p.quantity >= 1}
    categories = {category for category, _size in items}
    return {
        w.id
        for w in wishes
        if (w.category in categories if w.size is None else (w.category, w.size) in items)
    }


def _worst_rate(
    pairs: Sequence[tuple[int, int, int]], wishes: Sequence[WishNeed], can_fill: set[int]
) -> Fraction:
    """Lowest filled / fillable over communities with fillable wishes (1 when there are none)."""
    fillable_in: dict[str, int] = defaultdict(int)
    for w in wishes:
        if w.id in can_fill:
            fillable_in[w.community] += 1
    where = {w.id: w.community for w in wishes}
    filled_in: dict[str, int] = defaultdict(int)
    for wish_id, _pledge, _d in pairs:
        filled_in[where[wish_id]] += 1
    rates = [Fraction(filled_in[c], n) for c, n in fillable_in.items()]
    return min(rates) if rates else Fraction(1)


def area_distance(dropoff: str, community: str) -> int:
    """Distance in metres between two community codes, from the area tree.

    The registry keeps no coordinates, so distance is by administrative nesting: the same
    community, the same street 街道, the same district 区, or across districts.
    """
    a, b = dropoff.split("."), community.split(".")
    if a == b:
        return 0
    if a[:2] == b[:2]:
        return 1_500
    if a[:1] == b[:1]:
        return 4_000
    return 12_000


@dataclass(slots=True)
class _Network:
    """The grouped transportation network, built once and solved with different floors."""

    wish_groups: list[tuple[str, str, str | None, int]]
    wish_members: list[list[int]]
    pledge_groups: list[tuple[str, str, str | None]]
    pledge_members: list[list[tuple[int, int]]]
    communities: list[str]
    community_sizes: list[int]
    community_fillable: list[int]
    """Per community, how many of its wishes some pledge fits."""
    solver_weights: list[int]
    """Per wish group, the weight the solver maximises (priority·K, or 1 for priority 0)."""
    fillable_weight: int
    """Solver weight of every fillable wish: the denominator of the district rate."""
    tails: np.ndarray
    heads: np.ndarray
    caps: np.ndarray
    costs: np.ndarray
    arc_dist: np.ndarray
    first_wg_arc: int
    first_pg_arc: int
    first_comm_arc: int
    units: int
    big: int


def _build(
    wishes: Sequence[WishNeed], pledges: Sequence[PledgeOffer], dist: DistanceFn
) -> _Network:
    wg_index: dict[tuple[str, str, str | None, int], int] = {}
    wish_members: list[list[int]] = []
    for w in sorted(wishes, key=lambda x: x.id):
        key = (w.community, w.category, w.size, w.priority)
        if key not in wg_index:
            wg_index[key] = len(wish_members)
            wish_members.append([])
        wish_members[wg_index[key]].append(w.id)
    pg_index: dict[tuple[str, str, str | None], int] = {}
    pledge_members: list[list[tuple[int, int]]] = []
    for p in sorted(pledges, key=lambda x: x.id):
        if p.quantity < 1:
            continue
        pkey = (p.dropoff, p.category, p.size)
        if pkey not in pg_index:
            pg_index[pkey] = len(pledge_members)
            pledge_members.append([])
        pledge_members[pg_index[pkey]].append((p.id, p.quantity))
    wish_groups = list(wg_index)
    pledge_groups = list(pg_index)
    communities = sorted({g[0] for g in wish_groups})
    comm_index = {c: i for i, c in enumerate(communities)}
    sizes = [0] * len(communities)
    for g, members in zip(wish_groups, wish_members, strict=True):
        sizes[comm_index[g[0]]] += len(members)

    # Nodes: 0 source, 1 sink, pledge groups, wish groups, communities.
    pg0 = 2
    wg0 = pg0 + len(pledge_groups)
    c0 = wg0 + len(wish_groups)
    by_item: dict[tuple[str, str | None], list[int]] = defaultdict(list)
    by_category: dict[str, list[int]] = defaultdict(list)
    for j, (_drop, cat, size) in enumerate(pledge_groups):
        by_item[(cat, size)].append(j)
        by_category[cat].append(j)
    tails: list[int] = []
    heads: list[int] = []
    caps: list[int] = []
    dists: list[int] = []
    pledged = [sum(q for _, q in m) for m in pledge_members]
    units = sum(pledged)
    can_fill = [False] * len(wish_groups)
    # pledge group → wish group: category and size must fit; cost is the distance.
    for i, (comm, cat, size, _prio) in enumerate(wish_groups):
        compatible = by_category[cat] if size is None else by_item[(cat, size)]
        can_fill[i] = bool(compatible)
        for j in compatible:
            tails.append(pg0 + j)
            heads.append(wg0 + i)
            caps.append(min(pledged[j], len(wish_members[i])))
            dists.append(dist(pledge_groups[j][0], comm))
    first_pg_arc = len(tails)
    for j in range(len(pledge_groups)):
        tails.append(0)
        heads.append(pg0 + j)
        caps.append(pledged[j])
        dists.append(0)
    first_wg_arc = len(tails)
    for i, g in enumerate(wish_groups):
        tails.append(wg0 + i)
        heads.append(c0 + comm_index[g[0]])
        caps.append(len(wish_members[i]))
        dists.append(0)
    first_comm_arc = len(tails)
    for k in range(len(communities)):
        tails.append(c0 + k)
        heads.append(1)
        caps.append(sizes[k])
        dists.append(0)
    # The bypass lets pledged units stay unused.
    tails.append(0)
    heads.append(1)
    caps.append(units)
    dists.append(0)
    arc_dist = np.asarray(dists, dtype=np.int64)
    max_dist = int(arc_dist.max()) if len(arc_dist) else 0
    # BIG exceeds any total distance, so one unit of solver weight outweighs every distance.
    big = min(units, len(wishes)) * max_dist + 1
    weights = _solver_weights(wish_groups, wish_members, can_fill, units)
    costs = arc_dist.copy()
    for i, weight in enumerate(weights):
        costs[first_wg_arc + i] = -weight * big
    fillable_sizes = [0] * len(communities)
    for i, g in enumerate(wish_groups):
        if can_fill[i]:
            fillable_sizes[comm_index[g[0]]] += len(wish_members[i])
    return _Network(
        wish_groups=wish_groups,
        wish_members=wish_members,
        pledge_groups=pledge_groups,
        pledge_members=pledge_members,
        communities=communities,
        community_sizes=sizes,
        community_fillable=fillable_sizes,
        solver_weights=weights,
        fillable_weight=sum(
            w * len(m) for w, m, ok in zip(weights, wish_members, can_fill, strict=True) if ok
        ),
        tails=np.asarray(tails, dtype=np.int32),
        heads=np.asarray(heads, dtype=np.int32),
        caps=np.asarray(caps, dtype=np.int64),
        costs=costs,
        arc_dist=arc_dist,
        first_wg_arc=first_wg_arc,
        first_pg_arc=first_pg_arc,
        first_comm_arc=first_comm_arc,
        units=units,
        big=big,
    )


def _solver_weights(
    groups: Sequence[tuple[str, str, str | None, int]],
    members: Sequence[Sequence[int]],
    can_fill: Sequence[bool],
    units: int,
) -> list[int]:
    """Priority p ≥ 1 weighs p·K and priority 0 weighs 1, K above any count of priority-0 fills.

    So a priority-0 wish never displaces a weighted one, yet beats leaving a unit unused.
    """
    zeros = sum(
        len(m) for g, m, ok in zip(groups, members, can_fill, strict=True) if ok and not g[3]
    )
    k = 1 + min(zeros, units)
    return [g[3] * k if g[3] else 1 for g in groups]


def _flow(net: _Network, floors: Sequence[int]) -> np.ndarray | None:
    """Min-cost flow with at least ``floors[k]`` wishes filled in community k, or None."""
    solver = min_cost_flow.SimpleMinCostFlow()
    caps = net.caps.copy()
    supplies = np.zeros(2 + len(net.pledge_groups) + len(net.wish_groups) + len(net.communities))
    supplies = supplies.astype(np.int64)
    supplies[0] = net.units
    supplies[1] = -net.units
    c0 = 2 + len(net.pledge_groups) + len(net.wish_groups)
    for k, low in enumerate(floors):
        # A lower bound on community → sink: force ``low`` units through it up front.
        caps[net.first_comm_arc + k] -= low
        supplies[c0 + k] -= low
        supplies[1] += low
    solver.add_arcs_with_capacity_and_unit_cost(net.tails, net.heads, caps, net.costs)
    solver.set_nodes_supplies(np.arange(len(supplies), dtype=np.int32), supplies)
    status = solver.solve()
    if status == solver.INFEASIBLE:
        return None
    if status != solver.OPTIMAL:
        # Not "infeasible": a cost range too wide for int64, say. Never read it as a floor
        # that cannot be met.
        raise RuntimeError(f"min-cost flow did not solve: {status}")
    flows = np.asarray(solver.flows(np.arange(len(net.tails), dtype=np.int32)), dtype=np.int64)
    for k, low in enumerate(floors):
        flows[net.first_comm_arc + k] += low
    return flows


def _weight(net: _Network, flows: np.ndarray) -> int:
    """The solver weight of a flow."""
    start = net.first_wg_arc
    return sum(
        int(flows[start + i]) * weight
        for i, weight in enumerate(net.solver_weights)
        if flows[start + i]
    )


def solve(
    wishes: Sequence[WishNeed],
    pledges: Sequence[PledgeOffer],
    *,
    distance: DistanceFn = area_distance,
    fairness_slack: float = 0.2,
) -> Matching:
    """Match pledge units to wishes exactly (see the module docstring for the policy).

    Args:
        wishes: Approved wishes; priority 0 or more.
        pledges: Active goods pledges.
        distance: Metres from a drop-off point to a community.
        fairness_slack: How far below the district's weighted fill rate (over fillable
            wishes) the common floor may stay.

    Returns:
        The assignment with its weight, distance, the fairness floor reached and the floor
        guaranteed by first come, first served.

    Raises:
        ValueError: A wish's priority is below 0.
    """
    started = time.perf_counter()
    negative = next((w for w in wishes if w.priority < 0), None)
    if negative is not None:
        raise ValueError(f"priority: wish {negative.id} has {negative.priority}, below 0")
    if not wishes or not pledges:
        return Matching(seconds=time.perf_counter() - started)
    net = _build(wishes, pledges, distance)
    guaranteed = Fraction(0)
    if any(net.community_fillable):
        baseline = greedy_fcfs(wishes, pledges, distance=distance)
        guaranteed = _worst_rate(baseline.pairs, wishes, fillable(wishes, pledges))
    flows = _flow(net, _floors(net, guaranteed))
    if flows is None:  # greedy's own assignment meets this floor
        raise RuntimeError("the first-come-first-served floor could not be met")
    best = _weight(net, flows)
    reached = guaranteed
    if net.fillable_weight:
        target = Fraction(best, net.fillable_weight) - Fraction(str(fairness_slack))
        if target > guaranteed:
            flows, reached = _raise_floor(net, best, guaranteed, target, flows)
    matching = _assign(net, flows)
    matching.floor_rate = float(reached)
    matching.guaranteed_floor = float(guaranteed)
    matching.seconds = time.perf_counter() - started
    return matching


def _floors(net: _Network, rate: Fraction) -> list[int]:
    """Wishes each community must have filled for a common floor ``rate`` of its fillable."""
    return [math.ceil(rate * n) for n in net.community_fillable]


def _raise_floor(
    net: _Network, best: int, low: Fraction, target: Fraction, flows: np.ndarray
) -> tuple[np.ndarray, Fraction]:
    """The highest common floor in (low, target] that keeps solver weight ``best``.

    ``flows`` meets floor ``low`` at weight ``best``; it is returned when nothing higher holds.
    """

    def feasible(rate: Fraction) -> np.ndarray | None:
        found = _flow(net, _floors(net, rate))
        return found if found is not None and _weight(net, found) == best else None

    at_target = feasible(target)
    if at_target is not None:
        return at_target, target
    # Any floor below the target binds as one of the rates k/n_c between low and the target.
    candidates = sorted(
        {
            Fraction(k, n)
            for n in set(net.community_fillable)
            if n
            for k in range(math.floor(low * n) + 1, math.ceil(target * n))
        }
    )
    candidates = [c for c in candidates if low < c < target]
    reached = low
    first, last = 0, len(candidates) - 1
    while first <= last:
        mid = (first + last) // 2
        found = feasible(candidates[mid])
        if found is not None:
            flows, reached = found, candidates[mid]
            first = mid + 1
        else:
            last = mid - 1
    return flows, reached


def _assign(net: _Network, flows: np.ndarray) -> Matching:
    """Individual wishes and pledge units from the group flows, in id order."""
    wish_queues = [list(m) for m in net.wish_members]
    pledge_queues = [[list(u) for u in m] for m in net.pledge_members]
    pg0 = 2
    wg0 = pg0 + len(net.pledge_groups)
    result = Matching()
    for arc in np.nonzero(flows[: net.first_pg_arc])[0]:
        j = int(net.tails[arc]) - pg0
        i = int(net.heads[arc]) - wg0
        d = int(net.arc_dist[arc])
        for _ in range(int(flows[arc])):
            wish_id = wish_queues[i].pop(0)
            unit = next(u for u in pledge_queues[j] if u[1] > 0)
            unit[1] -= 1
            result.pairs.append((wish_id, unit[0], d))
            result.weight += net.wish_groups[i][3]
            result.distance_m += d
    result.pairs.sort()
    return result


def greedy_fcfs(
    wishes: Sequence[WishNeed],
    pledges: Sequence[PledgeOffer],
    *,
    distance: DistanceFn = area_distance,
) -> Matching:
    """First come, first served: each wish in order takes the earliest pledge that fits.

    The baseline the benchmark compares the optimiser with; never used by the campaign.
    """
    started = time.perf_counter()
    left = {p.id: p.quantity for p in pledges}
    by_item: dict[tuple[str, str | None], list[PledgeOffer]] = defaultdict(list)
    by_category: dict[str, list[PledgeOffer]] = defaultdict(list)
    for p in sorted(pledges, key=lambda x: x.id):
        by_item[(p.category, p.size)].append(p)
        by_category[p.category].append(p)
    cursor: dict[object, int] = defaultdict(int)
    result = Matching()
    for w in sorted(wishes, key=lambda x: x.id):
        key: object = w.category if w.size is None else (w.category, w.size)
        queue = by_category[w.category] if w.size is None else by_item[(w.category, w.size)]
        pos = cursor[key]
        while pos < len(queue) and left[queue[pos].id] == 0:
            pos += 1
        cursor[key] = pos
        if pos == len(queue):
            continue
        pledge = queue[pos]
        left[pledge.id] -= 1
        d = distance(pledge.dropoff, w.community)
        result.pairs.append((w.id, pledge.id, d))
        result.weight += w.priority
        result.distance_m += d
    result.seconds = time.perf_counter() - started
    return result

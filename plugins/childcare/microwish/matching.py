"""Exact matching of pledged goods to wishes, by OR-Tools min-cost flow.

The problem is a transportation problem. Wishes that are alike for the solver (community,
category, size, priority) form one node and pledges alike (drop-off, category, size) another,
so 10,000 wishes and 3,000 pledges become a network of a few thousand nodes. Its objective is
lexicographic and every level is solved exactly:

1. maximise the priority-weighted number of wishes filled (W*), unconstrained;
2. among solutions of weight W*, raise every community's fill rate to the *fairness floor*
   ``district rate − slack`` (the district rate is W* over the total priority of all wishes),
   as far as weight W* allows: the highest common floor t* is found by binary search over the
   finitely many rates k/n_c, each step a min-cost flow with lower bounds on the community arcs;
3. among those, minimise the total distance from drop-off point to the child's community.

Levels 1 and 3 share one cost function, ``−priority·BIG + distance`` with BIG larger than any
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
    distance_m: int = 0
    floor_rate: float = 0.0
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
        """The lowest fill rate of any community with wishes."""
        rates = [f / n for f, n in self.filled_by_community(wishes).values() if n]
        return min(rates) if rates else 1.0


def fits(wish: WishNeed, pledge: PledgeOffer) -> bool:
    """Whether a pledge can fill a wish: same category, and the same size where one is set."""
    return wish.category == pledge.category and (wish.size is None or wish.size == pledge.size)


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
    # pledge group → wish group: category and size must fit; cost is the distance.
    for i, (comm, cat, size, _prio) in enumerate(wish_groups):
        compatible = by_category[cat] if size is None else by_item[(cat, size)]
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
    # BIG exceeds any total distance, so one unit of priority outweighs every distance.
    big = min(units, len(wishes)) * max_dist + 1
    costs = arc_dist.copy()
    for i, g in enumerate(wish_groups):
        costs[first_wg_arc + i] = -g[3] * big
    return _Network(
        wish_groups=wish_groups,
        wish_members=wish_members,
        pledge_groups=pledge_groups,
        pledge_members=pledge_members,
        communities=communities,
        community_sizes=sizes,
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
    if solver.solve() != solver.OPTIMAL:
        return None
    flows = np.asarray(solver.flows(np.arange(len(net.tails), dtype=np.int32)), dtype=np.int64)
    for k, low in enumerate(floors):
        flows[net.first_comm_arc + k] += low
    return flows


def _weight(net: _Network, flows: np.ndarray) -> int:
    start = net.first_wg_arc
    return sum(
        int(flows[start + i]) * g[3] for i, g in enumerate(net.wish_groups) if flows[start + i]
    )


def solve(
    wishes: Sequence[WishNeed],
    pledges: Sequence[PledgeOffer],
    *,
    distance: DistanceFn = area_distance,
    fairness_slack: float = 0.2,
) -> Matching:
    """Match pledge units to wishes exactly (see the module docstring for the objective).

    Args:
        wishes: Approved wishes.
        pledges: Active goods pledges.
        distance: Metres from a drop-off point to a community.
        fairness_slack: How far below the district's weighted fill rate a community may fall.

    Returns:
        The assignment with its weight, distance and the fairness floor reached.
    """
    started = time.perf_counter()
    if not wishes or not pledges:
        return Matching(seconds=time.perf_counter() - started)
    net = _build(wishes, pledges, distance)
    zero = [0] * len(net.communities)
    flows = _flow(net, zero)
    assert flows is not None  # no floors: always feasible (the bypass carries everything)
    best = _weight(net, flows)
    total_priority = sum(w.priority for w in wishes)
    target = Fraction(best, total_priority) - Fraction(str(fairness_slack))
    reached = Fraction(0)
    if best and target > 0:

        def floors(t: Fraction) -> list[int]:
            return [math.ceil(t * n) for n in net.community_sizes]

        def feasible(t: Fraction) -> np.ndarray | None:
            found = _flow(net, floors(t))
            return found if found is not None and _weight(net, found) == best else None

        at_target = feasible(target)
        if at_target is not None:
            flows, reached = at_target, target
        else:
            # The highest feasible common floor is one of the rates k/n_c below the target.
            candidates = sorted(
                {Fraction(k, n) for n in set(net.community_sizes) for k in range(n + 1)}
                - {Fraction(0)}
            )
            candidates = [c for c in candidates if c < target]
            low, high = 0, len(candidates) - 1
            while low <= high:
                mid = (low + high) // 2
                found = feasible(candidates[mid])
                if found is not None:
                    flows, reached = found, candidates[mid]
                    low = mid + 1
                else:
                    high = mid - 1
    matching = _assign(net, flows)
    matching.floor_rate = float(reached)
    matching.seconds = time.perf_counter() - started
    return matching


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

"""What a published wish shows of the child: coarse enough that no row points at one child.

The charity pool and the sign-off list show, besides the item, the community, an age band
and (only for items cut by gender, :data:`GENDERED_CATEGORIES`) the gender. Someone who knows
a community must not be able to tell whose wish a row is, so every published combination of
those three columns is shared by at least :data:`MIN_CELL` wishes of the campaign:

1. age in wide bands (``0-5``, ``6-11``, ``12-17``); gender only where the item needs it;
2. rows whose combination is rarer than that lose the gender, then the age band, then the
   community (each shown as ``*``), one step at a time, until their cell is large enough.

A campaign with fewer than :data:`MIN_CELL` wishes in all publishes them with every column
shown as ``*``. Pure: the publication activity and the tests share it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from plugins.childcare.microwish.models import GENDERED_CATEGORIES

__all__ = ["MIN_CELL", "WITHHELD", "Cell", "WishTraits", "coarse_age_band", "published_cells"]

MIN_CELL = 3
"""The fewest wishes that may share a published (community, age band, gender) cell."""
WITHHELD = "*"
"""A column the row does not show."""
_LEVELS = 3  # 0 full, 1 without gender, 2 without age band, 3 without community


def coarse_age_band(age: int) -> str:
    """The published age band: wide enough to hide a birth year."""
    for low, high in ((0, 5), (6, 11), (12, 17)):
        if low <= age <= high:
            return f"{low}-{high}"
    return "18+"


@dataclass(frozen=True, slots=True)
class WishTraits:
    """What the publication knows of one wish."""

    wish_id: int
    community: str
    age: int
    gender: str
    category: str


@dataclass(frozen=True, slots=True)
class Cell:
    """The columns a published row shows of the child."""

    community: str
    age_band: str
    gender: str


def _cell(wish: WishTraits, level: int) -> Cell:
    gendered = wish.category in GENDERED_CATEGORIES and level < 1
    return Cell(
        community=wish.community if level < 3 else WITHHELD,
        age_band=coarse_age_band(wish.age) if level < 2 else WITHHELD,
        gender=wish.gender if gendered else WITHHELD,
    )


def published_cells(wishes: Sequence[WishTraits]) -> dict[int, Cell]:
    """Each wish's published cell, coarsened until every cell holds ``MIN_CELL`` wishes.

    Rows of a cell that is too small move up one level together, so a cell only ever grows
    by rows joining it; the loop ends when no small cell can be coarsened further.
    """
    level = {w.wish_id: 0 for w in wishes}
    while True:
        cells = {w.wish_id: _cell(w, level[w.wish_id]) for w in wishes}
        sizes = Counter(cells.values())
        small = [
            w.wish_id
            for w in wishes
            if sizes[cells[w.wish_id]] < MIN_CELL and level[w.wish_id] < _LEVELS
        ]
        if not small:
            return cells
        for wish_id in small:
            level[wish_id] += 1

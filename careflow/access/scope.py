"""Areas a grant covers: city 市 → district 区 → street 街道 → community 社区.

Area codes are dotted paths (``wanbailin.wanghua.jiusi`` is a community of the street
``wanbailin.wanghua`` of the district ``wanbailin``); ``taiyuan`` is the whole city. A grant at
an area covers that area and everything under it.
"""

from __future__ import annotations

__all__ = ["CITY", "area_of", "covers", "district_of"]

CITY = "taiyuan"
"""The area code of a city-wide grant (太原市)."""


def area_of(district: str, community: str | None) -> str:
    """The narrowest area a case or task belongs to: its community, else its district."""
    return community or district


def district_of(area_code: str) -> str | None:
    """The district an area lies in; None for the city."""
    return None if area_code == CITY else area_code.split(".", 1)[0]


def covers(grant_area: str, target_area: str) -> bool:
    """Whether a grant at ``grant_area`` covers ``target_area``."""
    return (
        grant_area == CITY or target_area == grant_area or target_area.startswith(grant_area + ".")
    )

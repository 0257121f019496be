"""Anonymising JSON a case wrote (case-record data, notification params, report data).

What is kept is what statistics need and cannot point at a person: numbers, booleans and
lowercase codes (``red``, ``accepted``, ``wanbailin.wanghua.jiusi``, ``role:grid_worker``).
Everything else goes: any key that names a link (``elder_ref``, ``booking_ref``,
``workflow_id``, ``by``) whatever its value, and every other string (free text, names,
registry ids such as ``P00001``, staff ids, times), since a string that is not a code cannot
be told apart from one that identifies someone.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["LINK_KEY", "scrub"]

#: Keys whose value points at a person, a staff member or another case.
LINK_KEY = re.compile(
    r"(?:^|_)(?:refs?|ids?|by|actor|name|names|phone|address|id_number|note|notes|advice|"
    r"text|comment|comments|description)(?:_zh|_en)?$"
)
_CODE = re.compile(r"^[a-z][a-z0-9_.:-]{0,63}$")
_DROP = object()


def _scrub(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return value if _CODE.match(value) else _DROP
    if isinstance(value, dict):
        kept = {}
        for key, item in value.items():
            if not isinstance(key, str) or LINK_KEY.search(key):
                continue
            cleaned = _scrub(item)
            if cleaned is not _DROP:
                kept[key] = cleaned
        return kept
    if isinstance(value, list | tuple):
        return [cleaned for cleaned in map(_scrub, value) if cleaned is not _DROP]
    return _DROP


def scrub(value: Any) -> Any:
    """``value`` with everything but numbers, booleans and codes removed.

    A dict stays a dict and a list a list (possibly empty), so readers of the column still
    find the shape they expect; anything else that is dropped becomes None.
    """
    cleaned = _scrub(value)
    return None if cleaned is _DROP else cleaned

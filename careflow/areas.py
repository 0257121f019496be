"""The districts of Taiyuan (太原) that careflow serves.

Districts are fixed by the city's administration, so they are code, not data: a district
code is accepted anywhere only if it is listed here. Streets and communities live in the
app database (``careflow.db.tables.Area``) because they change and carry local names.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DISTRICTS", "District", "district_title"]


@dataclass(frozen=True, slots=True)
class District:
    """One urban district 区 of Taiyuan."""

    code: str
    name_zh: str
    name_en: str


DISTRICTS: dict[str, District] = {
    d.code: d
    for d in (
        District("xiaodian", "小店区", "Xiaodian"),
        District("yingze", "迎泽区", "Yingze"),
        District("xinghualing", "杏花岭区", "Xinghualing"),
        District("jiancaoping", "尖草坪区", "Jiancaoping"),
        District("wanbailin", "万柏林区", "Wanbailin"),
        District("jinyuan", "晋源区", "Jinyuan"),
    )
}


def district_title(code: str) -> str:
    """Return the Chinese name of a district, or the code itself when unknown."""
    district = DISTRICTS.get(code)
    return district.name_zh if district else code

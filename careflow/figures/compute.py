"""A district's figures: every section its processes have, small people counts suppressed."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from careflow.figures.model import SMALL_CELL, FigureQuery, FigureSpec, Period, Section, Table

if TYPE_CHECKING:
    from sqlmodel import Session

    from careflow.registry import PluginRegistry

__all__ = ["SUPPRESSED", "DistrictFigures", "district_figures", "sections_for", "suppress"]

SUPPRESSED = "<3"
"""What a people count of 1 or 2 shows instead (a number elsewhere)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DistrictFigures:
    """The report of one district over one period (after suppression)."""

    district: str
    period: Period
    communities: frozenset[str] | None
    sections: tuple[Section, ...]


def _small(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < SMALL_CELL


def _suppress_table(table: Table) -> Table:
    people = [i for i, c in enumerate(table.columns) if c.kind == "people"]
    if not people:
        return table
    rows = [
        tuple(SUPPRESSED if i in people and _small(v) else v for i, v in enumerate(row))
        for row in table.rows
    ]
    return replace(table, rows=rows)


def suppress(section: Section) -> Section:
    """``section`` with every people count of 1 or 2 shown as ``"<3"`` (headline included,
    whose labels mark people counts with the word 人)."""
    headline = tuple(
        (label, SUPPRESSED if "人" in label and _small(value) else value)
        for label, value in section.headline
    )
    return replace(
        section, headline=headline, tables=tuple(_suppress_table(t) for t in section.tables)
    )


def sections_for(registry: PluginRegistry, district: str) -> list[FigureSpec]:
    """The sections a district's report has: those whose processes it runs, in order."""
    specs = []
    for spec in registry.figures.values():
        if not spec.processes or any(
            p in registry.processes and registry.is_enabled(p, district) for p in spec.processes
        ):
            specs.append(spec)
    return sorted(specs, key=lambda s: (s.order, s.key))


def district_figures(
    session: Session,
    registry: PluginRegistry,
    *,
    district: str,
    period: Period,
    communities: frozenset[str] | None = None,
) -> DistrictFigures:
    """Compute every section of ``district``'s report for ``period``.

    The caller has checked that the viewer may see ``district`` (and, when ``communities`` is
    given, only those communities); this reads and counts, nothing else.

    Raises:
        InputError: ``district`` is unknown.
    """
    registry.check_district(district)
    query = FigureQuery(district=district, period=period, communities=communities)
    sections = tuple(
        suppress(spec.compute(session, query)) for spec in sections_for(registry, district)
    )
    return DistrictFigures(
        district=district, period=period, communities=communities, sections=sections
    )

"""Figures of a district's report 统计报表: one query layer for the dashboard, exports and the
weekly report.

Every plugin contributes sections (``CarePlugin.figures``: :class:`FigureSpec`); each section
is SQL over the app database, returns counts only, and :func:`district_figures` puts a
district's sections together with small people counts suppressed.
"""

from __future__ import annotations

from careflow.figures.compute import (
    SUPPRESSED,
    DistrictFigures,
    district_figures,
    sections_for,
    suppress,
)
from careflow.figures.export import (
    COVER_SHEET,
    CSV_HEADER,
    NO_DATA,
    SUPPRESSION_NOTE,
    XLSX_MEDIA_TYPE,
    headline_kind,
    report_filename,
    to_csv,
    to_json,
    to_xlsx,
)
from careflow.figures.model import (
    FIRST_YEAR,
    LAST_YEAR,
    MAX_PERIOD_DAYS,
    SMALL_CELL,
    Chart,
    ChartKind,
    Column,
    ColumnKind,
    FigureQuery,
    FigureSpec,
    Period,
    Section,
    Table,
)

__all__ = [
    "COVER_SHEET",
    "CSV_HEADER",
    "FIRST_YEAR",
    "LAST_YEAR",
    "MAX_PERIOD_DAYS",
    "NO_DATA",
    "SMALL_CELL",
    "SUPPRESSED",
    "SUPPRESSION_NOTE",
    "XLSX_MEDIA_TYPE",
    "Chart",
    "ChartKind",
    "Column",
    "ColumnKind",
    "DistrictFigures",
    "FigureQuery",
    "FigureSpec",
    "Period",
    "Section",
    "Table",
    "district_figures",
    "headline_kind",
    "report_filename",
    "sections_for",
    "suppress",
    "to_csv",
    "to_json",
    "to_xlsx",
]

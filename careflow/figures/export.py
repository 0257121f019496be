"""A district's report as files: an Excel workbook, a long-form CSV and a JSON document.

The three forms carry the same :class:`~careflow.figures.DistrictFigures` (people counts
already suppressed to ``"<3"``), so a file says exactly what the dashboard shows:

- :func:`to_xlsx` is for people: a cover sheet 概览, one sheet per section with Chinese
  headers, numbers stored as numbers and a native Excel chart where the table has one.
- :func:`to_csv` is for spreadsheets and scripts alike: one line per cell (板块, 表, 行, 列,
  值), so every table fits the same five columns; UTF-8 with a BOM so Excel reads Chinese.
- :func:`to_json` is for machines: keys, both titles, ISO dates, UTC moments, rows as objects.

A value of a ``percent`` column is a fraction (``0.875`` is 87.5%), which is what Excel's
percent format expects. Pure formatting: no database, no clock unless ``generated_at`` is left
out. openpyxl is imported inside :func:`to_xlsx` only, so importing :mod:`careflow.figures`
(which workflows do through the contract) never loads it.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from careflow.areas import district_title
from careflow.figures.compute import SUPPRESSED, DistrictFigures
from careflow.figures.model import SMALL_CELL, Section, Table
from careflow.localtime import local_minute

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

__all__ = [
    "COVER_SHEET",
    "CSV_HEADER",
    "NO_DATA",
    "SUPPRESSION_NOTE",
    "XLSX_MEDIA_TYPE",
    "headline_kind",
    "report_filename",
    "to_csv",
    "to_json",
    "to_xlsx",
]

COVER_SHEET = "概览"
"""The first sheet of a workbook: district, period, when it was made, the suppression note."""
SUPPRESSION_NOTE = f"少于{SMALL_CELL}人显示为{SUPPRESSED}"
"""Said on every export: people counts of 1 and 2 are shown as ``<3``."""
NO_DATA = "暂无数据 no data"
"""What an empty table (or a section without tables) shows instead of rows."""
CSV_HEADER = ("板块", "表", "行", "列", "值")
"""The long form's columns: section, table, row label, column, value."""
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
"""The media type of a workbook (HTTP downloads)."""

_SHEET_NAME_MAX = 31
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
# A cell text starting with one of these is a formula to Excel: such text is kept as text.
_FORMULA_START = ("=", "+", "@")
_NUMBER_FORMATS = {
    "count": "#,##0",
    "people": "#,##0",
    "minutes": "#,##0.0",
    "percent": "0.0%",
    "date": "yyyy-mm-dd",
}


def report_filename(figures: DistrictFigures, extension: str) -> str:
    """``report-<district>-<from>-<to>.<extension>``: the name a download or a file gets."""
    period = figures.period
    return (
        f"report-{figures.district}-{period.start.isoformat()}-{period.end.isoformat()}.{extension}"
    )


def headline_kind(label: str) -> str | None:
    """A headline figure has no column: a rate 率 (a fraction) shows as a percent, the way
    suppression reads 人 in a label as a people count."""
    return "percent" if "率" in label else None


def _plain(value: Any) -> Any:
    """A cell's value as int, float, str, date or None (SQL aggregates may give Decimals)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bool):
        # A yes/no is not a count: shown as words so no spreadsheet sums it.
        return "是" if value else "否"
    return value


def _period_zh(figures: DistrictFigures) -> str:
    return f"{figures.period.start.isoformat()} 至 {figures.period.end.isoformat()}"


def _scope_zh(figures: DistrictFigures) -> str:
    if figures.communities is None:
        return "全区 whole district"
    return f"{len(figures.communities)} 个社区 communities (按授权 within the grants)"


# --- Excel -------------------------------------------------------------------------------


def _text_width(value: Any) -> int:
    """How many Latin characters wide a value shows (CJK characters are two)."""
    if isinstance(value, float):
        text = f"{value:,.1f}"
    elif isinstance(value, int):
        text = f"{value:,}"
    elif isinstance(value, datetime | date):
        text = "2026-01-01"
    else:
        text = "" if value is None else str(value)
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _sheet_name(title: str, taken: set[str]) -> str:
    """A unique sheet name from a section's title: Excel's forbidden characters replaced,
    at most 31 characters."""
    base = _SHEET_FORBIDDEN.sub("_", title).strip("'") or "板块"
    name = base[:_SHEET_NAME_MAX]
    n = 2
    while name in taken:
        suffix = f"({n})"
        name = base[: _SHEET_NAME_MAX - len(suffix)] + suffix
        n += 1
    taken.add(name)
    return name


def _put(ws: Worksheet, row: int, column: int, value: Any, kind: str | None = None) -> None:
    """Write one cell: numbers as numbers with their kind's format, text kept as text."""
    value = _plain(value)
    if isinstance(value, datetime):
        # Stored moments are UTC; a sheet is read by people, so local time, to the minute.
        value = local_minute(value)
    cell = ws.cell(row=row, column=column, value=value)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        cell.data_type = "s"
    if kind is not None and isinstance(value, int | float | date) and kind in _NUMBER_FORMATS:
        cell.number_format = _NUMBER_FORMATS[kind]
    if kind == "number" and isinstance(value, float):
        cell.number_format = "#,##0.0#"


def _chart(ws: Worksheet, table: Table, *, header_row: int, last_row: int, anchor: str) -> None:
    """A native chart of ``table`` (written at ``header_row``..``last_row``) at ``anchor``."""
    from openpyxl.chart import BarChart, LineChart, Reference, Series

    assert table.chart is not None
    keys = [c.key for c in table.columns]
    chart: BarChart | LineChart
    if table.chart.kind == "line":
        chart = LineChart()
    else:
        chart = BarChart()
        chart.type = "col"
        if table.chart.kind == "stacked_bar":
            chart.grouping = "stacked"
            chart.overlap = 100
    chart.title = table.title_zh
    chart.height = 7.5
    chart.width = 16
    for key in table.chart.series:
        column = keys.index(key) + 1
        values = Reference(ws, min_col=column, min_row=header_row, max_row=last_row)
        chart.series.append(Series(values, title_from_data=True))
    x = keys.index(table.chart.x) + 1
    chart.set_categories(Reference(ws, min_col=x, min_row=header_row + 1, max_row=last_row))
    ws.add_chart(chart, anchor)


def _write_table(ws: Worksheet, table: Table, row: int, widths: dict[int, int]) -> int:
    """Write ``table`` from ``row`` on; returns the next free row."""
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    title = table.title_zh + (f" {table.title_en}" if table.title_en else "")
    ws.cell(row=row, column=1, value=title).font = Font(bold=True, size=12)
    header_row = row + 1
    for n, column in enumerate(table.columns, start=1):
        cell = ws.cell(row=header_row, column=n, value=column.title_zh)
        cell.font = bold
        cell.fill = header_fill
        widths[n] = max(widths.get(n, 0), _text_width(column.title_zh))
    row = header_row + 1
    if not table.rows:
        ws.cell(row=row, column=1, value=NO_DATA)
        widths[1] = max(widths.get(1, 0), _text_width(NO_DATA))
        row += 1
    for values in table.rows:
        for n, (column, value) in enumerate(zip(table.columns, values, strict=False), start=1):
            _put(ws, row, n, value, column.kind)
            widths[n] = max(widths.get(n, 0), _text_width(_plain(value)))
        row += 1
    last_row = row - 1
    if table.note_zh:
        ws.cell(row=row, column=1, value=table.note_zh).font = Font(italic=True)
        row += 1
    if table.chart is not None and table.rows:
        anchor = f"{get_column_letter(len(table.columns) + 2)}{header_row - 1}"
        _chart(ws, table, header_row=header_row, last_row=last_row, anchor=anchor)
        # The chart is about 15 rows high: the next table starts below it.
        row = max(row, header_row - 1 + 16)
    return row + 1


def _write_section(ws: Worksheet, section: Section) -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    widths: dict[int, int] = {}
    title = section.title_zh + (f" {section.title_en}" if section.title_en else "")
    ws.cell(row=1, column=1, value=title).font = Font(bold=True, size=14)
    row = 3
    for label, value in section.headline:
        ws.cell(row=row, column=1, value=label).font = Font(bold=True)
        _put(ws, row, 2, value, headline_kind(label))
        widths[1] = max(widths.get(1, 0), _text_width(label))
        widths[2] = max(widths.get(2, 0), _text_width(_plain(value)))
        row += 1
    if section.headline:
        row += 1
    if not section.tables:
        ws.cell(row=row, column=1, value=NO_DATA)
    for table in section.tables:
        row = _write_table(ws, table, row, widths)
    for n, width in widths.items():
        ws.column_dimensions[get_column_letter(n)].width = min(max(width + 2, 10), 48)


def _write_cover(ws: Worksheet, figures: DistrictFigures, generated_at: datetime) -> None:
    from openpyxl.styles import Font

    ws.cell(row=1, column=1, value=f"{district_title(figures.district)} 统计报表").font = Font(
        bold=True, size=16
    )
    facts = (
        ("区 District", district_title(figures.district)),
        ("期间 Period", _period_zh(figures)),
        ("生成时间 Generated", local_minute(generated_at)),
        ("范围 Scope", _scope_zh(figures)),
        ("说明 Note", SUPPRESSION_NOTE),
    )
    for n, (label, value) in enumerate(facts, start=3):
        ws.cell(row=n, column=1, value=label).font = Font(bold=True)
        ws.cell(row=n, column=2, value=value)
    row = 3 + len(facts) + 1
    ws.cell(row=row, column=1, value="板块 Sections").font = Font(bold=True)
    row += 1
    for section in figures.sections:
        ws.cell(row=row, column=1, value=section.title_zh)
        if section.empty:
            ws.cell(row=row, column=2, value=NO_DATA)
            row += 1
        for label, value in section.headline:
            ws.cell(row=row, column=2, value=label)
            _put(ws, row, 3, value, headline_kind(label))
            row += 1
        if not section.headline and not section.empty:
            row += 1
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 36
    ws.column_dimensions["C"].width = 14


def to_xlsx(figures: DistrictFigures, *, generated_at: datetime | None = None) -> bytes:
    """The report as an Excel workbook (``.xlsx``).

    Args:
        figures: The district's figures, people counts already suppressed.
        generated_at: When the report was made (shown in Asia/Shanghai); now when left out.

    Returns:
        The workbook's bytes: sheet 概览, then one sheet per section titled in Chinese.
    """
    from openpyxl import Workbook

    workbook = Workbook()
    cover = workbook.active
    assert cover is not None
    cover.title = COVER_SHEET
    _write_cover(cover, figures, generated_at or datetime.now(UTC))
    taken = {COVER_SHEET}
    for section in figures.sections:
        _write_section(workbook.create_sheet(_sheet_name(section.title_zh, taken)), section)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# --- CSV ---------------------------------------------------------------------------------


def _csv_value(value: Any, kind: str | None = None) -> str:
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat() + "Z"
    if isinstance(value, date):
        return value.isoformat()
    if kind == "percent" and isinstance(value, int | float):
        # Excel reads "87.5%" back as the number 0.875.
        return f"{value * 100:.1f}%"
    if isinstance(value, float):
        return f"{value:.10g}"
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return str(value)


def _csv_lines(section: Section) -> list[tuple[str, str, str, str, str]]:
    lines: list[tuple[str, str, str, str, str]] = [
        (section.title_zh, "概要", label, "数值", _csv_value(value, headline_kind(label)))
        for label, value in section.headline
    ]
    if not section.tables:
        lines.append((section.title_zh, "", NO_DATA, "", ""))
    for table in section.tables:
        if not table.rows:
            lines.append((section.title_zh, table.title_zh, NO_DATA, "", ""))
        # The first column labels the row; a one-column table gives its own value as well.
        value_columns = table.columns[1:] or table.columns
        offset = len(table.columns) - len(value_columns)
        for values in table.rows:
            label = _csv_value(values[0], table.columns[0].kind) if values else ""
            for n, column in enumerate(value_columns, start=offset):
                value = values[n] if n < len(values) else None
                lines.append(
                    (
                        section.title_zh,
                        table.title_zh,
                        label,
                        column.title_zh,
                        _csv_value(value, column.kind),
                    )
                )
    return lines


def to_csv(figures: DistrictFigures) -> bytes:
    """The report in long form: one line per cell, UTF-8 with a byte order mark.

    Columns 板块 (section), 表 (table), 行 (the row's label: its first column), 列 (the
    column's Chinese header), 值 (the value; a percent as ``87.5%``). Each section's headline
    figures come first as table 概要; an empty table is one line saying 暂无数据 no data.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for section in figures.sections:
        writer.writerows(_csv_lines(section))
    return out.getvalue().encode("utf-8-sig")


# --- JSON --------------------------------------------------------------------------------


def _json_value(value: Any) -> Any:
    value = _plain(value)
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _json_table(table: Table) -> dict[str, Any]:
    keys = [c.key for c in table.columns]
    return {
        "key": table.key,
        "title_zh": table.title_zh,
        "title_en": table.title_en,
        "note_zh": table.note_zh,
        "columns": [
            {"key": c.key, "title_zh": c.title_zh, "title_en": c.title_en, "kind": c.kind}
            for c in table.columns
        ],
        "rows": [
            {k: _json_value(v) for k, v in zip(keys, row, strict=False)} for row in table.rows
        ],
        "chart": None
        if table.chart is None
        else {"kind": table.chart.kind, "x": table.chart.x, "series": list(table.chart.series)},
    }


def to_json(figures: DistrictFigures, *, generated_at: datetime | None = None) -> dict[str, Any]:
    """The report as a JSON-ready dict (machine form).

    Dates are ``YYYY-MM-DD`` local days; ``since``/``until`` and ``generated_at`` are UTC
    (``...Z``). Rows are objects keyed by column key; a suppressed people count is the string
    ``"<3"`` and a percent a fraction.
    """
    period = figures.period
    moment = (generated_at or datetime.now(UTC)).astimezone(UTC)
    return {
        "district": figures.district,
        "district_zh": district_title(figures.district),
        "period": {
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
            "since": _json_value(period.since),
            "until": _json_value(period.until),
        },
        "communities": None if figures.communities is None else sorted(figures.communities),
        "generated_at": _json_value(moment),
        "suppression": {"below": SMALL_CELL, "shown_as": SUPPRESSED, "note_zh": SUPPRESSION_NOTE},
        "sections": [
            {
                "key": s.key,
                "title_zh": s.title_zh,
                "title_en": s.title_en,
                "empty": s.empty,
                "headline": [
                    {"label_zh": label, "value": _json_value(value)} for label, value in s.headline
                ],
                "tables": [_json_table(t) for t in s.tables],
            }
            for s in figures.sections
        ],
    }

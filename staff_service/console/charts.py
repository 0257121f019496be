"""Charts of the dashboard 统计看板, drawn on the server as inline SVG.

Why SVG written here in Python, and not a JavaScript chart library: the report's figures are
bars and lines of a few dozen points, which a hundred lines of SVG draw exactly. Inline SVG
renders on the staff's phones without any script or bundle to load (nothing comes from the
internet, nothing to update for security), prints as it looks, scales to any width
(``viewBox`` with ``width="100%"``), and is plain markup that a test can read: a bar's height,
its label and the text alternative are in the page itself.

Every chart is ``role="img"`` with an ``aria-label`` and a ``<title>`` / ``<desc>`` in Chinese
summarising its numbers (the largest and smallest values, the total, how many cells are
suppressed). A people count shown as ``"<3"`` (:data:`careflow.figures.SUPPRESSED`) is drawn
as a bar of no height labelled ``<3``: the chart never guesses a value the table hides. Every
text is escaped.

The design width is 360 units, the width of a small phone, so that one unit is about one CSS
pixel there and a 12-unit label stays readable; wider screens scale the drawing up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from markupsafe import Markup, escape

from careflow.figures import SUPPRESSED, ColumnKind, Table

__all__ = [
    "PALETTE",
    "WIDTH",
    "Series",
    "Value",
    "bar_chart",
    "chart_for",
    "format_value",
    "line_chart",
    "summary_zh",
]

WIDTH = 360
"""The drawing's width in SVG units (a 360-px phone shows it at about one unit a pixel)."""
PALETTE = ("#0b5cad", "#c25400", "#1d7a4d", "#8a3f8f", "#8c6d00", "#2f7fa8")
"""Series colours: distinct for colour-blind readers (after Okabe–Ito), dark enough to see on
white; a legend names each."""

Value = int | float | str | None
"""A cell: a number, ``"<3"`` (suppressed) or None (no value)."""

_FONT = 12
_PLOT_H = 170
_INK = "#1a1a1a"
_MUTED = "#4d4d4d"
_GRID = "#d9dee3"
_KIND_UNITS: dict[str, str] = {"people": "人", "minutes": "分钟", "percent": "%"}
_KIND_AXES: dict[str, str] = {
    "people": "人数",
    "count": "数量",
    "minutes": "分钟",
    "percent": "百分比 %",
    "number": "数值",
}


@dataclass(frozen=True, slots=True)
class Series:
    """One drawn series: its name (the legend) and a value per category."""

    name: str
    values: tuple[Value, ...]


def _number(value: Value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    return float(value)


def format_value(value: Any, kind: ColumnKind | str = "count") -> str:
    """A cell as staff read it: ``"<3"`` as is, ``12``, ``12.5``, ``87.5%``, dates ISO, None ``-``.

    A percent value is a fraction, as in :mod:`careflow.figures.export` (``0.875`` reads
    ``87.5%``); SQL aggregates' Decimals read as numbers.
    """
    if value is None:
        return "-"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        value = int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if kind == "percent":
        return f"{value * 100:.1f}%"
    if isinstance(value, float):
        if value.is_integer() and kind in ("count", "people"):
            return str(int(value))
        return f"{value:.1f}"
    return str(value)


def _shown(value: float, unit: str) -> str:
    """A drawn number as the text alternative says it (a percent is in points here)."""
    return f"{value:.1f}%" if unit == "%" else format_value(value)


def _width(text: str, size: float = _FONT) -> float:
    """About how wide ``text`` is drawn: a CJK character is one em, others about 0.6 em."""
    return sum(size if ord(ch) > 0x2E7F else size * 0.6 for ch in text)


def _fit(text: str, room: float, size: float = _FONT) -> str:
    """``text`` shortened with an ellipsis to fit ``room`` units."""
    if _width(text, size) <= room:
        return text
    while text and _width(text + "…", size) > room:
        text = text[:-1]
    return text + "…"


def _scale(top: float) -> tuple[float, list[float]]:
    """A round axis maximum at or above ``top`` and its ticks (about four steps)."""
    if top <= 0:
        return 1.0, [0.0, 1.0]
    raw = top / 4
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    if step < 1 and top >= 1:
        step = 1.0
    steps = math.ceil(top / step - 1e-9)
    return steps * step, [n * step for n in range(steps + 1)]


def _tick(value: float, unit: str) -> str:
    text = str(int(value)) if float(value).is_integer() else f"{value:g}"
    return text + ("%" if unit == "%" else "")


def _extremes(categories: Sequence[str], values: Sequence[Value], unit: str) -> str:
    numbers = [
        (v, c) for c, raw in zip(categories, values, strict=True) if (v := _number(raw)) is not None
    ]
    if not numbers:
        return "无数值"
    if len(numbers) == 1:
        return f"{_shown(numbers[0][0], unit)}（{numbers[0][1]}）"
    high = max(numbers, key=lambda p: p[0])
    low = min(numbers, key=lambda p: p[0])
    return f"最大 {_shown(high[0], unit)}（{high[1]}），最小 {_shown(low[0], unit)}（{low[1]}）"


def summary_zh(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    unit: str = "",
    totals: bool = True,
) -> str:
    """The chart's text alternative: per series its largest and smallest values (and total),
    and how many cells are suppressed (``<3``)."""
    if not categories or not any(
        _number(v) is not None or v == SUPPRESSED for s in series for v in s.values
    ):
        return f"{title}：暂无数据 no data"
    parts = [f"{title}，共 {len(categories)} 项"]
    for one in series:
        text = f"{one.name}：{_extremes(categories, one.values, unit)}"
        numbers = [n for v in one.values if (n := _number(v)) is not None]
        if totals and numbers:
            text += f"，合计 {format_value(sum(numbers))}"
        suppressed = sum(1 for v in one.values if v == SUPPRESSED)
        if suppressed:
            text += f"，{suppressed} 项少于 3 人（<3）"
        parts.append(text + (f"（单位 {unit}）" if unit and unit != "%" else ""))
    return "；".join(parts) + "。"


def _el(tag: str, body: str = "", /, **attrs: Any) -> str:
    """One SVG element; attribute values escaped, floats rounded, ``class_`` → ``class``,
    ``font_size`` → ``font-size``. ``body`` is markup already (escape text before)."""
    rendered = []
    for key, value in attrs.items():
        if value is None:
            continue
        if isinstance(value, float):
            value = f"{value:.2f}".rstrip("0").rstrip(".")
        rendered.append(f'{key.rstrip("_").replace("_", "-")}="{escape(value)}"')
    opening = f"<{tag} {' '.join(rendered)}" if rendered else f"<{tag}"
    return f"{opening}>{body}</{tag}>" if body else f"{opening}/>"


def _text(text: str, x: float, y: float, **attrs: Any) -> str:
    attrs.setdefault("font_size", _FONT)
    attrs.setdefault("fill", _INK)
    return _el("text", str(escape(text)), x=x, y=y, **attrs)


def _colour(n: int) -> str:
    return PALETTE[n % len(PALETTE)]


def _legend(series: Sequence[Series], *, left: float, top: float) -> tuple[list[str], float]:
    """Legend items (swatch and name), wrapped to the width; their markup and height."""
    if len(series) < 2:
        return [], 0.0
    out: list[str] = []
    x, y = left, top
    for n, one in enumerate(series):
        name = _fit(one.name, WIDTH - 40)
        room = 16 + _width(name) + 12
        if x + room > WIDTH - 4 and x > left:
            x, y = left, y + 18
        out.append(_el("rect", x=x, y=y, width=12, height=12, rx=2, fill=_colour(n)))
        out.append(_text(name, x + 16, y + 10.5))
        x += room
    return ['<g class="legend">', *out, "</g>"], y + 18 - top + 4


def _svg(
    parts: list[str], *, chart_id: str, height: float, title: str, summary: str, kind: str
) -> Markup:
    label = summary if summary.startswith(title) else f"{title}。{summary}"
    body = (
        _el("title", str(escape(title)), id=f"{chart_id}-title")
        + _el("desc", str(escape(summary)), id=f"{chart_id}-desc")
        + "".join(parts)
    )
    svg = _el(
        "svg",
        body,
        xmlns="http://www.w3.org/2000/svg",
        class_=f"chart chart-{kind}",
        role="img",
        id=chart_id,
        viewBox=f"0 0 {WIDTH} {math.ceil(height)}",
        width="100%",
        preserveAspectRatio="xMidYMin meet",
        aria_label=label,
        font_family="system-ui, 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif",
    )
    return Markup(svg)  # every text and attribute above went through escape()


def _cell_title(category: str, series: Series, value: Value, unit: str) -> str:
    """A hover text of one bar or point: category · series: value."""
    number = _number(value)
    if number is None:
        shown = format_value(value)
    elif unit == "%":
        shown = _shown(number, unit)
    else:
        shown = format_value(value) + (f" {unit}" if unit else "")
    return _el("title", str(escape(f"{category} · {series.name}：{shown}")))


def _small_cell(x: float, y: float, *, anchor: str = "middle") -> str:
    """The ``<3`` label of a suppressed cell (drawn with no height)."""
    return _text(SUPPRESSED, x, y, class_="small-cell", font_size=_FONT - 2, text_anchor=anchor)


def bar_chart(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    chart_id: str,
    title: str,
    x_label: str,
    y_label: str,
    stacked: bool = False,
    horizontal: bool = False,
    unit: str = "",
    totals: bool = True,
) -> Markup:
    """Bars per category: grouped (one bar per series side by side) or ``stacked``.

    ``horizontal`` bars suit named categories (communities, roles: their names read along the
    bars on a phone); vertical columns suit days.

    Args:
        categories: A label per category, in order.
        series: The series drawn; each has a value per category.
        chart_id: Unique on the page (the ids of its title and description derive from it).
        title: The chart's Chinese title (also its ``<title>``).
        x_label: The categories' axis name.
        y_label: The values' axis name.
        stacked: Stack the series of a category into one bar.
        horizontal: Bars grow left to right, one row per category.
        unit: The values' unit (人, 分钟, %), in the text alternative and tooltips.
        totals: Say each series' total in the text alternative (not for minutes or percents).
    """
    summary = summary_zh(categories, series, title=title, unit=unit, totals=totals)
    legend, legend_h = _legend(series, left=8, top=6)
    per = [[_number(s.values[i]) or 0.0 for s in series] for i in range(len(categories))]
    top_value = max((sum(p) if stacked else max(p, default=0.0)) for p in per) if per else 0.0
    layout = _Layout(
        categories=categories,
        series=series,
        per=per,
        scale=_scale(top_value),
        stacked=stacked,
        x_label=x_label,
        y_label=y_label,
        unit=unit,
    )
    parts = list(legend)
    if horizontal:
        height = _horizontal(parts, layout, top=6 + legend_h + 4)
    else:
        height = _vertical(parts, layout, top=6 + legend_h + 8)
    kind = "stacked_bar" if stacked else "bar"
    return _svg(parts, chart_id=chart_id, height=height, title=title, summary=summary, kind=kind)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Layout:
    categories: Sequence[str]
    series: Sequence[Series]
    per: list[list[float]]
    scale: tuple[float, list[float]]
    stacked: bool
    x_label: str
    y_label: str
    unit: str


def _y_axis(
    parts: list[str], ticks: list[float], *, left: float, right: float, top: float, scale: float,
    unit: str, label: str,
) -> None:  # fmt: skip
    """Grid lines, tick labels and the value axis's name (rotated) of a vertical chart."""
    for value in ticks:
        y = top + _PLOT_H - value * scale
        parts.append(_el("line", x1=left, x2=right, y1=y, y2=y, stroke=_GRID))
        parts.append(
            _text(_tick(value, unit), left - 4, y + 4, font_size=_FONT - 1, fill=_MUTED,
                  text_anchor="end")
        )  # fmt: skip
    middle = top + _PLOT_H / 2
    parts.append(
        _text(label, 11, middle, class_="axis-label", fill=_MUTED, text_anchor="middle",
              transform=f"rotate(-90 11 {middle:.1f})")
    )  # fmt: skip


def _x_axis(
    parts: list[str], categories: Sequence[str], *, left: float, right: float, base: float,
    label: str,
) -> None:  # fmt: skip
    """The base line, the category labels (every n-th one when they would overlap) and the
    categories' axis name under a vertical chart."""
    parts.append(_el("line", x1=left, x2=right, y1=base, y2=base, stroke=_INK))
    if categories:
        slot = (right - left) / len(categories)
        widest = max(_width(c, _FONT - 1) for c in categories)
        step = max(1, math.ceil((min(widest, 80) + 6) / slot))
        for i in range(0, len(categories), step):
            text = _fit(categories[i], max(slot * step - 4, 24), _FONT - 1)
            parts.append(
                _text(text, left + slot * (i + 0.5), base + 15, font_size=_FONT - 1,
                      fill=_MUTED, text_anchor="middle")
            )  # fmt: skip
    parts.append(
        _text(label, (left + right) / 2, base + 34, class_="axis-label", fill=_MUTED,
              text_anchor="middle")
    )  # fmt: skip


def _left_margin(ticks: list[float], unit: str) -> float:
    return 22 + max(_width(_tick(t, unit), _FONT - 1) for t in ticks) + 4


def _vertical(parts: list[str], layout: _Layout, *, top: float) -> float:
    axis_max, ticks = layout.scale
    left = _left_margin(ticks, layout.unit)
    right = WIDTH - 8
    scale = _PLOT_H / axis_max
    _y_axis(parts, ticks, left=left, right=right, top=top, scale=scale, unit=layout.unit,
            label=layout.y_label)  # fmt: skip
    base = top + _PLOT_H
    slot = (right - left) / max(len(layout.categories), 1)
    count = 1 if layout.stacked else max(len(layout.series), 1)
    width = slot * 0.72 / count
    parts.append('<g class="bars">')
    for i, category in enumerate(layout.categories):
        x = left + slot * 0.14 + slot * i
        stack = 0.0
        for n, one in enumerate(layout.series):
            value = one.values[i]
            h = layout.per[i][n] * scale
            bx = x if layout.stacked else x + width * n
            by = base - stack - h
            parts.append(
                _el("rect", _cell_title(category, one, value, layout.unit), x=bx, y=by,
                    width=width, height=h, fill=_colour(n), stroke="#fff",
                    stroke_width=0.5 if layout.stacked else 0, data_value=format_value(value))
            )  # fmt: skip
            if value == SUPPRESSED:
                lift = 10 * n if layout.stacked else 0  # stacked labels do not overprint
                parts.append(_small_cell(bx + width / 2, by - 3 - lift))
            stack += h if layout.stacked else 0
    parts.append("</g>")
    _x_axis(parts, layout.categories, left=left, right=right, base=base, label=layout.x_label)
    return base + 42


def _horizontal(parts: list[str], layout: _Layout, *, top: float) -> float:
    axis_max, ticks = layout.scale
    room = min(max((_width(c) for c in layout.categories), default=24), 110)
    left = 8 + room + 6
    right = WIDTH - 22
    single = layout.stacked or len(layout.series) == 1
    thick = 16 if single else 11
    row = 8 + thick * (1 if layout.stacked else len(layout.series))
    header = top + 16  # the categories' name above their labels
    scale = (right - left) / axis_max
    parts.append(_text(layout.x_label, 8, top + 11, class_="axis-label", fill=_MUTED))
    base_y = header + row * len(layout.categories)
    for tick in ticks:
        x = left + tick * scale
        parts.append(_el("line", x1=x, x2=x, y1=header, y2=base_y, stroke=_GRID))
        parts.append(
            _text(_tick(tick, layout.unit), x, base_y + 14, font_size=_FONT - 1, fill=_MUTED,
                  text_anchor="middle")
        )  # fmt: skip
    parts.append('<g class="bars">')
    for i, category in enumerate(layout.categories):
        y = header + row * i + 4
        parts.append(_text(_fit(category, room), left - 6, y + (row - 8) / 2 + 4,
                           text_anchor="end"))  # fmt: skip
        stack = 0.0
        for n, one in enumerate(layout.series):
            value = one.values[i]
            w = layout.per[i][n] * scale
            bx = left + stack
            by = y if layout.stacked else y + thick * n
            parts.append(
                _el("rect", _cell_title(category, one, value, layout.unit), x=bx, y=by,
                    width=w, height=float(thick - 1), fill=_colour(n), stroke="#fff",
                    stroke_width=0.5 if layout.stacked else 0, data_value=format_value(value))
            )  # fmt: skip
            if value == SUPPRESSED:
                parts.append(_small_cell(bx + 3, by + thick - 4, anchor="start"))
            stack += w if layout.stacked else 0
    parts.append("</g>")
    parts.append(_el("line", x1=left, x2=left, y1=header, y2=base_y, stroke=_INK))
    parts.append(
        _text(layout.y_label, (left + right) / 2, base_y + 32, class_="axis-label", fill=_MUTED,
              text_anchor="middle")
    )  # fmt: skip
    return base_y + 40


def line_chart(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    chart_id: str,
    title: str,
    x_label: str,
    y_label: str,
    unit: str = "",
    totals: bool = True,
) -> Markup:
    """Lines over the categories (days), a point per value.

    A ``"<3"`` cell breaks its line: a hollow point on the axis labelled ``<3`` (the value is
    not drawn as 0 or as anything else); a missing value (None) breaks it too. The arguments
    are those of :func:`bar_chart`.
    """
    summary = summary_zh(categories, series, title=title, unit=unit, totals=totals)
    legend, legend_h = _legend(series, left=8, top=6)
    numbers = [n for s in series for v in s.values if (n := _number(v)) is not None]
    axis_max, ticks = _scale(max(numbers, default=0.0))
    top = 6 + legend_h + 8
    parts = list(legend)
    left = _left_margin(ticks, unit)
    right = WIDTH - 8
    scale = _PLOT_H / axis_max
    _y_axis(parts, ticks, left=left, right=right, top=top, scale=scale, unit=unit, label=y_label)
    base = top + _PLOT_H
    slot = (right - left) / max(len(categories), 1)
    radius = 2.5 if len(categories) > 20 else 3.5
    for n, one in enumerate(series):
        runs: list[list[str]] = [[]]
        points: list[str] = []
        for i, value in enumerate(one.values):
            x = left + slot * (i + 0.5)
            tip = _cell_title(categories[i], one, value, unit)
            number = _number(value)
            if number is None:
                runs.append([])
                if value == SUPPRESSED:
                    points.append(
                        _el("circle", tip, cx=x, cy=base, r=radius, fill="#fff",
                            stroke=_colour(n), data_value=SUPPRESSED)
                    )  # fmt: skip
                    points.append(_small_cell(x, base - 6 - 10 * n))
                continue
            y = base - number * scale
            runs[-1].append(f"{x:.2f},{y:.2f}")
            points.append(
                _el("circle", tip, cx=x, cy=y, r=radius, fill=_colour(n),
                    data_value=format_value(value))
            )  # fmt: skip
        parts.append(f'<g class="series" data-series="{escape(one.name)}">')
        parts.extend(
            _el("polyline", fill="none", stroke=_colour(n), stroke_width=2, points=" ".join(run))
            for run in runs
            if len(run) > 1
        )
        parts.extend(points)
        parts.append("</g>")
    _x_axis(parts, categories, left=left, right=right, base=base, label=x_label)
    return _svg(
        parts, chart_id=chart_id, height=base + 42, title=title, summary=summary, kind="line"
    )


def _category(value: Any, kind: str) -> str:
    if isinstance(value, date):
        return f"{value.month}/{value.day}"
    if kind == "date" and isinstance(value, str):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            return value
        return f"{day.month}/{day.day}"
    return "-" if value is None else str(value)


def _merged(cells: list[Value]) -> Value:
    """The value of a category several rows share: their sum; ``"<3"`` when every one is."""
    numbers = [n for v in cells if (n := _number(v)) is not None]
    if not numbers:
        return SUPPRESSED if SUPPRESSED in cells else None
    total = sum(numbers)
    return int(total) if all(isinstance(v, int) for v in cells if _number(v) is not None) else total


def _points(value: Value, percent: bool) -> Value:
    """A percent's fraction as points (0.875 → 87.5); anything else as it is."""
    number = _number(value)
    if not percent or number is None:
        return value
    return number * 100


def chart_for(table: Table, *, chart_id: str, names: Any = None) -> Markup | None:
    """The chart of ``table`` as its ``chart`` describes it, or None without one (or no rows).

    Named categories (a ``text`` column: communities, roles) get horizontal bars, days get
    columns. Rows that share an ``x`` value (a table per community per day charted per day)
    are summed when the values are counts (a category whose cells are all ``"<3"`` stays
    ``"<3"``); rates or minutes cannot be summed, so such a table gets no chart (its table
    still shows every number). Percents (fractions) are drawn in points, 0 to 100.

    Args:
        table: A section's table.
        chart_id: Unique on the page.
        names: Turns a ``text`` category (an area or role code) into the words shown.
    """
    chart = table.chart
    if chart is None or not table.rows:
        return None
    x_column = table.column(chart.x)
    columns = [table.column(key) for key in chart.series]
    xs = table.values(chart.x)
    cells = [table.values(column.key) for column in columns]
    order: list[Any] = []
    grouped: dict[Any, list[list[Value]]] = {}
    for row_index, x in enumerate(xs):
        if x not in grouped:
            order.append(x)
            grouped[x] = [[] for _ in columns]
        for n in range(len(columns)):
            grouped[x][n].append(cells[n][row_index])
    kinds = {c.kind for c in columns}
    if len(order) < len(xs) and not kinds <= {"count", "people"}:
        return None
    labels = []
    for x in order:
        label = _category(x, x_column.kind)
        if names is not None and isinstance(x, str) and x_column.kind == "text":
            label = str(names(x))
        labels.append(label)
    kind = next(iter(kinds)) if len(kinds) == 1 else "number"
    series = [
        Series(
            column.title_zh,
            tuple(_points(_merged(grouped[x][n]), column.kind == "percent") for x in order),
        )
        for n, column in enumerate(columns)
    ]
    y_label = _KIND_AXES.get(kind, "数值") if len(columns) > 1 else columns[0].title_zh
    unit = _KIND_UNITS.get(kind, "")
    totals = kinds <= {"count", "people"}
    common: dict[str, Any] = {
        "chart_id": chart_id,
        "title": table.title_zh,
        "x_label": x_column.title_zh,
        "y_label": y_label,
        "unit": unit,
        "totals": totals,
    }
    shape: Literal["bar", "stacked_bar", "line"] = chart.kind
    if shape == "line":
        return line_chart(labels, series, **common)
    return bar_chart(
        labels, series, stacked=shape == "stacked_bar", horizontal=x_column.kind == "text", **common
    )

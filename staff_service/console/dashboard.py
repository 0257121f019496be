"""The dashboard 统计看板: a district's figures for a period, as charts with their numbers.

For district admins 区民政 and auditors. The figures come from
:func:`careflow.access.actions.district_report`, which checks the grants (a street or community
grant sees its communities only), computes every section and audits ``report.view``; this page
only lays them out: per section its headline figures and, per table, the chart
(:mod:`staff_service.console.charts`, inline SVG) beside the table of the same numbers. A
city-level account also gets ``?district=all``: each district's headline figures side by side.

``GET /console/dashboard?district=&from=&to=``: by default the first district the account may
open and the 30 local days (Asia/Shanghai) ending yesterday. ``GET
/console/dashboard/export?district=&from=&to=&format=xlsx|csv``: the same figures as an Excel
workbook or a CSV file (audited ``report.export``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from careflow.access import actions
from careflow.access.refusals import Refused
from careflow.areas import DISTRICTS
from careflow.figures import Column, DistrictFigures, Section, Table, headline_kind
from careflow.localtime import STAFF_TIMEZONE
from staff_service.console.auth import logged_in
from staff_service.console.charts import chart_for, format_value
from staff_service.console.labels import role_label
from staff_service.console.render import AreaNames, area_names, error_page, login_redirect, page
from staff_service.deps import Caller, attempt_for, services
from staff_service.downloads import DownloadFormat, figures_download

__all__ = [
    "ALL",
    "DASHBOARD_PATH",
    "DEFAULT_DAYS",
    "EXPORTS",
    "EXPORT_PATH",
    "default_period",
    "router",
]

router = APIRouter()

DASHBOARD_PATH = "/console/dashboard"
EXPORT_PATH = f"{DASHBOARD_PATH}/export"
EXPORTS: tuple[tuple[DownloadFormat, str], ...] = (
    ("xlsx", "下载 Excel 工作簿 workbook"),
    ("csv", "下载 CSV"),
    ("json", "JSON"),
)
"""The download links under a district's figures: format and the link's words."""
ALL = "all"
"""The ``district`` value of the side-by-side view of every district the account may open."""
DEFAULT_DAYS = 30
_FIELD_NAMES = {
    "district": "区 district",
    "from": "开始日期 from",
    "to": "结束日期 to",
    "format": "格式 format",
}
_NUMERIC = frozenset({"count", "people", "number", "minutes", "percent"})


def default_period(now: datetime | None = None) -> tuple[str, str]:
    """``(from, to)``: the :data:`DEFAULT_DAYS` local days ending yesterday (Asia/Shanghai)."""
    today = (now or datetime.now(STAFF_TIMEZONE)).astimezone(STAFF_TIMEZONE).date()
    end = today - timedelta(days=1)
    return (end - timedelta(days=DEFAULT_DAYS - 1)).isoformat(), end.isoformat()


@dataclass(frozen=True, slots=True)
class _Cell:
    text: str
    numeric: bool
    code: bool = False
    """A code beside its name (``社区代码``): left out on a phone, where the numbers matter."""


@dataclass(frozen=True, slots=True)
class _TableView:
    table: Table
    chart: Markup | None
    headers: list[tuple[Column, bool, bool]]
    rows: list[list[_Cell]]


@dataclass(frozen=True, slots=True)
class _SectionView:
    section: Section
    headline: list[tuple[str, str]]
    tables: list[_TableView]


def _dom_id(*parts: str) -> str:
    return "chart-" + "-".join(re.sub(r"[^A-Za-z0-9_-]+", "-", p) for p in parts)


def _cell(value: Any, column: Column, names: AreaNames, *, as_code: bool) -> _Cell:
    if as_code:
        return _Cell(format_value(value, column.kind), numeric=False, code=True)
    if column.kind == "text" and isinstance(value, str):
        if column.key == "role":
            return _Cell(role_label(value), numeric=False)
        return _Cell(names(value) if value in names.names else value, numeric=False)
    return _Cell(format_value(value, column.kind), numeric=column.kind in _NUMERIC)


def _table_view(section: Section, table: Table, names: AreaNames) -> _TableView:
    # A code column beside its Chinese one (``community`` next to ``community_zh``) shows the
    # code itself; a code column alone shows the name it stands for.
    keys = {c.key for c in table.columns}
    codes = {c.key for c in table.columns if f"{c.key}_zh" in keys}
    return _TableView(
        table=table,
        chart=chart_for(table, chart_id=_dom_id(section.key, table.key), names=names),
        headers=[(c, c.kind in _NUMERIC, c.key in codes) for c in table.columns],
        rows=[
            [
                _cell(v, c, names, as_code=c.key in codes)
                for v, c in zip(row, table.columns, strict=True)
            ]
            for row in table.rows
        ],
    )


def _headline_value(label: str, value: Any) -> str:
    """A headline figure as the workbook shows it too: a rate 率 as a percent."""
    return format_value(value, headline_kind(label) or "number")


def _section_view(section: Section, names: AreaNames) -> _SectionView:
    return _SectionView(
        section=section,
        headline=[(label, _headline_value(label, value)) for label, value in section.headline],
        tables=[] if section.empty else [_table_view(section, t, names) for t in section.tables],
    )


def _shown(refusal: Refused) -> Refused:
    """The refusal as the page says it: the field at fault named first (区, 开始日期, 结束日期)."""
    if refusal.field is None or f"{refusal.field}:" in refusal.message:
        return refusal
    name = _FIELD_NAMES.get(refusal.field, refusal.field)
    return Refused(refusal.reason, f"{name}：{refusal.message}", field=refusal.field)


def _districts(caller: Caller, request: Request, names: AreaNames) -> list[str]:
    """The districts this account may open that the registry has areas of."""
    found = actions.report_districts(caller.principal, services(request).registry)
    return [d for d in found if any(c.startswith(d + ".") for c in names.levels)] or found


def _report(
    request: Request,
    caller: Caller,
    district: str,
    start: str,
    end: str,
    *,
    format: str = "html",
) -> Any:
    svc = services(request)
    return actions.district_report(
        svc.engine,
        svc.registry,
        attempt_for(request, caller.principal, "console"),
        district=district,
        start=start,
        end=end,
        format=format,
    )


@router.get(EXPORT_PATH, include_in_schema=False, response_model=None)
def export(request: Request) -> Response:
    """The figures of one district and period as a file (``format=xlsx``, ``csv`` or ``json``)."""
    caller = logged_in(request)
    if caller is None:
        return login_redirect(request)
    params = request.query_params
    district = params.get("district", "").strip()[:64]
    start = params.get("from", "").strip()[:32]
    end = params.get("to", "").strip()[:32]
    wanted = params.get("format", "").strip()[:8]
    if wanted == "html":  # the page itself
        return RedirectResponse(f"{DASHBOARD_PATH}?{request.url.query}", status_code=303)
    try:
        # An unknown format is the action's to refuse (audited, the field named).
        figures: DistrictFigures = _report(request, caller, district, start, end, format=wanted)
    except Refused as refusal:
        return error_page(request, _shown(refusal), caller=caller, back=DASHBOARD_PATH)
    return figures_download(figures, cast(DownloadFormat, wanted))


@router.get(DASHBOARD_PATH, include_in_schema=False, response_model=None)
def dashboard(request: Request) -> Response:
    """The dashboard of one district (``district=all``: every district's headline figures)."""
    caller = logged_in(request)
    if caller is None:
        return login_redirect(request)
    names = area_names(services(request).engine)
    districts = _districts(caller, request, names)
    default_from, default_to = default_period()
    params = request.query_params
    district = params.get("district", "").strip()[:64] or (districts[0] if districts else "")
    start = params.get("from", "").strip()[:32] or default_from
    end = params.get("to", "").strip()[:32] or default_to
    context: dict[str, Any] = {
        "district": district,
        "start": start,
        "end": end,
        "districts": [(d, DISTRICTS[d].name_zh) for d in districts if d in DISTRICTS],
        "all_code": ALL,
        "base": DASHBOARD_PATH,
        "exports": EXPORTS,
    }
    if district == ALL and len(districts) == 1:
        district = districts[0]  # one district: its own page is the overview
    try:
        if district == ALL and len(districts) > 1:
            reports = [_report(request, caller, d, start, end) for d in districts]
            return page(
                request,
                "dashboard.html",
                {**context, "overview": _overview(reports), "figures": None, "sections": []},
                caller=caller,
            )
        figures: DistrictFigures = _report(request, caller, district, start, end)
    except Refused as refusal:
        return error_page(request, _shown(refusal), caller=caller, back=DASHBOARD_PATH)
    return page(
        request,
        "dashboard.html",
        {
            **context,
            "overview": None,
            "figures": figures,
            "sections": [_section_view(s, names) for s in figures.sections],
        },
        caller=caller,
    )


@dataclass(frozen=True, slots=True)
class _Overview:
    """Headline figures of several districts: a row per (section, figure), a column each."""

    districts: list[str]
    period: str
    rows: list[tuple[str, str, list[str]]]


def _overview(reports: list[DistrictFigures]) -> _Overview:
    keys: list[tuple[str, str]] = []
    titles: dict[str, str] = {}
    values: dict[tuple[str, str, str], str] = {}
    for report in reports:
        for section in report.sections:
            titles.setdefault(section.key, section.title_zh)
            for label, value in section.headline:
                key = (section.key, label)
                if key not in keys:
                    keys.append(key)
                values[(report.district, *key)] = _headline_value(label, value)
    # Rows grouped by section, in the order the sections first came.
    order = list(titles)
    keys.sort(key=lambda k: order.index(k[0]))
    return _Overview(
        districts=[r.district for r in reports],
        period=str(reports[0].period) if reports else "",
        rows=[
            (titles[s], label, [values.get((r.district, s, label), "-") for r in reports])
            for s, label in keys
        ],
    )

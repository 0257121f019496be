"""District reports 统计报表: ``/api/v1/reports``.

* ``GET /reports/districts/{district}?from=&to=&format=json|csv|xlsx``: a district's figures
  for whole local days (Asia/Shanghai), through :func:`careflow.access.actions.district_report`
  (district admins and auditors; a street or community grant gets those communities' figures
  only), audited ``report.export``. ``json`` answers :class:`DistrictReport`; ``csv`` (long
  form, UTF-8 with BOM) and ``xlsx`` are downloads with a ``Content-Disposition`` file name.
* ``GET /reports/files/{file_id}``: a stored weekly workbook (the ``reports.weekly``
  process's), for report readers whose grants cover its whole district, audited
  ``report.download``.

The dates are checked by the action, not by the query's schema, so a malformed day is audited
like any other refusal. People counts of 1 and 2 are ``"<3"`` in every form.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from careflow.access import actions
from careflow.access.audit import Attempt
from careflow.figures import XLSX_MEDIA_TYPE, to_json
from plugins.reports import download_report_file
from staff_service.deps import api_attempt, services
from staff_service.downloads import figures_download, file_download
from staff_service.problems import problem_responses
from staff_service.services import Services

__all__ = [
    "DistrictReport",
    "ReportChart",
    "ReportColumn",
    "ReportHeadline",
    "ReportPeriod",
    "ReportSection",
    "ReportSuppression",
    "ReportTable",
    "router",
]

router = APIRouter(prefix="/reports", tags=["reports 统计报表"])


Value = int | float | str | None


class ReportPeriod(BaseModel):
    """The local days a report covers and their UTC bounds."""

    start: date = Field(description="第一天 first local day (Asia/Shanghai)")
    end: date = Field(description="最后一天 last local day, inclusive")
    since: datetime = Field(description="UTC moment the period starts (local midnight)")
    until: datetime = Field(description="UTC moment after the period (exclusive)")


class ReportColumn(BaseModel):
    """A table's column: its key, headers and kind."""

    key: str
    title_zh: str
    title_en: str
    kind: str = Field(description="text, date, count, people, number, minutes or percent")


class ReportChart(BaseModel):
    """How a table is drawn."""

    kind: str = Field(description="bar, stacked_bar or line")
    x: str = Field(description="The column key along the x axis.")
    series: list[str] = Field(description="The column keys drawn.")


class ReportTable(BaseModel):
    """Rows of counts; a percent is a fraction (0.875), a suppressed people count ``"<3"``."""

    key: str
    title_zh: str
    title_en: str
    note_zh: str | None = None
    columns: list[ReportColumn]
    rows: list[dict[str, Value]] = Field(description="One object per row, keyed by column key.")
    chart: ReportChart | None = None


class ReportHeadline(BaseModel):
    """One headline figure of a section."""

    label_zh: str
    value: Value


class ReportSection(BaseModel):
    """One area of the report."""

    key: str
    title_zh: str
    title_en: str
    empty: bool = Field(description="No row in any table (暂无数据).")
    headline: list[ReportHeadline]
    tables: list[ReportTable]


class ReportSuppression(BaseModel):
    """How small people counts are shown."""

    below: int
    shown_as: str
    note_zh: str


class DistrictReport(BaseModel):
    """A district's report over a period (the JSON export)."""

    district: str
    district_zh: str
    period: ReportPeriod
    communities: list[str] | None = Field(
        description="The communities counted (a street or community grant), or null: all."
    )
    generated_at: datetime
    suppression: ReportSuppression
    sections: list[ReportSection]


_DOWNLOADS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "报表 the report: JSON, or a CSV or Excel download",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
        },
    }
}
_FILE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "周报工作簿 the stored workbook",
        "content": {XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.get(
    "/districts/{district}",
    name="report.export",
    response_model=DistrictReport,
    summary="区统计报表 a district's report (JSON, CSV or Excel)",
    responses={**_DOWNLOADS, **problem_responses(401, 403, 422, 503)},
)
def district_report(
    found: Annotated[Services, Depends(services)],
    attempt: Annotated[Attempt, Depends(api_attempt("report.export"))],
    district: Annotated[str, Path(min_length=1, max_length=64, description="e.g. wanbailin")],
    start: Annotated[
        str, Query(alias="from", max_length=32, description="第一天 first local day YYYY-MM-DD")
    ],
    end: Annotated[
        str, Query(alias="to", max_length=32, description="最后一天 last local day YYYY-MM-DD")
    ],
    format: Annotated[Literal["json", "csv", "xlsx"], Query()] = "json",
) -> Any:
    """A district's figures for whole local days (district admins and auditors; audited)."""
    figures = actions.district_report(
        found.engine,
        found.registry,
        attempt,
        district=district,
        start=start,
        end=end,
        format=format,
    )
    if format != "json":
        return figures_download(figures, format)
    return DistrictReport.model_validate(to_json(figures))


@router.get(
    "/files/{file_id}",
    name="report.download",
    response_class=Response,
    summary="下载周报 a stored weekly workbook",
    responses={**_FILE, **problem_responses(401, 403, 404, 422, 503)},
)
def report_file(
    found: Annotated[Services, Depends(services)],
    attempt: Annotated[Attempt, Depends(api_attempt("report.download"))],
    file_id: Annotated[int, Path(ge=1, le=2**31 - 1, description="The file's id.")],
) -> Response:
    """A stored weekly workbook, for report readers of its whole district (audited)."""
    row = download_report_file(found.engine, attempt, file_id=file_id)
    media_type = XLSX_MEDIA_TYPE if row.format == "xlsx" else "application/octet-stream"
    filename = (
        f"report-{row.district}-{row.period_start.isoformat()}-{row.period_end.isoformat()}"
        f".{row.format}"
    )
    return file_download(row.content, media_type=media_type, filename=filename)

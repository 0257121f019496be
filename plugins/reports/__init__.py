"""Reports 统计报表: the weekly report process and the stored report files.

``reports.weekly`` runs in every district every Monday at 07:30 Asia/Shanghai (param
``run_time``), from the schedule ``careflow.reports.weekly.<district>``. It builds the
district's workbook of the Monday-to-Sunday week before (:func:`careflow.figures.to_xlsx`
over :func:`careflow.figures.district_figures`), stores it once in ``report_file`` and tells
the district admins (``role:district_admin``) where to download it:
``/api/v1/reports/files/<id>`` on the staff service, served through
:func:`download_report_file` to readers whose grants cover the whole district.

Public API (``__all__``): the process id, schedule, request, params, result, the table and
the download check. The workflow and activities are internal.
"""

from __future__ import annotations

from pathlib import Path

from careflow.contract import ActivitySet, CarePlugin, ProcessSpec, ScheduleSpec
from plugins.reports.activities import ReportActivities
from plugins.reports.files import DOWNLOAD_ACTION, download_report_file
from plugins.reports.models import (
    FILES_PATH,
    REPORT_TEMPLATE,
    WEEKLY_PROCESS,
    WeeklyParams,
    WeeklyRequest,
    WeeklyResult,
    file_link,
)
from plugins.reports.tables import ReportFile
from plugins.reports.workflows import WeeklyReportWorkflow

__all__ = [
    "DOWNLOAD_ACTION",
    "FILES_PATH",
    "REPORT_TEMPLATE",
    "WEEKLY",
    "WEEKLY_PROCESS",
    "WEEKLY_SCHEDULE",
    "ReportFile",
    "WeeklyParams",
    "WeeklyRequest",
    "WeeklyResult",
    "download_report_file",
    "file_link",
    "plugin",
]

WEEKLY = ProcessSpec(
    id=WEEKLY_PROCESS,
    module="reports",
    title_zh="统计周报",
    title_en="Weekly district report",
    workflow=WeeklyReportWorkflow,
    request_model=WeeklyRequest,
    params_model=WeeklyParams,
    default_enabled=True,
    start_roles=("district_admin",),
)

WEEKLY_SCHEDULE = ScheduleSpec(
    id=WEEKLY_PROCESS,
    process=WEEKLY_PROCESS,
    title_zh="每周一生成上周统计周报",
    crons=("30 7 * * 1",),
    time_zone="Asia/Shanghai",
    time_param="run_time",
)

plugin = CarePlugin(
    name="reports",
    version="0.1.0",
    title_zh="统计报表",
    title_en="Reports",
    order=30,
    processes=(WEEKLY,),
    migrations=Path(__file__).parent / "migrations",
    schedules=(WEEKLY_SCHEDULE,),
    activities=(
        ActivitySet(
            cls=ReportActivities,
            build=lambda deps: ReportActivities(deps.engine, registry=deps.registry),
        ),
    ),
)

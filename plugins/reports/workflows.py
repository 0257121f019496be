"""The weekly report process 周报: one run per district every Monday morning.

A run takes the Monday-to-Sunday week before the day it starts on (Asia/Shanghai), has one
activity build and store the district's workbook, writes a case record and tells the
district admins where to download it. Deterministic: the day comes from ``workflow.now()``
(or the request), every read and write is the activity's or the runtime's. The history holds
a district code, dates, a file id and a digest, never a person.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from careflow.figures.model import Period
from careflow.localtime import STAFF_TIMEZONE
from careflow.models import ProcessInput
from plugins.engine.roles import Role
from plugins.reports.models import (
    REPORT_TEMPLATE,
    WEEKLY_PROCESS,
    ActivityNames,
    BuildInput,
    BuildResult,
    WeeklyRequest,
    WeeklyResult,
    file_link,
)
from workflows.runtime import CareProcess, run_activity

__all__ = ["WeeklyReportWorkflow"]

#: A year of a district is about two million rows to count; a week is far less.
_BUILD_TIMEOUT = timedelta(minutes=10)
#: Bounded: a database outage fails the run visibly; next Monday's run is a new one, and a
#: district admin may start this week's again (it stores the week once).
_BUILD_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=60), maximum_attempts=10)


@workflow.defn(name=WEEKLY_PROCESS)
class WeeklyReportWorkflow(CareProcess):
    """Build, store and announce one district's report of last week."""

    @workflow.run
    async def run(self, input: ProcessInput[WeeklyRequest]) -> WeeklyResult:
        self.begin(input)
        district = self.context.district
        day = input.request.as_of or workflow.now().astimezone(STAFF_TIMEZONE).date()
        week = Period.week_before(day)
        self.stage("building", "生成周报 building the workbook")
        built: BuildResult = await run_activity(
            ActivityNames.BUILD_WEEKLY,
            BuildInput(
                workflow_id=workflow.info().workflow_id,
                district=district,
                start=week.start,
                end=week.end,
            ),
            result_type=BuildResult,
            timeout=_BUILD_TIMEOUT,
            retry=_BUILD_RETRY,
            summary=f"生成并保存周报 build and store the workbook of {week}",
        )
        # Stored by this run (a retry of it included): tell the admins; else an earlier run
        # of the same week stored it and told them.
        stored = built.stored_here
        link = file_link(built.file_id)
        self.stage("report", "通知区民政 telling the district admins")
        await self.record(
            "report",
            "weekly_report",
            {
                "file_id": built.file_id,
                "link": link,
                "start": week.start.isoformat(),
                "end": week.end.isoformat(),
                "size": built.size,
                "sha256": built.sha256,
                "stored": stored,
            },
        )
        if stored:
            await self.notify(
                "report",
                recipient_ref=f"role:{Role.DISTRICT_ADMIN.value}",
                template=REPORT_TEMPLATE,
                body_zh=f"上周（{week.start.isoformat()} 至 {week.end.isoformat()}）"
                f"统计周报已生成，下载：{link}",
                params={
                    "file_id": built.file_id,
                    "link": link,
                    "start": week.start.isoformat(),
                    "end": week.end.isoformat(),
                },
            )
        self.stage("closed", "已完成 done")
        return WeeklyResult(
            district=district,
            start=week.start,
            end=week.end,
            file_id=built.file_id,
            link=link,
            stored=stored,
        )

"""The weekly report 统计周报 on the time-skipping test server: built, stored once, announced."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.db import crud
from careflow.db.tables import Task
from careflow.figures import Period
from careflow.localtime import STAFF_TIMEZONE
from careflow.registry import PluginRegistry
from plugins.reports import WEEKLY_PROCESS, WEEKLY_SCHEDULE, ReportFile, WeeklyResult
from plugins.reports.activities import ReportActivities
from plugins.reports.models import BuildInput
from tests.conftest import record_history
from tests.support.inbox import notifications_of, records_of
from tests.support.plugins import BUILT_IN
from worker.testing import running_worker

DISTRICT = "wanbailin"
SCHEDULE = f"schedule:{WEEKLY_PROCESS}"
# Wednesday 2026-03-11: the week before is Monday 2026-03-02 to Sunday 2026-03-08.
AS_OF = "2026-03-11"
WEEK = Period(date(2026, 3, 2), date(2026, 3, 8))


def _files(engine: Engine) -> list[ReportFile]:
    with Session(engine) as session:
        return list(session.exec(select(ReportFile).order_by(col(ReportFile.id))).all())


def _task(n: int, opened: datetime) -> Task:
    return Task(
        task_id=f"weekly-t{n}",
        workflow_id=f"weekly-w{n}",
        step_key="visit",
        process="eldercare.tiers",
        module="eldercare",
        district=DISTRICT,
        community="wanbailin.wanghua.jiusi",
        case_ref="c",
        role="grid_worker",
        title_zh="走访",
        title_en="Visit",
        form_ref="tests:Form",
        due_at=opened,
        opened_at=opened,
    )


async def _run(
    env: WorkflowEnvironment,
    registry: PluginRegistry,
    queue: str,
    *,
    case_ref: str,
    request: dict[str, str],
) -> tuple[WorkflowHandle[object, object], WeeklyResult]:
    started = await service.start_process(
        env.client,
        registry,
        process=WEEKLY_PROCESS,
        district=DISTRICT,
        request=request,
        started_by=SCHEDULE,
        case_ref=case_ref,
        task_queue=queue,
    )
    handle = env.client.get_workflow_handle(started.workflow_id)
    # Not result_of: the run has no timers to skip.
    return handle, WeeklyResult.model_validate(await handle.result())


async def test_the_week_is_stored_once_and_the_admins_are_told(
    ts_env: WorkflowEnvironment, any_engine: Engine
) -> None:
    engine = any_engine
    with Session(engine) as session:
        session.add(_task(1, datetime(2026, 3, 4, 2, tzinfo=UTC)))
        session.commit()
    registry = PluginRegistry.build(BUILT_IN)
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        first, result = await _run(
            ts_env, registry, worker.task_queue, case_ref="weekly.w10", request={"as_of": AS_OF}
        )
        await record_history(ts_env.client, first, "reports_weekly")
        second, again = await _run(
            ts_env, registry, worker.task_queue, case_ref="weekly.w10b", request={"as_of": AS_OF}
        )

    (stored,) = _files(engine)
    assert (stored.district, stored.period_start, stored.period_end, stored.format) == (
        DISTRICT,
        WEEK.start,
        WEEK.end,
        "xlsx",
    )
    assert stored.workflow_id == first.id
    assert stored.size == len(stored.content)
    assert stored.sha256 == hashlib.sha256(stored.content).hexdigest()
    book = load_workbook(io.BytesIO(stored.content))
    assert book.sheetnames[0] == "概览" and len(book.sheetnames) > 1
    cover = book["概览"]
    assert (cover["B3"].value, cover["B4"].value, cover["B7"].value) == (
        "万柏林区",
        "2026-03-02 至 2026-03-08",
        "少于3人显示为<3",
    )

    link = f"/api/v1/reports/files/{stored.id}"
    assert result == WeeklyResult(
        district=DISTRICT,
        start=WEEK.start,
        end=WEEK.end,
        file_id=stored.id,
        link=link,
        stored=True,
    )
    assert notifications_of(engine, first.id) == [
        ("report", "role:district_admin", "weekly_report")
    ]
    with Session(engine) as session:
        (note,) = crud.list_notifications(session, workflow_id=first.id)
        (record,) = [
            r
            for r in crud.list_case_records(session, workflow_id=first.id)
            if r.kind == "weekly_report"
        ]
    assert note.body_zh == f"上周（2026-03-02 至 2026-03-08）统计周报已生成，下载：{link}"
    assert note.params["link"] == link
    assert record.data == {
        "file_id": stored.id,
        "link": link,
        "start": "2026-03-02",
        "end": "2026-03-08",
        "size": stored.size,
        "sha256": stored.sha256,
        "stored": True,
    }

    # The second run of the same week finds the file: nothing stored, nobody told twice.
    assert again.file_id == stored.id and not again.stored
    assert notifications_of(engine, second.id) == []
    assert ("report", "weekly_report") in records_of(engine, second.id)


async def test_a_scheduled_run_reports_the_week_before_its_day(
    ts_env: WorkflowEnvironment, any_engine: Engine
) -> None:
    registry = PluginRegistry.build(BUILT_IN)
    async with running_worker(ts_env.client, registry, engine=any_engine) as worker:
        handle, result = await _run(
            ts_env, registry, worker.task_queue, case_ref="weekly.now", request={}
        )
    started = (await handle.describe()).start_time
    week = Period.week_before(started.astimezone(STAFF_TIMEZONE).date())
    assert (result.start, result.end) == (week.start, week.end)
    assert result.start.weekday() == 0 and (result.end - result.start).days == 6
    assert [(f.period_start, f.period_end) for f in _files(any_engine)] == [(week.start, week.end)]


async def test_a_retried_build_stores_once(any_engine: Engine) -> None:
    activities = ReportActivities(any_engine, registry=PluginRegistry.build(BUILT_IN))
    build = BuildInput(
        workflow_id="reports.weekly-wanbailin-x", district=DISTRICT, start=WEEK.start, end=WEEK.end
    )
    first = await activities.build_weekly(build)
    again = await activities.build_weekly(build)
    other = await activities.build_weekly(build.model_copy(update={"workflow_id": "other"}))
    assert first == again
    assert first.stored_by == "reports.weekly-wanbailin-x" and first.stored_here
    assert other == first.model_copy(update={"stored_here": False})
    assert len(_files(any_engine)) == 1


def test_the_schedule_runs_every_monday_at_half_past_seven_in_shanghai() -> None:
    registry = PluginRegistry.build(BUILT_IN)
    assert WEEKLY_SCHEDULE in [s for _, s in registry.schedules()]
    assert WEEKLY_SCHEDULE.time_zone == "Asia/Shanghai"
    assert WEEKLY_SCHEDULE.crons_for(registry.params_for(WEEKLY_PROCESS, DISTRICT)) == [
        "30 7 * * 1"
    ]
    assert WEEKLY_SCHEDULE.crons_for({"run_time": "06:05"}) == ["5 6 * * 1"]


@pytest.mark.parametrize("day", ["2026-03-09", "2026-03-15"])
def test_week_before_is_the_previous_monday_to_sunday(day: str) -> None:
    assert Period.week_before(date.fromisoformat(day)) == Period(date(2026, 3, 2), date(2026, 3, 8))

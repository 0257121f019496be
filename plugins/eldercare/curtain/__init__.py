"""Curtain appointment 窗帘之约: morning checks that solitary elders' curtains are open.

Events: ``eldercare.curtain_report`` (a volunteer's report, case ref ``<elder>.<YYYYMMDD>``
and the ``batch_ref`` of the notice, which routes it to the round's batch holding the check)
and ``eldercare.curtain_away`` (an "away until" notice, which starts ``eldercare.curtain_away``).

Public API (``__all__``; other plugins import only this package): the process ids, their
requests, params and results, the two events, and the case refs of a check and of a batch
(:func:`check_case_ref`, :func:`batch_case_ref`). Everything else (workflows, the batch's
workflow type, activities, tables, forms) is internal.
"""

from __future__ import annotations

from pathlib import Path

from careflow.contract import ActivitySet, EventRoute, PluginPart, ProcessSpec, ScheduleSpec
from careflow.privacy.pseudonyms import load_pseudonyms
from plugins.eldercare.curtain.activities import CurtainActivities
from plugins.eldercare.curtain.figures import FIGURES
from plugins.eldercare.curtain.models import (
    AWAY_PROCESS,
    CHECK_PROCESS,
    ROUND_PROCESS,
    AwayNoticeEvent,
    AwayParams,
    AwayRequest,
    AwayResult,
    CurtainCheckParams,
    CurtainCheckRequest,
    CurtainCheckResult,
    CurtainOutcome,
    CurtainReportEvent,
    CurtainRoundParams,
    CurtainRoundRequest,
    CurtainRoundResult,
    batch_case_ref,
    check_case_ref,
    report_workflow_id,
)
from plugins.eldercare.curtain.views import TASK_TYPES
from plugins.eldercare.curtain.workflows import (
    CurtainAwayWorkflow,
    CurtainBatchWorkflow,
    CurtainCheckWorkflow,
    CurtainRoundWorkflow,
)

__all__ = [
    "AWAY_PROCESS",
    "CHECK_PROCESS",
    "ROUND_PROCESS",
    "AwayNoticeEvent",
    "AwayParams",
    "AwayRequest",
    "AwayResult",
    "CurtainCheckParams",
    "CurtainCheckRequest",
    "CurtainCheckResult",
    "CurtainOutcome",
    "CurtainReportEvent",
    "CurtainRoundParams",
    "CurtainRoundRequest",
    "CurtainRoundResult",
    "batch_case_ref",
    "check_case_ref",
    "part",
]

CURTAIN_ROUND = ProcessSpec(
    id=ROUND_PROCESS,
    module="eldercare",
    title_zh="窗帘之约每日巡查",
    title_en="Curtain appointment: morning round",
    workflow=CurtainRoundWorkflow,
    request_model=CurtainRoundRequest,
    params_model=CurtainRoundParams,
    # A district practice: off until a district plugin's programme switches it on.
    default_enabled=False,
)
CURTAIN_CHECK = ProcessSpec(
    id=CHECK_PROCESS,
    module="eldercare",
    title_zh="窗帘之约查看",
    title_en="Curtain appointment: check",
    workflow=CurtainCheckWorkflow,
    request_model=CurtainCheckRequest,
    params_model=CurtainCheckParams,
    default_enabled=False,
)
CURTAIN_AWAY = ProcessSpec(
    id=AWAY_PROCESS,
    module="eldercare",
    title_zh="窗帘之约外出报备",
    title_en="Curtain appointment: away notice",
    workflow=CurtainAwayWorkflow,
    request_model=AwayRequest,
    params_model=AwayParams,
    default_enabled=False,
)

part = PluginPart(
    processes=(CURTAIN_ROUND, CURTAIN_CHECK, CURTAIN_AWAY),
    routes=(
        EventRoute(
            event_type="eldercare.curtain_report",
            model=CurtainReportEvent,
            process=CHECK_PROCESS,
            signal="curtain_report",
            # A report names the batch that holds the check (see report_workflow_id).
            workflow_id=report_workflow_id,
        ),
        EventRoute(
            event_type="eldercare.curtain_away",
            model=AwayNoticeEvent,
            process=AWAY_PROCESS,
            signal="away_notice",
            start_if_absent=True,
            to_request=AwayNoticeEvent.to_request,
        ),
    ),
    schedules=(
        ScheduleSpec(
            id=ROUND_PROCESS,
            process=ROUND_PROCESS,
            title_zh="窗帘之约每日巡查",
            crons=("30 9 * * *",),
            time_zone="Asia/Shanghai",
            time_param="round_time",
        ),
    ),
    workflows=(CurtainBatchWorkflow,),
    activities=(
        ActivitySet(
            cls=CurtainActivities,
            build=lambda deps: CurtainActivities(
                deps.engine, deps.notifications, pseudonyms=load_pseudonyms(deps.settings)
            ),
        ),
    ),
    task_types=TASK_TYPES,
    migrations=Path(__file__).parent / "migrations",
    figures=(FIGURES,),
)

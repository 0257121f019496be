"""Small dining table supervision 小饭桌 (Yingze): inspections, rectification, re-checks.

Public contract: the processes ``childcare.dining_inspection`` (one table) and
``childcare.dining_round`` (the scheduled round of a district), the checklist form, and the
enrolment and suspension tables.
"""

from __future__ import annotations

from careflow.contract import ActivitySet, PluginPart, ProcessSpec, ScheduleSpec
from plugins.childcare.dining.activities import DiningActivities
from plugins.childcare.dining.forms import CHECKLIST_ITEMS, InspectionForm
from plugins.childcare.dining.models import (
    DINING_POINTS,
    DINING_ROUND_POINTS,
    DiningInspectionRequest,
    DiningParams,
    DiningResult,
    DiningRoundParams,
    DiningRoundRequest,
)
from plugins.childcare.dining.tables import DiningEnrolment, DiningSuspension
from plugins.childcare.dining.workflows import DiningInspectionWorkflow, DiningRoundWorkflow

__all__ = [
    "CHECKLIST_ITEMS",
    "DINING_INSPECTION",
    "DINING_ROUND",
    "DiningEnrolment",
    "DiningInspectionRequest",
    "DiningParams",
    "DiningResult",
    "DiningSuspension",
    "InspectionForm",
    "part",
]

DINING_INSPECTION = ProcessSpec(
    id="childcare.dining_inspection",
    module="childcare",
    title_zh="小饭桌检查",
    title_en="Small dining table inspection",
    workflow=DiningInspectionWorkflow,
    request_model=DiningInspectionRequest,
    params_model=DiningParams,
    extension_points=DINING_POINTS,
)

DINING_ROUND = ProcessSpec(
    id="childcare.dining_round",
    module="childcare",
    title_zh="小饭桌检查轮次",
    title_en="Small dining table inspection round",
    workflow=DiningRoundWorkflow,
    request_model=DiningRoundRequest,
    params_model=DiningRoundParams,
    extension_points=DINING_ROUND_POINTS,
)

part = PluginPart(
    processes=(DINING_INSPECTION, DINING_ROUND),
    schedules=(
        ScheduleSpec(
            id="childcare.dining.monthly",
            process="childcare.dining_round",
            title_zh="小饭桌每月检查",
            # First working morning of the month is close enough: the 1st at 09:00.
            crons=("0 9 1 * *",),
        ),
    ),
    activities=(
        ActivitySet(cls=DiningActivities, build=lambda deps: DiningActivities(deps.engine)),
    ),
)

"""Small dining table supervision 小饭桌 (Yingze): inspections, rectification, re-checks.

Public contract: the processes ``childcare.dining_inspection`` (one table),
``childcare.dining_round`` (the scheduled round of a district) and
``childcare.dining_enrolment`` (one child's dining tables), the events
``childcare.dining_enrol`` and ``childcare.dining_unenrol``, and the checklist items.

Public API (``__all__``; other plugins import only this package): the extension points, the
requests, params and results of the three processes, the events and :data:`CHECKLIST_ITEMS`
(the codes an inspection checks). Everything else (workflows, activities, the enrolment and
suspension tables, forms) is internal.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from careflow.contract import ActivitySet, EventRoute, PluginPart, ProcessSpec, ScheduleSpec
from plugins.childcare.dining.activities import DiningActivities
from plugins.childcare.dining.enrolment import DINING_ENROLMENT_POINTS, DiningEnrolmentWorkflow
from plugins.childcare.dining.forms import CHECKLIST_ITEMS
from plugins.childcare.dining.models import (
    DINING_POINTS,
    DINING_ROUND_POINTS,
    DiningEnrolEvent,
    DiningEnrolmentEvent,
    DiningEnrolmentRequest,
    DiningEnrolmentResult,
    DiningInspectionRequest,
    DiningParams,
    DiningResult,
    DiningRoundParams,
    DiningRoundRequest,
    DiningUnenrolEvent,
)
from plugins.childcare.dining.views import TASK_TYPES
from plugins.childcare.dining.workflows import DiningInspectionWorkflow, DiningRoundWorkflow

__all__ = [
    "CHECKLIST_ITEMS",
    "DINING_ENROLMENT_POINTS",
    "DINING_POINTS",
    "DINING_ROUND_POINTS",
    "DiningEnrolEvent",
    "DiningEnrolmentParams",
    "DiningEnrolmentRequest",
    "DiningEnrolmentResult",
    "DiningInspectionRequest",
    "DiningParams",
    "DiningResult",
    "DiningRoundParams",
    "DiningRoundRequest",
    "DiningUnenrolEvent",
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
    # A district practice: off until a district plugin's programme switches it on.
    default_enabled=False,
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
    default_enabled=False,
)


class DiningEnrolmentParams(BaseModel):
    """Enrolment has nothing a district sets."""


DINING_ENROLMENT = ProcessSpec(
    id="childcare.dining_enrolment",
    module="childcare",
    title_zh="小饭桌就餐登记",
    title_en="Small dining table enrolment",
    workflow=DiningEnrolmentWorkflow,
    request_model=DiningEnrolmentRequest,
    params_model=DiningEnrolmentParams,
    extension_points=DINING_ENROLMENT_POINTS,
    default_enabled=False,
)


def _enrolment_request(event: DiningEnrolmentEvent) -> DiningEnrolmentRequest:
    return DiningEnrolmentRequest(child_ref=event.child_ref)


part = PluginPart(
    processes=(DINING_INSPECTION, DINING_ROUND, DINING_ENROLMENT),
    routes=tuple(
        EventRoute(
            event_type=event_type,
            model=model,
            process="childcare.dining_enrolment",
            signal="enrolment_change",
            start_if_absent=True,
            to_request=_enrolment_request,
        )
        for event_type, model in (
            ("childcare.dining_enrol", DiningEnrolEvent),
            ("childcare.dining_unenrol", DiningUnenrolEvent),
        )
    ),
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
    task_types=TASK_TYPES,
    migrations=Path(__file__).parent / "migrations",
)

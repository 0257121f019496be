"""Five-thirty classroom 五点半课堂 (Wanbailin): after-school care until a guardian collects.

Public contract: the processes ``childcare.classroom`` (one session of one community) and
``childcare.classroom_day`` (the scheduled school day of a district), the ``hand_over`` Update
and the ``childcare.classroom.handover`` event, and the enrolment table.
"""

from __future__ import annotations

from careflow.contract import ActivitySet, EventRoute, PluginPart, ProcessSpec, ScheduleSpec
from plugins.childcare.classroom.activities import ClassroomActivities
from plugins.childcare.classroom.forms import CallForm, CheckInForm
from plugins.childcare.classroom.models import (
    CLASSROOM_POINTS,
    ClassroomDayParams,
    ClassroomDayRequest,
    ClassroomParams,
    ClassroomRequest,
    ClassroomResult,
    HandoverEvent,
    HandoverRequest,
)
from plugins.childcare.classroom.tables import ClassroomEnrolment
from plugins.childcare.classroom.workflows import (
    CLASSROOM_DAY_POINTS,
    ClassroomDayWorkflow,
    ClassroomWorkflow,
)

__all__ = [
    "CLASSROOM",
    "CLASSROOM_DAY",
    "CallForm",
    "CheckInForm",
    "ClassroomEnrolment",
    "ClassroomParams",
    "ClassroomRequest",
    "ClassroomResult",
    "HandoverEvent",
    "HandoverRequest",
    "part",
]

CLASSROOM = ProcessSpec(
    id="childcare.classroom",
    module="childcare",
    title_zh="五点半课堂",
    title_en="Five-thirty classroom session",
    workflow=ClassroomWorkflow,
    request_model=ClassroomRequest,
    params_model=ClassroomParams,
    extension_points=CLASSROOM_POINTS,
)

CLASSROOM_DAY = ProcessSpec(
    id="childcare.classroom_day",
    module="childcare",
    title_zh="五点半课堂 · 开课日",
    title_en="Five-thirty classroom school day",
    workflow=ClassroomDayWorkflow,
    request_model=ClassroomDayRequest,
    params_model=ClassroomDayParams,
    extension_points=CLASSROOM_DAY_POINTS,
)

part = PluginPart(
    processes=(CLASSROOM, CLASSROOM_DAY),
    routes=(
        EventRoute(
            event_type="childcare.classroom.handover",
            model=HandoverEvent,
            process="childcare.classroom",
            signal="handover_event",
        ),
    ),
    schedules=(
        ScheduleSpec(
            id="childcare.classroom.school_day",
            process="childcare.classroom_day",
            title_zh="五点半课堂每日开课（周一至周五）",
            # School ends around four; the session runs from 16:00 (Asia/Shanghai).
            crons=("0 16 * * 1-5",),
        ),
    ),
    activities=(
        ActivitySet(cls=ClassroomActivities, build=lambda deps: ClassroomActivities(deps.engine)),
    ),
)

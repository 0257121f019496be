"""Five-thirty classroom 五点半课堂 (Wanbailin): after-school care until a guardian collects.

Public contract: the processes ``childcare.classroom`` (one session of one community),
``childcare.classroom_day`` (the scheduled school day of a district) and
``childcare.classroom_enrolment`` (one child's enrolment changes), the ``hand_over`` Update,
the events ``childcare.classroom.handover``, ``childcare.classroom_enrol`` and
``childcare.classroom_unenrol``.

Refusals 拒绝规则: children must be children of the registry in the district. A desk hand-over
to a person the registry does not authorise to collect the child, or of a child not enrolled,
is refused before it is sent (``checks.py``; exit 2 at the CLI). What only the session knows
(not checked in, already collected, session closed) the process refuses and records
(``pickup_refused``); the ``hand_over`` Update answers those at once.

Public API (``__all__``; other plugins import only this package): the extension points, the
requests, params and results of the three processes, the events and the ``hand_over`` Update's
input :class:`HandoverRequest`. Everything else (workflows, activities, the enrolment table,
forms, checks) is internal.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from careflow.contract import ActivitySet, EventRoute, PluginPart, ProcessSpec, ScheduleSpec
from plugins.childcare.classroom.activities import ClassroomActivities
from plugins.childcare.classroom.checks import check_handover
from plugins.childcare.classroom.enrolment import ENROLMENT_POINTS, ClassroomEnrolmentWorkflow
from plugins.childcare.classroom.models import (
    CLASSROOM_POINTS,
    ClassroomDayParams,
    ClassroomDayRequest,
    ClassroomEnrolEvent,
    ClassroomParams,
    ClassroomRequest,
    ClassroomResult,
    ClassroomUnenrolEvent,
    EnrolmentChangeEvent,
    EnrolmentRequest,
    EnrolmentResult,
    HandoverEvent,
    HandoverRequest,
)
from plugins.childcare.classroom.views import TASK_TYPES
from plugins.childcare.classroom.workflows import (
    CLASSROOM_DAY_POINTS,
    ClassroomDayWorkflow,
    ClassroomWorkflow,
)

__all__ = [
    "CLASSROOM_DAY_POINTS",
    "CLASSROOM_POINTS",
    "ENROLMENT_POINTS",
    "ClassroomDayParams",
    "ClassroomDayRequest",
    "ClassroomEnrolEvent",
    "ClassroomEnrolmentParams",
    "ClassroomParams",
    "ClassroomRequest",
    "ClassroomResult",
    "ClassroomUnenrolEvent",
    "EnrolmentRequest",
    "EnrolmentResult",
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
    # A district practice: off until a district plugin's programme switches it on.
    default_enabled=False,
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
    default_enabled=False,
)


class ClassroomEnrolmentParams(BaseModel):
    """Enrolment has nothing a district sets."""


CLASSROOM_ENROLMENT = ProcessSpec(
    id="childcare.classroom_enrolment",
    module="childcare",
    title_zh="五点半课堂 · 报名",
    title_en="Five-thirty classroom enrolment",
    workflow=ClassroomEnrolmentWorkflow,
    request_model=EnrolmentRequest,
    params_model=ClassroomEnrolmentParams,
    extension_points=ENROLMENT_POINTS,
    default_enabled=False,
)


def _enrolment_request(event: EnrolmentChangeEvent) -> EnrolmentRequest:
    return EnrolmentRequest(child_ref=event.child_ref)


part = PluginPart(
    processes=(CLASSROOM, CLASSROOM_DAY, CLASSROOM_ENROLMENT),
    routes=(
        EventRoute(
            event_type="childcare.classroom_enrol",
            model=ClassroomEnrolEvent,
            process="childcare.classroom_enrolment",
            signal="enrolment_change",
            start_if_absent=True,
            to_request=_enrolment_request,
        ),
        EventRoute(
            event_type="childcare.classroom_unenrol",
            model=ClassroomUnenrolEvent,
            process="childcare.classroom_enrolment",
            signal="enrolment_change",
            start_if_absent=True,
            to_request=_enrolment_request,
        ),
        EventRoute(
            event_type="childcare.classroom.handover",
            model=HandoverEvent,
            process="childcare.classroom",
            signal="handover_event",
            check=check_handover,
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
    task_types=TASK_TYPES,
    migrations=Path(__file__).parent / "migrations",
)

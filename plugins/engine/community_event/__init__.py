"""The shared community event process 社区活动: registration, reminders, attendance, report.

Film screenings 公益观影 and child-safety workshops 安全"童"行 run on it today; eldercare culture
classes (银龄风采 dance, calligraphy) reuse it unchanged. The flow:

registration with a capacity and a waiting list (``register`` / ``cancel`` Updates for clients,
the same as routed events for the CLI; a cancellation promotes the head of the waiting list) →
reminder to every confirmed registrant the day before → registration closes at the start →
attendance task for community staff (escalates to the district admin) → report.

Registrants are registry ids (``P…``); names and phones never enter the workflow.

Refusals 拒绝规则: a registrant the registry does not hold (or of another district) is refused
at the boundary (exit 2, nothing sent). Whether a registration or a cancellation can be
accepted (registration closed, already registered, not registered) is known only to the
running process: the ``register`` / ``cancel`` Updates answer it at once; a routed event is
refused by the process and recorded in the case record (``event_request_refused``).

Public contract (what other plugins and clients use): the process id
``COMMUNITY_EVENT_PROCESS``, its request and result, the ``register`` / ``cancel`` Updates'
arguments and answer, the desk events, the attendance form and the ``part`` the engine
plugin registers.
"""

from __future__ import annotations

from careflow.contract import EventRoute, PluginPart, ProcessSpec, TaskType
from plugins.engine.community_event.forms import ATTENDANCE_FORM_ALIASES, AttendanceForm
from plugins.engine.community_event.models import (
    COMMUNITY_EVENT_POINTS,
    COMMUNITY_EVENT_PROCESS,
    CancellationEvent,
    CancelRequest,
    CommunityEventParams,
    CommunityEventRequest,
    CommunityEventResult,
    EventOutcome,
    RegisterRequest,
    RegistrationEvent,
    RegistrationStatus,
    RegistrationView,
)
from plugins.engine.community_event.views import attendance_context
from plugins.engine.community_event.workflows import CommunityEventWorkflow

__all__ = [
    "COMMUNITY_EVENT",
    "COMMUNITY_EVENT_POINTS",
    "COMMUNITY_EVENT_PROCESS",
    "AttendanceForm",
    "CancelRequest",
    "CancellationEvent",
    "CommunityEventParams",
    "CommunityEventRequest",
    "CommunityEventResult",
    "CommunityEventWorkflow",
    "EventOutcome",
    "RegisterRequest",
    "RegistrationEvent",
    "RegistrationStatus",
    "RegistrationView",
    "part",
]

COMMUNITY_EVENT = ProcessSpec(
    id=COMMUNITY_EVENT_PROCESS,
    module="shared",
    title_zh="社区活动",
    title_en="Community event",
    workflow=CommunityEventWorkflow,
    request_model=CommunityEventRequest,
    params_model=CommunityEventParams,
    extension_points=COMMUNITY_EVENT_POINTS,
)

part = PluginPart(
    processes=(COMMUNITY_EVENT,),
    routes=(
        EventRoute(
            event_type="community_event.register",
            model=RegistrationEvent,
            process=COMMUNITY_EVENT_PROCESS,
            signal="register_event",
        ),
        EventRoute(
            event_type="community_event.cancel",
            model=CancellationEvent,
            process=COMMUNITY_EVENT_PROCESS,
            signal="cancel_event",
        ),
    ),
    task_types=(
        TaskType(
            form=AttendanceForm,
            context=attendance_context,
            title_zh="活动签到",
            title_en="Event attendance",
            aliases=ATTENDANCE_FORM_ALIASES,
        ),
    ),
)

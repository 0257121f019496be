"""The engine plugin: engine activities, the shared Delivery process and the launcher.

It registers through the ``careflow.plugins`` entry point exactly like any other plugin; the
registry refuses to run processes without the engine activities it provides.
"""

from __future__ import annotations

from activities.notifications import NotificationActivities
from activities.plans import PlanActivities
from activities.records import CaseRecordActivities
from activities.tasks import TaskActivities
from careflow.contract import ActivitySet, CarePlugin, EventRoute, ProcessSpec, TaskType
from plugins.engine.views import attendance_context, dropoff_context, handover_context
from workflows.community_event import (
    COMMUNITY_EVENT_POINTS,
    AttendanceForm,
    CancellationEvent,
    CommunityEventParams,
    CommunityEventRequest,
    CommunityEventWorkflow,
    RegistrationEvent,
)
from workflows.delivery import (
    DELIVERY_POINTS,
    DeliveryParams,
    DeliveryRequest,
    DeliveryWorkflow,
    DropoffEvent,
    DropoffForm,
    HandoverForm,
)
from workflows.launcher import ScheduledLaunchWorkflow

__all__ = ["COMMUNITY_EVENT", "DELIVERY", "plugin"]

DELIVERY = ProcessSpec(
    id="delivery",
    module="shared",
    title_zh="物资配送",
    title_en="Delivery of goods",
    workflow=DeliveryWorkflow,
    request_model=DeliveryRequest,
    params_model=DeliveryParams,
    extension_points=DELIVERY_POINTS,
)

COMMUNITY_EVENT = ProcessSpec(
    id="community_event",
    module="shared",
    title_zh="社区活动",
    title_en="Community event",
    workflow=CommunityEventWorkflow,
    request_model=CommunityEventRequest,
    params_model=CommunityEventParams,
    extension_points=COMMUNITY_EVENT_POINTS,
)

plugin = CarePlugin(
    name="engine",
    version="0.1.0",
    title_zh="流程引擎",
    title_en="Process engine",
    order=0,
    processes=(DELIVERY, COMMUNITY_EVENT),
    routes=(
        EventRoute(
            event_type="delivery.dropoff",
            model=DropoffEvent,
            process="delivery",
            signal="dropoff_recorded",
        ),
        EventRoute(
            event_type="community_event.register",
            model=RegistrationEvent,
            process="community_event",
            signal="register_event",
        ),
        EventRoute(
            event_type="community_event.cancel",
            model=CancellationEvent,
            process="community_event",
            signal="cancel_event",
        ),
    ),
    workflows=(ScheduledLaunchWorkflow,),
    task_types=(
        TaskType(
            form=DropoffForm, context=dropoff_context, title_zh="物资送达", title_en="Drop-off"
        ),
        TaskType(
            form=HandoverForm, context=handover_context, title_zh="入户交接", title_en="Hand-over"
        ),
        TaskType(
            form=AttendanceForm,
            context=attendance_context,
            title_zh="活动签到",
            title_en="Event attendance",
        ),
    ),
    activities=(
        ActivitySet(
            cls=TaskActivities,
            build=lambda deps: TaskActivities(deps.engine, registry=deps.registry),
        ),
        ActivitySet(cls=CaseRecordActivities, build=lambda deps: CaseRecordActivities(deps.engine)),
        ActivitySet(
            cls=NotificationActivities,
            build=lambda deps: NotificationActivities(deps.engine, deps.notifications),
        ),
        ActivitySet(cls=PlanActivities, build=lambda deps: PlanActivities(deps.registry)),
    ),
)

"""Smart health stations 智慧健康驿站: readings, alerts, the doctor's review.

Public contract: the event ``eldercare.reading`` (:class:`ReadingEvent`, ``case_ref`` = the
elder's registry id), the monitor and alert processes, their params and the alert result.

Refusals 拒绝规则: a reading whose ``case_ref`` is not an elder of the registry in the event's
district is refused before it is sent (exit 2 at the CLI): no monitor starts, nothing is
stored. Whether a reading raises an alert is the process's decision, recorded in its case.
"""

from __future__ import annotations

from careflow.contract import ActivitySet, EventRoute, PluginPart, ProcessSpec
from plugins.eldercare.health.activities import HealthActivities
from plugins.eldercare.health.models import (
    HEALTH_ALERT_PROCESS,
    HEALTH_MONITOR_PROCESS,
    AlertParams,
    AlertRequest,
    AlertResult,
    HealthRules,
    MonitorParams,
    MonitorRequest,
    MonitorResult,
    ReadingEvent,
)
from plugins.eldercare.health.views import TASK_TYPES
from plugins.eldercare.health.workflows import (
    ALERT_POINTS,
    HealthAlertWorkflow,
    HealthMonitorWorkflow,
)

__all__ = [
    "ALERT_POINTS",
    "HEALTH_ALERT",
    "HEALTH_ALERT_PROCESS",
    "HEALTH_MONITOR",
    "HEALTH_MONITOR_PROCESS",
    "READING_EVENT",
    "AlertParams",
    "AlertRequest",
    "AlertResult",
    "HealthAlertWorkflow",
    "HealthMonitorWorkflow",
    "HealthRules",
    "MonitorParams",
    "MonitorRequest",
    "MonitorResult",
    "ReadingEvent",
    "part",
]

READING_EVENT = "eldercare.reading"


def _monitor_request(_event: ReadingEvent) -> MonitorRequest:
    return MonitorRequest(opened_by="reading")


HEALTH_MONITOR = ProcessSpec(
    id=HEALTH_MONITOR_PROCESS,
    module="eldercare",
    title_zh="健康驿站监测",
    title_en="Health station monitoring",
    workflow=HealthMonitorWorkflow,
    request_model=MonitorRequest,
    params_model=MonitorParams,
    long_lived=True,
    # A district practice: off until a district plugin's programme switches it on.
    default_enabled=False,
)

HEALTH_ALERT = ProcessSpec(
    id=HEALTH_ALERT_PROCESS,
    module="eldercare",
    title_zh="健康预警处置",
    title_en="Health alert review",
    workflow=HealthAlertWorkflow,
    request_model=AlertRequest,
    params_model=AlertParams,
    extension_points=ALERT_POINTS,
    default_enabled=False,
)

part = PluginPart(
    processes=(HEALTH_MONITOR, HEALTH_ALERT),
    routes=(
        EventRoute(
            event_type=READING_EVENT,
            model=ReadingEvent,
            process=HEALTH_MONITOR_PROCESS,
            signal="reading",
            start_if_absent=True,
            to_request=_monitor_request,
        ),
    ),
    activities=(
        ActivitySet(cls=HealthActivities, build=lambda deps: HealthActivities(deps.engine)),
    ),
    task_types=TASK_TYPES,
)

"""Smart health stations 智慧健康驿站: readings, alerts, the doctor's review.

Public contract: the event ``eldercare.reading`` (:class:`ReadingEvent`, ``case_ref`` = the
elder's registry id), the monitor and alert processes, their params and the alert result.

Refusals 拒绝规则: a reading whose ``case_ref`` is not an elder of the registry in the event's
district, or whose elder has no consent to health monitoring on record on the day it was
measured (``careflow consent``, purpose ``health_monitoring``), is refused before it is sent
(exit 2 at the CLI): no monitor starts, nothing is stored. A withdrawal ends the elder's
monitor (signal ``consent_withdrawn``, a recorded end); the next retention run removes the
readings. Whether a reading raises an alert is the process's decision, recorded in its case.

Public API (``__all__``; other plugins import only this package): the reading event
(:data:`READING_EVENT`, :class:`ReadingEvent`), the process ids, the alert's extension points,
the requests, params (with :class:`HealthRules`) and results, and
:func:`latest_reading_ids` (the row ids of an elder's latest readings, for a district step that
attaches them to a case; the values stay in the unit's table). Everything else (workflows,
activities, tables, forms, rules) is internal.
"""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session

from careflow.contract import ActivitySet, EventRoute, PluginPart, ProcessSpec
from careflow.errors import InputError
from careflow.localtime import STAFF_TIMEZONE
from careflow.privacy.consent import has_consent
from careflow.privacy.pseudonyms import load_pseudonyms
from plugins.eldercare.health.activities import HealthActivities
from plugins.eldercare.health.figures import FIGURES
from plugins.eldercare.health.models import (
    HEALTH_ALERT_PROCESS,
    HEALTH_CONSENT_PURPOSE,
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
from plugins.eldercare.health.readings import latest_reading_ids
from plugins.eldercare.health.views import TASK_TYPES
from plugins.eldercare.health.workflows import (
    ALERT_POINTS,
    HealthAlertWorkflow,
    HealthMonitorWorkflow,
)

__all__ = [
    "ALERT_POINTS",
    "HEALTH_ALERT_PROCESS",
    "HEALTH_MONITOR_PROCESS",
    "READING_EVENT",
    "AlertParams",
    "AlertRequest",
    "AlertResult",
    "HealthRules",
    "MonitorParams",
    "MonitorRequest",
    "MonitorResult",
    "ReadingEvent",
    "latest_reading_ids",
    "part",
]

READING_EVENT = "eldercare.reading"


def _monitor_request(_event: ReadingEvent) -> MonitorRequest:
    return MonitorRequest(opened_by="reading")


def _reading_consent(session: Session, _district: str, event: ReadingEvent) -> None:
    """A reading is used only with the elder's consent to health monitoring on record."""
    if not has_consent(
        session,
        subject_id=event.case_ref,
        purpose=HEALTH_CONSENT_PURPOSE,
        on=event.measured_at.astimezone(STAFF_TIMEZONE).date(),
    ):
        raise InputError(
            "case_ref",
            "该老人没有健康监测的同意记录，读数未使用 "
            "no consent to health monitoring on record: the reading is not used",
        )


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
            check=_reading_consent,
        ),
    ),
    activities=(
        ActivitySet(
            cls=HealthActivities,
            build=lambda deps: HealthActivities(
                deps.engine, pseudonyms=load_pseudonyms(deps.settings)
            ),
        ),
    ),
    task_types=TASK_TYPES,
    figures=(FIGURES,),
    migrations=Path(__file__).parent / "migrations",
)

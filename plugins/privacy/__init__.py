"""Privacy 个人信息保护: the retention process that deletes or anonymises closed cases' data.

``privacy.retention`` runs in every district, daily at 02:30 Asia/Shanghai (param
``run_time``), from the schedule ``careflow.privacy.retention.<district>``. It deletes or
anonymises the personal data of cases (processes) that closed longer ago than their purpose's
retention period, never touches a case whose workflow is still open, and writes what it did
as counts (its result, a case record, ``retention.run`` audit rows). ``careflow retention run
--district X --dry-run`` counts without changing anything.

Default retention periods (district params of ``privacy.retention``, ISO 8601 durations;
a district plugin's programme or the configuration file overrides them like any param)::

    purpose          processes                                   kept after close
    microwish        childcare.microwish                         3 years  (P1095D)
    delivery         delivery                                    3 years  (P1095D)
    classroom        childcare.classroom, _day, _enrolment       1 year   (P365D)
    dining           childcare.dining_inspection, _round, …      2 years  (P730D)
    places           childcare.places                            2 years  (P730D)
    health           eldercare.health_monitor, health_alert      2 years  (P730D)
    curtain          eldercare.curtain_round, _check, _away      180 days (P180D)
    green_channel    eldercare.green_channel                     5 years  (P1825D)
    tiers            eldercare.tiers                             3 years  (P1095D)
    pension          eldercare.pension, pension_visit            5 years  (P1825D)
    festival         eldercare.festival                          1 year   (P365D)
    community_event  community_event                             1 year   (P365D)

Why each: :data:`plugins.privacy.purposes.PURPOSES`. What happens to which table:
:mod:`plugins.privacy.catalogue`. How a case is known to be closed: :mod:`.activities`. The
namespace's history retention against these: :mod:`.namespace`.
"""

from __future__ import annotations

from pathlib import Path

from careflow.contract import ActivitySet, CarePlugin, ProcessSpec, ScheduleSpec
from plugins.privacy.activities import RetentionActivities
from plugins.privacy.models import (
    RETENTION_PROCESS,
    PurposeReport,
    RetentionParams,
    RetentionRequest,
    RetentionResult,
    Tally,
)
from plugins.privacy.namespace import check_namespace, limit_namespace_retention
from plugins.privacy.purposes import PURPOSES, Purpose
from plugins.privacy.workflows import RetentionWorkflow

__all__ = [
    "PURPOSES",
    "RETENTION",
    "RETENTION_PROCESS",
    "RETENTION_SCHEDULE",
    "Purpose",
    "PurposeReport",
    "RetentionParams",
    "RetentionRequest",
    "RetentionResult",
    "RetentionWorkflow",
    "Tally",
    "check_namespace",
    "limit_namespace_retention",
    "plugin",
]

RETENTION = ProcessSpec(
    id=RETENTION_PROCESS,
    module="privacy",
    title_zh="个人信息保留期限处理",
    title_en="Retention of personal data",
    workflow=RetentionWorkflow,
    request_model=RetentionRequest,
    params_model=RetentionParams,
    # A city-wide duty (PIPL art. 19), so every district runs it unless a programme says not.
    default_enabled=True,
    long_lived=True,
    start_roles=("district_admin",),
)

RETENTION_SCHEDULE = ScheduleSpec(
    id=RETENTION_PROCESS,
    process=RETENTION_PROCESS,
    title_zh="每日个人信息保留期限处理",
    crons=("30 2 * * *",),
    time_zone="Asia/Shanghai",
    time_param="run_time",
)

plugin = CarePlugin(
    name="privacy",
    version="0.1.0",
    title_zh="个人信息保护",
    title_en="Privacy",
    order=20,
    processes=(RETENTION,),
    migrations=Path(__file__).parent / "migrations",
    schedules=(RETENTION_SCHEDULE,),
    activities=(
        ActivitySet(
            cls=RetentionActivities,
            build=lambda deps: RetentionActivities(
                deps.engine, settings=deps.settings, registry=deps.registry
            ),
        ),
    ),
)

"""Door-to-door pension certification 上门养老认证 for home-bound pensioners.

Public contract: the campaign and visit processes, the yearly schedule, the
:class:`SocialInsuranceAdapter` interface with its embedded adapter, and the extension point
``after_certification_visit`` (where a district adds, e.g., a free clinic 义诊).

Public API (``__all__``; other plugins import only this package): the process ids, their
extension points, the yearly schedule, the requests, params and results, and the
social-insurance adapter interface with its embedded adapter and their payloads. Everything
else (workflows, activities, tables, forms) is internal.
"""

from __future__ import annotations

from pathlib import Path

from careflow.contract import ActivitySet, PluginPart, ProcessSpec, ScheduleSpec
from plugins.eldercare.pension.activities import PensionActivities
from plugins.eldercare.pension.adapters import EmbeddedSocialInsurance, SocialInsuranceAdapter
from plugins.eldercare.pension.models import (
    PENSION_CAMPAIGN_PROCESS,
    PENSION_VISIT_PROCESS,
    CampaignParams,
    CampaignRequest,
    CampaignResult,
    SubmitInput,
    SubmitResult,
    VisitParams,
    VisitRequest,
    VisitResult,
)
from plugins.eldercare.pension.views import TASK_TYPES
from plugins.eldercare.pension.workflows import (
    CAMPAIGN_POINTS,
    VISIT_POINTS,
    PensionCampaignWorkflow,
    PensionVisitWorkflow,
)

__all__ = [
    "CAMPAIGN_POINTS",
    "PENSION_CAMPAIGN_PROCESS",
    "PENSION_SCHEDULE",
    "PENSION_VISIT_PROCESS",
    "VISIT_POINTS",
    "CampaignParams",
    "CampaignRequest",
    "CampaignResult",
    "EmbeddedSocialInsurance",
    "SocialInsuranceAdapter",
    "SubmitInput",
    "SubmitResult",
    "VisitParams",
    "VisitRequest",
    "VisitResult",
    "part",
]

PENSION_CAMPAIGN = ProcessSpec(
    id=PENSION_CAMPAIGN_PROCESS,
    module="eldercare",
    title_zh="年度上门养老认证",
    title_en="Yearly door-to-door pension certification",
    workflow=PensionCampaignWorkflow,
    request_model=CampaignRequest,
    params_model=CampaignParams,
    extension_points=CAMPAIGN_POINTS,
    # A district practice: off until a district plugin's programme switches it on.
    default_enabled=False,
)

PENSION_VISIT = ProcessSpec(
    id=PENSION_VISIT_PROCESS,
    module="eldercare",
    title_zh="上门养老认证走访",
    title_en="Pension certification visit",
    workflow=PensionVisitWorkflow,
    request_model=VisitRequest,
    params_model=VisitParams,
    extension_points=VISIT_POINTS,
    default_enabled=False,
)

PENSION_SCHEDULE = ScheduleSpec(
    id="eldercare.pension.yearly",
    process=PENSION_CAMPAIGN_PROCESS,
    title_zh="每年3月1日启动上门养老认证",
    crons=("0 9 1 3 *",),
)

part = PluginPart(
    processes=(PENSION_CAMPAIGN, PENSION_VISIT),
    schedules=(PENSION_SCHEDULE,),
    activities=(
        ActivitySet(
            cls=PensionActivities,
            build=lambda deps: PensionActivities(deps.engine, EmbeddedSocialInsurance(deps.engine)),
        ),
    ),
    task_types=TASK_TYPES,
    migrations=Path(__file__).parent / "migrations",
)

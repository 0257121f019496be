"""Three-colour tiered care 三色分级: one long-lived care plan per elder.

Public contract: the process id and how to find an elder's plan (:func:`tiers_workflow_id`),
the ``reassess`` and ``close_plan`` signals (:class:`ReassessSignal`, :class:`ClosePlanSignal`),
the request, params and the tiers.
"""

from __future__ import annotations

from careflow.contract import ActivitySet, PluginPart, ProcessSpec
from plugins.eldercare.tiers.activities import TiersActivities
from plugins.eldercare.tiers.models import (
    TIERS_PROCESS,
    ClosePlanSignal,
    ReassessSignal,
    Tier,
    TierRules,
    TiersParams,
    TiersRequest,
    TiersResult,
    tiers_workflow_id,
)
from plugins.eldercare.tiers.views import TASK_TYPES
from plugins.eldercare.tiers.workflows import TIERS_POINTS, TiersWorkflow

__all__ = [
    "TIERS",
    "TIERS_POINTS",
    "TIERS_PROCESS",
    "ClosePlanSignal",
    "ReassessSignal",
    "Tier",
    "TierRules",
    "TiersParams",
    "TiersRequest",
    "TiersResult",
    "TiersWorkflow",
    "part",
    "tiers_workflow_id",
]

TIERS = ProcessSpec(
    id=TIERS_PROCESS,
    module="eldercare",
    title_zh="三色分级关爱",
    title_en="Three-colour tiered care",
    workflow=TiersWorkflow,
    request_model=TiersRequest,
    params_model=TiersParams,
    extension_points=TIERS_POINTS,
    long_lived=True,
    # A district practice: off until a district plugin's programme switches it on.
    default_enabled=False,
)

part = PluginPart(
    processes=(TIERS,),
    activities=(ActivitySet(cls=TiersActivities, build=lambda deps: TiersActivities(deps.engine)),),
    task_types=TASK_TYPES,
)

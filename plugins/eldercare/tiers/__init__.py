"""Three-colour tiered care 三色分级: one long-lived care plan per elder.

Public API (``__all__``; other plugins import only this package): the process id
:data:`TIERS_PROCESS` and its extension points, the request, params (with :class:`TierRules`),
result and the tiers; how to find an elder's plan (:func:`plan_workflow_ids` outside workflows,
:func:`tiers_workflow_id` with the elder's case key inside them); the signals ``reassess``
(:data:`REASSESS_SIGNAL`, input :class:`ReassessSignal`; :func:`ask_plan_to_reassess` sends it
from an activity with the worker's client) and ``close_plan`` (:data:`CLOSE_PLAN_SIGNAL`,
:class:`ClosePlanSignal`). Everything else (workflow, activities, tables, forms, rules) is
internal.
"""

from __future__ import annotations

from pathlib import Path

from careflow.contract import ActivitySet, PluginPart, ProcessSpec
from plugins.eldercare.care_plans import ask_plan_to_reassess, plan_workflow_ids
from plugins.eldercare.tiers.activities import TiersActivities
from plugins.eldercare.tiers.figures import FIGURES
from plugins.eldercare.tiers.models import (
    CLOSE_PLAN_SIGNAL,
    REASSESS_SIGNAL,
    TIERS_PROCESS,
    ClosePlanSignal,
    ReassessReason,
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
    "CLOSE_PLAN_SIGNAL",
    "REASSESS_SIGNAL",
    "TIERS_POINTS",
    "TIERS_PROCESS",
    "ClosePlanSignal",
    "ReassessReason",
    "ReassessSignal",
    "Tier",
    "TierRules",
    "TiersParams",
    "TiersRequest",
    "TiersResult",
    "ask_plan_to_reassess",
    "part",
    "plan_workflow_ids",
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
    migrations=Path(__file__).parent / "migrations",
    figures=(FIGURES,),
)

"""Data shapes of three-colour tiered care 三色分级: request, params, signals, activity I/O.

Pure models: the workflow imports them through the sandbox passthrough. The process id, the
workflow id and the ``reassess`` signal are shared with the units that ask for a reassessment
(:mod:`plugins.eldercare.contracts`) and re-exported here. Everything here holds
codes and opaque registry ids only; names and addresses stay in the registry.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from careflow.inputs import ExternalModel
from careflow.models import ProcessContext
from careflow.params import PositiveDuration
from plugins.eldercare.contracts import (
    REASSESS_SIGNAL,
    TIERS_PROCESS,
    ReassessReason,
    ReassessSignal,
    tiers_workflow_id,
)

__all__ = [
    "CLOSE_PLAN_SIGNAL",
    "REASSESS_SIGNAL",
    "TIERS_PROCESS",
    "TIER_ZH",
    "ActivityNames",
    "AssessmentInput",
    "AssessmentResult",
    "ClosePlanInput",
    "ClosePlanSignal",
    "ElderFacts",
    "FactsInput",
    "ReassessReason",
    "ReassessSignal",
    "Tier",
    "TierRules",
    "TiersCarry",
    "TiersParams",
    "TiersRequest",
    "TiersResult",
    "tiers_workflow_id",
]


class ActivityNames:
    """Names of this unit's activities, called by name from the workflow."""

    ELDER_FACTS = "eldercare.tiers.elder_facts"
    RECORD_ASSESSMENT = "eldercare.tiers.record_assessment"
    CLOSE_PLAN = "eldercare.tiers.close_plan"


class Tier(StrEnum):
    """The colour of an elder's care plan."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


TIER_ZH: dict[Tier, str] = {Tier.GREEN: "绿色", Tier.YELLOW: "黄色", Tier.RED: "红色"}


class TiersRequest(ExternalModel):
    """What opens an elder's care plan.

    The elder is the case: start it with ``--case-ref <registry id>`` (``P00012``), so that the
    workflow id is ``eldercare.tiers-<district>-<the elder's case key>`` and health alerts
    (which key the same registry id) can find it.
    """

    opened_for: Literal["new", "health_alert", "referral", "staff"] = Field(
        default="new",
        title="建档原因 Opened for",
        description="new 新建档；health_alert 健康预警；referral 转介；staff 社区工作人员发起",
    )


class TierRules(BaseModel):
    """Grading rules. Red is checked first, then yellow; everyone else is green."""

    red_disability_level: int = Field(default=3, ge=1, le=4)
    red_age: int = Field(default=90, ge=60)
    red_lone_age: int = Field(default=80, ge=60, description="Lives alone and at least this old.")
    red_health_events: int = Field(default=2, ge=1)
    yellow_age: int = Field(default=80, ge=60)
    yellow_disability_level: int = Field(default=1, ge=1, le=4)
    yellow_health_events: int = Field(default=1, ge=1)
    yellow_if_lives_alone: bool = True


class TiersParams(BaseModel):
    """What a district may set for tiered care."""

    rules: TierRules = Field(default_factory=TierRules)
    reassess_every: PositiveDuration = timedelta(days=182)
    assessment_due: PositiveDuration = timedelta(days=7)
    assessment_escalation_due: PositiveDuration = timedelta(days=3)
    green_invite_every: PositiveDuration = timedelta(days=30)
    yellow_visit_every: PositiveDuration = timedelta(days=14)
    yellow_visit_due: PositiveDuration = timedelta(days=3)
    red_visit_every: PositiveDuration = timedelta(days=7)
    red_visit_due: PositiveDuration = timedelta(days=2)
    visit_escalation_due: PositiveDuration = timedelta(days=1)
    max_history: int = Field(
        default=2000, ge=20, description="Continue as new past this many history events."
    )


CLOSE_PLAN_SIGNAL = "close_plan"
"""The care plan's signal ending it; its input is :class:`ClosePlanSignal`."""


class ClosePlanSignal(ExternalModel):
    """Signal ``close_plan``: the elder moved away, died or left the programme."""

    reason: Literal["moved", "deceased", "withdrawn", "not_registered"]


class TiersCarry(BaseModel):
    """State carried across continue-as-new. Counters keep step keys unique for years."""

    tier: Tier | None = None
    assessments: int = 0
    cycles: int = 0
    missed_visits: int = 0
    runs: int = 0
    health_events: int = Field(default=0, description="Alerts/referrals since last assessment.")
    next_cycle_at: datetime | None = None
    next_reassess_at: datetime | None = None
    pending_reasons: list[str] = Field(default_factory=list)
    volunteer_ref: str | None = None


class FactsInput(BaseModel):
    """Ask the registry for what grading needs, as of a date chosen by the workflow."""

    elder_ref: str
    as_of: date


class ElderFacts(BaseModel):
    """What the registry says about an elder: no name, no address, no birth date."""

    known: bool
    age: int = 0
    disability_level: int = 0
    lives_alone: bool = False
    community: str | None = None


class AssessmentInput(BaseModel):
    """Store an assessment and apply its tier (pairing, watched flag); idempotent on the key."""

    workflow_id: str
    step_key: str
    context: ProcessContext
    tier: Tier
    previous: Tier | None
    reasons: list[str]
    source: Literal["form", "registry"]
    assessed_at: datetime


class ClosePlanInput(BaseModel):
    """End an elder's care plan: pairings end, the elder is no longer watched."""

    workflow_id: str
    context: ProcessContext
    reason: str


class AssessmentResult(BaseModel):
    """What applying a tier did."""

    assessment_id: int
    volunteer_ref: str | None = None
    watched: bool = False


class TiersResult(BaseModel):
    """What a closed care plan reports."""

    tier: Tier | None
    closed_reason: str
    assessments: int
    cycles: int
    missed_visits: int
    runs: int

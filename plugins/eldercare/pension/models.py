"""Data shapes of door-to-door pension certification 上门养老认证."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from careflow.inputs import AreaCode, ExternalModel, Ref, RegistryRef
from careflow.models import ProcessContext
from careflow.params import PositiveDuration

__all__ = [
    "PENSION_CAMPAIGN_PROCESS",
    "PENSION_VISIT_PROCESS",
    "ActivityNames",
    "CampaignParams",
    "CampaignRequest",
    "CampaignResult",
    "ListPensionersInput",
    "Pensioner",
    "SubmitInput",
    "SubmitResult",
    "VisitOutcome",
    "VisitParams",
    "VisitRequest",
    "VisitResult",
]

PENSION_CAMPAIGN_PROCESS = "eldercare.pension"
PENSION_VISIT_PROCESS = "eldercare.pension_visit"

VisitOutcome = Literal["certified", "deceased", "identity_not_confirmed", "not_reached", "missed"]


class ActivityNames:
    """Names of this unit's activities, called by name from the workflows."""

    LIST_PENSIONERS = "eldercare.pension.list_pensioners"
    SUBMIT = "eldercare.pension.submit_certification"


class CampaignRequest(ExternalModel):
    """What starts a district's yearly campaign (the schedule passes an empty request)."""

    year: int | None = Field(
        default=None,
        ge=2020,
        le=2100,
        title="认证年度 Year",
        description="默认今年。 Default: this year.",
    )
    communities: list[AreaCode] = Field(
        default_factory=list,
        max_length=100,
        title="社区 Communities",
        description="只在区内这些社区开展，每行一个社区代码；留空为全部。 "
        "Limit to these communities of the district; empty means all.",
    )


class CampaignParams(BaseModel):
    """What a district may set for the campaign."""

    batch_size: int = Field(default=50, ge=1, le=500, description="Visits started per batch.")


class VisitRequest(ExternalModel):
    """One elder's certification visit of one year."""

    elder_ref: Annotated[Ref, Field(max_length=16), RegistryRef("person", person_kind="elder")] = (
        Field(
            title="老人编号 Elder",
            description="老人的登记编号（P…）。 Registry id of the elder (P…).",
        )
    )
    year: int = Field(ge=2020, le=2100, title="认证年度 Year")


class VisitParams(BaseModel):
    """Due times of the visit: together they end before social insurance's deadline."""

    visit_due: PositiveDuration = timedelta(days=21)
    staff_escalation_due: PositiveDuration = timedelta(days=7)
    admin_escalation_due: PositiveDuration = timedelta(days=3)
    attempts: int = Field(default=2, ge=1, le=5, description="Visits when nobody is at home.")


class ListPensionersInput(BaseModel):
    """Which district and communities to list."""

    district: str
    communities: list[str] = Field(default_factory=list)


class Pensioner(BaseModel):
    """A home-bound pensioner: registry id and community only."""

    elder_ref: str
    community: str


class SubmitInput(BaseModel):
    """Submit one certification to social insurance (idempotent on workflow id + step key)."""

    workflow_id: str
    step_key: str
    context: ProcessContext
    elder_ref: str
    year: int
    identity_method: str
    visited_by: str


class SubmitResult(BaseModel):
    """Social insurance's confirmation."""

    confirmation_ref: str


class VisitResult(BaseModel):
    """How one elder's certification ended."""

    elder_ref: str
    year: int
    outcome: VisitOutcome
    confirmation_ref: str | None = None
    attempts: int = 0


class CampaignResult(BaseModel):
    """The campaign report: how many elders, and how each visit ended."""

    year: int
    elders: int
    outcomes: dict[str, int] = Field(default_factory=dict)

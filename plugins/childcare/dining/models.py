"""Requests, params, activity payloads and results of small dining table supervision."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from careflow.contract import CareEvent
from careflow.inputs import CaseRef, ExternalModel, Ref, RegistryRef
from careflow.params import PositiveDuration

__all__ = [
    "DINING_POINTS",
    "DINING_ROUND_POINTS",
    "DiningEnrolEvent",
    "DiningEnrolmentChange",
    "DiningEnrolmentEvent",
    "DiningEnrolmentRequest",
    "DiningEnrolmentResult",
    "DiningInspectionRequest",
    "DiningParams",
    "DiningResult",
    "DiningRoundParams",
    "DiningRoundRequest",
    "DiningRoundResult",
    "DiningUnenrolEvent",
    "InspectionOutcome",
    "ProvidersInput",
    "SetDiningEnrolmentInput",
    "SuspendInput",
    "SuspendResult",
]

DINING_POINTS = ("after_inspection", "before_recheck", "after_suspension", "before_close")
DINING_ROUND_POINTS = ("after_inspections_started",)
PERSON_REF = r"^P\d{3,}$"
PROVIDER_REF = r"^PV\d{3,}$"

ChildRef = Annotated[Ref, Field(pattern=PERSON_REF), RegistryRef("person", person_kind="child")]
"""A child of the registry, in the district of the request or event."""
ProviderRef = Annotated[Ref, Field(pattern=PROVIDER_REF), RegistryRef("provider")]
"""A small dining table (a provider) of the district."""


class DiningInspectionRequest(ExternalModel):
    """Inspect one small dining table, by registry id."""

    provider_ref: ProviderRef = Field(
        title="小饭桌编号 Dining table",
        description="被检查小饭桌的登记编号。 Registry id of the small dining table.",
    )


class DiningRoundRequest(ExternalModel):
    """The scheduled round of a district: every active small dining table."""


class DiningRoundParams(BaseModel):
    """The round has nothing to set; inspections take the inspection params."""


class DiningParams(BaseModel):
    """What a district may set for inspections."""

    inspection_due: PositiveDuration = timedelta(days=7)
    inspection_escalation_due: PositiveDuration = timedelta(days=3)
    rectification_period: PositiveDuration = Field(
        default=timedelta(days=7), description="Deadline in the rectification notice."
    )
    recheck_due: PositiveDuration = timedelta(days=3)
    recheck_escalation_due: PositiveDuration = timedelta(days=2)
    max_rechecks: int = Field(
        default=1, ge=1, le=3, description="Failed re-checks before the table is suspended."
    )


class ProvidersInput(BaseModel):
    """Which district's small dining tables."""

    district: str


class SuspendInput(BaseModel):
    """Suspend a table (idempotent on the workflow id)."""

    workflow_id: str
    provider_ref: str
    failed_items: list[str]
    at: datetime


class SuspendResult(BaseModel):
    """Registry ids of the guardians of the children who eat there."""

    guardians: list[str] = Field(default_factory=list)
    children: int = 0


class InspectionOutcome(StrEnum):
    """How an inspection case ended."""

    PASSED = "passed"
    RECTIFIED = "rectified"
    SUSPENDED = "suspended"
    INSPECTION_MISSED = "inspection_missed"
    RECHECK_MISSED = "recheck_missed"


class DiningResult(BaseModel):
    """The inspection report."""

    outcome: InspectionOutcome
    provider_ref: str
    failed_items: list[str] = Field(default_factory=list)
    rechecks: int = 0
    families_notified: int = 0


class DiningRoundResult(BaseModel):
    """The inspections a round started."""

    inspections: list[str] = Field(default_factory=list)


# -- enrolment: which families eat at which table, entered through ``careflow event``


class DiningEnrolmentEvent(CareEvent):
    """A change of where a child eats, entered by community staff.

    The case is the child: ``case_ref`` is the child's registry id and defaults to
    ``child_ref``, so every change of one child goes to the same enrolment process.
    """

    case_ref: Annotated[CaseRef, Field(pattern=PERSON_REF)] = Field(
        description="The child's registry id (P…)."
    )
    child_ref: ChildRef
    provider_ref: ProviderRef = Field(description="The small dining table.")
    actor: Ref = Field(description="Staff id making the change.")
    active: bool = True

    @model_validator(mode="before")
    @classmethod
    def _case_is_child(cls, data: Any) -> Any:
        if isinstance(data, dict) and "child_ref" in data and "case_ref" not in data:
            return {**data, "case_ref": data["child_ref"]}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> DiningEnrolmentEvent:
        if self.case_ref != self.child_ref:
            raise ValueError("case_ref must be the child's registry id (child_ref)")
        if self.community is not None and not self.community.startswith(f"{self.district}."):
            raise ValueError(f"community {self.community!r} is not in {self.district!r}")
        return self


class DiningEnrolEvent(DiningEnrolmentEvent):
    """``childcare.dining_enrol``: the child eats at this table; the family hears of problems."""

    active: Literal[True] = True


class DiningUnenrolEvent(DiningEnrolmentEvent):
    """``childcare.dining_unenrol``: the child no longer eats at this table."""

    active: Literal[False] = False


class DiningEnrolmentRequest(ExternalModel):
    """The enrolment process of one child; changes arrive as ``enrolment_change`` signals."""

    child_ref: ChildRef = Field(
        title="儿童编号 Child", description="儿童的登记编号（P…）。 Registry id of the child (P…)."
    )


class SetDiningEnrolmentInput(BaseModel):
    """Write one change after checking it against the registry."""

    workflow_id: str
    child_ref: str
    provider_ref: str
    district: str
    active: bool


class DiningEnrolmentChange(BaseModel):
    """What one change did: refused (with the reason), applied, or already so."""

    accepted: bool
    reason: str = ""
    changed: bool = False
    active: bool
    provider_ref: str


class DiningEnrolmentResult(BaseModel):
    """Every change the enrolment process applied, in order."""

    child_ref: str
    changes: list[DiningEnrolmentChange] = Field(default_factory=list)

"""Requests, params, activity payloads and results of small dining table supervision."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field

__all__ = [
    "DINING_POINTS",
    "DINING_ROUND_POINTS",
    "DiningInspectionRequest",
    "DiningParams",
    "DiningResult",
    "DiningRoundParams",
    "DiningRoundRequest",
    "DiningRoundResult",
    "InspectionOutcome",
    "ProvidersInput",
    "SuspendInput",
    "SuspendResult",
]

DINING_POINTS = ("after_inspection", "before_recheck", "after_suspension", "before_close")
DINING_ROUND_POINTS = ("after_inspections_started",)


class DiningInspectionRequest(BaseModel):
    """Inspect one small dining table, by registry id."""

    provider_ref: str = Field(pattern=r"^PV\d{3,}$")


class DiningRoundRequest(BaseModel):
    """The scheduled round of a district: every active small dining table."""


class DiningRoundParams(BaseModel):
    """The round has nothing to set; inspections take the inspection params."""


class DiningParams(BaseModel):
    """What a district may set for inspections."""

    inspection_due: timedelta = timedelta(days=7)
    inspection_escalation_due: timedelta = timedelta(days=3)
    rectification_period: timedelta = Field(
        default=timedelta(days=7), description="Deadline in the rectification notice."
    )
    recheck_due: timedelta = timedelta(days=3)
    recheck_escalation_due: timedelta = timedelta(days=2)
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

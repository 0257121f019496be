"""Tables of tiered care: each assessment, and each elder's current care plan.

Both hold codes and registry ids only. The care-plan row is what other processes read (the
curtain round reads ``watched``; reports count elders per tier).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, SQLModel

from careflow.db.types import UTCDateTime, utcnow

__all__ = ["TierAssessment", "TierCarePlan"]


class TierAssessment(SQLModel, table=True):
    """One grading of an elder; unique on (workflow id, step key) so a retry adds nothing."""

    __tablename__ = "ec_tiers_assessment"
    __table_args__ = (
        UniqueConstraint("workflow_id", "step_key", name="uq_ec_tiers_assessment_workflow_step"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workflow_id: str = Field(max_length=255)
    step_key: str = Field(max_length=255)
    elder_ref: str = Field(max_length=16, index=True)
    district: str = Field(max_length=64)
    tier: str = Field(max_length=8, description="'green', 'yellow' or 'red'.")
    previous_tier: str | None = Field(default=None, max_length=8)
    reasons: list[Any] = Field(default_factory=list, sa_type=JSON)
    source: str = Field(max_length=16, description="'form' or 'registry'.")
    assessed_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TierCarePlan(SQLModel, table=True):
    """An elder's current tier, paired volunteer and whether curtain checks watch them."""

    __tablename__ = "ec_tiers_care_plan"

    elder_ref: str = Field(primary_key=True, max_length=16)
    district: str = Field(max_length=64, index=True)
    community: str | None = Field(default=None, max_length=64)
    tier: str = Field(max_length=8, index=True)
    active: bool = True
    watched: bool = False
    volunteer_ref: str | None = Field(default=None, max_length=16)
    assessment_id: int | None = None
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

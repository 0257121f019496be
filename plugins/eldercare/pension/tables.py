"""Tables of pension certification: each submission to social insurance."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from careflow.db.types import UTCDateTime, utcnow

__all__ = ["PensionSubmission"]


class PensionSubmission(SQLModel, table=True):
    """A certification submitted through the embedded social-insurance adapter."""

    __tablename__ = "ec_pension_submission"
    __table_args__ = (
        UniqueConstraint("workflow_id", "step_key", name="uq_ec_pension_submission_workflow_step"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workflow_id: str = Field(max_length=255)
    step_key: str = Field(max_length=255)
    elder_ref: str = Field(max_length=16, index=True)
    district: str = Field(max_length=64)
    year: int
    identity_method: str = Field(max_length=16)
    visited_by: str = Field(max_length=64)
    confirmation_ref: str = Field(max_length=64)
    adapter: str = Field(max_length=32)
    submitted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

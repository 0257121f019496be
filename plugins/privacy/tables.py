"""The retention ledger: every case of a district, when it closed, and what retention did.

Temporal deletes a closed workflow's history after the namespace's retention (at most the
shortest app retention, usually days), long before an app period ends. So the retention run
writes down when each case closed while Temporal still knows, and later retains the case from
this row. A case Temporal no longer knows is entered as closed *at the time it was first not
found*: an upper bound of its real close, so its period is never cut short.

Once a case is retained its row drops the workflow id (which may carry a registry id) and
keeps only codes, times, the random token its rows now carry and the counts: the record of
processing (PIPL art. 51) without the person.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index
from sqlmodel import Field, SQLModel

from careflow.db.types import UTCDateTime, utcnow

__all__ = ["RetentionCase"]


class RetentionCase(SQLModel, table=True):
    """One case (a process's workflow id) in the retention ledger."""

    __tablename__ = "privacy_retention_case"
    __table_args__ = (
        Index("ix_privacy_retention_case_pending", "district", "retained_at", "purpose"),
        Index("ix_privacy_retention_case_step", "retained_by", "retained_step"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workflow_id: str | None = Field(
        default=None, max_length=255, unique=True, description="NULL once retained."
    )
    district: str = Field(max_length=64)
    purpose: str = Field(max_length=32)
    discovered_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    checked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(
        default=None,
        sa_type=UTCDateTime,
        description="Temporal's close time, or when it was first not found (an upper bound).",
    )
    closed_how: str | None = Field(
        default=None, max_length=16, description="'completed', 'terminated' … or 'not_found'."
    )
    retained_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    retained_reason: str | None = Field(
        default=None, max_length=16, description="'period', or 'consent' (withdrawn)."
    )
    retained_by: str | None = Field(
        default=None, max_length=255, description="The retention run's workflow id."
    )
    retained_step: str | None = Field(default=None, max_length=64)
    token: str | None = Field(
        default=None, max_length=16, description="What the case's rows carry instead of its ids."
    )
    counts: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)

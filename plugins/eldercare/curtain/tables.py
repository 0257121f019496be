"""Tables of the curtain appointment: "away until" notices that suppress the morning checks."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from careflow.db.types import UTCDateTime, utcnow

__all__ = ["CurtainAwayNotice"]


class CurtainAwayNotice(SQLModel, table=True):
    """An elder is away (with family, in hospital, travelling): no curtain checks meanwhile."""

    __tablename__ = "ec_curtain_away"
    __table_args__ = (
        UniqueConstraint("workflow_id", "step_key", name="uq_ec_curtain_away_step"),
        Index("ix_ec_curtain_away_elder_until", "elder_id", "away_until"),
    )

    id: int | None = Field(default=None, primary_key=True)
    elder_id: str = Field(foreign_key="person.id", max_length=16)
    district: str = Field(max_length=64)
    away_from: date
    away_until: date
    filed_by: str = Field(max_length=16, description="'elder', 'family' or 'staff'.")
    workflow_id: str = Field(max_length=255)
    step_key: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

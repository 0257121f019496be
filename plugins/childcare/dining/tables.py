"""Tables of small dining table supervision: who eats where, and which tables are suspended."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from careflow.db.types import UTCDateTime

__all__ = ["DiningEnrolment", "DiningSuspension"]


class DiningEnrolment(SQLModel, table=True):
    """A child who eats at a small dining table 小饭桌; their families hear of a suspension."""

    __tablename__ = "cc_dining_enrolment"

    provider_id: str = Field(foreign_key="provider.id", primary_key=True)
    child_id: str = Field(foreign_key="person.id", primary_key=True, index=True)
    active: bool = True


class DiningSuspension(SQLModel, table=True):
    """A small dining table suspended after a repeated failure; one row per suspending case."""

    __tablename__ = "cc_dining_suspension"

    workflow_id: str = Field(primary_key=True, max_length=255)
    provider_id: str = Field(foreign_key="provider.id", index=True)
    suspended_at: datetime = Field(sa_type=UTCDateTime)
    failed_items: list[str] = Field(default_factory=list, sa_type=JSON)
    lifted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

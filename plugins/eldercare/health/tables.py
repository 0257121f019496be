"""Tables of the health stations: readings (health data) and the alerts they raise."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, SQLModel

from careflow.db.types import UTCDateTime, utcnow

__all__ = ["HealthAlert", "HealthReading"]


class HealthReading(SQLModel, table=True):
    """One measurement at a health station; unique on (workflow id, step key)."""

    __tablename__ = "ec_health_reading"
    __table_args__ = (
        UniqueConstraint("workflow_id", "step_key", name="uq_ec_health_reading_workflow_step"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workflow_id: str = Field(max_length=255)
    step_key: str = Field(max_length=255)
    elder_ref: str = Field(max_length=16, index=True)
    district: str = Field(max_length=64)
    device_id: str = Field(max_length=64)
    measured_at: datetime = Field(sa_type=UTCDateTime)
    systolic: int | None = None
    diastolic: int | None = None
    glucose: float | None = None
    spo2: int | None = None
    heart_rate: int | None = None
    alert_id: int | None = Field(default=None, description="The alert it raised or joined.")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class HealthAlert(SQLModel, table=True):
    """A risk warning raised by the rules, and how the doctor's review closed it."""

    __tablename__ = "ec_health_alert"
    __table_args__ = (
        UniqueConstraint("workflow_id", "step_key", name="uq_ec_health_alert_workflow_step"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workflow_id: str = Field(max_length=255)
    step_key: str = Field(max_length=255)
    elder_ref: str = Field(max_length=16, index=True)
    district: str = Field(max_length=64)
    reading_id: int
    severity: str = Field(max_length=16, description="'critical' or 'warning'.")
    rules: list[Any] = Field(default_factory=list, sa_type=JSON)
    status: str = Field(default="open", max_length=16, index=True)
    outcome: str | None = Field(default=None, max_length=32)
    reviewed_by: str | None = Field(default=None, max_length=64)
    advice_zh: str | None = Field(default=None, max_length=500)
    raised_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

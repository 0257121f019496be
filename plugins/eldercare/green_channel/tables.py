"""Tables of the green channel: the booking requests sent to hospitals.

A booking row is written by the embedded hospital adapter and updated when the hospital
answers, so staff and auditors can see every referral a hospital received and how it replied.
Rows hold opaque references only (registry ids, provider ids, workflow ids).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from careflow.db.types import UTCDateTime, utcnow

__all__ = ["BOOKING_STATUSES", "GreenChannelBooking"]

BOOKING_STATUSES = ("requested", "accepted", "refused", "no_answer", "arrived", "discharged")


class GreenChannelBooking(SQLModel, table=True):
    """One emergency booking request at a hospital 医院急诊预约."""

    __tablename__ = "ec_green_channel_booking"
    __table_args__ = (
        UniqueConstraint("workflow_id", "step_key", name="uq_ec_green_channel_booking_step"),
    )

    booking_ref: str = Field(primary_key=True, max_length=32)
    workflow_id: str = Field(max_length=255, index=True)
    step_key: str = Field(max_length=255)
    district: str = Field(max_length=64)
    case_ref: str = Field(max_length=128)
    hospital_ref: str = Field(max_length=32, index=True)
    elder_ref: str = Field(max_length=16)
    triage_level: str = Field(max_length=16)
    status: str = Field(default="requested", max_length=16)
    reason_code: str | None = Field(default=None, max_length=64)
    adapter: str = Field(max_length=64)
    requested_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

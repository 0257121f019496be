"""The micro-wish tables (``cw_`` prefix): wishes, the anonymised pool, pledges, matches, reports.

A campaign can hold thousands of wishes and pledges; they live here, not in workflow history:
the campaign workflow passes ids and counts only. Personal data stays in the registry: a wish
row refers to the child by registry id, and the pool row that donors see has no reference to
the child at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, SQLModel

from careflow.db.types import UTCDateTime, utcnow

__all__ = [
    "WISH_STATUSES",
    "CwCampaign",
    "CwMatch",
    "CwPledge",
    "CwPool",
    "CwReport",
    "CwWish",
]

WISH_STATUSES = (
    "pending_visit",
    "visit_expired",
    "declined_by_guardian",
    "in_review",
    "rejected",
    "approved",
    "matched",
    "procuring",
    "procured",
    "declined",
    "delivered",
    "not_delivered",
)
"""Life of a wish row, in order."""


class CwCampaign(SQLModel, table=True):
    """One micro-wish campaign 微心愿活动 of a district; the budget ledger lives on it."""

    __tablename__ = "cw_campaign"

    campaign_id: str = Field(primary_key=True, max_length=255, description="The workflow id.")
    district: str = Field(max_length=64, index=True)
    case_ref: str = Field(max_length=128)
    communities: list[str] = Field(default_factory=list, sa_type=JSON)
    budget_yuan: int = 0
    money_pledged_yuan: int = 0
    spent_yuan: int = 0
    opened_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    matched_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CwWish(SQLModel, table=True):
    """One child's wish in one campaign; the child is a registry id, never a name."""

    __tablename__ = "cw_wish"
    __table_args__ = (UniqueConstraint("campaign_id", "seq", name="uq_cw_wish_campaign_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str = Field(max_length=255, index=True)
    seq: int = Field(description="Order of selection within the campaign.")
    child_ref: str = Field(max_length=16, index=True)
    household_ref: str | None = Field(default=None, max_length=16)
    community: str = Field(max_length=64)
    gender: str = Field(max_length=1)
    age: int
    status: str = Field(default="pending_visit", max_length=24, index=True)
    category: str | None = Field(default=None, max_length=32)
    size: str | None = Field(default=None, max_length=16)
    description_zh: str | None = Field(default=None, max_length=200)
    estimated_value_yuan: int | None = None
    guardian_consent: bool | None = None
    priority: int = 1
    reason: str | None = Field(default=None, max_length=64, description="Why rejected/declined.")
    visited_by: str | None = Field(default=None, max_length=64)
    reviewed_by: str | None = Field(default=None, max_length=64)
    visited_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivery_outcome: str | None = Field(default=None, max_length=32)


class CwPool(SQLModel, table=True):
    """An approved wish as the charity association's pool shows it: anonymised."""

    __tablename__ = "cw_pool"

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str = Field(max_length=255, index=True)
    wish_id: int = Field(foreign_key="cw_wish.id", unique=True)
    district: str = Field(max_length=64)
    community: str = Field(max_length=64)
    age_band: str = Field(max_length=8)
    gender: str = Field(max_length=1)
    category: str = Field(max_length=32)
    size: str | None = Field(default=None, max_length=16)
    status: str = Field(default="open", max_length=16)
    published_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CwPledge(SQLModel, table=True):
    """A donor's pledge of goods or money; withdrawn or late pledges stay as a record."""

    __tablename__ = "cw_pledge"
    __table_args__ = (
        UniqueConstraint("campaign_id", "pledge_ref", name="uq_cw_pledge_campaign_ref"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str = Field(max_length=255, index=True)
    pledge_ref: str = Field(max_length=64)
    donor_ref: str = Field(max_length=16)
    kind: str = Field(max_length=8, description="'goods' or 'money'.")
    category: str | None = Field(default=None, max_length=32)
    size: str | None = Field(default=None, max_length=16)
    quantity: int = 0
    amount_yuan: int = 0
    dropoff: str | None = Field(default=None, max_length=64, description="Community code.")
    status: str = Field(default="active", max_length=16, description="active/withdrawn/late.")
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CwMatch(SQLModel, table=True):
    """How a wish is filled: by a pledge unit, or bought by the charity association."""

    __tablename__ = "cw_match"

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str = Field(max_length=255, index=True)
    wish_id: int = Field(foreign_key="cw_wish.id", unique=True)
    pledge_id: int | None = Field(default=None, foreign_key="cw_pledge.id", index=True)
    source: str = Field(max_length=16, description="'pledge' or 'procured'.")
    distance_m: int = 0
    cost_yuan: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CwReport(SQLModel, table=True):
    """The closing report of a campaign, as JSON and CSV."""

    __tablename__ = "cw_report"

    campaign_id: str = Field(primary_key=True, max_length=255)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    csv: str
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

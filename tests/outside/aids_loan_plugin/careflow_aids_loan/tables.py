"""The module's own table: one row per loan, from hand-over to return.

Created by ``migrations/0002_aids_loan.py``, which ``careflow migrate`` runs beside the core's
revisions once this plugin is installed; the two must stay the same.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from careflow.db import UTCDateTime, utcnow

__all__ = ["AidLoan"]


class AidLoan(SQLModel, table=True):
    """A loaned aid: whose case, which aid, when it is due and when it came back.

    The case ref is the loan's case (often a registry id): the app database is where such
    references live; ids, summaries and logs carry the case key instead.
    """

    __tablename__ = "al_loan"
    __table_args__ = (UniqueConstraint("workflow_id", "step_key", name="uq_al_loan_workflow_step"),)

    id: int | None = Field(default=None, primary_key=True)
    workflow_id: str = Field(max_length=255)
    step_key: str = Field(max_length=64)
    district: str = Field(max_length=64)
    case_ref: str = Field(max_length=32, index=True)
    aid: str = Field(max_length=32)
    status: str = Field(max_length=16)
    due_at: datetime = Field(sa_type=UTCDateTime)
    returned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    return_condition: str | None = Field(default=None, max_length=16)
    opened_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

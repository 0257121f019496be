"""The stored report files: one workbook per district, week and format.

A file holds counts only (the figures of :mod:`careflow.figures`, people counts below 3
already shown as ``<3``), so retention has nothing personal to remove from it. The staff
service serves it at ``/api/v1/reports/files/<id>`` to readers whose grants cover the district.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from careflow.db.types import UTCDateTime, utcnow

__all__ = ["ReportFile"]


class ReportFile(SQLModel, table=True):
    """One stored report: a district's workbook of one period."""

    __tablename__ = "report_file"
    __table_args__ = (
        # One file per district, period and format: a second run of the same week finds it.
        UniqueConstraint(
            "district", "period_start", "period_end", "format", name="uq_report_file_period"
        ),
        Index("ix_report_file_district_created", "district", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    district: str = Field(max_length=64)
    period_start: date = Field(description="First local day (Asia/Shanghai).")
    period_end: date = Field(description="Last local day, inclusive.")
    format: str = Field(max_length=8, description="'xlsx'.")
    workflow_id: str = Field(max_length=255, description="The run that stored it.")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    size: int = Field(description="Bytes of content.")
    sha256: str = Field(max_length=64, description="Hex SHA-256 of content.")
    content: bytes = Field(sa_type=LargeBinary)

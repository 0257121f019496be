"""Reports: stored report files (the weekly workbooks).

Revision ID: 0002_reports_files
Revises: 0001
Create Date: 2026-12-10 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_reports_files"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("reports_files",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``report_file``."""
    op.create_table(
        "report_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("district", sa.String(length=64), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_file")),
        sa.UniqueConstraint(
            "district", "period_start", "period_end", "format", name="uq_report_file_period"
        ),
    )
    with op.batch_alter_table("report_file", schema=None) as batch_op:
        batch_op.create_index(
            "ix_report_file_district_created", ["district", "created_at"], unique=False
        )


def downgrade() -> None:
    """Drop ``report_file``."""
    with op.batch_alter_table("report_file", schema=None) as batch_op:
        batch_op.drop_index("ix_report_file_district_created")
    op.drop_table("report_file")

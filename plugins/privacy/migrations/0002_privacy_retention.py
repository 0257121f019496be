"""Privacy: the retention ledger (when each case closed, what retention did to it).

Revision ID: 0002_privacy_retention
Revises: 0001
Create Date: 2026-12-03 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_privacy_retention"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("privacy_retention",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the retention ledger."""
    op.create_table(
        "privacy_retention_case",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workflow_id", sa.String(length=255), nullable=True),
        sa.Column("district", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("discovered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_how", sa.String(length=16), nullable=True),
        sa.Column("retained_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retained_reason", sa.String(length=16), nullable=True),
        sa.Column("retained_by", sa.String(length=255), nullable=True),
        sa.Column("retained_step", sa.String(length=64), nullable=True),
        sa.Column("token", sa.String(length=16), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_retention_case")),
        sa.UniqueConstraint("workflow_id", name=op.f("uq_privacy_retention_case_workflow_id")),
    )
    op.create_index(
        "ix_privacy_retention_case_pending",
        "privacy_retention_case",
        ["district", "retained_at", "purpose"],
    )
    op.create_index(
        "ix_privacy_retention_case_step",
        "privacy_retention_case",
        ["retained_by", "retained_step"],
    )


def downgrade() -> None:
    """Drop the retention ledger."""
    op.drop_index("ix_privacy_retention_case_step", table_name="privacy_retention_case")
    op.drop_index("ix_privacy_retention_case_pending", table_name="privacy_retention_case")
    op.drop_table("privacy_retention_case")

"""Eldercare pension certification: submissions to social insurance.

Revision ID: 0002_eldercare_pension
Revises: 0001
Create Date: 2026-12-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_eldercare_pension"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("eldercare_pension",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the pension tables."""
    op.create_table(
        "ec_pension_submission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("step_key", sa.String(length=255), nullable=False),
        sa.Column("elder_ref", sa.String(length=16), nullable=False),
        sa.Column("district", sa.String(length=64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("identity_method", sa.String(length=16), nullable=False),
        sa.Column("visited_by", sa.String(length=64), nullable=False),
        sa.Column("confirmation_ref", sa.String(length=64), nullable=False),
        sa.Column("adapter", sa.String(length=32), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ec_pension_submission")),
        sa.UniqueConstraint(
            "workflow_id", "step_key", name="uq_ec_pension_submission_workflow_step"
        ),
    )
    with op.batch_alter_table("ec_pension_submission", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ec_pension_submission_elder_ref"), ["elder_ref"], unique=False
        )


def downgrade() -> None:
    """Drop the pension tables."""
    with op.batch_alter_table("ec_pension_submission", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ec_pension_submission_elder_ref"))
    op.drop_table("ec_pension_submission")

"""Eldercare three-colour tiers: assessments and care plans.

Revision ID: 0002_eldercare_tiers
Revises: 0001
Create Date: 2026-12-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_eldercare_tiers"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("eldercare_tiers",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the tiers tables."""
    op.create_table(
        "ec_tiers_assessment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("step_key", sa.String(length=255), nullable=False),
        sa.Column("elder_ref", sa.String(length=16), nullable=False),
        sa.Column("district", sa.String(length=64), nullable=False),
        sa.Column("tier", sa.String(length=8), nullable=False),
        sa.Column("previous_tier", sa.String(length=8), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ec_tiers_assessment")),
        sa.UniqueConstraint("workflow_id", "step_key", name="uq_ec_tiers_assessment_workflow_step"),
    )
    with op.batch_alter_table("ec_tiers_assessment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ec_tiers_assessment_elder_ref"), ["elder_ref"], unique=False
        )

    op.create_table(
        "ec_tiers_care_plan",
        sa.Column("elder_ref", sa.String(length=16), nullable=False),
        sa.Column("district", sa.String(length=64), nullable=False),
        sa.Column("community", sa.String(length=64), nullable=True),
        sa.Column("tier", sa.String(length=8), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("watched", sa.Boolean(), nullable=False),
        sa.Column("volunteer_ref", sa.String(length=16), nullable=True),
        sa.Column("assessment_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("elder_ref", name=op.f("pk_ec_tiers_care_plan")),
    )
    with op.batch_alter_table("ec_tiers_care_plan", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ec_tiers_care_plan_district"), ["district"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ec_tiers_care_plan_tier"), ["tier"], unique=False)


def downgrade() -> None:
    """Drop the tiers tables."""
    with op.batch_alter_table("ec_tiers_care_plan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ec_tiers_care_plan_tier"))
        batch_op.drop_index(batch_op.f("ix_ec_tiers_care_plan_district"))
    op.drop_table("ec_tiers_care_plan")
    with op.batch_alter_table("ec_tiers_assessment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ec_tiers_assessment_elder_ref"))
    op.drop_table("ec_tiers_assessment")

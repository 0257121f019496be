"""Disability aids loan: the loan table ``al_loan``.

Revision ID: 0002_aids_loan
Revises: 0001
Create Date: 2026-12-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_aids_loan"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("aids_loan",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the loan table."""
    op.create_table(
        "al_loan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("step_key", sa.String(length=64), nullable=False),
        sa.Column("district", sa.String(length=64), nullable=False),
        sa.Column("case_ref", sa.String(length=32), nullable=False),
        sa.Column("aid", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("return_condition", sa.String(length=16), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_al_loan")),
        sa.UniqueConstraint("workflow_id", "step_key", name="uq_al_loan_workflow_step"),
    )
    with op.batch_alter_table("al_loan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_al_loan_case_ref"), ["case_ref"], unique=False)


def downgrade() -> None:
    """Drop the loan table."""
    with op.batch_alter_table("al_loan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_al_loan_case_ref"))
    op.drop_table("al_loan")

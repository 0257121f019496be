"""Small dining table supervision: who eats at which table, and suspensions.

Revision ID: 0002_childcare_dining
Revises: 0001
Create Date: 2026-11-29 06:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_childcare_dining"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("childcare_dining",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``cc_dining_enrolment`` and ``cc_dining_suspension``."""
    op.create_table(
        "cc_dining_enrolment",
        sa.Column("provider_id", sa.String(), nullable=False),
        sa.Column("child_id", sa.String(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["child_id"], ["person.id"], name=op.f("fk_cc_dining_enrolment_child_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["provider.id"],
            name=op.f("fk_cc_dining_enrolment_provider_id_provider"),
        ),
        sa.PrimaryKeyConstraint("provider_id", "child_id", name=op.f("pk_cc_dining_enrolment")),
    )
    with op.batch_alter_table("cc_dining_enrolment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cc_dining_enrolment_child_id"), ["child_id"], unique=False
        )

    op.create_table(
        "cc_dining_suspension",
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("provider_id", sa.String(), nullable=False),
        sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failed_items", sa.JSON(), nullable=False),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["provider.id"],
            name=op.f("fk_cc_dining_suspension_provider_id_provider"),
        ),
        sa.PrimaryKeyConstraint("workflow_id", name=op.f("pk_cc_dining_suspension")),
    )
    with op.batch_alter_table("cc_dining_suspension", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cc_dining_suspension_provider_id"), ["provider_id"], unique=False
        )


def downgrade() -> None:
    """Drop the dining tables."""
    with op.batch_alter_table("cc_dining_suspension", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cc_dining_suspension_provider_id"))
    op.drop_table("cc_dining_suspension")
    with op.batch_alter_table("cc_dining_enrolment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cc_dining_enrolment_child_id"))
    op.drop_table("cc_dining_enrolment")

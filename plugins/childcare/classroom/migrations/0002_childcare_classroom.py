"""Five-thirty classroom: enrolment of children per community.

Revision ID: 0002_childcare_classroom
Revises: 0001
Create Date: 2026-11-29 06:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_childcare_classroom"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("childcare_classroom",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``cc_classroom_enrolment``."""
    op.create_table(
        "cc_classroom_enrolment",
        sa.Column("child_id", sa.String(), nullable=False),
        sa.Column("community_code", sa.String(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("enrolled_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["child_id"], ["person.id"], name=op.f("fk_cc_classroom_enrolment_child_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["community_code"],
            ["area.code"],
            name=op.f("fk_cc_classroom_enrolment_community_code_area"),
        ),
        sa.PrimaryKeyConstraint("child_id", name=op.f("pk_cc_classroom_enrolment")),
    )
    with op.batch_alter_table("cc_classroom_enrolment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cc_classroom_enrolment_community_code"),
            ["community_code"],
            unique=False,
        )


def downgrade() -> None:
    """Drop ``cc_classroom_enrolment``."""
    with op.batch_alter_table("cc_classroom_enrolment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cc_classroom_enrolment_community_code"))
    op.drop_table("cc_classroom_enrolment")

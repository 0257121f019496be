"""Eldercare green channel: hospital booking requests.

Revision ID: 0002_eldercare_green_channel
Revises: 0001
Create Date: 2026-11-29 06:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_eldercare_green_channel"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("eldercare_green_channel",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``ec_green_channel_booking``."""
    op.create_table(
        "ec_green_channel_booking",
        sa.Column("booking_ref", sa.String(length=32), nullable=False),
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("step_key", sa.String(length=255), nullable=False),
        sa.Column("district", sa.String(length=64), nullable=False),
        sa.Column("case_ref", sa.String(length=128), nullable=False),
        sa.Column("hospital_ref", sa.String(length=32), nullable=False),
        sa.Column("elder_ref", sa.String(length=16), nullable=False),
        sa.Column("triage_level", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason_code", sa.String(length=64), nullable=True),
        sa.Column("adapter", sa.String(length=64), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("booking_ref", name=op.f("pk_ec_green_channel_booking")),
        sa.UniqueConstraint("workflow_id", "step_key", name="uq_ec_green_channel_booking_step"),
    )
    with op.batch_alter_table("ec_green_channel_booking", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ec_green_channel_booking_hospital_ref"), ["hospital_ref"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ec_green_channel_booking_workflow_id"), ["workflow_id"], unique=False
        )


def downgrade() -> None:
    """Drop ``ec_green_channel_booking``."""
    with op.batch_alter_table("ec_green_channel_booking", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ec_green_channel_booking_workflow_id"))
        batch_op.drop_index(batch_op.f("ix_ec_green_channel_booking_hospital_ref"))
    op.drop_table("ec_green_channel_booking")

"""Eldercare health stations: readings and alerts.

Revision ID: 0002_eldercare_health
Revises: 0001
Create Date: 2026-12-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_eldercare_health"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("eldercare_health",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the health-station tables."""
    op.create_table(
        "ec_health_reading",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("step_key", sa.String(length=255), nullable=False),
        sa.Column("elder_ref", sa.String(length=16), nullable=False),
        sa.Column("district", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("measured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("systolic", sa.Integer(), nullable=True),
        sa.Column("diastolic", sa.Integer(), nullable=True),
        sa.Column("glucose", sa.Float(), nullable=True),
        sa.Column("spo2", sa.Integer(), nullable=True),
        sa.Column("heart_rate", sa.Integer(), nullable=True),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ec_health_reading")),
        sa.UniqueConstraint("workflow_id", "step_key", name="uq_ec_health_reading_workflow_step"),
    )
    with op.batch_alter_table("ec_health_reading", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ec_health_reading_elder_ref"), ["elder_ref"], unique=False
        )

    op.create_table(
        "ec_health_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("step_key", sa.String(length=255), nullable=False),
        sa.Column("elder_ref", sa.String(length=16), nullable=False),
        sa.Column("district", sa.String(length=64), nullable=False),
        sa.Column("reading_id", sa.Integer(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("advice_zh", sa.String(length=500), nullable=True),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ec_health_alert")),
        sa.UniqueConstraint("workflow_id", "step_key", name="uq_ec_health_alert_workflow_step"),
    )
    with op.batch_alter_table("ec_health_alert", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ec_health_alert_elder_ref"), ["elder_ref"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ec_health_alert_status"), ["status"], unique=False)


def downgrade() -> None:
    """Drop the health-station tables."""
    with op.batch_alter_table("ec_health_alert", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ec_health_alert_status"))
        batch_op.drop_index(batch_op.f("ix_ec_health_alert_elder_ref"))
    op.drop_table("ec_health_alert")
    with op.batch_alter_table("ec_health_reading", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ec_health_reading_elder_ref"))
    op.drop_table("ec_health_reading")

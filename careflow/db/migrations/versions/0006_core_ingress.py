"""The MQTT ingress: messages taken (one row per event id) and dead letters.

``ingress_message`` is keyed by the event id, which makes taking a message idempotent across
redeliveries, device duplicates and several ingress instances. ``ingress_dead_letter`` keeps
what the ingress refused, with the reason, the field, a SHA-256 of the payload and (unless it
was oversize) the payload itself for a replay.

Revision ID: 0006_core_ingress
Revises: 0005_core_consent
Create Date: 2026-12-10 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_core_ingress"
down_revision: str | Sequence[str] | None = "0005_core_consent"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the two ingress tables and their indexes."""
    op.create_table(
        "ingress_message",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("topic", sa.String(length=255), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("workflow_id", sa.String(length=255), nullable=True),
        sa.Column("dead_letter_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_ingress_message")),
    )
    op.create_index(op.f("ix_ingress_message_settled_at"), "ingress_message", ["settled_at"])
    op.create_table(
        "ingress_dead_letter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("topic", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=128), nullable=True),
        sa.Column("district", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("field", sa.String(length=128), nullable=True),
        sa.Column("message", sa.String(length=500), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload_sha256", sa.String(length=64), nullable=False),
        sa.Column("payload_size", sa.Integer(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("replayed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("replayed_to", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingress_dead_letter")),
    )
    for column in ("event_id", "received_at"):
        op.create_index(op.f(f"ix_ingress_dead_letter_{column}"), "ingress_dead_letter", [column])


def downgrade() -> None:
    """Drop the two ingress tables."""
    for column in ("received_at", "event_id"):
        op.drop_index(op.f(f"ix_ingress_dead_letter_{column}"), table_name="ingress_dead_letter")
    op.drop_table("ingress_dead_letter")
    op.drop_index(op.f("ix_ingress_message_settled_at"), table_name="ingress_message")
    op.drop_table("ingress_message")

"""Childcare places: seats per provider (never beyond capacity) and applications.

Revision ID: 0002_childcare_places
Revises: 0001
Create Date: 2026-11-29 06:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_childcare_places"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("childcare_places",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``cc_places_capacity`` and ``cc_places_application``."""
    op.create_table(
        "cc_places_capacity",
        sa.Column("provider_id", sa.String(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("taken", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "taken >= 0 AND taken <= capacity", name=op.f("ck_cc_places_capacity_taken_within_capacity")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["provider.id"], name=op.f("fk_cc_places_capacity_provider_id_provider")
        ),
        sa.PrimaryKeyConstraint("provider_id", name=op.f("pk_cc_places_capacity")),
    )
    op.create_table(
        "cc_places_application",
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("child_id", sa.String(), nullable=False),
        sa.Column("district", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("provider_id", sa.String(), nullable=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seat_passed_to", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["child_id"], ["person.id"], name=op.f("fk_cc_places_application_child_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["provider.id"],
            name=op.f("fk_cc_places_application_provider_id_provider"),
        ),
        sa.PrimaryKeyConstraint("workflow_id", name=op.f("pk_cc_places_application")),
    )
    with op.batch_alter_table("cc_places_application", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cc_places_application_child_id"), ["child_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_cc_places_application_district"), ["district"], unique=False
        )


def downgrade() -> None:
    """Drop the places tables."""
    with op.batch_alter_table("cc_places_application", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cc_places_application_district"))
        batch_op.drop_index(batch_op.f("ix_cc_places_application_child_id"))
    op.drop_table("cc_places_application")
    op.drop_table("cc_places_capacity")

"""Eldercare curtain appointment: away notices.

Revision ID: 0002_eldercare_curtain
Revises: 0001
Create Date: 2026-11-29 06:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_eldercare_curtain"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("eldercare_curtain",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``ec_curtain_away``."""
    op.create_table(
        "ec_curtain_away",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("elder_id", sa.String(length=16), nullable=False),
        sa.Column("district", sa.String(length=64), nullable=False),
        sa.Column("away_from", sa.Date(), nullable=False),
        sa.Column("away_until", sa.Date(), nullable=False),
        sa.Column("filed_by", sa.String(length=16), nullable=False),
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("step_key", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["elder_id"], ["person.id"], name=op.f("fk_ec_curtain_away_elder_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ec_curtain_away")),
        sa.UniqueConstraint("workflow_id", "step_key", name="uq_ec_curtain_away_step"),
    )
    with op.batch_alter_table("ec_curtain_away", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ec_curtain_away_elder_until", ["elder_id", "away_until"], unique=False
        )


def downgrade() -> None:
    """Drop ``ec_curtain_away``."""
    with op.batch_alter_table("ec_curtain_away", schema=None) as batch_op:
        batch_op.drop_index("ix_ec_curtain_away_elder_until")
    op.drop_table("ec_curtain_away")

"""Micro-wish campaigns: campaigns, wishes, the anonymised pool, pledges, matches, reports.

Revision ID: 0002_childcare_microwish
Revises: 0001
Create Date: 2026-11-29 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0002_childcare_microwish"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("childcare_microwish",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the cw_ tables."""
    op.create_table(
        "cw_campaign",
        sa.Column("campaign_id", sa.String(length=255), nullable=False),
        sa.Column("district", sa.String(length=64), nullable=False),
        sa.Column("case_ref", sa.String(length=128), nullable=False),
        sa.Column("communities", sa.JSON(), nullable=False),
        sa.Column("budget_yuan", sa.Integer(), nullable=False),
        sa.Column("money_pledged_yuan", sa.Integer(), nullable=False),
        sa.Column("spent_yuan", sa.Integer(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("matched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("campaign_id", name=op.f("pk_cw_campaign")),
    )
    with op.batch_alter_table("cw_campaign", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cw_campaign_district"), ["district"], unique=False)

    op.create_table(
        "cw_pledge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.String(length=255), nullable=False),
        sa.Column("pledge_ref", sa.String(length=64), nullable=False),
        sa.Column("donor_ref", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("size", sa.String(length=16), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("amount_yuan", sa.Integer(), nullable=False),
        sa.Column("dropoff", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cw_pledge")),
        sa.UniqueConstraint("campaign_id", "pledge_ref", name="uq_cw_pledge_campaign_ref"),
    )
    with op.batch_alter_table("cw_pledge", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cw_pledge_campaign_id"), ["campaign_id"], unique=False)

    op.create_table(
        "cw_report",
        sa.Column("campaign_id", sa.String(length=255), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("csv", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("campaign_id", name=op.f("pk_cw_report")),
    )

    op.create_table(
        "cw_wish",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.String(length=255), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("child_ref", sa.String(length=16), nullable=False),
        sa.Column("household_ref", sa.String(length=16), nullable=True),
        sa.Column("community", sa.String(length=64), nullable=False),
        sa.Column("gender", sa.String(length=1), nullable=False),
        sa.Column("age", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("size", sa.String(length=16), nullable=True),
        sa.Column("description_zh", sa.String(length=200), nullable=True),
        sa.Column("estimated_value_yuan", sa.Integer(), nullable=True),
        sa.Column("guardian_consent", sa.Boolean(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("visited_by", sa.String(length=64), nullable=True),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("visited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivery_outcome", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cw_wish")),
        sa.UniqueConstraint("campaign_id", "seq", name="uq_cw_wish_campaign_seq"),
    )
    with op.batch_alter_table("cw_wish", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cw_wish_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cw_wish_child_ref"), ["child_ref"], unique=False)
        batch_op.create_index(batch_op.f("ix_cw_wish_status"), ["status"], unique=False)

    op.create_table(
        "cw_match",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.String(length=255), nullable=False),
        sa.Column("wish_id", sa.Integer(), nullable=False),
        sa.Column("pledge_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("distance_m", sa.Integer(), nullable=False),
        sa.Column("cost_yuan", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["pledge_id"], ["cw_pledge.id"], name=op.f("fk_cw_match_pledge_id_cw_pledge")
        ),
        sa.ForeignKeyConstraint(
            ["wish_id"], ["cw_wish.id"], name=op.f("fk_cw_match_wish_id_cw_wish")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cw_match")),
        sa.UniqueConstraint("wish_id", name=op.f("uq_cw_match_wish_id")),
    )
    with op.batch_alter_table("cw_match", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cw_match_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cw_match_pledge_id"), ["pledge_id"], unique=False)

    op.create_table(
        "cw_pool",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.String(length=255), nullable=False),
        sa.Column("wish_id", sa.Integer(), nullable=False),
        sa.Column("district", sa.String(length=64), nullable=False),
        sa.Column("community", sa.String(length=64), nullable=False),
        sa.Column("age_band", sa.String(length=8), nullable=False),
        sa.Column("gender", sa.String(length=1), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("size", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["wish_id"], ["cw_wish.id"], name=op.f("fk_cw_pool_wish_id_cw_wish")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cw_pool")),
        sa.UniqueConstraint("wish_id", name=op.f("uq_cw_pool_wish_id")),
    )
    with op.batch_alter_table("cw_pool", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cw_pool_campaign_id"), ["campaign_id"], unique=False)


def downgrade() -> None:
    """Drop the cw_ tables."""
    with op.batch_alter_table("cw_pool", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cw_pool_campaign_id"))
    op.drop_table("cw_pool")
    with op.batch_alter_table("cw_match", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cw_match_pledge_id"))
        batch_op.drop_index(batch_op.f("ix_cw_match_campaign_id"))
    op.drop_table("cw_match")
    with op.batch_alter_table("cw_wish", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cw_wish_status"))
        batch_op.drop_index(batch_op.f("ix_cw_wish_child_ref"))
        batch_op.drop_index(batch_op.f("ix_cw_wish_campaign_id"))
    op.drop_table("cw_wish")
    op.drop_table("cw_report")
    with op.batch_alter_table("cw_pledge", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cw_pledge_campaign_id"))
    op.drop_table("cw_pledge")
    with op.batch_alter_table("cw_campaign", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cw_campaign_district"))
    op.drop_table("cw_campaign")

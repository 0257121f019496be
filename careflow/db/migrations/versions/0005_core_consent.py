"""Consent: a person's (or their guardian's) consent to use their data for a purpose.

At most one live consent per subject and purpose: a partial unique index over the rows not
withdrawn (SQLite and PostgreSQL both support ``WHERE`` on an index).

Revision ID: 0005_core_consent
Revises: 0004_core_access
Create Date: 2026-12-03 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_core_consent"
down_revision: str | Sequence[str] | None = "0004_core_access"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LIVE = sa.text("withdrawn_at IS NULL")


def upgrade() -> None:
    """Create the consent table and its indexes."""
    op.create_table(
        "consent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("granted_by_id", sa.String(length=16), nullable=False),
        sa.Column("relation", sa.String(length=16), nullable=False),
        sa.Column("granted_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_by", sa.String(length=64), nullable=True),
        sa.Column("evidence_ref", sa.String(length=64), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["person.id"], name=op.f("fk_consent_subject_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["granted_by_id"], ["person.id"], name=op.f("fk_consent_granted_by_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent")),
    )
    for column in ("subject_id", "purpose", "granted_by_id"):
        op.create_index(op.f(f"ix_consent_{column}"), "consent", [column])
    op.create_index(
        "uq_consent_live_subject_purpose",
        "consent",
        ["subject_id", "purpose"],
        unique=True,
        sqlite_where=_LIVE,
        postgresql_where=_LIVE,
    )


def downgrade() -> None:
    """Drop the consent table."""
    op.drop_index("uq_consent_live_subject_purpose", table_name="consent")
    for column in ("granted_by_id", "purpose", "subject_id"):
        op.drop_index(op.f(f"ix_consent_{column}"), table_name="consent")
    op.drop_table("consent")

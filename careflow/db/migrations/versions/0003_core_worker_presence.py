"""Worker presence: which running worker serves which plugin versions on which task queue.

Revision ID: 0003_core_worker_presence
Revises: 0002_core_family_doctor
Create Date: 2026-12-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_core_worker_presence"
down_revision: str | Sequence[str] | None = "0002_core_family_doctor"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the presence table."""
    op.create_table(
        "worker_presence",
        sa.Column("identity", sa.String(length=255), nullable=False),
        sa.Column("task_queue", sa.String(length=255), nullable=False),
        sa.Column("plugins", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("identity", name=op.f("pk_worker_presence")),
    )
    op.create_index(
        op.f("ix_worker_presence_task_queue"), "worker_presence", ["task_queue"], unique=False
    )


def downgrade() -> None:
    """Drop the presence table."""
    op.drop_index(op.f("ix_worker_presence_task_queue"), table_name="worker_presence")
    op.drop_table("worker_presence")

"""Indexes for a district's figures: tasks and case records by district, process and time.

Every section of a district report (``careflow.figures``) counts the tasks opened, or the case
records written, in a period: the tasks section by district and ``opened_at``, a process's
section by process, district and ``opened_at`` (or ``created_at`` and kind for records). A
year of a district holds about 1.9 million tasks; without these the dashboard read the whole
task table several times per page (``ix_task_status_role_district`` leads with the status).

Revision ID: 0007_core_figures_indexes
Revises: 0006_core_ingress
Create Date: 2026-12-12 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007_core_figures_indexes"
down_revision: str | Sequence[str] | None = "0006_core_ingress"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES: tuple[tuple[str, str, list[str]], ...] = (
    ("ix_task_district_opened_at", "task", ["district", "opened_at"]),
    ("ix_task_process_district_opened_at", "task", ["process", "district", "opened_at"]),
    (
        "ix_case_record_process_district_kind_created_at",
        "case_record",
        ["process", "district", "kind", "created_at"],
    ),
)


def upgrade() -> None:
    """Create the three indexes."""
    for name, table, columns in _INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    """Drop them."""
    for name, table, _ in reversed(_INDEXES):
        op.drop_index(name, table_name=table)

"""Indexes for a district's figures: tasks and case records by district, process and time.

Every section of a district report (``careflow.figures``) counts the tasks opened, or the case
records written, in a period: the tasks section by district and ``opened_at``, a process's
section by process, district and ``opened_at`` (or kind and ``created_at`` for records). A
year of a district holds about 1.9 million tasks; without these the dashboard read the whole
task table several times per page (``ix_task_status_role_district`` leads with the status).
The two task indexes also hold the columns their sections count (status, deadlines,
community, role or step and case ref), so a period is read from the index alone: a task row
carries its form's JSON Schema (~1.6 kB a row), which made reading rows the cost of a page.

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
    # The tasks section: a district's tasks opened in a period, with what it counts.
    (
        "ix_task_figures_district",
        "task",
        [
            "district",
            "opened_at",
            "community",
            "role",
            "status",
            "due_at",
            "closed_at",
            "overdue",
            "escalation_level",
        ],
    ),
    # A process's section: its tasks of a district in a period (checks, follow-ups, visits).
    (
        "ix_task_figures_process",
        "task",
        [
            "process",
            "district",
            "opened_at",
            "step_key",
            "community",
            "case_ref",
            "status",
            "due_at",
            "closed_at",
            "escalation_level",
            "overdue",
        ],
    ),
    # A process's records of a kind in a period (cases opened, emergencies).
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

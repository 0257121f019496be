"""Registry: family-doctor contracts 家庭医生签约 (resident → doctor on the staff).

Revision ID: 0002_core_family_doctor
Revises: 0001
Create Date: 2026-11-29 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_core_family_doctor"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("core_family_doctor",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the contract table."""
    op.create_table(
        "family_doctor_contract",
        sa.Column("person_id", sa.String(length=16), nullable=False),
        sa.Column("doctor_id", sa.String(length=16), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_family_doctor_contract_person_id_person"),
        ),
        sa.ForeignKeyConstraint(
            ["doctor_id"],
            ["staff.id"],
            name=op.f("fk_family_doctor_contract_doctor_id_staff"),
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_family_doctor_contract")),
    )
    op.create_index(
        op.f("ix_family_doctor_contract_doctor_id"),
        "family_doctor_contract",
        ["doctor_id"],
        unique=False,
    )


def downgrade() -> None:
    """Drop the contract table."""
    op.drop_index(
        op.f("ix_family_doctor_contract_doctor_id"), table_name="family_doctor_contract"
    )
    op.drop_table("family_doctor_contract")

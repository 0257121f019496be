"""Access: staff accounts, area grants, API tokens, console sessions, task claims, audit trail.

The audit table is append-only: a trigger refuses every UPDATE and DELETE on SQLite and on
PostgreSQL, so neither the application nor a mistaken script can rewrite who did what.

Revision ID: 0004_core_access
Revises: 0003_core_worker_presence
Create Date: 2026-12-03 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_core_access"
down_revision: str | Sequence[str] | None = "0003_core_worker_presence"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AUDIT_INDEXES = ("action", "actor", "at", "request_id")


def upgrade() -> None:
    """Create the access tables, extend staff and task, guard the audit table."""
    with op.batch_alter_table("staff") as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), nullable=False, server_default="person")
        )
        batch_op.add_column(sa.Column("username", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("password_hash", sa.String(length=255), nullable=True))
        batch_op.add_column(
            sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(
            sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column(
                "created_at",
                sa.DateTime(timezone=True),
                nullable=False,
                server_default=sa.func.current_timestamp(),
            )
        )
        batch_op.create_unique_constraint(batch_op.f("uq_staff_username"), ["username"])
    with op.batch_alter_table("task") as batch_op:
        batch_op.add_column(sa.Column("assignee", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_task_assignee"), ["assignee"], unique=False)

    op.create_table(
        "staff_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.String(length=16), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("area_code", sa.String(length=64), nullable=False),
        sa.Column("granted_by", sa.String(length=64), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_staff_grant_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_grant")),
        sa.UniqueConstraint("staff_id", "role", "area_code", name="uq_staff_grant_role_area"),
    )
    op.create_index(op.f("ix_staff_grant_staff_id"), "staff_grant", ["staff_id"])

    op.create_table(
        "api_token",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("staff_id", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("districts", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_api_token_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
    )
    op.create_index(op.f("ix_api_token_staff_id"), "api_token", ["staff_id"])

    op.create_table(
        "staff_session",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("staff_id", sa.String(length=16), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_staff_session_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_staff_session")),
    )
    op.create_index(op.f("ix_staff_session_staff_id"), "staff_session", ["staff_id"])

    op.create_table(
        "audit_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=True),
        sa.Column("district", sa.String(length=64), nullable=True),
        sa.Column("community", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("message", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entry")),
    )
    for column in _AUDIT_INDEXES:
        op.create_index(op.f(f"ix_audit_entry_{column}"), "audit_entry", [column])
    op.create_index("ix_audit_entry_district_at", "audit_entry", ["district", "at"])
    _guard_audit()


def _guard_audit() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION careflow_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'audit_entry is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry "
            "FOR EACH ROW EXECUTE FUNCTION careflow_audit_append_only()"
        )
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER audit_entry_no_{verb.lower()} BEFORE {verb} ON audit_entry "
            "BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only'); END"
        )


def downgrade() -> None:
    """Drop the access tables and the columns added to staff and task."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_entry")
        op.execute("DROP FUNCTION IF EXISTS careflow_audit_append_only()")
    op.drop_table("audit_entry")
    op.drop_table("staff_session")
    op.drop_table("api_token")
    op.drop_table("staff_grant")
    with op.batch_alter_table("task") as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_assignee"))
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("assignee")
    with op.batch_alter_table("staff") as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_staff_username"), type_="unique")
        for column in (
            "created_at",
            "locked_until",
            "failed_logins",
            "active",
            "password_hash",
            "username",
            "kind",
        ):
            batch_op.drop_column(column)

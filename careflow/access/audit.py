"""The audit trail: one append-only row per attempt, accepted or refused.

Rows are written in a transaction of their own, before the caller replies, so a refusal leaves
its row and nothing else. There is no update or delete function here by design; the database
refuses both with a trigger (migration ``0004_core_access``).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import structlog
from sqlalchemy import ColumnElement, or_
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from careflow.access.principal import Channel, Principal
from careflow.access.scope import CITY
from careflow.db.engine import session_scope
from careflow.db.tables import AuditEntry

__all__ = [
    "AUDIT_READER_ROLES",
    "Attempt",
    "Outcome",
    "accepted_before",
    "list_audit",
    "new_request_id",
    "record",
]

log = structlog.get_logger("careflow.audit")

Outcome = Literal["accepted", "refused", "failed"]
AUDIT_READER_ROLES = frozenset({"auditor", "district_admin"})
"""Roles that read the audit trail of the areas their grants cover."""
_MESSAGE_MAX = 500


def new_request_id() -> str:
    """A fresh request id: ``r`` + 16 hex digits (goes into logs, audit rows and Updates)."""
    return f"r{secrets.token_hex(8)}"


@dataclass(frozen=True, slots=True)
class Attempt:
    """One request as the audit trail sees it: who (if known), through what, with which id.

    Args:
        principal: The authenticated account, or None before login.
        channel: ``console``, ``api`` or ``cli``.
        request_id: Goes into the audit row, the log line and, when accepted, the Update or
            Signal, so the Temporal history joins to the row.
        claimed: What an unauthenticated caller gave as its name (a login's username), kept
            as the row's actor when there is no principal.
    """

    principal: Principal | None
    channel: Channel
    request_id: str
    claimed: str | None = None

    @property
    def actor(self) -> str:
        """The audit row's actor: the account id, else what was claimed, else ``anonymous``."""
        if self.principal is not None:
            return self.principal.staff_id
        return (self.claimed or "anonymous")[:64]


def record(
    engine: Engine,
    attempt: Attempt,
    *,
    action: str,
    outcome: Outcome,
    target: str | None = None,
    district: str | None = None,
    community: str | None = None,
    reason: str | None = None,
    message: str | None = None,
) -> AuditEntry:
    """Append one audit row and log it (ids and codes only, no personal data)."""
    row = AuditEntry(
        request_id=attempt.request_id,
        actor=attempt.actor,
        channel=attempt.channel,
        action=action,
        target=target[:255] if target else None,
        district=district,
        community=community,
        outcome=outcome,
        reason=reason,
        message=message[:_MESSAGE_MAX] if message else None,
    )
    with session_scope(engine) as session:
        session.add(row)
    log.info(
        "audit",
        request_id=attempt.request_id,
        actor=row.actor,
        channel=attempt.channel,
        action=action,
        target=row.target,
        outcome=outcome,
        reason=reason,
    )
    return row


def accepted_before(engine: Engine, *, request_id: str, action: str) -> bool:
    """Whether an attempt with ``request_id`` at ``action`` was accepted already (its row is
    there): a recovery after a crash writes the row its first attempt could not."""
    with Session(engine) as session:
        found = session.exec(
            select(AuditEntry.id)
            .where(AuditEntry.request_id == request_id, AuditEntry.action == action)
            .where(AuditEntry.outcome == "accepted")
            .limit(1)
        ).first()
    return found is not None


def _scope_conditions(viewer: Principal) -> list[ColumnElement[bool]] | None:
    """Conditions on rows a viewer may read; None for a city-wide reader (everything)."""
    areas = {g.area for g in viewer.grants if g.role in AUDIT_READER_ROLES}
    if CITY in areas:
        return None
    conditions: list[ColumnElement[bool]] = []
    for area in sorted(areas):
        district, _, _rest = area.partition(".")
        if area == district:
            conditions.append(col(AuditEntry.district) == district)
        else:
            conditions.append(
                or_(
                    col(AuditEntry.community) == area,
                    col(AuditEntry.community).startswith(area + "."),
                )
            )
    return conditions


def list_audit(
    session: Session,
    *,
    viewer: Principal | None,
    actor: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
    channel: str | None = None,
    district: str | None = None,
    target: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 200,
) -> Sequence[AuditEntry]:
    """Audit rows, newest first, limited to what ``viewer``'s reader grants cover.

    Args:
        session: The open session.
        viewer: Who reads; None for the operator at the CLI with database access (everything).
        actor: Only rows of this account (or claimed username).
        action: Only this action (``task.complete``, ``auth.login`` …).
        outcome: ``accepted``, ``refused`` or ``failed``.
        channel: ``console``, ``api`` or ``cli``.
        district: Only rows of this district.
        target: Only rows about this task, workflow or account.
        since: Rows at or after this time.
        until: Rows before this time.
        limit: At most this many rows (1-1000).
    """
    conditions: list[Any] = []
    if viewer is not None:
        scope = _scope_conditions(viewer)
        if scope is not None:
            if not scope:
                return []
            conditions.append(or_(*scope))
    for column, value in (
        (AuditEntry.actor, actor),
        (AuditEntry.action, action),
        (AuditEntry.outcome, outcome),
        (AuditEntry.channel, channel),
        (AuditEntry.district, district),
        (AuditEntry.target, target),
    ):
        if value is not None:
            conditions.append(col(column) == value)
    if since is not None:
        conditions.append(col(AuditEntry.at) >= since)
    if until is not None:
        conditions.append(col(AuditEntry.at) < until)
    statement = (
        select(AuditEntry)
        .where(*conditions)
        .order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
        .limit(max(1, min(limit, 1000)))
    )
    return session.exec(statement).all()

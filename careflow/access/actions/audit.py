"""Reading the audit trail, for auditors and district admins of the areas they cover."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from careflow.access.actions.attempts import Audited
from careflow.access.audit import AUDIT_READER_ROLES, Attempt, list_audit
from careflow.access.refusals import Refused
from careflow.db.tables import AuditEntry

__all__ = ["read_audit"]


def read_audit(engine: Engine, attempt: Attempt, **filters: Any) -> Sequence[AuditEntry]:
    """Audit rows for an auditor or district admin, limited to their areas; audited itself.

    Args:
        engine: The app database.
        attempt: Who reads.
        **filters: Those of :func:`careflow.access.audit.list_audit`.

    Raises:
        Refused: ``not_logged_in``; ``wrong_role`` without an auditor or admin grant.
    """
    audit = Audited(engine, attempt, "audit.read")
    with audit.checks():
        principal = audit.principal
        if principal.token is not None or not AUDIT_READER_ROLES.intersection(principal.roles):
            raise Refused(
                "wrong_role",
                "只有审计和区民政可查看审计记录 only auditors and admins read the audit",
            )
    with Session(engine) as session:
        rows = list_audit(session, viewer=principal, **filters)
    audit.accepted()
    return rows

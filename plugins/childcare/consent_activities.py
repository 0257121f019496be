"""Activities of the consent checks: read the consent table, mark cancelled task rows."""

from __future__ import annotations

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio import activity

from careflow.db.engine import session_scope
from careflow.db.tables import Person, Task
from careflow.models import TaskStatus
from careflow.privacy.consent import consenting
from careflow.privacy.withdrawal import CONSENT_WITHDRAWN_TASK_RESULT
from plugins.childcare.consent import (
    CANCEL_TASKS_ACTIVITY,
    CHECK_ACTIVITY,
    CancelTasksInput,
    ConsentCheck,
    ConsentCheckInput,
)

__all__ = ["ConsentActivities"]

_log = structlog.get_logger("childcare.consent")


class ConsentActivities:
    """Consent reads and the task rows a withdrawal cancels.

    Args:
        engine: Engine of the app database.
    """

    def __init__(self, engine: Engine) -> None:
        """Keep the engine."""
        self._engine = engine

    @activity.defn(name=CHECK_ACTIVITY)
    def check(self, input: ConsentCheckInput) -> ConsentCheck:
        """The children without a consent for the purpose that counts on the day."""
        with Session(self._engine) as session:
            have = consenting(
                session, subject_ids=input.subject_refs, purpose=input.purpose, on=input.on
            )
            missing = sorted(set(input.subject_refs) - have)
            communities = {
                p.id: p.community_code
                for p in session.exec(select(Person).where(col(Person.id).in_(missing))).all()
            }
        # Counts only: which child lacks consent is in the process's case record.
        _log.info(
            "consent.checked",
            purpose=input.purpose,
            children=len(set(input.subject_refs)),
            missing=len(missing),
        )
        return ConsentCheck(missing=missing, communities=communities)

    @activity.defn(name=CANCEL_TASKS_ACTIVITY)
    def cancel_tasks(self, input: CancelTasksInput) -> int:
        """Mark the rows of tasks settled because of a withdrawal ``cancelled``; idempotent."""
        changed = 0
        with session_scope(self._engine) as session:
            rows = session.exec(select(Task).where(col(Task.task_id).in_(input.task_ids))).all()
            for row in rows:
                if (
                    row.status == TaskStatus.CANCELLED
                    and row.result == CONSENT_WITHDRAWN_TASK_RESULT
                ):
                    continue
                row.status = TaskStatus.CANCELLED.value
                row.result = dict(CONSENT_WITHDRAWN_TASK_RESULT)
                row.completed_by = None
                row.completed_role = None
                session.add(row)
                changed += 1
        return changed

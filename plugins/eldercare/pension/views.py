"""Context view of the pension certification visit: whom to certify, and last year's."""

from __future__ import annotations

from sqlmodel import Session, col, select

from careflow.contract import TaskType
from careflow.db.tables import Task
from careflow.task_context import ContextItem, person_items
from plugins.eldercare.pension.forms import CertificationVisitForm
from plugins.eldercare.pension.tables import PensionSubmission

__all__ = ["TASK_TYPES", "certification_context"]


def certification_context(session: Session, task: Task) -> list[ContextItem]:
    """The elder (name, phone, address personal), the year, and the last certification."""
    elder_ref, _, year = task.case_ref.partition(".Y")  # <elder ref>.Y<year>
    items = [
        *person_items(session, elder_ref, who_zh="老人", who_en="elder", address=True),
        ContextItem(
            label_zh="认证年度", label_en="year", value=int(year) if year.isdigit() else None
        ),
    ]
    last = session.exec(
        select(PensionSubmission)
        .where(PensionSubmission.elder_ref == elder_ref)
        .order_by(col(PensionSubmission.year).desc())
    ).first()
    items.append(
        ContextItem(
            label_zh="上次认证",
            label_en="last certified",
            value=None if last is None else f"{last.year} ({last.identity_method})",
        )
    )
    return items


TASK_TYPES = (
    TaskType(
        form=CertificationVisitForm,
        context=certification_context,
        title_zh="养老金资格认证",
        title_en="Pension certification visit",
    ),
)
"""The pension campaign's task types with their view."""

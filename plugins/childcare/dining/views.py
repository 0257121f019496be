"""Context view of the dining-table inspection and re-check."""

from __future__ import annotations

from sqlmodel import Session, col, func, select

from careflow.contract import TaskType
from careflow.db.tables import Provider, Task
from careflow.task_context import ContextItem, area_name, case_records
from plugins.childcare.dining.forms import CHECKLIST_ITEMS, InspectionForm
from plugins.childcare.dining.tables import DiningEnrolment

__all__ = ["TASK_TYPES", "inspection_context"]


def _provider(session: Session, task: Task) -> Provider:
    # The case ref of a round's inspection ends with the provider id; a record names it too.
    refs = [task.case_ref.rsplit(".", 1)[-1], task.case_ref]
    refs += [str(r.data.get("provider_ref")) for r in case_records(session, task)]
    for ref in refs:
        provider = session.get(Provider, ref)
        if provider is not None:
            return provider
    raise LookupError("provider not found")


def inspection_context(session: Session, task: Task) -> list[ContextItem]:
    """The table to inspect, the children it feeds, and what failed last time (re-check)."""
    provider = _provider(session, task)
    children = session.exec(
        select(func.count())
        .select_from(DiningEnrolment)
        .where(DiningEnrolment.provider_id == provider.id, col(DiningEnrolment.active).is_(True))
    ).one()
    items = [
        ContextItem(label_zh="小饭桌", label_en="dining table", value=provider.name_zh),
        ContextItem(
            label_zh="所在社区",
            label_en="community",
            value=area_name(session, provider.community_code),
        ),
        ContextItem(label_zh="就餐儿童数", label_en="children enrolled", value=int(children)),
    ]
    done = [
        r for r in case_records(session, task) if r.kind in ("dining_inspected", "dining_rechecked")
    ]
    if done:
        failed = [CHECKLIST_ITEMS.get(i, i) for i in done[-1].data.get("failed_items", [])]
        items.append(
            ContextItem(label_zh="上次未通过项", label_en="failed last time", value=failed)
        )
    return items


TASK_TYPES = (
    TaskType(
        form=InspectionForm,
        context=inspection_context,
        title_zh="小饭桌检查",
        title_en="Dining table inspection",
    ),
)
"""The dining inspection's task types with their views."""

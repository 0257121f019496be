"""Context view of the place offer: the provider offered and the family's application."""

from __future__ import annotations

from sqlmodel import Session, col, select

from careflow.contract import TaskType
from careflow.db.tables import CaseRecord, Person, Provider, Task
from careflow.task_context import ContextItem, age_on, area_name, person_items
from plugins.childcare.places.forms import ConsentFollowUpForm, OfferAnswerForm
from plugins.childcare.places.tables import PlacesApplication

__all__ = ["TASK_TYPES", "application_context", "consent_follow_up_context", "place_offer_context"]


def application_context(session: Session, task: Task) -> list[ContextItem]:
    """The child of the application (name personal), age, status and place in the queue."""
    application = session.get(PlacesApplication, task.workflow_id)
    if application is None:
        raise LookupError("no application")
    child = session.get(Person, application.child_id)
    if child is None:
        raise LookupError("child not in the registry")
    return [
        *person_items(session, child.id, who_zh="儿童", who_en="child", phone=False),
        ContextItem(
            label_zh="年龄",
            label_en="age",
            value=age_on(child.birth_date, application.queued_at.date()),
        ),
        ContextItem(
            label_zh="居住社区",
            label_en="community",
            value=area_name(session, child.community_code),
        ),
        ContextItem(
            label_zh="排队时间",
            label_en="queued since",
            value=application.queued_at.date().isoformat(),
        ),
        ContextItem(label_zh="申请状态", label_en="status", value=application.status),
    ]


def place_offer_context(session: Session, task: Task) -> list[ContextItem]:
    """The provider whose place is offered, then the family's application."""
    application = session.get(PlacesApplication, task.workflow_id)
    provider = (
        session.get(Provider, application.provider_id)
        if application is not None and application.provider_id
        else None
    )
    if provider is None:
        raise LookupError("no provider offered")
    return [
        ContextItem(label_zh="托育机构", label_en="provider", value=provider.name_zh),
        ContextItem(
            label_zh="机构所在社区",
            label_en="provider community",
            value=area_name(session, provider.community_code),
        ),
        *application_context(session, task),
    ]


def consent_follow_up_context(session: Session, task: Task) -> list[ContextItem]:
    """The child whose guardian must consent, and what for (no application row exists yet)."""
    records = session.exec(
        select(CaseRecord)
        .where(CaseRecord.workflow_id == task.workflow_id, CaseRecord.kind == "consent_missing")
        .order_by(col(CaseRecord.id).desc())
    ).first()
    child_ref = str(records.data.get("child_ref", "")) if records is not None else ""
    child = session.get(Person, child_ref) if child_ref else None
    if child is None:
        raise LookupError("no child recorded")
    return [
        *person_items(session, child.id, who_zh="儿童", who_en="child", phone=False),
        ContextItem(
            label_zh="居住社区",
            label_en="community",
            value=area_name(session, child.community_code),
        ),
        ContextItem(
            label_zh="所需同意", label_en="consent needed", value="托育服务 childcare place"
        ),
    ]


TASK_TYPES = (
    TaskType(
        form=ConsentFollowUpForm,
        context=consent_follow_up_context,
        title_zh="补登监护人同意",
        title_en="Record the guardian's consent",
    ),
    TaskType(
        form=OfferAnswerForm,
        context=place_offer_context,
        title_zh="托位答复",
        title_en="Place offer answer",
    ),
)
"""The places' task types with their views."""

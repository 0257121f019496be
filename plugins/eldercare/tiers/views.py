"""Context views of the three-colour care plan: the elder, the tier and the volunteer."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, col, select

from careflow.contract import TaskType
from careflow.db.tables import Person, Task, Volunteer
from careflow.task_context import ContextItem, age_on, person_items
from plugins.eldercare.tiers.forms import AssessmentForm, VisitForm
from plugins.eldercare.tiers.tables import TierAssessment, TierCarePlan

__all__ = ["TASK_TYPES", "tiers_context"]

_TIER_ZH = {"green": "绿 green", "yellow": "黄 yellow", "red": "红 red"}


def tiers_context(session: Session, task: Task) -> list[ContextItem]:
    """The elder (name, phone, address personal), age and facts, the tier and volunteer."""
    elder = session.get(Person, task.case_ref)
    if elder is None:
        raise LookupError("elder not in the registry")
    items = [
        *person_items(session, elder.id, who_zh="老人", who_en="elder", address=True),
        ContextItem(label_zh="年龄", label_en="age", value=age_on(elder.birth_date, date.today())),
        ContextItem(
            label_zh="独居",
            label_en="lives alone",
            value="是 yes" if elder.lives_alone else "否 no",
        ),
        ContextItem(label_zh="残疾等级", label_en="disability level", value=elder.disability_level),
    ]
    assessment = session.exec(
        select(TierAssessment)
        .where(TierAssessment.elder_ref == elder.id)
        .order_by(col(TierAssessment.assessed_at).desc(), col(TierAssessment.id).desc())
    ).first()
    if assessment is not None:
        items.append(
            ContextItem(
                label_zh="当前分级",
                label_en="current tier",
                value=_TIER_ZH.get(assessment.tier, assessment.tier),
            )
        )
    plan = session.get(TierCarePlan, elder.id)
    volunteer = session.get(Volunteer, plan.volunteer_ref) if plan and plan.volunteer_ref else None
    if volunteer is not None:
        items.append(ContextItem(label_zh="结对志愿者", label_en="volunteer", value=volunteer.name))
    return items


TASK_TYPES = (
    TaskType(
        form=AssessmentForm, context=tiers_context, title_zh="分级评估", title_en="Assessment"
    ),
    TaskType(form=VisitForm, context=tiers_context, title_zh="分级探访", title_en="Tier visit"),
)
"""The care plan's task types with their view."""

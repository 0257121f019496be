"""Context views of Xiaodian's tasks: the elder of an anti-fraud talk, the places
application of a child-safety session, the district of a couplet session."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, col, func, select

from careflow.contract import TaskType
from careflow.db.tables import Person, Task
from careflow.task_context import ContextItem, age_on, area_name, person_items
from plugins.childcare.places import application_context
from plugins.xiaodian.forms import AntiFraudTalkForm, ChildSafetyLawForm, CoupletSessionForm

__all__ = ["TASK_TYPES", "anti_fraud_context", "couplet_context"]


def anti_fraud_context(session: Session, task: Task) -> list[ContextItem]:
    """The elder visited (name, phone, address personal) and their age."""
    elder = session.get(Person, task.case_ref)  # a care plan's case is the elder
    if elder is None:
        raise LookupError("elder not in the registry")
    return [
        *person_items(session, elder.id, who_zh="老人", who_en="elder", address=True),
        ContextItem(label_zh="年龄", label_en="age", value=age_on(elder.birth_date, date.today())),
        ContextItem(
            label_zh="独居",
            label_en="lives alone",
            value="是 yes" if elder.lives_alone else "否 no",
        ),
    ]


def couplet_context(session: Session, task: Task) -> list[ContextItem]:
    """The district of the festival round and how many elders it has."""
    elders = session.exec(
        select(func.count())
        .select_from(Person)
        .where(Person.kind == "elder", col(Person.community_code).startswith(f"{task.district}."))
    ).one()
    return [
        ContextItem(label_zh="城区", label_en="district", value=area_name(session, task.district)),
        ContextItem(label_zh="老人数", label_en="elders", value=int(elders)),
    ]


TASK_TYPES = (
    TaskType(
        form=AntiFraudTalkForm,
        context=anti_fraud_context,
        title_zh="防诈骗宣讲",
        title_en="Anti-fraud talk",
    ),
    TaskType(
        form=ChildSafetyLawForm,
        context=application_context,
        title_zh="儿童安全普法",
        title_en="Child safety law session",
    ),
    TaskType(
        form=CoupletSessionForm,
        context=couplet_context,
        title_zh="写春联活动",
        title_en="Couplet session",
    ),
)
"""Xiaodian's task types with their views."""

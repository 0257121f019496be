"""Context views of the classroom's tasks: who to check in, whom to call for a late pickup."""

from __future__ import annotations

from sqlmodel import Session, col, select

from careflow.contract import TaskType
from careflow.db.tables import Guardian, Person, Task
from careflow.task_context import ContextItem, area_name, person_items
from plugins.childcare.classroom.forms import CallForm, CheckInForm
from plugins.childcare.classroom.tables import ClassroomEnrolment

__all__ = ["TASK_TYPES", "check_in_context", "late_pickup_context"]


def check_in_context(session: Session, task: Task) -> list[ContextItem]:
    """The children enrolled in the session's community: ids, and names as personal data."""
    children = session.exec(
        select(Person)
        .join(ClassroomEnrolment, col(ClassroomEnrolment.child_id) == col(Person.id))
        .where(
            ClassroomEnrolment.community_code == task.community,
            col(ClassroomEnrolment.active).is_(True),
        )
        .order_by(col(Person.id))
    ).all()
    return [
        ContextItem(
            label_zh="社区", label_en="community", value=area_name(session, task.community)
        ),
        ContextItem(label_zh="报名儿童数", label_en="children enrolled", value=len(children)),
        ContextItem(label_zh="儿童编号", label_en="child ids", value=[c.id for c in children]),
        ContextItem(
            label_zh="儿童姓名",
            label_en="child names",
            value=[c.name for c in children],
            personal="name",
        ),
    ]


def late_pickup_context(session: Session, task: Task) -> list[ContextItem]:
    """The child nobody collected and the guardians to call (names and phones personal)."""
    child_ref = task.step_key.split(".", 1)[1]  # call.<child ref>
    items = person_items(session, child_ref, who_zh="儿童", who_en="child", phone=False)
    guardians = session.exec(
        select(Person, Guardian)
        .join(Guardian, col(Guardian.guardian_id) == col(Person.id))
        .where(Guardian.child_id == child_ref)
        .order_by(col(Guardian.authorised_pickup).desc(), col(Person.id))
    ).all()
    for person, link in guardians:
        who = f"监护人（{link.relation}{'，可接送' if link.authorised_pickup else ''}）"
        items += person_items(session, person.id, who_zh=who, who_en=f"guardian ({link.relation})")
    return items


TASK_TYPES = (
    TaskType(form=CheckInForm, context=check_in_context, title_zh="课堂签到", title_en="Check-in"),
    TaskType(
        form=CallForm,
        context=late_pickup_context,
        title_zh="致电监护人",
        title_en="Late-pickup call",
    ),
)
"""The classroom's task types with their views."""

"""Context view of Yingze's student-volunteer roster task at the festival round."""

from __future__ import annotations

from sqlmodel import Session, col, func, select

from careflow.contract import TaskType
from careflow.db.tables import Person, Task, Volunteer
from careflow.task_context import ContextItem, area_name
from plugins.yingze.forms import StudentVolunteerRoster

__all__ = ["TASK_TYPES", "festival_roster_context"]


def festival_roster_context(session: Session, task: Task) -> list[ContextItem]:
    """The district, its elders living alone, and the student volunteers registered there."""
    prefix = f"{task.district}."
    alone = session.exec(
        select(func.count())
        .select_from(Person)
        .where(
            Person.kind == "elder",
            col(Person.lives_alone).is_(True),
            col(Person.community_code).startswith(prefix),
        )
    ).one()
    students = session.exec(
        select(func.count())
        .select_from(Volunteer)
        .where(Volunteer.kind == "student", col(Volunteer.community_code).startswith(prefix))
    ).one()
    return [
        ContextItem(label_zh="城区", label_en="district", value=area_name(session, task.district)),
        ContextItem(label_zh="独居老人数", label_en="elders living alone", value=int(alone)),
        ContextItem(label_zh="学生志愿者数", label_en="student volunteers", value=int(students)),
    ]


TASK_TYPES = (
    TaskType(
        form=StudentVolunteerRoster,
        context=festival_roster_context,
        title_zh="学生志愿者名单",
        title_en="Student volunteer roster",
    ),
)
"""Yingze's task types with their views."""

"""Context view of the curtain tasks: the elder to look in on and the paired volunteer."""

from __future__ import annotations

import re

from sqlmodel import Session, col, select

from careflow.contract import TaskType
from careflow.db.tables import Pairing, Task, Volunteer
from careflow.task_context import ContextItem, person_items
from plugins.eldercare.curtain.forms import CallForm, CurtainCheckForm, DoorCheckForm

__all__ = ["TASK_TYPES", "curtain_context"]

_ELDER = re.compile(r"^P\d{3,}$")


def _elder_ref(task: Task) -> str:
    # A check's case ref is <elder>.<yyyymmdd>; a batch's task key is check.<elder>.<yyyymmdd>.
    for part in (*task.case_ref.split("."), *task.step_key.split(".")):
        if _ELDER.match(part):
            return part
    raise LookupError("no elder in the task")


def curtain_context(session: Session, task: Task) -> list[ContextItem]:
    """The elder (name, phone, address personal) and the volunteer paired for curtain checks."""
    elder_ref = _elder_ref(task)
    items = person_items(session, elder_ref, who_zh="老人", who_en="elder", address=True)
    volunteer = session.exec(
        select(Volunteer)
        .join(Pairing, col(Pairing.volunteer_id) == col(Volunteer.id))
        .where(
            Pairing.elder_id == elder_ref, Pairing.kind == "curtain", col(Pairing.active).is_(True)
        )
        .order_by(col(Pairing.id))
    ).first()
    if volunteer is not None:
        items += [
            ContextItem(label_zh="结对志愿者", label_en="volunteer", value=volunteer.name),
            ContextItem(
                label_zh="志愿者电话",
                label_en="volunteer phone",
                value=volunteer.phone,
                personal="phone",
            ),
        ]
    return items


TASK_TYPES = tuple(
    TaskType(form=form, context=curtain_context, title_zh=zh, title_en=en)
    for form, zh, en in (
        (CurtainCheckForm, "窗帘查看", "Curtain check"),
        (CallForm, "电话问候", "Call the elder"),
        (DoorCheckForm, "上门查看", "Door check"),
    )
)
"""The curtain checks' task types, all with the same view."""

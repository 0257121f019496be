"""Context views of a community event's task: who registered, for the attendance."""

from __future__ import annotations

from sqlmodel import Session

from careflow.db.tables import Task
from careflow.task_context import ContextItem, area_name, case_records, person_items

__all__ = ["attendance_context"]


def _community(session: Session, task: Task) -> ContextItem:
    return ContextItem(
        label_zh="社区", label_en="community", value=area_name(session, task.community)
    )


def attendance_context(session: Session, task: Task) -> list[ContextItem]:
    """Who registered (names as personal data) and how many seats each."""
    seats: dict[str, int] = {}
    waiting: dict[str, int] = {}
    for record in case_records(session, task):
        ref = str(record.data.get("person_ref"))
        if record.kind == "event_registered":
            confirmed = record.data.get("status") == "confirmed"
            (seats if confirmed else waiting)[ref] = int(record.data.get("seats", 1))
        elif record.kind == "event_cancelled":
            seats.pop(ref, None)
            waiting.pop(ref, None)
            for promoted in record.data.get("promoted", []):
                seats[promoted] = waiting.pop(promoted, 1)
    names = []
    for ref in sorted(seats):
        person = person_items(session, ref, who_zh="报名人", who_en="registrant", phone=False)
        names.append(f"{person[0].value}")
    return [
        _community(session, task),
        ContextItem(label_zh="已报名人数", label_en="seats confirmed", value=sum(seats.values())),
        ContextItem(label_zh="报名名单", label_en="registered", value=names, personal="name"),
    ]

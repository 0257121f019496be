"""Context views of the engine's tasks: Delivery drop-off and hand-over, event attendance."""

from __future__ import annotations

from sqlmodel import Session

from careflow.db.tables import Task
from careflow.task_context import (
    ContextItem,
    area_name,
    case_records,
    person_items,
    subject_ref,
)

__all__ = ["attendance_context", "dropoff_context", "handover_context"]


def _community(session: Session, task: Task) -> ContextItem:
    return ContextItem(
        label_zh="社区", label_en="community", value=area_name(session, task.community)
    )


def _recipient(session: Session, task: Task, *, address: bool) -> list[ContextItem]:
    try:
        ref = subject_ref(session, task)
    except LookupError:
        return []
    return person_items(session, ref, who_zh="收件人", who_en="recipient", address=address)


def dropoff_context(session: Session, task: Task) -> list[ContextItem]:
    """Where the goods are expected and for whom (the recipient masked as personal data)."""
    return [_community(session, task), *_recipient(session, task, address=False)]


def handover_context(session: Session, task: Task) -> list[ContextItem]:
    """Whom to hand the goods to, where, and what the drop-off recorded."""
    items = [_community(session, task), *_recipient(session, task, address=True)]
    for record in case_records(session, task, "goods_dropped_off")[-1:]:
        data = record.data
        items += [
            ContextItem(
                label_zh="物资与清单相符",
                label_en="goods match the list",
                value="是 yes" if data.get("items_match") else "否 no",
            ),
            ContextItem(
                label_zh="存放位置", label_en="storage", value=data.get("storage_ref") or None
            ),
        ]
    return items


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

"""What a task shows the person who acts on it: context read from the app database.

Each :class:`careflow.contract.TaskType` may declare a *context view*: a function of a
session and the task row that returns :class:`ContextItem` s (the items of a drop-off, the
wishes a review decides, the child of a late pickup). The view runs when the task is shown, so
nothing of it is copied into the Temporal history, and it reads the rows the process wrote
(case records by workflow id, the plugin's own tables, the registry).

Items that are personal data say which kind (``personal``); :func:`task_context` masks them
unless the viewer's grant allows seeing them in clear.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Literal

import structlog
from pydantic import BaseModel, ConfigDict
from sqlmodel import Session, col, select

from careflow.db.tables import Area, CaseRecord, Person, Task
from careflow.forms import FormRefError

if TYPE_CHECKING:
    from careflow.registry import PluginRegistry

__all__ = [
    "UNAVAILABLE",
    "ContextItem",
    "ContextView",
    "Personal",
    "age_on",
    "area_name",
    "case_records",
    "latest_record",
    "mask_address",
    "mask_health",
    "mask_id_number",
    "mask_item",
    "mask_name",
    "mask_phone",
    "person_items",
    "subject_ref",
    "task_context",
]

_log = structlog.get_logger("careflow.task_context")

Personal = Literal["name", "phone", "id_number", "address", "health"]
"""The kinds of personal data an item may hold."""

Value = str | int | float | list[str] | None


class ContextItem(BaseModel):
    """One line a task shows: a label in Chinese and English and a value.

    Attributes:
        label_zh: The label staff read.
        label_en: The same in English.
        value: Text, a number, a list of lines, or nothing.
        personal: Which kind of personal data ``value`` is, or ``None`` for none.
    """

    model_config = ConfigDict(frozen=True)

    label_zh: str
    label_en: str
    value: Value
    personal: Personal | None = None


ContextView = Callable[[Session, Task], list[ContextItem]]
"""Reads what a task of one type needs shown: ``view(session, task) -> items``.

A view only reads; it may raise (a row missing), which :func:`task_context` turns into one
"context unavailable" item.
"""

UNAVAILABLE = ContextItem(
    label_zh="上下文不可用", label_en="context unavailable", value="请查看流程记录 see the case"
)

# -- masking


def mask_name(name: str) -> str:
    """``张小明`` → ``张*明``, ``张三`` → ``张*``; first and (for three or more) last kept."""
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_phone(phone: str) -> str:
    """``13812345678`` → ``138****5678``; short numbers keep only their last two digits."""
    if len(phone) >= 11:
        return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
    return "*" * max(len(phone) - 2, 1) + phone[-2:]


def mask_id_number(id_number: str) -> str:
    """Only the last four characters shown: ``**************1234``."""
    return "*" * max(len(id_number) - 4, 0) + id_number[-4:]


def mask_address(_address: str) -> str:
    """An address is hidden entirely."""
    return "***"


def mask_health(_reading: object) -> str:
    """A health reading is hidden entirely."""
    return "已隐藏"


def _mask_text(kind: Personal, text: str) -> str:
    if kind == "name":
        return mask_name(text)
    if kind == "phone":
        return mask_phone(text)
    if kind == "id_number":
        return mask_id_number(text)
    if kind == "address":
        return mask_address(text)
    return mask_health(text)


def mask_item(item: ContextItem) -> ContextItem:
    """``item`` with its value masked as its kind of personal data requires."""
    kind = item.personal
    if kind is None or item.value is None:
        return item
    value: Value
    if kind == "health":
        value = mask_health(item.value)
    elif isinstance(item.value, list):
        value = [_mask_text(kind, v) for v in item.value]
    else:
        value = _mask_text(kind, str(item.value))
    return item.model_copy(update={"value": value})


# -- resolving


def task_context(
    registry: PluginRegistry, session: Session, task: Task, *, unmasked: bool
) -> list[ContextItem]:
    """The context of ``task`` from its task type's view, masked unless ``unmasked``.

    Args:
        registry: The loaded plugins; the task's ``form_ref`` is looked up among their forms.
        session: A session on the app database.
        task: The task row being shown.
        unmasked: The viewer's grant allows personal data in clear.

    Returns:
        The view's items; nothing for a task type without a view; the single
        :data:`UNAVAILABLE` item when the form is unknown or the view fails.
    """
    try:
        view = registry.task_type(task.form_ref).context
    except FormRefError:
        _log.warning("task_context.unknown_form", task_id=task.task_id, form_ref=task.form_ref)
        return [UNAVAILABLE]
    if view is None:
        return []
    try:
        items = list(view(session, task))
    except Exception as err:  # a view of any plugin; its rows may be missing
        # The error text may quote a row: log its type only.
        _log.warning(
            "task_context.view_failed",
            task_id=task.task_id,
            form_ref=task.form_ref,
            error=type(err).__name__,
        )
        return [UNAVAILABLE]
    return items if unmasked else [mask_item(item) for item in items]


# -- helpers for views


def case_records(session: Session, task: Task, kind: str | None = None) -> list[CaseRecord]:
    """The case records of the task's workflow (of one ``kind``), oldest first."""
    query = select(CaseRecord).where(CaseRecord.workflow_id == task.workflow_id)
    if kind is not None:
        query = query.where(CaseRecord.kind == kind)
    return list(session.exec(query.order_by(col(CaseRecord.id))).all())


def latest_record(session: Session, task: Task, kind: str) -> CaseRecord:
    """The newest case record of ``kind`` of the task's workflow.

    Raises:
        LookupError: The process wrote none.
    """
    found = case_records(session, task, kind)
    if not found:
        raise LookupError(f"no {kind} record")
    return found[-1]


def area_name(session: Session, code: str | None) -> str | None:
    """The Chinese name of an area code (the code itself if it is not in the registry)."""
    if code is None:
        return None
    area = session.get(Area, code)
    return area.name_zh if area is not None else code


def age_on(birth_date: date, day: date) -> int:
    """Whole years from ``birth_date`` to ``day``."""
    before = (day.month, day.day) < (birth_date.month, birth_date.day)
    return day.year - birth_date.year - int(before)


def person_items(
    session: Session,
    person_id: str,
    *,
    who_zh: str,
    who_en: str,
    phone: bool = True,
    address: bool = False,
) -> list[ContextItem]:
    """Name (and phone, address) of a registry person, as personal items.

    Raises:
        LookupError: No person has the id.
    """
    person = session.get(Person, person_id)
    if person is None:
        raise LookupError("person not in the registry")
    items = [ContextItem(label_zh=who_zh, label_en=who_en, value=person.name, personal="name")]
    if phone:
        items.append(
            ContextItem(
                label_zh=f"{who_zh}电话",
                label_en=f"{who_en} phone",
                value=person.phone,
                personal="phone",
            )
        )
    if address:
        items.append(
            ContextItem(
                label_zh="地址", label_en="address", value=person.address, personal="address"
            )
        )
    return items


_PERSON = re.compile(r"^P\d{3,}$")
_SUBJECT_KEYS = ("elder_ref", "child_ref", "recipient_ref", "person_ref")


def subject_ref(session: Session, task: Task) -> str:
    """The registry id of the person a task is about.

    A case ref is the person's id or carries it as one of its dot-separated parts
    (``P00012.20260302``, ``F2026.P00012``); otherwise the first case record of the workflow
    naming an ``elder_ref``, ``child_ref``, ``recipient_ref`` or ``person_ref``.

    Raises:
        LookupError: Neither names a person of the registry.
    """
    for part in task.case_ref.split("."):
        if _PERSON.match(part) and session.get(Person, part) is not None:
            return part
    for record in case_records(session, task):
        for key in _SUBJECT_KEYS:
            value = record.data.get(key)
            if isinstance(value, str) and session.get(Person, value) is not None:
                return value
    raise LookupError("no subject person")

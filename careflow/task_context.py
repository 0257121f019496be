"""What a task shows the person who acts on it: context read from the app database.

Each :class:`careflow.contract.TaskType` may declare a *context view*: a function of a
session and the task row that returns :class:`ContextItem` s (the items of a drop-off, the
wishes a review decides, the child of a late pickup). The view runs when the task is shown, so
nothing of it is copied into the Temporal history, and it reads the rows the process wrote
(case records by workflow id, the plugin's own tables, the registry).

Items that are personal data say which kind (``personal``); :func:`task_context` masks them
by the rules of :mod:`careflow.privacy.masking` (re-exported here for the views), unless the
caller asks for kinds in clear: an unmask with a stated reason, checked and audited by
:mod:`careflow.access.actions.unmask`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from datetime import date
from typing import TYPE_CHECKING

import structlog
from pydantic import BaseModel, ConfigDict
from sqlmodel import Session, col, select

from careflow.db.tables import Area, CaseRecord, Person, Task
from careflow.forms import FormRefError
from careflow.privacy.masking import (
    Personal,
    mask_address,
    mask_health,
    mask_id_number,
    mask_item,
    mask_items,
    mask_name,
    mask_phone,
)

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
    "person_record",
    "process_subject",
    "subject_ref",
    "task_context",
]

_log = structlog.get_logger("careflow.task_context")

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

# -- resolving


def task_context(
    registry: PluginRegistry,
    session: Session,
    task: Task,
    *,
    unmasked: bool | Collection[Personal],
) -> list[ContextItem]:
    """The context of ``task`` from its task type's view, masked unless ``unmasked``.

    Args:
        registry: The loaded plugins; the task's ``form_ref`` is looked up among their forms.
        session: A session on the app database.
        task: The task row being shown.
        unmasked: ``False``: every personal item masked (what staff see by default);
            the kinds of personal data to show in clear (an audited unmask,
            :mod:`careflow.access.actions.unmask`); ``True``: everything in clear (trusted
            callers such as tests and tools holding the database).

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
    if unmasked is True:
        return items
    return mask_items(items, clear=() if unmasked is False else unmasked)


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


def _named_person(session: Session, case_ref: str) -> str | None:
    """The registry person a case ref is, or carries as one of its dot-separated parts."""
    for part in case_ref.split("."):
        if _PERSON.match(part) and session.get(Person, part) is not None:
            return part
    return None


def _record_people(session: Session, record: CaseRecord) -> list[str]:
    """Registry persons a case record names under the subject keys."""
    found = []
    for key in _SUBJECT_KEYS:
        value = record.data.get(key)
        if isinstance(value, str) and session.get(Person, value) is not None:
            found.append(value)
    return found


def subject_ref(session: Session, task: Task) -> str:
    """The registry id of the person a task is about.

    A case ref is the person's id or carries it as one of its dot-separated parts
    (``P00012.20260302``, ``F2026.P00012``); otherwise the first case record of the workflow
    naming an ``elder_ref``, ``child_ref``, ``recipient_ref`` or ``person_ref``.

    Raises:
        LookupError: Neither names a person of the registry.
    """
    named = _named_person(session, task.case_ref)
    if named is not None:
        return named
    for record in case_records(session, task):
        people = _record_people(session, record)
        if people:
            return people[0]
    raise LookupError("no subject person")


def process_subject(session: Session, workflow_id: str) -> str:
    """The registry id of the one person a whole process is about.

    Its case ref names the person (as for :func:`subject_ref`), or every case record of the
    workflow that names a person (``elder_ref``, ``child_ref``, ``recipient_ref``,
    ``person_ref``) names the same one. A campaign or an event names many: it has none.

    Raises:
        LookupError: No single person.
    """
    case_refs = set(
        session.exec(select(Task.case_ref).where(Task.workflow_id == workflow_id)).all()
    )
    records = session.exec(
        select(CaseRecord).where(CaseRecord.workflow_id == workflow_id).order_by(col(CaseRecord.id))
    ).all()
    case_refs.update(r.case_ref for r in records)
    for case_ref in sorted(case_refs):
        named = _named_person(session, case_ref)
        if named is not None:
            return named
    people = {ref for record in records for ref in _record_people(session, record)}
    if len(people) != 1:
        raise LookupError("no single subject person")
    return people.pop()


def person_record(session: Session, person_id: str) -> list[ContextItem]:
    """A registry person as a record to show: name, ID number, phone, address (all personal).

    Raises:
        LookupError: No person has the id.
    """
    person = session.get(Person, person_id)
    if person is None:
        raise LookupError("person not in the registry")
    return [
        ContextItem(label_zh="姓名", label_en="name", value=person.name, personal="name"),
        ContextItem(
            label_zh="身份证号", label_en="ID number", value=person.id_number, personal="id_number"
        ),
        ContextItem(label_zh="电话", label_en="phone", value=person.phone, personal="phone"),
        ContextItem(label_zh="地址", label_en="address", value=person.address, personal="address"),
    ]

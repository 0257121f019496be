"""Reads and idempotent writes of the app database, for activities, the CLI and reports.

Every function takes an open ``Session`` first and keyword arguments after it; the caller owns
the transaction (see ``careflow.db.engine.session_scope``). Writes keyed on (workflow id, step
key) are idempotent: a retried activity finds the row it wrote before and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Literal, TypeVar

from sqlalchemy import ColumnElement, func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select

from careflow.db.tables import (
    Area,
    CaseRecord,
    FamilyDoctorContract,
    Notification,
    Person,
    Task,
    WorkerPresence,
)
from careflow.db.types import utcnow
from careflow.models import TaskStatus

__all__ = [
    "TaskFilter",
    "UnknownNotificationError",
    "UnknownTaskError",
    "cancel_open_tasks",
    "close_task",
    "communities_of",
    "escalate_task",
    "family_doctor_of",
    "get_area",
    "get_notification",
    "get_person",
    "get_task",
    "insert_case_record",
    "insert_notification",
    "insert_task",
    "list_case_records",
    "list_notifications",
    "list_tasks",
    "list_worker_presence",
    "mark_notification_failed",
    "mark_notification_sent",
    "open_task_workflow_ids",
    "registry_is_empty",
    "remove_worker_presence",
    "upsert_worker_presence",
]

RowT = TypeVar("RowT", bound=SQLModel)

TaskFilter = Literal["open", "done", "overdue"]
"""Inbox views: open tasks, closed tasks (done, expired or cancelled), open and overdue."""


class UnknownTaskError(LookupError):
    """No task row has the given id."""


class UnknownNotificationError(LookupError):
    """No notification row has the given id."""


def _insert_once(session: Session, row: RowT, find: Callable[[], RowT | None]) -> tuple[RowT, bool]:
    """Insert ``row`` unless ``find`` returns the row of the same key.

    The insert runs in a savepoint, so losing a race with a concurrent insert of the same key
    rolls back only that insert (IntegrityError) before the winner's row is read back.
    """
    existing = find()
    if existing is not None:
        return existing, False
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        existing = find()
        if existing is None:
            raise
        return existing, False
    return row, True


# --- tasks ------------------------------------------------------------------------------------


def _task_by_key(session: Session, workflow_id: str, step_key: str) -> Task | None:
    statement = select(Task).where(Task.workflow_id == workflow_id, Task.step_key == step_key)
    return session.exec(statement).first()


def insert_task(
    session: Session,
    *,
    task_id: str,
    workflow_id: str,
    step_key: str,
    process: str,
    module: str,
    district: str,
    community: str | None,
    case_ref: str,
    role: str,
    title_zh: str,
    title_en: str,
    form_ref: str,
    form_schema: dict[str, Any],
    due_at: datetime,
    opened_at: datetime | None = None,
) -> tuple[Task, bool]:
    """Open a task once per (workflow id, step key).

    Args:
        session: The open session.
        task_id: Id of the new task.
        workflow_id: The workflow that waits for the task.
        step_key: The step of that workflow; with ``workflow_id`` the idempotency key.
        process: Process id, e.g. ``eldercare.green_channel``.
        module: Service module that owns the process.
        district: District code.
        community: Community code, if the task belongs to one.
        case_ref: Opaque case reference.
        role: Role whose inbox shows the task.
        title_zh: Title in Chinese.
        title_en: Title in English.
        form_ref: Import path of the form model.
        form_schema: JSON Schema of the form.
        due_at: When the task becomes overdue.
        opened_at: When it was opened; now by default.

    Returns:
        The task row and whether this call created it. An existing row is returned unchanged.
    """
    row = Task(
        task_id=task_id,
        workflow_id=workflow_id,
        step_key=step_key,
        process=process,
        module=module,
        district=district,
        community=community,
        case_ref=case_ref,
        role=role,
        title_zh=title_zh,
        title_en=title_en,
        form_ref=form_ref,
        form_schema=form_schema,
        status=TaskStatus.OPEN.value,
        due_at=due_at,
        opened_at=opened_at or utcnow(),
    )
    return _insert_once(session, row, lambda: _task_by_key(session, workflow_id, step_key))


def get_task(session: Session, *, task_id: str) -> Task | None:
    """The task with ``task_id``, or None."""
    return session.get(Task, task_id)


def _require_task(session: Session, task_id: str) -> Task:
    task = session.get(Task, task_id, with_for_update=True)
    if task is None:
        raise UnknownTaskError(f"no task {task_id!r}")
    return task


def escalate_task(
    session: Session, *, task_id: str, role: str, level: int, due_at: datetime
) -> Task:
    """Hand an overdue open task to the role of escalation ``level``.

    Applying a level the task has already reached, or escalating a closed task, changes nothing.

    Args:
        session: The open session.
        task_id: The task to escalate.
        role: Role of the new level.
        level: Escalation level, 1 for the first escalation.
        due_at: The new deadline.

    Returns:
        The task row.

    Raises:
        UnknownTaskError: No task has ``task_id``.
    """
    task = _require_task(session, task_id)
    if task.status != TaskStatus.OPEN or task.escalation_level >= level:
        return task
    task.role = role
    task.escalation_level = level
    task.due_at = due_at
    task.overdue = True
    session.add(task)
    session.flush()
    return task


def close_task(
    session: Session,
    *,
    task_id: str,
    status: TaskStatus,
    actor: str | None,
    role: str | None,
    result: dict[str, Any] | None,
    closed_at: datetime,
) -> Task:
    """Close an open task with its outcome; closing a closed task returns it unchanged.

    Args:
        session: The open session.
        task_id: The task to close.
        status: The final status (done, expired or cancelled).
        actor: Staff id of who completed it, if anyone.
        role: Role they acted in.
        result: The submitted form data.
        closed_at: When it closed.

    Returns:
        The task row.

    Raises:
        UnknownTaskError: No task has ``task_id``.
        ValueError: ``status`` is ``open``.
    """
    if status == TaskStatus.OPEN:
        raise ValueError("a task cannot be closed with status 'open'")
    task = _require_task(session, task_id)
    if task.status != TaskStatus.OPEN:
        return task
    task.status = TaskStatus(status).value
    task.completed_by = actor
    task.completed_role = role
    task.result = result
    task.closed_at = closed_at
    session.add(task)
    session.flush()
    return task


def list_tasks(
    session: Session,
    *,
    role: str | None = None,
    district: str | None = None,
    community: str | None = None,
    status: TaskFilter | None = None,
    workflow_id: str | None = None,
    now: datetime | None = None,
) -> Sequence[Task]:
    """Tasks for an inbox, soonest deadline first.

    Args:
        session: The open session.
        role: Only tasks held by this role.
        district: Only tasks of this district.
        community: Only tasks of this community.
        status: ``'open'``, ``'done'`` (closed for any reason), ``'overdue'`` (open and
            escalated or past ``due_at``), or None for all.
        workflow_id: Only tasks of this workflow.
        now: The time ``'overdue'`` compares deadlines with; the current time by default.

    Returns:
        The matching task rows.
    """
    conditions: list[ColumnElement[bool]] = []
    if role is not None:
        conditions.append(col(Task.role) == role)
    if district is not None:
        conditions.append(col(Task.district) == district)
    if community is not None:
        conditions.append(col(Task.community) == community)
    if workflow_id is not None:
        conditions.append(col(Task.workflow_id) == workflow_id)
    if status == "open":
        conditions.append(col(Task.status) == TaskStatus.OPEN.value)
    elif status == "done":
        conditions.append(col(Task.status) != TaskStatus.OPEN.value)
    elif status == "overdue":
        conditions.append(col(Task.status) == TaskStatus.OPEN.value)
        conditions.append(or_(col(Task.overdue).is_(True), col(Task.due_at) < (now or utcnow())))
    elif status is not None:
        raise ValueError(f"unknown task filter {status!r}")
    statement = select(Task).where(*conditions).order_by(col(Task.due_at), col(Task.task_id))
    return session.exec(statement).all()


# --- case records -----------------------------------------------------------------------------


def insert_case_record(
    session: Session,
    *,
    workflow_id: str,
    step_key: str,
    process: str,
    district: str,
    case_ref: str,
    kind: str,
    data: dict[str, Any],
    created_at: datetime | None = None,
) -> tuple[CaseRecord, bool]:
    """Append one event to a case record, once per (workflow id, step key).

    Returns:
        The record row and whether this call created it.
    """
    row = CaseRecord(
        workflow_id=workflow_id,
        step_key=step_key,
        process=process,
        district=district,
        case_ref=case_ref,
        kind=kind,
        data=data,
        created_at=created_at or utcnow(),
    )

    def find() -> CaseRecord | None:
        statement = select(CaseRecord).where(
            CaseRecord.workflow_id == workflow_id, CaseRecord.step_key == step_key
        )
        return session.exec(statement).first()

    return _insert_once(session, row, find)


def list_case_records(session: Session, *, workflow_id: str) -> Sequence[CaseRecord]:
    """The record of one workflow, oldest first."""
    statement = (
        select(CaseRecord)
        .where(CaseRecord.workflow_id == workflow_id)
        .order_by(col(CaseRecord.created_at), col(CaseRecord.id))
    )
    return session.exec(statement).all()


# --- notifications outbox ---------------------------------------------------------------------


def insert_notification(
    session: Session,
    *,
    workflow_id: str,
    step_key: str,
    district: str,
    community: str | None,
    recipient_ref: str,
    template: str,
    body_zh: str,
    params: dict[str, Any],
    created_at: datetime | None = None,
) -> tuple[Notification, bool]:
    """Put a notification in the outbox, once per (workflow id, step key).

    Returns:
        The outbox row and whether this call created it.
    """
    row = Notification(
        workflow_id=workflow_id,
        step_key=step_key,
        district=district,
        community=community,
        recipient_ref=recipient_ref,
        template=template,
        body_zh=body_zh,
        params=params,
        status="pending",
        created_at=created_at or utcnow(),
    )

    def find() -> Notification | None:
        statement = select(Notification).where(
            Notification.workflow_id == workflow_id, Notification.step_key == step_key
        )
        return session.exec(statement).first()

    return _insert_once(session, row, find)


def get_notification(session: Session, *, notification_id: int) -> Notification | None:
    """The outbox row with ``notification_id``, or None."""
    return session.get(Notification, notification_id)


def _require_notification(session: Session, notification_id: int) -> Notification:
    row = session.get(Notification, notification_id, with_for_update=True)
    if row is None:
        raise UnknownNotificationError(f"no notification {notification_id}")
    return row


def mark_notification_sent(
    session: Session, *, notification_id: int, adapter: str, sent_at: datetime | None = None
) -> Notification:
    """Record that ``adapter`` delivered a notification; a sent row is returned unchanged.

    Raises:
        UnknownNotificationError: No outbox row has ``notification_id``.
    """
    row = _require_notification(session, notification_id)
    if row.status == "sent":
        return row
    row.status = "sent"
    row.adapter = adapter
    row.sent_at = sent_at or utcnow()
    session.add(row)
    session.flush()
    return row


def mark_notification_failed(
    session: Session, *, notification_id: int, adapter: str
) -> Notification:
    """Record that ``adapter`` failed to deliver a notification (a retry may still send it).

    Raises:
        UnknownNotificationError: No outbox row has ``notification_id``.
    """
    row = _require_notification(session, notification_id)
    if row.status == "sent":
        return row
    row.status = "failed"
    row.adapter = adapter
    session.add(row)
    session.flush()
    return row


def list_notifications(
    session: Session,
    *,
    workflow_id: str | None = None,
    district: str | None = None,
    status: str | None = None,
    recipient_ref: str | None = None,
) -> Sequence[Notification]:
    """Outbox rows, oldest first, filtered by any of the arguments given."""
    conditions: list[ColumnElement[bool]] = []
    if workflow_id is not None:
        conditions.append(col(Notification.workflow_id) == workflow_id)
    if district is not None:
        conditions.append(col(Notification.district) == district)
    if status is not None:
        conditions.append(col(Notification.status) == status)
    if recipient_ref is not None:
        conditions.append(col(Notification.recipient_ref) == recipient_ref)
    statement = (
        select(Notification)
        .where(*conditions)
        .order_by(col(Notification.created_at), col(Notification.id))
    )
    return session.exec(statement).all()


# --- registry ---------------------------------------------------------------------------------


def registry_is_empty(session: Session) -> bool:
    """Whether no area has been registered yet (the demo seed has not run)."""
    return session.exec(select(Area.code).limit(1)).first() is None


def get_area(session: Session, *, code: str) -> Area | None:
    """The area with ``code``, or None."""
    return session.get(Area, code)


def communities_of(session: Session, *, district: str) -> Sequence[Area]:
    """The communities of a district (through its streets), ordered by code."""
    streets = select(Area.code).where(Area.level == "street", Area.parent_code == district)
    statement = (
        select(Area)
        .where(Area.level == "community", col(Area.parent_code).in_(streets))
        .order_by(col(Area.code))
    )
    return session.exec(statement).all()


def get_person(session: Session, *, person_id: str) -> Person | None:
    """The person with ``person_id``, or None."""
    return session.get(Person, person_id)


def family_doctor_of(session: Session, *, person_id: str) -> str | None:
    """The staff id of the person's contracted family doctor 签约家庭医生, or None."""
    contract = session.get(FamilyDoctorContract, person_id)
    return contract.doctor_id if contract is not None else None


# --- reconciling tasks with Temporal ------------------------------------------------------------


def open_task_workflow_ids(session: Session, *, limit: int | None = None) -> list[str]:
    """Workflow ids that have open tasks, those with the oldest open task first.

    Args:
        session: The open session.
        limit: At most this many ids.
    """
    first_opened = func.min(col(Task.opened_at))
    statement = (
        select(col(Task.workflow_id))
        .where(col(Task.status) == TaskStatus.OPEN.value)
        .group_by(col(Task.workflow_id))
        .order_by(first_opened, col(Task.workflow_id))
    )
    if limit is not None:
        statement = statement.limit(limit)
    return list(session.exec(statement).all())


def cancel_open_tasks(
    session: Session, *, workflow_id: str, reason: str, closed_at: datetime
) -> list[Task]:
    """Close every open task of a workflow as ``cancelled``; closed tasks stay as they are.

    Args:
        session: The open session.
        workflow_id: The workflow whose tasks nobody can complete any more.
        reason: Why, kept in the task's result (e.g. ``process_terminated``).
        closed_at: When.

    Returns:
        The tasks this call cancelled.
    """
    statement = select(Task).where(
        col(Task.workflow_id) == workflow_id, col(Task.status) == TaskStatus.OPEN.value
    )
    cancelled = []
    for task in session.exec(statement.with_for_update()).all():
        task.status = TaskStatus.CANCELLED.value
        task.result = {"cancelled": reason}
        task.closed_at = closed_at
        session.add(task)
        cancelled.append(task)
    session.flush()
    return cancelled


# --- worker presence ------------------------------------------------------------------------------


def upsert_worker_presence(
    session: Session,
    *,
    identity: str,
    task_queue: str,
    plugins: dict[str, str],
    now: datetime,
) -> WorkerPresence:
    """Record that a worker runs now and which plugin versions it serves."""
    row = session.get(WorkerPresence, identity)
    if row is None:
        row = WorkerPresence(
            identity=identity, task_queue=task_queue, plugins=plugins, started_at=now, seen_at=now
        )
    else:
        row.task_queue, row.plugins, row.seen_at = task_queue, dict(plugins), now
    session.add(row)
    session.flush()
    return row


def remove_worker_presence(session: Session, *, identity: str) -> None:
    """Forget a worker that stopped."""
    row = session.get(WorkerPresence, identity)
    if row is not None:
        session.delete(row)
        session.flush()


def list_worker_presence(
    session: Session, *, task_queue: str | None = None, seen_since: datetime | None = None
) -> Sequence[WorkerPresence]:
    """Worker rows, newest first; only those of ``task_queue`` and seen since ``seen_since``."""
    conditions: list[ColumnElement[bool]] = []
    if task_queue is not None:
        conditions.append(col(WorkerPresence.task_queue) == task_queue)
    if seen_since is not None:
        conditions.append(col(WorkerPresence.seen_at) >= seen_since)
    statement = (
        select(WorkerPresence).where(*conditions).order_by(col(WorkerPresence.seen_at).desc())
    )
    return session.exec(statement).all()

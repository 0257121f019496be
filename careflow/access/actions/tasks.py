"""Tasks 工单: the inbox a principal may see, a task's detail, claiming and completing it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import ColumnElement, and_, func, or_
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from careflow.access.actions.attempts import ACCEPT_WITHIN, Audited, ClientSource, now
from careflow.access.audit import Attempt
from careflow.access.principal import Principal
from careflow.access.refusals import Refused
from careflow.access.scope import CITY
from careflow.db import crud
from careflow.db.engine import session_scope
from careflow.db.tables import Task
from careflow.errors import InputError
from careflow.forms import resolve_form
from careflow.inputs import validate_external
from careflow.models import CompleteTaskInput, TaskOutcome, TaskStatus
from careflow.privacy.masking import Personal
from careflow.registry import PluginRegistry
from careflow.service import submit_completion

__all__ = [
    "READ_ALL_ROLES",
    "Completion",
    "InboxFilter",
    "TaskDetail",
    "claim_task",
    "complete_task",
    "inbox",
    "sees",
    "view_task",
]

READ_ALL_ROLES = frozenset({"auditor", "district_admin"})
"""Roles that see every task and case of the areas their grants cover (an auditor changes
nothing; a district admin may still act only in the roles it holds)."""

InboxFilter = Literal["open", "done", "overdue"]
_UPDATE_REFUSALS = {"task_id": "closed_task", "role": "wrong_role", "data": "bad_form"}
"""The refusal of each field the workflow's ``complete_task`` validator names."""


# --- scope ------------------------------------------------------------------------------------


def _area_clause(area: str) -> ColumnElement[bool]:
    """Rows of :class:`Task` in ``area`` (a task without a community belongs to its district)."""
    target = func.coalesce(col(Task.community), col(Task.district))
    if area == CITY:
        return col(Task.district).is_not(None)
    return or_(target == area, target.startswith(area + "."))


def _task_scope(principal: Principal) -> ColumnElement[bool] | None:
    """Tasks a principal may see: of a role it holds, or any task where it reads everything."""
    clauses = []
    for grant in principal.grants:
        if grant.role in READ_ALL_ROLES:
            clauses.append(_area_clause(grant.area))
        else:
            clauses.append(and_(col(Task.role) == grant.role, _area_clause(grant.area)))
    return or_(*clauses) if clauses else None


def sees(principal: Principal, task: Task) -> bool:
    """Whether ``task`` is one the principal may see (the Python twin of the inbox's scope)."""
    roles = principal.roles_at(task.district, task.community)
    return task.role in roles or bool(READ_ALL_ROLES.intersection(roles))


def _overdue(task: Task, at: datetime) -> bool:
    return task.status == TaskStatus.OPEN and (task.overdue or task.due_at < at)


# --- the inbox --------------------------------------------------------------------------------


def inbox(
    engine: Engine,
    principal: Principal | None,
    *,
    role: str | None = None,
    district: str | None = None,
    street: str | None = None,
    community: str | None = None,
    process: str | None = None,
    case_ref: str | None = None,
    status: InboxFilter | None = "open",
    assigned: Literal["me", "unassigned"] | None = None,
    limit: int = 200,
) -> list[Task]:
    """The tasks a principal may see, overdue first, then soonest due.

    A task shows to the roles it is with in the areas their grants cover (a task of a process
    started without a community shows under its district); auditors and district admins see
    every task of their areas. Filters narrow that, never widen it. ``principal=None`` is the
    operator at the CLI with database access: every task.
    """
    conditions: list[ColumnElement[bool]] = []
    if principal is not None:
        scope = _task_scope(principal)
        if scope is None:
            return []
        conditions.append(scope)
    for column, value in (
        (Task.role, role),
        (Task.district, district),
        (Task.community, community),
        (Task.process, process),
        (Task.case_ref, case_ref),
    ):
        if value is not None:
            conditions.append(col(column) == value)
    if street is not None:
        conditions.append(col(Task.community).startswith(street + "."))
    if assigned == "me":
        conditions.append(col(Task.assignee) == (principal.staff_id if principal else None))
    elif assigned == "unassigned":
        conditions.append(col(Task.assignee).is_(None))
    overdue = and_(
        col(Task.status) == TaskStatus.OPEN.value,
        or_(col(Task.overdue).is_(True), col(Task.due_at) < now()),
    )
    if status == "open":
        conditions.append(col(Task.status) == TaskStatus.OPEN.value)
    elif status == "done":
        conditions.append(col(Task.status) != TaskStatus.OPEN.value)
    elif status == "overdue":
        conditions.append(overdue)
    statement = (
        select(Task)
        .where(*conditions)
        .order_by(overdue.desc(), col(Task.due_at), col(Task.task_id))
        .limit(max(1, min(limit, 1000)))
    )
    with Session(engine) as session:
        return list(session.exec(statement).all())


# --- one task ---------------------------------------------------------------------------------


def _visible_task(audit: Audited, task_id: str) -> tuple[Principal, Task]:
    """The principal and the task, if the principal may see it; the audit learns its area.

    Raises:
        Refused: ``not_logged_in``, ``unknown``, ``wrong_role`` (another role's task in the
            principal's area), ``out_of_scope`` (another area's).
    """
    principal = audit.principal
    with Session(audit.engine) as session:
        task = crud.get_task(session, task_id=task_id)
    if task is None:
        raise Refused("unknown", f"没有这个工单 unknown task {task_id!r}", field="task_id")
    audit.district, audit.community = task.district, task.community
    if not sees(principal, task):
        if principal.reads(task.district, task.community):
            raise Refused(
                "wrong_role",
                f"该工单需由「{task.role}」处理 this task is for role {task.role}",
                field="task_id",
            )
        raise Refused(
            "out_of_scope", "该工单不在您的负责范围 this task is outside your area", field="task_id"
        )
    return principal, task


def _acting_role(principal: Principal, task: Task, role: str | None) -> str:
    """The role the principal acts on ``task`` in: the task's current one.

    Raises:
        Refused: ``wrong_role`` (a token, another role named, the role not held) or
            ``read_only`` (an auditor).
    """
    roles = principal.roles_at(task.district, task.community)
    if principal.token is not None:
        raise Refused("wrong_role", "令牌不能处理工单 an API token cannot act on tasks")
    if role is not None and role != task.role:
        raise Refused(
            "wrong_role",
            f"该工单现由「{task.role}」处理 this task is now with role {task.role}, not {role}",
            field="role",
        )
    if task.role in roles:
        return task.role
    if roles and set(roles) <= {"auditor"}:
        raise Refused("read_only", "审计账号只能查看 auditors read, they change nothing")
    raise Refused(
        "wrong_role", f"您没有处理此工单的角色 you do not hold role {task.role} here", field="role"
    )


@dataclass(frozen=True, slots=True)
class TaskDetail:
    """A task as one principal may see it."""

    task: Task
    context: list[Any]
    may_complete: bool
    unmasked: bool
    overdue: bool
    may_unmask: bool = False
    """Whether the principal may ask to see the context in full
    (:func:`careflow.access.actions.unmask.unmask_task`)."""
    clear: frozenset[Personal] = frozenset()
    """The kinds of personal data the context shows in clear (an unmask's answer only)."""


def view_task(
    engine: Engine, registry: PluginRegistry, attempt: Attempt, *, task_id: str
) -> TaskDetail:
    """A task with what a person needs to act on it; audited.

    Personal items of the context are masked for everyone, the person who must act included;
    whoever may see them in clear unmasks the task with a stated reason
    (:func:`careflow.access.actions.unmask.unmask_task`, audited on its own).

    Raises:
        Refused: As :func:`_visible_task`.
    """
    from careflow.access.actions.unmask import task_unmask_kinds
    from careflow.task_context import task_context

    audit = Audited(engine, attempt, "task.view", target=task_id)
    with audit.checks():
        principal, task = _visible_task(audit, task_id)
    holds = principal.holds(task.role, task.district, task.community)
    with Session(engine) as session:
        context = task_context(registry, session, task, unmasked=False)
    audit.accepted()
    return TaskDetail(
        task=task,
        context=context,
        may_complete=task.status == TaskStatus.OPEN and holds,
        unmasked=False,
        overdue=_overdue(task, now()),
        may_unmask=bool(task_unmask_kinds(principal, task))
        and any(getattr(item, "personal", None) for item in context),
    )


def claim_task(engine: Engine, attempt: Attempt, *, task_id: str, release: bool = False) -> Task:
    """Claim an open task for oneself (or release one's claim); audited.

    Raises:
        Refused: As for viewing; ``wrong_role``/``read_only`` for who may not act on it;
            ``closed_task``; ``claimed_by_other`` when someone else holds it.
    """
    audit = Audited(engine, attempt, "task.release" if release else "task.claim", target=task_id)
    with audit.checks():
        principal, task = _visible_task(audit, task_id)
        _acting_role(principal, task, None)
        with session_scope(engine) as session:
            row = session.get(Task, task_id, with_for_update=True)
            assert row is not None
            if row.status != TaskStatus.OPEN:
                raise Refused("closed_task", f"工单已关闭 task {task_id} is {row.status}")
            if row.assignee not in (None, principal.staff_id):
                raise Refused(
                    "claimed_by_other", f"已由他人认领 task {task_id} is claimed by {row.assignee}"
                )
            row.assignee = None if release else principal.staff_id
            row.claimed_at = None if release else now()
            session.add(row)
    audit.accepted()
    return row


# --- completing -------------------------------------------------------------------------------


class Completion(BaseModel):
    """The answer to a task completion."""

    task_id: str
    workflow_id: str
    recorded: bool
    """True: the process recorded it (the task is closed). False: accepted by the process
    (it is in the history and will be recorded), but not recorded within the deadline."""
    outcome: TaskOutcome | None = None
    request_id: str
    message: str


def _check_form(registry: PluginRegistry, task: Task, data: Any) -> None:
    """Validate form data against the task's declared form.

    Raises:
        Refused: ``bad_form`` with every failing field; ``unknown`` for a form no loaded
            plugin declares.
        InputError: Form data too large or deep (as ``bad_form`` through the checks).
    """
    if not isinstance(data, dict):
        raise Refused("bad_form", "表单数据应为对象 form data must be a JSON object", field="data")
    try:
        form = resolve_form(registry, task.form_ref)
    except LookupError as err:
        raise Refused("unknown", f"表单未注册 the task's form is not known here: {err}") from None
    validate_external(form, data, field="data")


async def complete_task(
    client: ClientSource,
    engine: Engine,
    registry: PluginRegistry,
    attempt: Attempt,
    *,
    task_id: str,
    data: Any,
    role: str | None = None,
    idempotency_key: str | None = None,
    reply_within: float = 5.0,
) -> Completion:
    """Complete a task as the attempt's principal, in the task's current role.

    Checked in order, each refusal audited: logged in; task known and in scope; the principal
    holds the task's current role over its community (auditors read only); the task is open
    and not claimed by someone else; the form validates. Then the ``complete_task`` Update,
    whose validator decides last. A repeat by the same person of a completion already recorded
    answers with the recorded outcome; with ``idempotency_key``, concurrent repeats are one
    Update.

    Raises:
        Refused: See above; ``temporal_unavailable`` when Temporal cannot be reached or no
            worker accepted the Update within :data:`ACCEPT_WITHIN` seconds (not accepted).
    """
    audit = Audited(engine, attempt, "task.complete", target=task_id)
    with audit.checks(inputs="bad_form", label="表单有误 the form has errors:"):
        principal, task = _visible_task(audit, task_id)
        acting = _acting_role(principal, task, role)
        if task.status == TaskStatus.DONE and task.completed_by == principal.staff_id:
            # The same person again (a double click, a retried post): the recorded answer.
            return Completion(
                task_id=task_id,
                workflow_id=task.workflow_id,
                recorded=True,
                request_id=attempt.request_id,
                message=f"已完成 already completed by you at {task.closed_at:%Y-%m-%d %H:%M} UTC",
            )
        if task.status != TaskStatus.OPEN:
            raise Refused(
                "closed_task",
                f"工单已关闭 task {task_id} is already {task.status}",
                field="task_id",
            )
        if task.assignee not in (None, principal.staff_id):
            raise Refused(
                "claimed_by_other", f"已由他人认领 task {task_id} is claimed by {task.assignee}"
            )
        _check_form(registry, task, data)
    update_id = None
    if idempotency_key:
        digest = hashlib.sha256(f"{principal.staff_id}:{idempotency_key}".encode()).hexdigest()
        update_id = f"complete-{task_id}-{digest[:16]}"
    connected = await audit.client(client)
    with audit.checks(temporal="工单未提交 not accepted"):
        try:
            outcome = await submit_completion(
                connected,
                workflow_id=task.workflow_id,
                update=CompleteTaskInput(
                    task_id=task_id,
                    actor=principal.staff_id,
                    role=acting,
                    data=data,
                    request_id=attempt.request_id,
                ),
                update_id=update_id,
                accept_within=ACCEPT_WITHIN,
                reply_within=reply_within,
            )
        except InputError as err:  # the workflow's validator refused it
            reason = _UPDATE_REFUSALS.get(err.field, "bad_input")
            raise Refused(reason, err.problem, field=err.field) from None
    recorded = outcome is not None
    audit.accepted(reason=None if recorded else "still_recording")
    return Completion(
        task_id=task_id,
        workflow_id=task.workflow_id,
        recorded=recorded,
        outcome=outcome,
        request_id=attempt.request_id,
        message=(
            "已完成 completed"
            if recorded
            else "已受理，正在记录 accepted by the process, still being recorded"
        ),
    )

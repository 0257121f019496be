"""What a person or partner system may do, checked and audited the same way on every channel.

Console, HTTP API and CLI call these functions and nothing below them. Each one:

1. takes an :class:`~careflow.access.audit.Attempt` (who, through which channel, request id);
2. refuses, with a :class:`~careflow.access.refusals.Refused` naming the rule or field, what the
   account's live grants do not cover (the account must exist and be active; roles are never
   taken from the caller);
3. writes exactly one audit row for the attempt, accepted or refused, before it returns;
4. for accepted actions, hands the request id to the Update or Signal, so the Temporal history
   joins to the audit row.

The workflow's own ``complete_task`` validator stays the last word on a completion.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from sqlalchemy import ColumnElement, and_, func, or_
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select
from temporalio.client import Client
from temporalio.service import RPCError

from careflow.access import accounts
from careflow.access.audit import AUDIT_READER_ROLES, Attempt, list_audit, record
from careflow.access.form_errors import field_problems
from careflow.access.principal import Channel, Principal
from careflow.access.refusals import Refused
from careflow.access.scope import CITY, area_of
from careflow.contract import ProcessSpec
from careflow.db import crud
from careflow.db.engine import session_scope
from careflow.db.tables import AuditEntry, CaseRecord, Task
from careflow.errors import InputError, PayloadError
from careflow.inputs import validate_external
from careflow.models import CompleteTaskInput, TaskOutcome, TaskStatus
from careflow.registry import PluginRegistry
from careflow.service import (
    StartedProcess,
    deliver_event,
    prepare_event,
    prepare_start,
    process_status,
    start_prepared,
    submit_completion,
)

__all__ = [
    "READ_ALL_ROLES",
    "ClientSource",
    "Completion",
    "InboxFilter",
    "TaskDetail",
    "claim_task",
    "complete_task",
    "find_cases",
    "inbox",
    "login",
    "logout",
    "process_view",
    "read_audit",
    "send_event",
    "start_process",
    "startable",
    "view_task",
]

READ_ALL_ROLES = frozenset({"auditor", "district_admin"})
"""Roles that see every task and case of the areas their grants cover (an auditor changes
nothing; a district admin may still act only in the roles it holds)."""
ACCEPT_WITHIN = 10.0
"""Seconds a completion waits for the workflow to accept it (a worker to run the validator)."""
_EVENT_RESERVED = ("sent_by", "request_id")

InboxFilter = Literal["open", "done", "overdue"]
ClientSource = Client | Callable[[], Awaitable[Client]]
"""A Temporal client, or how to get one: actions connect only once every local check passed,
so bad input is refused (and audited) even while Temporal is down."""


def _now() -> datetime:
    return datetime.now(UTC)


def _refuse(
    engine: Engine,
    attempt: Attempt,
    refusal: Refused,
    *,
    action: str,
    target: str | None = None,
    district: str | None = None,
    community: str | None = None,
) -> Refused:
    """Audit a refusal and return it for the caller to raise."""
    try:
        record(
            engine,
            attempt,
            action=action,
            outcome="failed" if refusal.unavailable else "refused",
            target=target,
            district=district,
            community=community,
            reason=refusal.reason,
            message=refusal.message,
        )
    except SQLAlchemyError:
        # The database is down: the refusal itself says so; nothing can be recorded.
        if refusal.reason != "database_unavailable":
            raise
    return refusal


async def _connect(
    source: ClientSource, engine: Engine, attempt: Attempt, *, action: str, where: dict[str, Any]
) -> Client:
    """The client of ``source``; a failed connect is audited (``temporal_unavailable``).

    Raises:
        Refused: ``temporal_unavailable`` when the source raised it.
        Exception: Whatever else the source raised (the caller's own connect error).
    """
    if isinstance(source, Client):
        return source
    try:
        return await source()
    except Refused as refusal:
        raise _refuse(engine, attempt, refusal, action=action, **where) from None
    except Exception:
        record(
            engine,
            attempt,
            action=action,
            outcome="failed",
            reason="temporal_unavailable",
            message="Temporal unreachable",
            **where,
        )
        raise


def _require(attempt: Attempt) -> Principal:
    if attempt.principal is None:
        raise Refused("not_logged_in", "请先登录 please log in")
    return attempt.principal


# --- login ------------------------------------------------------------------------------------


def login(
    engine: Engine, *, username: str, password: str, channel: Channel, request_id: str
) -> tuple[Principal, str, str]:
    """Check a username and password and open a console session; audited either way.

    Returns:
        The principal, the session's cookie secret and its CSRF token.

    Raises:
        Refused: ``bad_password``, ``locked`` or ``inactive``.
    """
    attempt = Attempt(principal=None, channel=channel, request_id=request_id, claimed=username)
    now = _now()
    try:
        with session_scope(engine) as session:
            try:
                principal = accounts.authenticate(
                    session, username=username, password=password, now=now
                )
            except Refused as refusal:
                failure: Refused | None = refusal  # the failure count commits with the block
            else:
                failure = None
                secret, csrf = accounts.open_session(session, staff_id=principal.staff_id, now=now)
    except SQLAlchemyError as err:
        raise Refused("database_unavailable", "数据库暂不可用 database unavailable") from err
    if failure is not None:
        raise _refuse(engine, attempt, failure, action="auth.login", target=username)
    record(
        engine,
        Attempt(principal=principal, channel=channel, request_id=request_id),
        action="auth.login",
        outcome="accepted",
        target=username,
    )
    return principal, secret, csrf


def logout(engine: Engine, attempt: Attempt, *, secret: str) -> None:
    """End a console session; audited."""
    with session_scope(engine) as session:
        accounts.close_session(session, secret=secret)
    record(engine, attempt, action="auth.logout", outcome="accepted")


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


def _sees(principal: Principal, task: Task) -> bool:
    roles = principal.roles_at(task.district, task.community)
    return task.role in roles or bool(READ_ALL_ROLES.intersection(roles))


# --- tasks ------------------------------------------------------------------------------------


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
    now = _now()
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
        or_(col(Task.overdue).is_(True), col(Task.due_at) < now),
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


@dataclass(frozen=True, slots=True)
class TaskDetail:
    """A task as one principal may see it."""

    task: Task
    context: list[Any]
    may_complete: bool
    unmasked: bool
    overdue: bool


def _load_task(
    engine: Engine, attempt: Attempt, *, task_id: str, action: str
) -> tuple[Principal, Task]:
    """The task, if the principal may see it; refusals audited."""
    try:
        principal = _require(attempt)
    except Refused as refusal:
        raise _refuse(engine, attempt, refusal, action=action, target=task_id) from None
    try:
        with Session(engine) as session:
            task = crud.get_task(session, task_id=task_id)
    except SQLAlchemyError as err:
        raise Refused("database_unavailable", "数据库暂不可用 database unavailable") from err
    if task is None:
        raise _refuse(
            engine,
            attempt,
            Refused("unknown", f"没有这个工单 unknown task {task_id!r}", field="task_id"),
            action=action,
            target=task_id,
        )
    if not _sees(principal, task):
        denied = (
            Refused(
                "wrong_role",
                f"该工单需由「{task.role}」处理 this task is for role {task.role}",
                field="task_id",
            )
            if principal.reads(task.district, task.community)
            else Refused(
                "out_of_scope",
                "该工单不在您的负责范围 this task is outside your area",
                field="task_id",
            )
        )
        raise _refuse(
            engine,
            attempt,
            denied,
            action=action,
            target=task_id,
            district=task.district,
            community=task.community,
        )
    return principal, task


def _task_overdue(task: Task, now: datetime) -> bool:
    return task.status == TaskStatus.OPEN and (task.overdue or task.due_at < now)


def view_task(
    engine: Engine, registry: PluginRegistry, attempt: Attempt, *, task_id: str
) -> TaskDetail:
    """A task with what a person needs to act on it; audited (it may show personal data).

    Personal items of the context are unmasked only for a principal who holds the task's
    role there (the person who must act); auditors and admins read them masked.
    """
    from careflow.task_context import task_context

    principal, task = _load_task(engine, attempt, task_id=task_id, action="task.view")
    may_complete = task.status == TaskStatus.OPEN and principal.holds(
        task.role, task.district, task.community
    )
    unmasked = principal.holds(task.role, task.district, task.community)
    with Session(engine) as session:
        context = task_context(registry, session, task, unmasked=unmasked)
    record(
        engine,
        attempt,
        action="task.view",
        outcome="accepted",
        target=task_id,
        district=task.district,
        community=task.community,
    )
    return TaskDetail(
        task=task,
        context=context,
        may_complete=may_complete,
        unmasked=unmasked,
        overdue=_task_overdue(task, _now()),
    )


def _acting_role(
    engine: Engine,
    attempt: Attempt,
    principal: Principal,
    task: Task,
    role: str | None,
    action: str,
) -> str:
    """The role the principal completes or claims ``task`` in; refusals audited."""
    where = {"target": task.task_id, "district": task.district, "community": task.community}
    roles = principal.roles_at(task.district, task.community)
    if principal.token is not None:
        refusal = Refused("wrong_role", "令牌不能处理工单 an API token cannot act on tasks")
    elif role is not None and role != task.role:
        refusal = Refused(
            "wrong_role",
            f"该工单现由「{task.role}」处理 this task is now with role {task.role}, not {role}",
            field="role",
        )
    elif task.role in roles:
        return task.role
    elif roles and set(roles) <= {"auditor"}:
        refusal = Refused("read_only", "审计账号只能查看 auditors read, they change nothing")
    else:
        refusal = Refused(
            "wrong_role",
            f"您没有处理此工单的角色 you do not hold role {task.role} here",
            field="role",
        )
    raise _refuse(engine, attempt, refusal, action=action, **where)


def claim_task(engine: Engine, attempt: Attempt, *, task_id: str, release: bool = False) -> Task:
    """Claim an open task for oneself (or release one's claim); audited.

    Raises:
        Refused: As for viewing; ``wrong_role``/``read_only`` for who may not act on it;
            ``closed_task``; ``claimed_by_other`` when someone else holds it.
    """
    action = "task.release" if release else "task.claim"
    principal, task = _load_task(engine, attempt, task_id=task_id, action=action)
    _acting_role(engine, attempt, principal, task, None, action)
    where = {"target": task_id, "district": task.district, "community": task.community}
    with session_scope(engine) as session:
        row = session.get(Task, task_id, with_for_update=True)
        assert row is not None
        refusal = None
        if row.status != TaskStatus.OPEN:
            refusal = Refused("closed_task", f"工单已关闭 task {task_id} is {row.status}")
        elif row.assignee not in (None, principal.staff_id):
            refusal = Refused(
                "claimed_by_other", f"已由他人认领 task {task_id} is claimed by {row.assignee}"
            )
        else:
            row.assignee = None if release else principal.staff_id
            row.claimed_at = None if release else _now()
            session.add(row)
    if refusal is not None:
        raise _refuse(engine, attempt, refusal, action=action, **where)
    record(engine, attempt, action=action, outcome="accepted", **where)
    return row


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


def _form_of(registry: PluginRegistry, task: Task) -> type[BaseModel]:
    from careflow.forms import resolve_form

    return resolve_form(registry, task.form_ref)


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
    action = "task.complete"
    principal, task = _load_task(engine, attempt, task_id=task_id, action=action)
    acting = _acting_role(engine, attempt, principal, task, role, action)
    where = {"target": task_id, "district": task.district, "community": task.community}
    if task.status != TaskStatus.OPEN:
        if task.status == TaskStatus.DONE and task.completed_by == principal.staff_id:
            # The same person again (a double click, a retried post): the recorded answer.
            return Completion(
                task_id=task_id,
                workflow_id=task.workflow_id,
                recorded=True,
                request_id=attempt.request_id,
                message=f"已完成 already completed by you at {task.closed_at:%Y-%m-%d %H:%M} UTC",
            )
        raise _refuse(
            engine,
            attempt,
            Refused(
                "closed_task",
                f"工单已关闭 task {task_id} is already {task.status}",
                field="task_id",
            ),
            action=action,
            **where,
        )
    if task.assignee not in (None, principal.staff_id):
        raise _refuse(
            engine,
            attempt,
            Refused(
                "claimed_by_other", f"已由他人认领 task {task_id} is claimed by {task.assignee}"
            ),
            action=action,
            **where,
        )
    if not isinstance(data, dict):
        raise _refuse(
            engine,
            attempt,
            Refused("bad_form", "表单数据应为对象 form data must be a JSON object", field="data"),
            action=action,
            **where,
        )
    try:
        validate_external(_form_of(registry, task), data, field="data")
    except PayloadError as err:
        # validate_external wraps pydantic's error; its cause lists every failing field.
        cause = err.__cause__
        assert isinstance(cause, ValidationError)
        problems = field_problems(cause, prefix="data")
        raise _refuse(
            engine,
            attempt,
            Refused(
                "bad_form",
                "表单有误 the form has errors: "
                + "; ".join(f"{p.field}: {p.message}" for p in problems),
                field=problems[0].field if problems else "data",
                problems=problems,
            ),
            action=action,
            **where,
        ) from None
    except InputError as err:
        raise _refuse(
            engine,
            attempt,
            Refused("bad_form", f"表单有误 {err.field}: {err.problem}", field=err.field),
            action=action,
            **where,
        ) from None
    except LookupError as err:
        raise _refuse(
            engine,
            attempt,
            Refused("unknown", f"表单未注册 the task's form is not known here: {err}"),
            action=action,
            **where,
        ) from None
    update_id = None
    if idempotency_key:
        digest = hashlib.sha256(f"{principal.staff_id}:{idempotency_key}".encode()).hexdigest()
        update_id = f"complete-{task_id}-{digest[:16]}"
    connected = await _connect(client, engine, attempt, action=action, where=where)
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
    except InputError as err:
        reason = {"task_id": "closed_task", "role": "wrong_role", "data": "bad_form"}.get(
            err.field, "bad_input"
        )
        raise _refuse(
            engine, attempt, Refused(reason, err.problem, field=err.field), action=action, **where
        ) from None
    except (RPCError, TimeoutError, RuntimeError) as err:
        raise _refuse(
            engine,
            attempt,
            _temporal_refusal(err, "工单未提交 not accepted"),
            action=action,
            **where,
        ) from None
    recorded = outcome is not None
    record(
        engine,
        attempt,
        action=action,
        outcome="accepted",
        reason=None if recorded else "still_recording",
        **where,
    )
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


def _temporal_refusal(err: BaseException, what: str) -> Refused:
    if isinstance(err, TimeoutError):
        return Refused(
            "temporal_unavailable",
            f"{what}：流程暂未响应，请稍后重试 {what}: the process did not answer in time; "
            "try again (a retry cannot complete it twice)",
        )
    return Refused(
        "temporal_unavailable",
        f"{what}：流程服务暂不可用 {what}: Temporal is unreachable ({type(err).__name__})",
    )


# --- processes --------------------------------------------------------------------------------


def startable(
    registry: PluginRegistry, principal: Principal
) -> list[tuple[ProcessSpec, list[str]]]:
    """Processes the principal may start, each with the areas (its grants) it may start them in."""
    if principal.token is not None:
        return []
    found = []
    for spec in registry.processes.values():
        areas = sorted({g.area for g in principal.grants if g.role in spec.start_roles})
        if areas:
            found.append((spec, areas))
    return found


async def start_process(
    client: ClientSource,
    engine: Engine,
    registry: PluginRegistry,
    attempt: Attempt,
    *,
    process: str,
    district: str,
    request: Any,
    task_queue: str,
    community: str | None = None,
    case_ref: str | None = None,
) -> StartedProcess:
    """Start a process as the attempt's principal; audited.

    The principal must hold one of the process's ``start_roles`` over the community (or, for
    a start without a community, over the district). ``started_by`` is the account id.

    Raises:
        Refused: ``not_logged_in``, ``wrong_role``/``out_of_scope``, ``bad_input`` naming the
            field, ``already_started``, ``temporal_unavailable``.
    """
    action = "process.start"
    where: dict[str, Any] = {"target": process, "district": district, "community": community}
    try:
        principal = _require(attempt)
        spec = registry.process(process)
        if principal.token is not None:
            raise Refused("wrong_role", "令牌不能发起流程 an API token cannot start processes")
        roles = principal.roles_at(district, community)
        if not roles:
            raise Refused(
                "out_of_scope",
                f"不在您的负责范围 {area_of(district, community)} is outside your area",
                field="community" if community else "district",
            )
        if not set(roles) & set(spec.start_roles):
            raise Refused(
                "wrong_role",
                f"您的角色不能发起此流程 your roles cannot start {process} "
                f"(needs one of: {', '.join(spec.start_roles)})",
            )
        prepared = prepare_start(
            registry,
            process=process,
            district=district,
            community=community,
            case_ref=case_ref,
            request=request,
            started_by=principal.staff_id,
            engine=engine,
            task_queue=task_queue,
        )
    except InputError as err:
        raise _refuse(
            engine,
            attempt,
            Refused("bad_input", f"输入有误 {err.field}: {err.problem}", field=err.field),
            action=action,
            **where,
        ) from None
    except Refused as refusal:
        raise _refuse(engine, attempt, refusal, action=action, **where) from None
    where["target"] = prepared.workflow_id
    connected = await _connect(client, engine, attempt, action=action, where=where)
    try:
        started = await start_prepared(
            connected, prepared, task_queue=task_queue, request_id=attempt.request_id
        )
    except InputError as err:
        raise _refuse(
            engine,
            attempt,
            Refused("already_started", f"流程已在运行 {err.problem}", field=err.field),
            action=action,
            **where,
        ) from None
    except (RPCError, RuntimeError) as err:
        raise _refuse(
            engine,
            attempt,
            _temporal_refusal(err, "流程未发起 not started"),
            action=action,
            **where,
        ) from None
    record(engine, attempt, action=action, outcome="accepted", **where)
    return started


async def send_event(
    client: ClientSource,
    engine: Engine,
    registry: PluginRegistry,
    attempt: Attempt,
    *,
    event_type: str,
    data: Any,
    task_queue: str,
) -> str:
    """Route a device or partner event as the attempt's principal; audited.

    A token principal may send the event types and districts its token names; a person needs
    one of the route's ``sender_roles`` over the event's area. The event's ``sent_by`` is the
    account id and its ``request_id`` the attempt's: a payload may set neither.

    Returns:
        The workflow id the event went to.

    Raises:
        Refused: ``not_logged_in``, ``out_of_scope``/``wrong_role``, ``bad_input``,
            ``unknown`` (no running process for it), ``temporal_unavailable``.
    """
    action = "event.send"
    where: dict[str, Any] = {"target": event_type}
    try:
        principal = _require(attempt)
        route = registry.route(event_type)
        if isinstance(data, dict):
            where["district"] = (
                data.get("district") if isinstance(data.get("district"), str) else None
            )
            for key in _EVENT_RESERVED:
                if key in data:
                    raise InputError(f"data.{key}", "set by careflow from who sends the event")
        prepared = prepare_event(registry, event_type=event_type, data=data, engine=engine)
        event = prepared.event
        where.update(district=event.district, community=event.community)
        token = principal.token
        if token is not None:
            if event_type not in token.event_types:
                raise Refused(
                    "out_of_scope",
                    f"令牌不允许此事件类型 the token may not send {event_type}",
                    field="event_type",
                )
            if event.district not in token.districts:
                raise Refused(
                    "out_of_scope",
                    f"令牌不允许此区 the token may not send to {event.district}",
                    field="data.district",
                )
        elif not set(principal.roles_at(event.district, event.community)) & set(route.sender_roles):
            raise Refused(
                "wrong_role",
                f"您的角色不能发送此事件 your roles cannot send {event_type} here "
                f"(needs one of: {', '.join(route.sender_roles)})",
            )
    except InputError as err:
        raise _refuse(
            engine,
            attempt,
            Refused("bad_input", f"输入有误 {err.field}: {err.problem}", field=err.field),
            action=action,
            **where,
        ) from None
    except Refused as refusal:
        raise _refuse(engine, attempt, refusal, action=action, **where) from None
    stamped = event.model_copy(
        update={"sent_by": principal.staff_id, "request_id": attempt.request_id}
    )
    prepared = type(prepared)(
        event_type=prepared.event_type,
        route=prepared.route,
        event=stamped,
        workflow_id=prepared.workflow_id,
        start=prepared.start,
    )
    where["target"] = prepared.workflow_id
    connected = await _connect(client, engine, attempt, action=action, where=where)
    try:
        workflow_id = await deliver_event(connected, prepared, task_queue=task_queue)
    except InputError as err:
        raise _refuse(
            engine,
            attempt,
            Refused("unknown", f"没有对应的流程 {err.problem}", field=err.field),
            action=action,
            **where,
        ) from None
    except (RPCError, RuntimeError) as err:
        raise _refuse(
            engine,
            attempt,
            _temporal_refusal(err, "事件未送达 not delivered"),
            action=action,
            **where,
        ) from None
    record(engine, attempt, action=action, outcome="accepted", **where)
    return workflow_id


def _acts_in(engine: Engine, principal: Principal, workflow_id: str) -> bool:
    """Whether one of a workflow's tasks is the principal's to see (a grid worker's visit in a
    district-wide campaign): who acts on a step may read the process it belongs to."""
    with Session(engine) as session:
        tasks = crud.list_tasks(session, workflow_id=workflow_id)
    return any(_sees(principal, task) for task in tasks)


def _sent_by(engine: Engine, staff_id: str, workflow_id: str) -> bool:
    """Whether an account has had an event accepted into (or a process started as) a workflow."""
    with Session(engine) as session:
        row = session.exec(
            select(AuditEntry.id).where(
                AuditEntry.actor == staff_id,
                col(AuditEntry.action).in_(("event.send", "process.start")),
                AuditEntry.outcome == "accepted",
                AuditEntry.target == workflow_id,
            )
        ).first()
    return row is not None


async def process_view(
    client: ClientSource,
    engine: Engine,
    registry: PluginRegistry,
    attempt: Attempt,
    *,
    workflow_id: str,
) -> dict[str, Any]:
    """Status, stage, plan and timeline (tasks and case records, who and when) of a process.

    A person sees the processes of the areas their grants cover, and those with a task that is
    theirs to see; a partner system only the cases it has sent events to. Audited.

    Raises:
        Refused: ``not_logged_in``, ``unknown``, ``out_of_scope``, ``temporal_unavailable``.
    """
    action = "process.view"
    where: dict[str, Any] = {"target": workflow_id}
    try:
        principal = _require(attempt)
    except Refused as refusal:
        raise _refuse(engine, attempt, refusal, action=action, **where) from None
    connected = await _connect(client, engine, attempt, action=action, where=where)
    try:
        try:
            status = await process_status(
                connected, engine, workflow_id=workflow_id, registry=registry
            )
        except InputError as err:
            raise Refused("unknown", f"没有这个流程 {err.problem}", field="workflow_id") from None
        except (RPCError, RuntimeError) as err:
            raise _temporal_refusal(err, "无法读取流程 cannot read the process") from None
        district, community = status.get("district"), status.get("community")
        where.update(district=district, community=community)
        if principal.token is not None:
            allowed = district in principal.token.districts and _sent_by(
                engine, principal.staff_id, workflow_id
            )
        else:
            allowed = (isinstance(district, str) and principal.reads(district, community)) or (
                _acts_in(engine, principal, workflow_id)
            )
        if not allowed:
            raise Refused(
                "out_of_scope", "该流程不在您的负责范围 this process is outside your scope"
            )
    except Refused as refusal:
        raise _refuse(engine, attempt, refusal, action=action, **where) from None
    with Session(engine) as session:
        records = crud.list_case_records(session, workflow_id=workflow_id)
        tasks = crud.list_tasks(session, workflow_id=workflow_id)
    status["timeline"] = _timeline(tasks, records)
    record(engine, attempt, action=action, outcome="accepted", **where)
    return status


def _timeline(tasks: Sequence[Task], records: Sequence[CaseRecord]) -> list[dict[str, Any]]:
    """Tasks (opened, closed, by whom) and case records, oldest first; ids and codes only."""
    entries: list[dict[str, Any]] = []
    for t in tasks:
        entries.append(
            {
                "at": t.opened_at.isoformat(),
                "kind": "task_opened",
                "task_id": t.task_id,
                "title_zh": t.title_zh,
                "role": t.role,
                "by": None,
            }
        )
        if t.closed_at is not None:
            entries.append(
                {
                    "at": t.closed_at.isoformat(),
                    "kind": f"task_{t.status}",
                    "task_id": t.task_id,
                    "title_zh": t.title_zh,
                    "role": t.completed_role,
                    "by": t.completed_by,
                }
            )
    for r in records:
        entries.append(
            {
                "at": r.created_at.isoformat(),
                "kind": r.kind,
                "step_key": r.step_key,
                "task_id": None,
                "title_zh": None,
                "role": None,
                "by": None,
            }
        )
    return sorted(entries, key=lambda e: e["at"])


def find_cases(engine: Engine, principal: Principal, *, case_ref: str) -> list[dict[str, Any]]:
    """Workflows with ``case_ref`` (from tasks and case records) in the principal's areas."""
    found: dict[str, dict[str, Any]] = {}
    with Session(engine) as session:
        for t in session.exec(select(Task).where(Task.case_ref == case_ref)).all():
            if principal.reads(t.district, t.community):
                found.setdefault(
                    t.workflow_id,
                    {
                        "workflow_id": t.workflow_id,
                        "process": t.process,
                        "district": t.district,
                        "community": t.community,
                        "case_ref": case_ref,
                    },
                )
        for r in session.exec(select(CaseRecord).where(CaseRecord.case_ref == case_ref)).all():
            if r.workflow_id not in found and principal.reads(r.district, None):
                found[r.workflow_id] = {
                    "workflow_id": r.workflow_id,
                    "process": r.process,
                    "district": r.district,
                    "community": None,
                    "case_ref": case_ref,
                }
    return sorted(found.values(), key=lambda c: c["workflow_id"])


def read_audit(engine: Engine, attempt: Attempt, **filters: Any) -> Sequence[AuditEntry]:
    """Audit rows for an auditor or district admin, limited to their areas; audited itself.

    Raises:
        Refused: ``not_logged_in``; ``wrong_role`` without an auditor or admin grant.
    """
    try:
        principal = _require(attempt)
        if principal.token is not None or not AUDIT_READER_ROLES.intersection(principal.roles):
            raise Refused(
                "wrong_role",
                "只有审计和区民政可查看审计记录 only auditors and admins read the audit",
            )
    except Refused as refusal:
        raise _refuse(engine, attempt, refusal, action="audit.read") from None
    with Session(engine) as session:
        rows = list_audit(session, viewer=principal, **filters)
    record(engine, attempt, action="audit.read", outcome="accepted")
    return rows

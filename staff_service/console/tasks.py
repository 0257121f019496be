"""My inbox 我的工单 and the task page 工单: what to do, the generated form, claim and submit."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime
from functools import partial
from typing import Any, Literal, cast

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from careflow.access import actions
from careflow.access.refusals import Refused
from careflow.db import crud
from careflow.db.tables import Task
from careflow.models import TaskStatus
from staff_service.console.auth import checked_form, logged_in
from staff_service.console.forms import field_errors, form_fields, parse_form
from staff_service.console.render import (
    area_names,
    error_page,
    login_redirect,
    page,
    see_other,
)
from staff_service.deps import Caller, attempt_for, services

__all__ = ["router"]

router = APIRouter()

_FILTERS = ("process", "case_ref", "street", "community", "role", "status", "assigned")
_STATUSES = ("open", "overdue", "done")
_ASSIGNED = ("me", "unassigned")
_NEXT_WAIT_S = 2.0


def _filters(request: Request) -> dict[str, str]:
    values = {}
    for key in _FILTERS:
        value = request.query_params.get(key, "").strip()[:128]
        if value:
            values[key] = value
    return values


@router.get("/tasks", include_in_schema=False, response_model=None)
def inbox(request: Request) -> Response:
    """The tasks of my roles and areas, overdue first, with filters."""
    caller = logged_in(request)
    if caller is None:
        return login_redirect(request)
    found = services(request)
    chosen = _filters(request)
    status = chosen.get("status", "open")
    assigned = chosen.get("assigned")
    tasks = actions.inbox(
        found.engine,
        caller.principal,
        process=chosen.get("process"),
        case_ref=chosen.get("case_ref"),
        street=chosen.get("street"),
        community=chosen.get("community"),
        role=chosen.get("role"),
        status=cast(Literal["open", "done", "overdue"], status) if status in _STATUSES else "open",
        assigned=cast(Literal["me", "unassigned"], assigned) if assigned in _ASSIGNED else None,
    )
    names = area_names(found.engine)
    grant_areas = [g.area for g in caller.principal.grants]
    now_overdue = {t.task_id for t in tasks if is_overdue(t)}
    return page(
        request,
        "inbox.html",
        {
            "tasks": tasks,
            "overdue": now_overdue,
            "areas": names,
            "filters": chosen,
            "processes": sorted(
                ((p.id, p.title_zh) for p in found.registry.processes.values()), key=lambda p: p[0]
            ),
            "roles": caller.principal.roles,
            "streets": names.under(grant_areas, "street"),
            "communities": names.under(grant_areas, "community"),
        },
        caller=caller,
    )


def is_overdue(task: Task) -> bool:
    """Whether an open task is past its due time (or was marked overdue by escalation)."""
    due = _aware(task.due_at)
    return bool(task.status == TaskStatus.OPEN and (task.overdue or due < datetime.now(UTC)))


def _task_page(
    request: Request,
    caller: Caller,
    task_id: str,
    *,
    posted: FormData | None = None,
    refusal: Refused | None = None,
    unmasked: actions.TaskDetail | None = None,
    unmask_refusal: Refused | None = None,
    unmask_reason: str = "",
    status: int = 200,
) -> HTMLResponse:
    """The task page: masked (a view, audited as such), or ``unmasked`` (an unmask's answer)."""
    found = services(request)
    attempt = attempt_for(request, caller.principal, "console")
    detail = unmasked
    if detail is None:
        try:
            detail = actions.view_task(found.engine, found.registry, attempt, task_id=task_id)
        except Refused as refused:
            return error_page(request, refused, caller=caller, back="/tasks")
    task = detail.task
    schema = task.form_schema or {}
    names = list((schema.get("properties") or {}).keys())
    errors: dict[str, str] = {}
    general: list[str] = []
    if refusal is not None:
        if refusal.problems:
            errors, general = field_errors(refusal.problems, names=names)
        else:
            where = (refusal.field or "").removeprefix("data.")
            if where in names:
                errors[where] = refusal.message
            else:
                general.append(refusal.message)
    multi = None if posted is None else {k: posted.getlist(k) for k in posted}
    fields = form_fields(schema, posted=cast(Any, multi), errors=errors)
    done_by_me = task.status == TaskStatus.DONE and task.completed_by == caller.principal.staff_id
    return page(
        request,
        "task.html",
        {
            "task": task,
            "detail": detail,
            "areas": area_names(found.engine),
            "fields": fields,
            "errors": errors,
            "general": general,
            "form_title": schema.get("description"),
            "idempotency_key": secrets.token_urlsafe(16),
            "mine": task.assignee == caller.principal.staff_id,
            "done_by_me": done_by_me,
            "accepted": request.query_params.get("accepted") == "1",
            "next_tasks": _next_tasks(found.engine, task) if task.status != TaskStatus.OPEN else [],
            "unmask_error": None if unmask_refusal is None else unmask_refusal.message,
            "unmask_reason": unmask_reason,
            "request_id": attempt.request_id,
        },
        caller=caller,
        status=status,
    )


def _next_tasks(engine: Any, task: Task) -> list[Task]:
    """Tasks the process opened after this one closed, to show that it moved on."""
    return _following(engine, task.workflow_id, task.task_id)


@router.get("/tasks/{task_id}", include_in_schema=False, response_model=None)
def task_page(request: Request, task_id: str) -> Response:
    """What the task asks, its context, and the form (for whoever may complete it)."""
    caller = logged_in(request)
    if caller is None:
        return login_redirect(request)
    return _task_page(request, caller, task_id)


@router.post("/tasks/{task_id}", include_in_schema=False, response_model=None)
async def complete(request: Request, task_id: str) -> Response:
    """Submit the task's form: typed from its schema, completed once per idempotency key."""
    caller = logged_in(request)
    if caller is None:
        return login_redirect(request)
    found = services(request)
    form, refused = await checked_form(request, caller, action="task.complete", target=task_id)
    if refused is not None:
        return refused
    attempt = attempt_for(request, caller.principal, "console")
    schema = await run_in_threadpool(_schema_of, found.engine, task_id)
    data = parse_form(schema, {k: [v for v in form.getlist(k) if isinstance(v, str)] for k in form})
    key = form.get("idempotency_key")
    try:
        completion = await actions.complete_task(
            found.temporal.client,
            found.engine,
            found.registry,
            attempt,
            task_id=task_id,
            data=data,
            idempotency_key=key if isinstance(key, str) and key else None,
            reply_within=found.settings.reply_within,
        )
    except Refused as refusal:
        if refusal.reason in ("bad_form", "bad_input"):
            return _task_page(request, caller, task_id, posted=form, refusal=refusal, status=422)
        return error_page(request, refusal, caller=caller, back=f"/tasks/{task_id}")
    if not completion.recorded:
        return see_other(f"/tasks/{task_id}?accepted=1")
    await _moved_on(found.engine, completion.workflow_id, task_id)
    return see_other(f"/tasks/{task_id}")


@router.post("/tasks/{task_id}/unmask", include_in_schema=False, response_model=None)
async def unmask(request: Request, task_id: str) -> Response:
    """Show this task's personal data in full (显示完整信息) on the answer page only.

    The reason is required; the action checks who may and audits the attempt. The answer is
    the page itself, not a redirect: a later visit of the task is masked again.
    """
    caller = logged_in(request)
    if caller is None:
        return login_redirect(request)
    found = services(request)
    form, refused = await checked_form(request, caller, action="task.unmask", target=task_id)
    if refused is not None:
        return refused
    posted = form.get("reason")
    reason = posted if isinstance(posted, str) else None
    try:
        detail = await run_in_threadpool(
            actions.unmask_task,
            found.engine,
            found.registry,
            attempt_for(request, caller.principal, "console"),
            task_id=task_id,
            reason=reason,
        )
    except Refused as refusal:
        if refusal.field == "reason":
            return await run_in_threadpool(
                partial(
                    _task_page,
                    request,
                    caller,
                    task_id,
                    unmask_refusal=refusal,
                    unmask_reason=(reason or "")[:200],
                    status=refusal.status,
                )
            )
        return error_page(request, refusal, caller=caller, back=f"/tasks/{task_id}")
    return await run_in_threadpool(partial(_task_page, request, caller, task_id, unmasked=detail))


async def _moved_on(engine: Any, workflow_id: str, task_id: str) -> None:
    """Wait a moment (at most :data:`_NEXT_WAIT_S`) for the process to open the task that
    follows this one, so the page after a submission can say what comes next; it answers
    anyway when none opens (the process may be waiting for others, or finished)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _NEXT_WAIT_S
    while loop.time() < deadline:
        if await run_in_threadpool(_following, engine, workflow_id, task_id):
            return
        await asyncio.sleep(0.1)


def _following(engine: Any, workflow_id: str, task_id: str) -> list[Task]:
    """Open tasks of the process opened once ``task_id`` was closed (what comes next)."""
    with Session(engine) as session:
        closed = crud.get_task(session, task_id=task_id)
        rows = crud.list_tasks(session, workflow_id=workflow_id, now=datetime.now(UTC))
    if closed is None or closed.closed_at is None:
        return []
    since = _aware(closed.closed_at)
    return [
        t
        for t in rows
        if t.status == TaskStatus.OPEN and t.task_id != task_id and _aware(t.opened_at) >= since
    ]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _schema_of(engine: Any, task_id: str) -> dict[str, Any]:
    """The form schema stored with the task row ({} for an unknown task: the action refuses)."""
    with Session(engine) as session:
        task = crud.get_task(session, task_id=task_id)
    return dict(task.form_schema or {}) if task is not None else {}


async def _claim(request: Request, task_id: str, *, release: bool) -> Response:
    caller = logged_in(request)
    if caller is None:
        return login_redirect(request)
    found = services(request)
    action = "task.release" if release else "task.claim"
    _form, refused = await checked_form(request, caller, action=action, target=task_id)
    if refused is not None:
        return refused
    try:
        await run_in_threadpool(
            actions.claim_task,
            found.engine,
            attempt_for(request, caller.principal, "console"),
            task_id=task_id,
            release=release,
        )
    except Refused as refusal:
        return error_page(request, refusal, caller=caller, back=f"/tasks/{task_id}")
    return see_other(f"/tasks/{task_id}")


@router.post("/tasks/{task_id}/claim", include_in_schema=False, response_model=None)
async def claim(request: Request, task_id: str) -> Response:
    """Claim the task for myself (认领)."""
    return await _claim(request, task_id, release=False)


@router.post("/tasks/{task_id}/release", include_in_schema=False, response_model=None)
async def release(request: Request, task_id: str) -> Response:
    """Give my claim back (释放)."""
    return await _claim(request, task_id, release=True)

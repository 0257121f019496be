"""The task inbox and task actions: ``/api/v1/tasks``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Response

from careflow.access import actions
from careflow.access.audit import Attempt
from careflow.access.principal import Principal
from staff_service.api.models import (
    CompleteBody,
    TaskDetailOut,
    TaskList,
    TaskSummary,
    UnmaskBody,
)
from staff_service.deps import api_attempt, current_principal, services
from staff_service.problems import problem_responses
from staff_service.services import Services

__all__ = ["router"]

router = APIRouter(prefix="/tasks", tags=["tasks 工单"])

TaskId = Annotated[str, Path(min_length=1, max_length=255, description="工单号 task id")]
_Text = Annotated[str | None, Query(min_length=1, max_length=128)]
_AT_ACCEPTANCE = 0.001
"""Seconds to wait for the record after acceptance when the caller prefers a quick 202."""


def _now() -> datetime:
    return datetime.now(UTC)


@router.get(
    "",
    name="task.list",
    response_model=TaskList,
    summary="我的工单 inbox",
    responses=problem_responses(401, 422, 503),
)
def list_tasks(
    principal: Annotated[Principal, Depends(current_principal)],
    found: Annotated[Services, Depends(services)],
    role: _Text = None,
    district: _Text = None,
    street: _Text = None,
    community: _Text = None,
    process: _Text = None,
    case_ref: _Text = None,
    status: Annotated[Literal["open", "done", "overdue"], Query()] = "open",
    assigned: Annotated[Literal["me", "unassigned"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> TaskList:
    """Tasks of the caller's roles in the areas its grants cover, overdue first.

    Auditors and district admins see every task of their areas. Filters narrow the list,
    never widen it; ``street`` and ``community`` are area codes (``wanbailin.wanghua``).
    """
    rows = actions.inbox(
        found.engine,
        principal,
        role=role,
        district=district,
        street=street,
        community=community,
        process=process,
        case_ref=case_ref,
        status=status,
        assigned=assigned,
        limit=limit,
    )
    now = _now()
    tasks = [TaskSummary.of(row, now=now) for row in rows]
    return TaskList(count=len(tasks), tasks=tasks)


@router.get(
    "/{task_id}",
    name="task.view",
    response_model=TaskDetailOut,
    summary="工单详情 task detail",
    responses=problem_responses(401, 403, 404, 422, 503),
)
def get_task(
    task_id: TaskId,
    found: Annotated[Services, Depends(services)],
    attempt: Annotated[Attempt, Depends(api_attempt("task.view"))],
) -> TaskDetailOut:
    """A task with its form schema and context, personal data masked for every caller
    (``may_unmask`` says whether ``POST /tasks/{task_id}/unmask`` would show it)."""
    detail = actions.view_task(found.engine, found.registry, attempt, task_id=task_id)
    return _detail_out(detail)


def _detail_out(detail: actions.TaskDetail) -> TaskDetailOut:
    task = detail.task
    summary = TaskSummary.of(task, now=_now())
    return TaskDetailOut(
        **summary.model_dump(),
        form_schema=task.form_schema,
        context=detail.context,
        may_complete=detail.may_complete,
        unmasked=detail.unmasked,
        may_unmask=detail.may_unmask,
        clear=sorted(detail.clear),
        result=task.result,
    )


@router.post(
    "/{task_id}/unmask",
    name="task.unmask",
    response_model=TaskDetailOut,
    summary="显示完整信息 see a task's personal data in full",
    responses=problem_responses(401, 403, 404, 422, 503),
)
def unmask(
    task_id: TaskId,
    body: Annotated[UnmaskBody, Body()],
    found: Annotated[Services, Depends(services)],
    attempt: Annotated[Attempt, Depends(api_attempt("task.unmask"))],
) -> TaskDetailOut:
    """The task with its context in clear, for this answer only, when the caller's grants
    allow it; the reason is required and the request is an audit row (``task.unmask``).

    The person who acts on the task sees all of its context; community staff, district
    admins and doctors of its area names, ID numbers, phones and addresses; only doctors
    health readings. Auditors and API tokens are refused (403). A missing or blank reason is
    422 naming ``reason``.
    """
    detail = actions.unmask_task(
        found.engine, found.registry, attempt, task_id=task_id, reason=body.reason
    )
    return _detail_out(detail)


@router.post(
    "/{task_id}/claim",
    name="task.claim",
    response_model=TaskSummary,
    summary="认领工单 claim",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
def claim(
    task_id: TaskId,
    found: Annotated[Services, Depends(services)],
    attempt: Annotated[Attempt, Depends(api_attempt("task.claim"))],
) -> TaskSummary:
    """Claim an open task: it shows as assigned to the caller, and nobody else completes it."""
    row = actions.claim_task(found.engine, attempt, task_id=task_id)
    return TaskSummary.of(row, now=_now())


@router.delete(
    "/{task_id}/claim",
    name="task.release",
    response_model=TaskSummary,
    summary="放弃认领 release",
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
def release(
    task_id: TaskId,
    found: Annotated[Services, Depends(services)],
    attempt: Annotated[Attempt, Depends(api_attempt("task.release"))],
) -> TaskSummary:
    """Release the caller's claim on a task."""
    row = actions.claim_task(found.engine, attempt, task_id=task_id, release=True)
    return TaskSummary.of(row, now=_now())


@router.post(
    "/{task_id}/complete",
    name="task.complete",
    response_model=actions.Completion,
    summary="提交工单 complete",
    responses={
        202: {
            "model": actions.Completion,
            "description": "已受理，正在记录 accepted by the process, still being recorded",
        },
        **problem_responses(401, 403, 404, 409, 422, 503),
    },
)
async def complete(
    task_id: TaskId,
    body: Annotated[CompleteBody, Body()],
    response: Response,
    found: Annotated[Services, Depends(services)],
    attempt: Annotated[Attempt, Depends(api_attempt("task.complete"))],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=128,
            description="Repeats with the same key are one completion.",
        ),
    ] = None,
    prefer: Annotated[
        str | None,
        Header(
            max_length=200,
            description="``respond-async``: answer 202 as soon as the process accepted it.",
        ),
    ] = None,
) -> actions.Completion:
    """Submit a task's form in the caller's role there.

    200: the process recorded it. 202: the process accepted it and is still recording it
    (the database is slow, or the caller sent ``Prefer: respond-async`` to be answered at
    acceptance). A repeat (double click, retry) completes the task once.
    """
    reply_within = found.settings.reply_within
    if prefer is not None and "respond-async" in prefer.lower():
        reply_within = _AT_ACCEPTANCE
    completion = await actions.complete_task(
        found.temporal.client,
        found.engine,
        found.registry,
        attempt,
        task_id=task_id,
        data=body.data,
        role=body.role,
        idempotency_key=idempotency_key,
        reply_within=reply_within,
    )
    if not completion.recorded:
        response.status_code = 202
    return completion

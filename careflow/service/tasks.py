"""Completing a human task: check it against the task row and its form, send the Update.

The workflow's ``complete_task`` validator is the authority; these checks let a client refuse
plainly bad input at once, even while Temporal is unreachable, and turn the validator's
refusals into :class:`~careflow.errors.InputError` naming the field.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.client import (
    Client,
    RPCTimeoutOrCancelledError,
    WorkflowUpdateFailedError,
    WorkflowUpdateStage,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from careflow.db import crud
from careflow.db.tables import Task
from careflow.errors import InputError
from careflow.forms import FormRefError, known_form, resolve_form
from careflow.inputs import (
    REF_MAX,
    check_id,
    validate_external,
)
from careflow.models import (
    CompleteTaskInput,
    TaskOutcome,
    TaskStatus,
)
from careflow.registry import PluginRegistry
from careflow.roles import known_roles

__all__ = ["check_completion", "complete_task", "submit_completion"]


_UPDATE_ERROR_FIELDS = {
    "UnknownTask": "task_id",
    "TaskClosed": "task_id",
    "RoleNotAllowed": "role",
    "InvalidForm": "data",
}


def check_completion(
    engine: Engine,
    *,
    task_id: str,
    actor: str,
    role: str,
    data: Any,
    registry: PluginRegistry | None = None,
) -> Task:
    """Check a task completion against the task table and the task's form.

    The form is looked up among the registry's known forms (``registry``, or every registry
    built in this process when None), never imported by the name the task row holds.

    The workflow's ``complete_task`` validator is the authority and checks again; this lets a
    client reject plainly bad input at once, even while Temporal is unreachable.

    Raises:
        InputError: An actor that is not a well-formed id, unknown or closed task, unknown
            role, form data that does not validate.
    """
    check_id("actor", actor, max_length=REF_MAX)
    # The roles the loaded plugins declare: this registry's, else every registry built here.
    known = frozenset(registry.roles) if registry is not None else known_roles()
    if role not in known:
        raise InputError("role", f"unknown role {role!r} (known: {', '.join(sorted(known))})")
    if not isinstance(data, dict):
        raise InputError("data", "form data must be a JSON object")
    with Session(engine) as session:
        task = crud.get_task(session, task_id=task_id)
    if task is None:
        raise InputError("task_id", f"unknown task {task_id!r}")
    if task.status != TaskStatus.OPEN:
        raise InputError("task_id", f"task {task_id} is already {task.status}")
    try:
        form = (
            known_form(task.form_ref) if registry is None else resolve_form(registry, task.form_ref)
        )
    except FormRefError:
        return task  # a worker may know forms this client does not: the workflow decides
    validate_external(form, data, field="data")
    return task


async def complete_task(
    client: Client,
    engine: Engine,
    *,
    task_id: str,
    actor: str,
    role: str,
    data: Any,
) -> TaskOutcome:
    """Complete a human task through its process's ``complete_task`` Update, waiting for it.

    This trusts ``actor`` and ``role``: it is the engine's own path (tests, tools with
    Temporal credentials). People go through :func:`careflow.access.actions.complete_task`,
    which checks their grants, audits the attempt and answers within a deadline.

    Rejections of the workflow's validator come back as ``InputError`` naming the field
    (``task_id``, ``role`` or ``data``), with nothing written.
    """
    task = check_completion(engine, task_id=task_id, actor=actor, role=role, data=data)
    outcome = await submit_completion(
        client,
        workflow_id=task.workflow_id,
        update=CompleteTaskInput(task_id=task_id, actor=actor, role=role, data=data),
    )
    assert outcome is not None  # no deadline: the Update's result was awaited
    return outcome


async def submit_completion(
    client: Client,
    *,
    workflow_id: str,
    update: CompleteTaskInput,
    update_id: str | None = None,
    accept_within: float | None = None,
    reply_within: float | None = None,
) -> TaskOutcome | None:
    """Send a ``complete_task`` Update; with deadlines, never wait longer than they say.

    The Update is accepted once the workflow's validator passed and it is in the history; it
    completes once the task row is closed (an activity, which waits for the database).

    Args:
        client: The Temporal client.
        workflow_id: The workflow holding the task.
        update: The Update's argument.
        update_id: Makes a repeated submission (a double click, a retried post) the same
            Update: Temporal answers it with the first one's outcome instead of running it
            again.
        accept_within: Seconds to wait for acceptance; ``TimeoutError`` past it (no worker
            answered: the Update was not accepted).
        reply_within: Seconds to wait, once accepted, for the task to be recorded; past it
            the answer is None: accepted, still being recorded.

    Returns:
        The task's outcome, or None if accepted but not yet recorded within ``reply_within``.

    Raises:
        InputError: The validator refused it (naming ``task_id``, ``role`` or ``data``) or the
            process is not running.
        TimeoutError: Not accepted within ``accept_within``.
    """
    handle = client.get_workflow_handle(workflow_id)
    try:
        accepting = handle.start_update(
            "complete_task",
            update,
            id=update_id,
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
            result_type=TaskOutcome,
        )
        try:
            accepted = await asyncio.wait_for(accepting, timeout=accept_within)
        except RPCTimeoutOrCancelledError as err:
            # wait_for's cancel surfaces as temporalio's error, not TimeoutError.
            raise TimeoutError("the update was not accepted in time") from err
        try:
            return await asyncio.wait_for(accepted.result(), timeout=reply_within)
        except (TimeoutError, RPCTimeoutOrCancelledError):
            return None
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError):
            field = _UPDATE_ERROR_FIELDS.get(cause.type or "", "task")
            raise InputError(field, cause.message) from err
        raise
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise InputError(
                "task_id", f"the process of task {update.task_id} is not running"
            ) from err
        raise

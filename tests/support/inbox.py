"""Reading what a process wrote, the way a staff inbox would, with a real-time deadline."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from careflow.db import crud
from careflow.db.tables import Task


async def wait_for_task(
    engine: Engine,
    workflow_id: str,
    step_key: str,
    *,
    status: str = "open",
    level: int | None = None,
    timeout: float = 15.0,
) -> Task:
    """The task row of ``step_key`` once it has ``status`` (and escalation ``level``)."""
    deadline = time.monotonic() + timeout
    while True:
        with Session(engine) as session:
            for task in crud.list_tasks(session, workflow_id=workflow_id, now=datetime.now(UTC)):
                if task.step_key != step_key or task.status != status:
                    continue
                if level is None or task.escalation_level == level:
                    return task
        if time.monotonic() > deadline:
            raise AssertionError(f"no {status} task {step_key!r} in {workflow_id} in {timeout}s")
        await asyncio.sleep(0.05)


def tasks_of(engine: Engine, workflow_id: str) -> list[Task]:
    """Every task row of a workflow."""
    with Session(engine) as session:
        return list(crud.list_tasks(session, workflow_id=workflow_id, now=datetime.now(UTC)))


def records_of(engine: Engine, workflow_id: str) -> list[tuple[str, str]]:
    """(step key, kind) of every case record of a workflow."""
    with Session(engine) as session:
        return [
            (r.step_key, r.kind) for r in crud.list_case_records(session, workflow_id=workflow_id)
        ]


def notifications_of(engine: Engine, workflow_id: str) -> list[tuple[str, str, str]]:
    """(step key, recipient, template) of every outbox row of a workflow."""
    with Session(engine) as session:
        return [
            (n.step_key, n.recipient_ref, n.template)
            for n in crud.list_notifications(session, workflow_id=workflow_id)
        ]


async def result_of(env: WorkflowEnvironment, handle: WorkflowHandle[Any, Any]) -> Any:
    """Wait for a workflow's result, letting a time-skipping server skip timers meanwhile.

    Only handles returned by ``env.client.start_workflow`` skip time on their own; processes
    are started through the service layer, so tests wait through this instead.
    """
    unlocked = getattr(env, "time_skipping_unlocked", None)
    if unlocked is None:
        return await handle.result()
    async with unlocked():
        return await handle.result()

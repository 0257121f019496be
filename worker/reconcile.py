"""The task sweep: close inbox tasks of processes that are no longer running.

The workflow closes its own tasks when it ends normally. A process terminated from the Web UI,
timed out or failed does not, and its tasks would stay open in the inbox forever. The sweep
asks Temporal about every workflow that has open tasks and marks the tasks of a closed (or
vanished) one ``cancelled``, with the reason in the task's result.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from careflow.db import crud
from careflow.db.engine import session_scope
from careflow.db.types import utcnow

__all__ = ["SWEEP_BATCH", "reconcile_tasks"]

SWEEP_BATCH = 500
"""Workflows looked at per sweep, those with the oldest open tasks first."""
_CONCURRENCY = 16

log = structlog.get_logger("careflow.worker")


async def _closed_reason(client: Client, workflow_id: str) -> str | None:
    """``process_<status>`` when the workflow is closed or gone; None while it runs."""
    try:
        desc = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return "process_not_found"
        raise
    status = desc.status
    if status in (None, WorkflowExecutionStatus.RUNNING):
        return None
    # CONTINUED_AS_NEW is never the latest run's status, so anything else has ended.
    return f"process_{status.name.lower()}"


def _cancel(engine: Engine, workflow_id: str, reason: str, now: datetime) -> int:
    with session_scope(engine) as session:
        cancelled = crud.cancel_open_tasks(
            session, workflow_id=workflow_id, reason=reason, closed_at=now
        )
    return len(cancelled)


async def reconcile_tasks(
    client: Client, engine: Engine, *, batch: int = SWEEP_BATCH, now: datetime | None = None
) -> dict[str, int]:
    """Cancel the open tasks of processes that are no longer running.

    Args:
        client: Temporal client of the namespace the processes run in.
        engine: The app database.
        batch: At most this many workflows per call.
        now: The time the tasks are closed at (UTC).

    Returns:
        ``checked`` workflows, ``closed`` ones among them and ``cancelled`` tasks.
    """
    with Session(engine) as session:
        workflow_ids = crud.open_task_workflow_ids(session, limit=batch)
    limit = asyncio.Semaphore(_CONCURRENCY)

    async def check(workflow_id: str) -> tuple[str, str | None]:
        async with limit:
            return workflow_id, await _closed_reason(client, workflow_id)

    found = await asyncio.gather(*(check(w) for w in workflow_ids))
    closed = [(w, reason) for w, reason in found if reason is not None]
    cancelled = 0
    for workflow_id, reason in closed:
        count = await asyncio.to_thread(_cancel, engine, workflow_id, reason, now or utcnow())
        cancelled += count
        log.info("tasks.reconciled", workflow_id=workflow_id, reason=reason, cancelled=count)
    return {"checked": len(workflow_ids), "closed": len(closed), "cancelled": cancelled}

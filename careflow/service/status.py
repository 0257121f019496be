"""What a process is doing: stage, open tasks, problem, plan and the ids its events need."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
)
from temporalio.service import RPCError, RPCStatusCode

from careflow.db import crud
from careflow.db.tables import CaseRecord, Task
from careflow.errors import InputError
from careflow.privacy.pseudonyms import is_case_key
from careflow.problems import process_problem
from careflow.registry import PluginRegistry

__all__ = ["process_status"]


async def process_status(
    client: Client,
    engine: Engine,
    *,
    workflow_id: str,
    registry: PluginRegistry | None = None,
) -> dict[str, Any]:
    """Process, stage, open tasks and plan of one workflow.

    ``case_key`` is the pseudonym the workflow id and ``CareCaseRef`` hold; ``case_ref`` the
    case ref events name, read from the process's task and case record rows (None until it
    wrote one). A process started before case keys has no key: its ``CareCaseRef`` is the
    case ref.

    With ``registry``, also the ids its events need (``ids``: district, case ref and the
    process's ``status_refs`` from its case records) and the events routed to it.
    """
    handle = client.get_workflow_handle(workflow_id)
    try:
        desc = await handle.describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise InputError("workflow_id", f"no process {workflow_id!r}") from err
        raise
    attrs = {key.name: value for key, value in desc.typed_search_attributes}
    with Session(engine) as session:
        tasks = crud.list_tasks(session, workflow_id=workflow_id, now=datetime.now(UTC))
    status = desc.status.name if desc.status else "UNKNOWN"
    result: Any = None
    if desc.status == WorkflowExecutionStatus.COMPLETED:
        result = await handle.result()
        if isinstance(result, BaseModel):
            result = result.model_dump(mode="json")
    memo = await desc.memo()
    case_key, case_ref = _case_of(engine, workflow_id, attrs.get("CareCaseRef"))
    return {
        "workflow_id": workflow_id,
        "status": status,
        "process": attrs.get("CareProcess"),
        "district": attrs.get("CareDistrict"),
        "community": attrs.get("CareCommunity"),
        "stage": attrs.get("CareStage"),
        "overdue": attrs.get("CareOverdue"),
        # Why it is not moving (a step retrying or stalled) or why it ended badly.
        "problem": await process_problem(
            handle, desc, engine, stage=attrs.get("CareStage"), converter=client.data_converter
        ),
        "summary": await desc.static_summary(),
        "plan": await desc.static_details(),
        "plan_plugins": memo.get("plan_plugins"),
        "plan_steps": memo.get("plan_steps"),
        "case_ref": case_ref,
        "case_key": case_key,
        **_event_ids(registry, engine, workflow_id, attrs, case_ref),
        "tasks": [
            {
                "task_id": t.task_id,
                "title_zh": t.title_zh,
                "role": t.role,
                "status": t.status,
                "overdue": t.overdue,
                "due_at": t.due_at.isoformat(),
            }
            for t in tasks
        ],
        "result": result,
    }


def _case_of(engine: Engine, workflow_id: str, visible: Any) -> tuple[str | None, str | None]:
    """``(case key, case ref)`` of a workflow from its ``CareCaseRef`` and its rows."""
    if not isinstance(visible, str) or not is_case_key(visible):
        # Started before case keys: CareCaseRef is the case ref itself.
        return None, visible if isinstance(visible, str) else None
    with Session(engine) as session:
        # Case records always name the process's own case; a task opened in bulk may name
        # another's (a batch's checks), so tasks only when there is no record yet.
        rows: Sequence[CaseRecord | Task] = crud.list_case_records(
            session, workflow_id=workflow_id
        ) or crud.list_tasks(session, workflow_id=workflow_id)
    return visible, rows[0].case_ref if rows else None


def _event_ids(
    registry: PluginRegistry | None,
    engine: Engine,
    workflow_id: str,
    attrs: dict[str, Any],
    case_ref: str | None,
) -> dict[str, Any]:
    if registry is None:
        return {}
    from careflow.case_ids import event_ids, events_of

    process = attrs.get("CareProcess")
    ids = event_ids(
        registry,
        engine,
        workflow_id=workflow_id,
        process=process,
        district=attrs.get("CareDistrict"),
        case_ref=case_ref,
    )
    return {"ids": ids, "events": events_of(registry, process) if process else []}

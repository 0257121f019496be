"""What staff actions, events and schedules do, independent of the CLI that calls it.

Every function validates its input fully before it touches Temporal or the database, so bad
input raises :class:`~careflow.errors.InputError` naming the field and nothing is written.
The CLI today, and the staff HTTP API later, are thin layers over these functions.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
    WorkflowExecutionStatus,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from careflow.db import crud
from careflow.errors import InputError
from careflow.models import (
    CompleteTaskInput,
    ProcessContext,
    ProcessInput,
    TaskOutcome,
    TaskStatus,
    plan_memo,
    process_summary,
    process_workflow_id,
)
from careflow.registry import PluginRegistry, format_validation_error
from careflow.search_attributes import start_attributes

__all__ = [
    "SCHEDULE_PREFIX",
    "StartedProcess",
    "complete_task",
    "list_schedules",
    "new_case_ref",
    "process_status",
    "route_event",
    "start_process",
    "sync_schedules",
]

SCHEDULE_PREFIX = "careflow."
_UPDATE_ERROR_FIELDS = {
    "UnknownTask": "task_id",
    "TaskClosed": "task_id",
    "RoleNotAllowed": "role",
    "InvalidForm": "data",
}


class StartedProcess(BaseModel):
    """A process that was started (or was already running for the same case)."""

    workflow_id: str
    run_id: str | None
    process: str
    district: str
    case_ref: str
    steps: int


def new_case_ref(prefix: str = "C") -> str:
    """A fresh opaque case reference."""
    return f"{prefix}{datetime.now(UTC):%y%m%d}{secrets.token_hex(3)}"


def _validate_request(model: type[BaseModel], data: Any, *, field: str = "input") -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise InputError(field, format_validation_error(err)) from err


def _check_community(engine: Engine | None, district: str, community: str | None) -> None:
    if community is None or engine is None:
        return
    with Session(engine) as session:
        area = crud.get_area(session, code=community)
    if area is None or area.level != "community":
        raise InputError("community", f"unknown community {community!r}")
    with Session(engine) as session:
        if community not in {a.code for a in crud.communities_of(session, district=district)}:
            raise InputError("community", f"community {community!r} is not in {district!r}")


async def start_process(
    client: Client,
    registry: PluginRegistry,
    *,
    process: str,
    district: str,
    request: Any,
    started_by: str,
    task_queue: str,
    community: str | None = None,
    case_ref: str | None = None,
    engine: Engine | None = None,
) -> StartedProcess:
    """Validate, resolve the plan and start a process.

    Raises:
        InputError: Unknown process, district or community; a request that does not validate;
            a process already running for the same case.
    """
    spec = registry.process(process)
    registry.check_district(district)
    parsed = _validate_request(spec.request_model, request)
    _check_community(engine, district, community)
    plan = registry.resolve_plan(process, district)
    context = ProcessContext(
        process=process,
        module=spec.module,
        district=district,
        community=community,
        case_ref=case_ref or new_case_ref(),
        started_by=started_by,
    )
    workflow_id = process_workflow_id(process, district, context.case_ref)
    try:
        handle = await client.start_workflow(
            spec.workflow_type,
            ProcessInput[Any](context=context, plan=plan, request=parsed),
            id=workflow_id,
            task_queue=task_queue,
            search_attributes=start_attributes(context),
            static_summary=process_summary(spec.title_zh, context),
            static_details=plan.describe_zh(),
            memo=plan_memo(plan),
        )
    except WorkflowAlreadyStartedError as err:
        raise InputError("case_ref", f"a process is already running as {workflow_id}") from err
    return StartedProcess(
        workflow_id=handle.id,
        run_id=handle.result_run_id,
        process=process,
        district=district,
        case_ref=context.case_ref,
        steps=len(plan.steps),
    )


async def complete_task(
    client: Client,
    engine: Engine,
    *,
    task_id: str,
    actor: str,
    role: str,
    data: Any,
) -> TaskOutcome:
    """Complete a human task through its process's ``complete_task`` Update.

    The workflow's validator is the authority; its rejections come back as ``InputError``
    naming the field (``task_id``, ``role`` or ``data``), with nothing written.
    """
    if not isinstance(data, dict):
        raise InputError("data", "form data must be a JSON object")
    with Session(engine) as session:
        task = crud.get_task(session, task_id=task_id)
    if task is None:
        raise InputError("task_id", f"unknown task {task_id!r}")
    if task.status != TaskStatus.OPEN:
        raise InputError("task_id", f"task {task_id} is already {task.status}")
    handle = client.get_workflow_handle(task.workflow_id)
    try:
        return await handle.execute_update(
            "complete_task",
            CompleteTaskInput(task_id=task_id, actor=actor, role=role, data=data),
            result_type=TaskOutcome,
        )
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError):
            field = _UPDATE_ERROR_FIELDS.get(cause.type or "", "task")
            raise InputError(field, cause.message) from err
        raise
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise InputError("task_id", f"the process of task {task_id} is not running") from err
        raise


async def route_event(
    client: Client,
    registry: PluginRegistry,
    *,
    event_type: str,
    data: Any,
    task_queue: str,
) -> str:
    """Deliver a device or partner event to its process, starting it if the route says so.

    Returns:
        The workflow id the event went to.
    """
    route = registry.route(event_type)
    event = _validate_request(route.model, data, field="data")
    assert isinstance(event, route.model)
    registry.check_district(event.district)
    workflow_id = process_workflow_id(route.process, event.district, event.case_ref)
    if route.start_if_absent and route.to_request is not None:
        spec = registry.process(route.process)
        plan = registry.resolve_plan(route.process, event.district)
        context = ProcessContext(
            process=route.process,
            module=spec.module,
            district=event.district,
            community=event.community,
            case_ref=event.case_ref,
            started_by=f"event:{event_type}",
        )
        await client.start_workflow(
            spec.workflow_type,
            ProcessInput[Any](context=context, plan=plan, request=route.to_request(event)),
            id=workflow_id,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            start_signal=route.signal,
            start_signal_args=[event],
            search_attributes=start_attributes(context),
            static_summary=process_summary(spec.title_zh, context),
            static_details=plan.describe_zh(),
            memo=plan_memo(plan),
        )
        return workflow_id
    handle = client.get_workflow_handle(workflow_id)
    try:
        await handle.signal(route.signal, event)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise InputError(
                "case_ref", f"no running process {workflow_id} for this event"
            ) from err
        raise
    return workflow_id


async def process_status(client: Client, engine: Engine, *, workflow_id: str) -> dict[str, Any]:
    """Process, stage, open tasks and plan of one workflow."""
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
    return {
        "workflow_id": workflow_id,
        "status": status,
        "process": attrs.get("CareProcess"),
        "district": attrs.get("CareDistrict"),
        "community": attrs.get("CareCommunity"),
        "stage": attrs.get("CareStage"),
        "overdue": attrs.get("CareOverdue"),
        "summary": await desc.static_summary(),
        "plan": await desc.static_details(),
        "plan_plugins": memo.get("plan_plugins"),
        "plan_steps": memo.get("plan_steps"),
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


def _schedule_targets(registry: PluginRegistry) -> dict[str, tuple[str, str, Any]]:
    targets: dict[str, tuple[str, str, Any]] = {}
    from careflow.areas import DISTRICTS

    for _plugin, spec in registry.schedules():
        for district in sorted(spec.districts or DISTRICTS.keys()):
            if registry.is_enabled(spec.process, district):
                targets[f"{SCHEDULE_PREFIX}{spec.id}.{district}"] = (district, spec.process, spec)
    return targets


async def sync_schedules(
    client: Client, registry: PluginRegistry, *, task_queue: str
) -> dict[str, list[str]]:
    """Make Temporal's schedules match the plugins: create, update, delete stale ones."""
    from workflows.launcher import LaunchInput

    targets = _schedule_targets(registry)
    existing = {
        s.id async for s in await client.list_schedules() if s.id.startswith(SCHEDULE_PREFIX)
    }
    report: dict[str, list[str]] = {"created": [], "updated": [], "deleted": []}
    for schedule_id, (district, process, spec) in sorted(targets.items()):
        schedule = Schedule(
            action=ScheduleActionStartWorkflow(
                "careflow.scheduled_launch",
                LaunchInput(
                    schedule_id=schedule_id.removeprefix(SCHEDULE_PREFIX),
                    process=process,
                    district=district,
                    request=dict(spec.request),
                ),
                id=f"launch-{schedule_id.removeprefix(SCHEDULE_PREFIX)}",
                task_queue=task_queue,
                static_summary=f"定时启动 {spec.title_zh} · {district}",
            ),
            spec=ScheduleSpec(cron_expressions=list(spec.crons), time_zone_name=spec.time_zone),
        )
        if schedule_id in existing:

            def _replace(_: ScheduleUpdateInput, new: Schedule = schedule) -> ScheduleUpdate:
                return ScheduleUpdate(schedule=new)

            await client.get_schedule_handle(schedule_id).update(_replace)
            report["updated"].append(schedule_id)
        else:
            try:
                await client.create_schedule(schedule_id, schedule)
                report["created"].append(schedule_id)
            except ScheduleAlreadyRunningError:
                report["updated"].append(schedule_id)
    for schedule_id in sorted(existing - targets.keys()):
        await client.get_schedule_handle(schedule_id).delete()
        report["deleted"].append(schedule_id)
    return report


async def list_schedules(client: Client) -> list[dict[str, Any]]:
    """careflow's schedules as Temporal has them."""
    found = []
    async for entry in await client.list_schedules():
        if not entry.id.startswith(SCHEDULE_PREFIX):
            continue
        info = entry.info
        found.append(
            {
                "schedule_id": entry.id,
                "next_action_times": [
                    t.isoformat() for t in (info.next_action_times if info else [])
                ][:3],
                "recent_actions": len(info.recent_actions) if info else 0,
            }
        )
    return sorted(found, key=lambda s: s["schedule_id"])

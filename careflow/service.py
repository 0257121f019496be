"""What staff actions, events and schedules do, independent of the CLI that calls it.

Every function validates its input fully before it touches Temporal or the database, so bad
input raises :class:`~careflow.errors.InputError` naming the field and nothing is written.
The CLI today, and the staff HTTP API later, are thin layers over these functions.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.client import (
    Client,
    RPCTimeoutOrCancelledError,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
    WorkflowExecutionStatus,
    WorkflowUpdateFailedError,
    WorkflowUpdateStage,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from careflow.contract import CareEvent, EventRoute, StateCheck
from careflow.db import crud
from careflow.db.refs import check_refs
from careflow.db.tables import Task
from careflow.errors import InputError
from careflow.forms import FormRefError, known_form, resolve_form
from careflow.inputs import (
    CASE_REF_MAX,
    CODE_MAX,
    REF_MAX,
    RegistryRef,
    check_id,
    registry_refs,
    validate_external,
)
from careflow.models import (
    CompleteTaskInput,
    LaunchInput,
    ProcessContext,
    ProcessInput,
    TaskOutcome,
    TaskStatus,
    plan_memo,
    process_summary,
    process_workflow_id,
)
from careflow.problems import process_problem
from careflow.registry import PluginRegistry
from careflow.roles import Role
from careflow.schedule_diff import same_action, same_spec
from careflow.search_attributes import start_attributes
from careflow.workers import check_plan_served

__all__ = [
    "SCHEDULE_PREFIX",
    "PluginDependency",
    "PreparedEvent",
    "PreparedStart",
    "StartedProcess",
    "check_completion",
    "complete_task",
    "deliver_event",
    "list_schedules",
    "missing_plugins",
    "new_case_ref",
    "plugin_dependencies",
    "prepare_event",
    "prepare_start",
    "process_status",
    "route_event",
    "start_prepared",
    "start_process",
    "submit_completion",
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


def _check_state(
    engine: Engine | None,
    *,
    district: str,
    payload: BaseModel,
    field: str,
    check: StateCheck | None,
    community: str | None = None,
) -> None:
    """Check a validated payload's registry references and the process's own state check.

    Without an engine (tests of plans, tools with no database) nothing is looked up; every
    command and the staff service pass one.
    """
    if engine is None:
        return
    refs = list(registry_refs(payload, prefix=field))
    if community is not None:
        refs.insert(0, ("community", RegistryRef("community"), community))
    with Session(engine) as session:
        check_refs(session, refs, district=district)
        if check is None:
            return
        try:
            check(session, district, payload)
        except InputError as err:
            raise InputError(f"{field}.{err.field}", err.problem) from None


@dataclass(frozen=True, slots=True)
class PreparedStart:
    """A validated process start with its plan resolved; nothing sent to Temporal yet."""

    workflow_type: str
    workflow_id: str
    title_zh: str
    input: ProcessInput[Any]

    @property
    def context(self) -> ProcessContext:
        """Who and where the process is for."""
        return self.input.context

    def start_options(self) -> dict[str, Any]:
        """What every start of a process carries for auditing."""
        return {
            "search_attributes": start_attributes(self.context),
            "static_summary": process_summary(self.title_zh, self.context),
            "static_details": self.input.plan.describe_zh(),
            "memo": plan_memo(self.input.plan),
        }


def prepare_start(
    registry: PluginRegistry,
    *,
    process: str,
    district: str,
    request: Any,
    started_by: str,
    community: str | None = None,
    case_ref: str | None = None,
    engine: Engine | None = None,
    task_queue: str | None = None,
) -> PreparedStart:
    """Check everything about a start that needs no Temporal, and resolve its plan.

    With ``engine``, the plan is also checked against the workers running on ``task_queue``
    (any queue when None): see :func:`careflow.workers.check_plan_served`.

    Raises:
        InputError: Unknown process or district; a community, case ref or actor that is not a
            well-formed id; a request that does not validate strictly. With ``engine``: a
            community or registry id the registry does not hold in the district, or a start
            the process's own check refuses. A process not enabled in the district.
    """
    spec = registry.process(process)
    registry.check_district(district)
    check_id("started_by", started_by, max_length=CODE_MAX)
    if community is not None:
        check_id("community", community)
    if case_ref is not None:
        check_id("case_ref", case_ref, max_length=CASE_REF_MAX)
    parsed = validate_external(spec.request_model, request, field="input")
    _check_state(
        engine,
        district=district,
        payload=parsed,
        field="input",
        check=spec.check,
        community=community,
    )
    plan = registry.resolve_plan(process, district)
    if engine is not None:
        # A plugin installed while a worker runs: refuse rather than stall on its steps.
        check_plan_served(engine, plan, task_queue=task_queue)
    context = ProcessContext(
        process=process,
        module=spec.module,
        district=district,
        community=community,
        case_ref=case_ref or new_case_ref(),
        started_by=started_by,
    )
    return PreparedStart(
        workflow_type=spec.workflow_type,
        workflow_id=process_workflow_id(process, district, context.case_ref),
        title_zh=spec.title_zh,
        input=ProcessInput[Any](context=context, plan=plan, request=parsed),
    )


async def start_prepared(
    client: Client, prepared: PreparedStart, *, task_queue: str, request_id: str | None = None
) -> StartedProcess:
    """Start a prepared process.

    Args:
        client: The Temporal client.
        prepared: What :func:`prepare_start` made.
        task_queue: The workers' task queue.
        request_id: The staff service's request id, kept in the memo so the history joins
            the audit row of the start.

    Raises:
        InputError: A process is already running for the same case.
    """
    options = prepared.start_options()
    if request_id is not None:
        options["memo"] = {**options["memo"], "request_id": request_id}
    try:
        handle = await client.start_workflow(
            prepared.workflow_type,
            prepared.input,
            id=prepared.workflow_id,
            task_queue=task_queue,
            **options,
        )
    except WorkflowAlreadyStartedError as err:
        raise InputError(
            "case_ref", f"a process is already running as {prepared.workflow_id}"
        ) from err
    return StartedProcess(
        workflow_id=handle.id,
        run_id=handle.result_run_id,
        process=prepared.context.process,
        district=prepared.context.district,
        case_ref=prepared.context.case_ref,
        steps=len(prepared.input.plan.steps),
    )


async def start_process(
    client: Client,
    registry: PluginRegistry,
    *,
    task_queue: str,
    **start: Any,
) -> StartedProcess:
    """Validate, resolve the plan and start a process (``prepare_start`` + ``start_prepared``).

    Raises:
        InputError: See :func:`prepare_start` and :func:`start_prepared`.
    """
    return await start_prepared(client, prepare_start(registry, **start), task_queue=task_queue)


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
    if role not in Role.__members__.values():
        raise InputError("role", f"unknown role {role!r} (known: {', '.join(Role)})")
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


@dataclass(frozen=True, slots=True)
class PreparedEvent:
    """A validated event with where it goes; nothing sent to Temporal yet."""

    event_type: str
    route: EventRoute
    event: CareEvent
    workflow_id: str
    start: PreparedStart | None


def prepare_event(
    registry: PluginRegistry, *, event_type: str, data: Any, engine: Engine | None = None
) -> PreparedEvent:
    """Validate an event and find its process; resolve the plan if the route may start it.

    Raises:
        InputError: Unknown event type, a payload that does not validate strictly, an unknown
            district. With ``engine``: a community or registry id the registry does not hold
            in the district, or an event the route's check shows the process would refuse.
    """
    route = registry.route(event_type)
    event = validate_external(route.model, data, field="data")
    registry.check_district(event.district)
    _check_state(engine, district=event.district, payload=event, field="data", check=route.check)
    start = None
    if route.start_if_absent and route.to_request is not None:
        start = prepare_start(
            registry,
            process=route.process,
            district=event.district,
            community=event.community,
            case_ref=event.case_ref,
            request=route.to_request(event),
            started_by=f"event:{event_type}",
        )
        if engine is not None:
            # Events carry no task queue: any live worker that serves the plan will do.
            check_plan_served(engine, start.input.plan, task_queue=None)
    return PreparedEvent(
        event_type=event_type,
        route=route,
        event=event,
        workflow_id=(
            route.workflow_id(event)
            if route.workflow_id is not None
            else process_workflow_id(route.process, event.district, event.case_ref)
        ),
        start=start,
    )


async def deliver_event(client: Client, prepared: PreparedEvent, *, task_queue: str) -> str:
    """Signal the event to its process, starting the process first if the route says so.

    Returns:
        The workflow id the event went to.
    """
    if prepared.start is not None:
        await client.start_workflow(
            prepared.start.workflow_type,
            prepared.start.input,
            id=prepared.workflow_id,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            start_signal=prepared.route.signal,
            start_signal_args=[prepared.event],
            **prepared.start.start_options(),
        )
        return prepared.workflow_id
    handle = client.get_workflow_handle(prepared.workflow_id)
    try:
        await handle.signal(prepared.route.signal, prepared.event)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise InputError(
                "case_ref", f"no running process {prepared.workflow_id} for this event"
            ) from err
        raise
    return prepared.workflow_id


async def route_event(
    client: Client,
    registry: PluginRegistry,
    *,
    event_type: str,
    data: Any,
    task_queue: str,
    engine: Engine | None = None,
) -> str:
    """Validate an event and deliver it (``prepare_event`` + ``deliver_event``)."""
    prepared = prepare_event(registry, event_type=event_type, data=data, engine=engine)
    return await deliver_event(client, prepared, task_queue=task_queue)


async def process_status(
    client: Client,
    engine: Engine,
    *,
    workflow_id: str,
    registry: PluginRegistry | None = None,
) -> dict[str, Any]:
    """Process, stage, open tasks and plan of one workflow.

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
    return {
        "workflow_id": workflow_id,
        "status": status,
        "process": attrs.get("CareProcess"),
        "district": attrs.get("CareDistrict"),
        "community": attrs.get("CareCommunity"),
        "stage": attrs.get("CareStage"),
        "overdue": attrs.get("CareOverdue"),
        # Why it is not moving (a step retrying or stalled) or why it ended badly.
        "problem": await process_problem(handle, desc, engine, stage=attrs.get("CareStage")),
        "summary": await desc.static_summary(),
        "plan": await desc.static_details(),
        "plan_plugins": memo.get("plan_plugins"),
        "plan_steps": memo.get("plan_steps"),
        "case_ref": attrs.get("CareCaseRef"),
        **_event_ids(registry, engine, workflow_id, attrs),
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


def _event_ids(
    registry: PluginRegistry | None, engine: Engine, workflow_id: str, attrs: dict[str, Any]
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
        case_ref=attrs.get("CareCaseRef"),
    )
    return {"ids": ids, "events": events_of(registry, process) if process else []}


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
    """Make Temporal's schedules match the plugins: create, update, delete stale ones.

    Returns:
        Schedule ids by what happened: ``created``, ``updated``, ``unchanged`` (already as
        wanted, not touched) and ``deleted``.
    """
    targets = _schedule_targets(registry)
    existing = {
        s.id async for s in await client.list_schedules() if s.id.startswith(SCHEDULE_PREFIX)
    }
    report: dict[str, list[str]] = {"created": [], "updated": [], "unchanged": [], "deleted": []}
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
            spec=ScheduleSpec(
                cron_expressions=spec.crons_for(registry.params_for(process, district)),
                time_zone_name=spec.time_zone,
            ),
        )
        # The schedule list comes from visibility, which lags behind creates and deletes:
        # fall back from update to create and back, and treat a vanished schedule as deleted.
        outcome = None
        if schedule_id in existing:
            outcome = await _update_schedule(client, schedule_id, schedule)
        if outcome is not None:
            report[outcome].append(schedule_id)
            continue
        try:
            await client.create_schedule(schedule_id, schedule)
            report["created"].append(schedule_id)
        except ScheduleAlreadyRunningError:
            report[await _update_schedule(client, schedule_id, schedule) or "updated"].append(
                schedule_id
            )
    for schedule_id in sorted(existing - targets.keys()):
        try:
            await client.get_schedule_handle(schedule_id).delete()
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
        report["deleted"].append(schedule_id)
    return report


async def _update_schedule(
    client: Client, schedule_id: str, schedule: Schedule
) -> Literal["updated", "unchanged"] | None:
    """Replace a schedule's definition unless it already is ``schedule``; None if it is gone."""
    outcome: Literal["updated", "unchanged"] = "updated"

    async def _replace(current: ScheduleUpdateInput) -> ScheduleUpdate | None:
        nonlocal outcome
        have, wanted = current.description.schedule, schedule.action
        if (
            isinstance(wanted, ScheduleActionStartWorkflow)
            and same_spec(have.spec, schedule.spec)
            and await same_action(client.data_converter, have.action, wanted)
        ):
            outcome = "unchanged"  # no update: a paused schedule stays paused, too
            return None
        outcome = "updated"
        return ScheduleUpdate(schedule=schedule)

    try:
        await client.get_schedule_handle(schedule_id).update(_replace)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    return outcome


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


class PluginDependency(BaseModel):
    """Running processes whose frozen plan names one plugin version."""

    plugin: str
    plan_version: str
    installed_version: str | None
    workflow_ids: list[str]

    @property
    def missing(self) -> bool:
        """The plugin is not installed here: its steps in these plans cannot run."""
        return self.installed_version is None


async def plugin_dependencies(client: Client, registry: PluginRegistry) -> list[PluginDependency]:
    """Which running processes depend on which plugin versions, from their plan memos."""
    found: dict[tuple[str, str], list[str]] = {}
    async for execution in client.list_workflows('ExecutionStatus = "Running"'):
        memo = await execution.memo()
        plugins = memo.get("plan_plugins")
        if not isinstance(plugins, dict):
            continue
        for name, version in plugins.items():
            found.setdefault((str(name), str(version)), []).append(execution.id)
    installed = {plugin.name: plugin.version for plugin in registry.plugins}
    return [
        PluginDependency(
            plugin=name,
            plan_version=version,
            installed_version=installed.get(name),
            workflow_ids=sorted(ids),
        )
        for (name, version), ids in sorted(found.items())
    ]


async def missing_plugins(
    client: Client, registry: PluginRegistry, *, allowed: frozenset[str] = frozenset()
) -> list[PluginDependency]:
    """Dependencies of running processes on plugins not installed (and not ``allowed``)."""
    return [
        dep
        for dep in await plugin_dependencies(client, registry)
        if dep.missing and dep.plugin not in allowed
    ]

"""``careflow tasks``, ``careflow task show`` and ``careflow task complete``: the staff inbox 工单
from the command line.

``task show`` prints a task's context with personal data masked (:mod:`careflow.privacy.
masking`), like the console and the API; ``--unmask --reason`` shows it in full for that one
output through the same audited action (:mod:`careflow.access.actions.unmask`).

The task table is the read model of the inbox; the process workflow is the source of truth, so
completing a task goes through its ``complete_task`` Update, whose validator has the last word.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import typer
from sqlalchemy.engine import Engine
from sqlmodel import Session

from careflow.access import Attempt, actions
from careflow.access.accounts import account_id, load_principal
from careflow.access.actions import Completion, TaskDetail
from careflow.db import Task
from careflow.errors import InputError
from careflow.inputs import check_id
from careflow.localtime import local_minute
from careflow.models import TaskStatus
from careflow.registry import PluginRegistry
from careflow.roles import role_spec
from careflow.task_context import ContextItem, task_context
from cli.acting import ActorOption, cli_attempt, connector, require_actor
from cli.app import (
    CliState,
    cli_errors,
    database,
    echo_json,
    echo_lines,
    read_json,
    run_async,
    state,
)

__all__ = [
    "TaskView",
    "complete",
    "context_lines",
    "describe_task",
    "register",
    "show",
    "tasks",
    "unmasked_line",
]

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


class TaskView(StrEnum):
    """Which tasks an inbox shows."""

    OPEN = "open"
    DONE = "done"
    OVERDUE = "overdue"


def _check_role(registry: PluginRegistry, role: str) -> str:
    # The loaded plugins declare the roles (careflow.roles), so a module's own role is known.
    if role not in registry.roles:
        known = ", ".join(sorted(registry.roles))
        raise InputError("role", f"未知角色 unknown role {role!r} (known: {known})")
    return role


def describe_task(task: Task, *, now: datetime) -> dict[str, Any]:
    """A task row as inbox clients see it, with its form as JSON Schema.

    The submitted form data (``result``) is left out: free-text notes may name people.
    """
    return {
        "task_id": task.task_id,
        "workflow_id": task.workflow_id,
        "step_key": task.step_key,
        "process": task.process,
        "module": task.module,
        "district": task.district,
        "community": task.community,
        "case_ref": task.case_ref,
        "role": task.role,
        "title_zh": task.title_zh,
        "title_en": task.title_en,
        "status": task.status,
        "escalation_level": task.escalation_level,
        "overdue": task.status == TaskStatus.OPEN and (task.overdue or task.due_at < now),
        "due_at": task.due_at.isoformat(),
        "opened_at": task.opened_at.isoformat(),
        "closed_at": task.closed_at.isoformat() if task.closed_at else None,
        "completed_by": task.completed_by,
        "assignee": task.assignee,
        "form_ref": task.form_ref,
        "form_schema": task.form_schema,
    }


def _form_summary(schema: dict[str, Any]) -> str:
    required = set(schema.get("required", []))
    fields = [f"{name}{'*' if name in required else ''}" for name in schema.get("properties", {})]
    return ", ".join(fields) or "-"


def _task_lines(info: dict[str, Any]) -> list[str]:
    role = info["role"]
    spec = role_spec(role)
    role_zh = spec.title_zh if spec is not None else ""
    where = info["district"] + (f"/{info['community']}" if info["community"] else "")
    overdue = " 逾期 OVERDUE" if info["overdue"] else ""
    return [
        f"■ {info['task_id']} [{info['status']}{overdue}] {info['title_zh']} · {info['title_en']}",
        f"  角色 role {role} {role_zh} · 区 {where} · 案件 case {info['case_ref']} "
        f"· 截止 due {local_minute(info['due_at'])}",
        f"  流程 workflow {info['workflow_id']} · 表单 form: {_form_summary(info['form_schema'])}",
    ]


class Assigned(StrEnum):
    """Claimed tasks: mine, or nobody's."""

    ME = "me"
    UNASSIGNED = "unassigned"


@cli_errors
def tasks(
    ctx: typer.Context,
    role: Annotated[str | None, typer.Option(help="Only tasks held by this role.")] = None,
    district: Annotated[str | None, typer.Option("--district", "-d", help="District code.")] = None,
    street: Annotated[str | None, typer.Option(help="Street code (its communities).")] = None,
    community: Annotated[str | None, typer.Option(help="Community code.")] = None,
    process: Annotated[str | None, typer.Option(help="Process id.")] = None,
    case_ref: Annotated[str | None, typer.Option("--case-ref", help="Case reference.")] = None,
    status: Annotated[TaskView | None, typer.Option(help="open, done or overdue.")] = None,
    assigned: Annotated[
        Assigned | None, typer.Option(help="me (claimed by --actor) or unassigned.")
    ] = None,
    actor: Annotated[
        str | None,
        typer.Option("--actor", help="Only this account's inbox: the tasks its grants cover."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List human tasks 工单 (overdue first) with their forms as JSON Schema · 工单列表.

    With --actor, only that account's inbox: the tasks its grants cover. Without, every task
    (the operator's view, for whoever holds the database).
    """
    st = state(ctx)
    if role is not None:
        _check_role(st.registry, role)
    if district is not None:
        st.registry.check_district(district)
    if process is not None:
        st.registry.process(process)
    if assigned == Assigned.ME and actor is None:
        raise InputError("assigned", "--assigned me needs --actor")
    now = datetime.now(UTC)
    with database(st.settings) as engine:
        principal = None
        if actor is not None:
            with Session(engine) as session:
                principal = load_principal(session, account_id(session, require_actor(actor)))
        rows = actions.inbox(
            engine,
            principal,
            role=role,
            district=district,
            street=street,
            community=community,
            process=process,
            case_ref=case_ref,
            status=status.value if status else None,
            assigned=assigned.value if assigned else None,
            limit=1000,
        )
        described = [describe_task(row, now=now) for row in rows]
    if as_json:
        echo_json(described)
        return
    if not described:
        typer.echo("没有工单 no tasks")
        return
    echo_lines([line for info in described for line in _task_lines(info)])


async def _complete(st: CliState, engine: Engine, attempt: Attempt, **kwargs: Any) -> Completion:
    client = connector(st)
    return await actions.complete_task(
        client,
        engine,
        st.registry,
        attempt,
        reply_within=st.settings.reply_within,
        **kwargs,
    )


@cli_errors
def complete(
    ctx: typer.Context,
    task_id: Annotated[str, typer.Argument(help="Task id from `careflow tasks`.")],
    data_file: Annotated[
        str, typer.Option("--data", help="JSON file with the form data, or - for stdin.")
    ],
    actor: ActorOption = None,
    role: Annotated[
        str | None,
        typer.Option("--role", help="The task's role, if you want it checked (default: inferred)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Complete a task with its form data, as your account · 完成工单.

    Your account must hold the task's current role over its community; the attempt is audited.
    The answer comes within CAREFLOW_REPLY_WITHIN seconds: completed, or accepted by the
    process and still being recorded (it will be; do not repeat it).
    """
    st = state(ctx)
    data = read_json(data_file, field="data")
    actor_id = require_actor(actor)
    if role is not None:
        _check_role(st.registry, role)
    with database(st.settings) as engine:
        attempt = cli_attempt(engine, actor_id, action="task.complete")
        done = run_async(_complete(st, engine, attempt, task_id=task_id, data=data, role=role))
    if as_json:
        echo_json(done)
        return
    outcome = done.outcome
    if outcome is None:
        typer.echo(f"{done.message} · {task_id} (request {done.request_id})")
        return
    typer.echo(
        f"已完成 completed {outcome.task_id} by {outcome.actor} ({outcome.role}) "
        f"at {local_minute(outcome.completed_at)}"
    )


def _value_text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return "; ".join(str(v) for v in value) or "-"
    return str(value)


def context_lines(items: list[ContextItem]) -> list[str]:
    """The context items of a task or record, one line each (values as given: masked or not)."""
    return [f"  {i.label_zh} {i.label_en}: {_value_text(i.value)}" for i in items]


def unmasked_line(request_id: str) -> str:
    """What an unmask's output says about itself."""
    return (
        f"  已显示完整信息：仅本次输出，已记入审计（请求 {request_id}）"
        " shown in full for this output only; recorded in the audit trail"
    )


def _operator_view(st: CliState, engine: Engine, task_id: str) -> TaskDetail:
    """The task as the operator holding the database sees it: masked, nothing to audit."""
    with Session(engine) as session:
        task = session.get(Task, task_id)
        if task is None:
            raise InputError("task_id", f"no task {task_id!r} · 没有这个工单")
        context = task_context(st.registry, session, task, unmasked=False)
    now = datetime.now(UTC)
    due = task.due_at if task.due_at.tzinfo else task.due_at.replace(tzinfo=UTC)
    return TaskDetail(
        task=task,
        context=context,
        may_complete=False,
        unmasked=False,
        overdue=task.status == TaskStatus.OPEN and (task.overdue or due < now),
    )


@cli_errors
def show(
    ctx: typer.Context,
    task_id: Annotated[str, typer.Argument(help="Task id from `careflow tasks`.")],
    actor: ActorOption = None,
    unmask: Annotated[
        bool,
        typer.Option(
            "--unmask",
            help="Show the task's personal data in full, as far as your grants allow "
            "(needs --reason; audited as task.unmask).",
        ),
    ] = False,
    reason: Annotated[
        str | None,
        typer.Option("--reason", help="Why you need to see it in full (with --unmask)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Show a task with its context, personal data masked · 工单详情.

    With an account (--actor or CAREFLOW_ACTOR) the task is shown as that account may see it
    (audited as task.view); without one, as the operator holding the database sees it. Names,
    phones, ID numbers, addresses and health readings are masked; --unmask --reason "..."
    shows them in full for this one output, as far as the account's grants allow.
    """
    st = state(ctx)
    check_id("task_id", task_id, max_length=255)
    if reason is not None and not unmask:
        raise InputError("reason", "--reason goes with --unmask · 理由需与 --unmask 同用")
    with database(st.settings) as engine:
        attempt: Attempt | None = None
        if unmask:
            attempt = cli_attempt(engine, require_actor(actor), action="task.unmask")
            detail = actions.unmask_task(
                engine, st.registry, attempt, task_id=task_id, reason=reason
            )
        elif actor is not None:
            attempt = cli_attempt(engine, require_actor(actor), action="task.view")
            detail = actions.view_task(engine, st.registry, attempt, task_id=task_id)
        else:
            detail = _operator_view(st, engine, task_id)
    info = describe_task(detail.task, now=datetime.now(UTC))
    if as_json:
        echo_json(
            {
                **info,
                "context": [item.model_dump(mode="json") for item in detail.context],
                "may_complete": detail.may_complete,
                "unmasked": detail.unmasked,
                "clear": sorted(detail.clear),
                "request_id": attempt.request_id if attempt is not None else None,
            }
        )
        return
    lines = _task_lines(info)
    if detail.unmasked and attempt is not None:
        lines.append(unmasked_line(attempt.request_id))
    lines.append("  上下文 context:" if detail.context else "  上下文 context: -")
    lines += ["  " + line for line in context_lines(detail.context)]
    echo_lines(lines)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``: ``tasks`` and the ``task`` group."""
    app.command("tasks")(tasks)
    task_app = typer.Typer(help="Act on one task · 工单操作.", no_args_is_help=True)
    task_app.command("show")(show)
    task_app.command("complete")(complete)
    app.add_typer(task_app, name="task")

"""``careflow tasks`` and ``careflow task complete``: the staff inbox 工单 from the command line.

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
from careflow.access.actions import Completion
from careflow.cli.acting import ActorOption, cli_attempt, connector, require_actor
from careflow.cli.app import (
    CliState,
    cli_errors,
    database,
    echo_json,
    echo_lines,
    read_json,
    run_async,
    state,
)
from careflow.db import Task
from careflow.errors import InputError
from careflow.localtime import local_minute
from careflow.models import TaskStatus
from careflow.roles import ROLE_TITLES, Role

__all__ = ["TaskView", "complete", "describe_task", "register", "tasks"]

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


class TaskView(StrEnum):
    """Which tasks an inbox shows."""

    OPEN = "open"
    DONE = "done"
    OVERDUE = "overdue"


def _check_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise InputError("role", f"unknown role {role!r} (known: {known})") from None


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
    role_zh = ROLE_TITLES.get(Role(role), "") if role in Role.__members__.values() else ""
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
        _check_role(role)
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
        _check_role(role)
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


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``: ``tasks`` and the ``task`` group."""
    app.command("tasks")(tasks)
    task_app = typer.Typer(help="Act on one task · 工单操作.", no_args_is_help=True)
    task_app.command("complete")(complete)
    app.add_typer(task_app, name="task")

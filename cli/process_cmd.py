"""``careflow start`` and ``careflow status``: start a process, see where it stands.

``status`` shows the person a process is about masked (:mod:`careflow.privacy.masking`);
``--unmask --reason`` shows them in full for that one output through the audited action.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from sqlalchemy.engine import Engine

from careflow.access import Attempt, actions
from careflow.errors import InputError
from careflow.localtime import local_minute
from careflow.service import (
    StartedProcess,
    prepare_start,
    process_status,
)
from careflow.task_context import ContextItem
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
    temporal_client,
)
from cli.tasks_cmd import context_lines, unmasked_line

__all__ = ["register", "start", "status"]

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


async def _start(st: CliState, engine: Engine, attempt: Attempt, **start: Any) -> StartedProcess:
    client = connector(st)
    return await actions.start_process(
        client, engine, st.registry, attempt, task_queue=st.settings.task_queue, **start
    )


@cli_errors
def start(
    ctx: typer.Context,
    process: Annotated[str, typer.Argument(help="Process id, e.g. delivery.")],
    district: Annotated[str, typer.Option("--district", "-d", help="District code.")],
    input_file: Annotated[
        str, typer.Option("--input", "-i", help="JSON file with the request, or - for stdin.")
    ],
    community: Annotated[str | None, typer.Option(help="Community code.")] = None,
    case_ref: Annotated[
        str | None,
        typer.Option(
            "--case-ref",
            help="Opaque case reference (default: new): a registry id or case number, at most "
            "32 ASCII letters, digits and _ . -, no ID or phone number. The workflow id holds "
            "its key.",
        ),
    ] = None,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Start a process as your account and print its workflow id · 启动流程.

    Your account must hold one of the process's start roles over the community (or the
    district); the attempt is audited.
    """
    st = state(ctx)
    request = read_json(input_file, field="input")
    if actor is not None:
        require_actor(actor)  # a malformed --actor is named as such, before the input
    # Everything that can be checked without Temporal is checked first, so bad input exits 2
    # even when the stack is down, and nothing is started: the input alone, then (exit 1 when
    # it is missing or not migrated) the app database, then the account and the input against
    # the database.
    prepare_start(
        st.registry,
        process=process,
        district=district,
        request=request,
        started_by=actor or "cli",  # the account is checked next, once the input passed
        community=community,
        case_ref=case_ref,
        task_queue=st.settings.task_queue,
    )
    actor_id = require_actor(actor)
    with database(st.settings) as engine:
        attempt = cli_attempt(engine, actor_id, action="process.start")
        started = run_async(
            _start(
                st,
                engine,
                attempt,
                process=process,
                district=district,
                request=request,
                community=community,
                case_ref=case_ref,
            )
        )
    if as_json:
        echo_json(started)
        return
    typer.echo(started.workflow_id)
    typer.echo(
        f"已启动 started {started.process} · {started.district} · 案件 case {started.case_ref} "
        f"(化名 key {started.case_key}) · {started.steps} extension steps",
        err=True,
    )


async def _status(
    st: CliState, workflow_id: str, *, unmask_as: str | None = None, reason: str | None = None
) -> dict[str, Any]:
    """The process's status and the person it is about: masked, or with ``unmask_as`` (an
    account id) in clear as far as that account may see (audited ``process.unmask``)."""
    with database(st.settings) as engine:
        async with temporal_client(st.settings) as client:
            info = await process_status(
                client, engine, workflow_id=workflow_id, registry=st.registry
            )
        if unmask_as is None:
            view = actions.subject_of_process(engine, None, workflow_id=workflow_id)
            info["subject"] = None if view is None else _subject(view)
        else:
            attempt = cli_attempt(engine, unmask_as, action="process.unmask")
            unmasked = actions.unmask_process(
                engine, attempt, workflow_id=workflow_id, reason=reason
            )
            info["subject"] = _subject(unmasked)
    return info


def _subject(view: actions.RecordView) -> dict[str, Any]:
    return {
        "items": [item.model_dump(mode="json") for item in view.items],
        "clear": sorted(view.clear),
        "request_id": view.request_id,
    }


def _subject_lines(subject: dict[str, Any] | None) -> list[str]:
    """The person the process is about (masked unless this output unmasked them)."""
    if not subject:
        return []
    lines = ["  服务对象 person:"]
    if subject.get("request_id"):
        lines.append("  " + unmasked_line(subject["request_id"]))
    items = [ContextItem.model_validate(item) for item in subject["items"]]
    return lines + ["  " + line for line in context_lines(items)]


def _status_lines(info: dict[str, Any]) -> list[str]:
    where = info["district"] or "-"
    if info.get("community"):
        where += f"/{info['community']}"
    lines = [
        f"流程 workflow: {info['workflow_id']}",
        f"  案件 case: {info.get('case_ref') or '-'}"
        + (f" · 化名 key {info['case_key']}" if info.get("case_key") else ""),
        f"  状态 status: {info['status']} · 阶段 stage: {info['stage'] or '-'}"
        + (" · 已逾期 OVERDUE" if info.get("overdue") else ""),
        f"  流程 process: {info['process'] or '-'} · 区 district: {where}",
    ]
    lines += _subject_lines(info.get("subject"))
    problem = info.get("problem")
    if problem:
        where_ = problem.get("step_key") or problem.get("activity") or "-"
        attempt = f" · 第{problem['attempt']}次 attempt" if problem.get("attempt") else ""
        lines.append(
            f"  问题 problem: {problem.get('state')} · 步骤 step {where_}{attempt} · "
            f"{problem.get('error_type') or '-'}: {problem.get('message') or '-'}"
        )
    if info.get("summary"):
        lines.append(f"  摘要 summary: {info['summary']}")
    lines += _event_lines(info)
    tasks = info.get("tasks") or []
    lines.append("  工单 tasks:" if tasks else "  工单 tasks: -")
    for task in tasks:
        overdue = " 逾期 overdue" if task.get("overdue") else ""
        lines.append(
            f"    {task['task_id']} [{task['status']}{overdue}] {task['title_zh']} "
            f"· {task['role']} · 截止 due {local_minute(task['due_at'])}"
        )
    if info.get("plan"):
        lines.append("  " + str(info["plan"]).replace("\n", "\n  "))
    if info.get("result") is not None:
        lines.append(f"  结果 result: {json.dumps(info['result'], ensure_ascii=False)}")
    return lines


def _event_lines(info: dict[str, Any]) -> list[str]:
    """The ids this process's events need, with their values, and the events it takes."""
    ids = {key: value for key, value in (info.get("ids") or {}).items() if value}
    lines = []
    if ids:
        shown = " · ".join(f"{key}={value}" for key, value in ids.items())
        lines.append(f"  事件编号 ids for events: {shown}")
    for route in info.get("events") or []:
        lines.append(f"  事件 event {route['event_type']}: {', '.join(route['needs'])}")
    return lines


@cli_errors
def status(
    ctx: typer.Context,
    workflow_id: Annotated[str, typer.Argument(help="Workflow id printed by `careflow start`.")],
    actor: ActorOption = None,
    unmask: Annotated[
        bool,
        typer.Option(
            "--unmask",
            help="Show the person the process is about in full, as far as your account's "
            "grants allow (needs --reason; audited as process.unmask).",
        ),
    ] = False,
    reason: Annotated[
        str | None,
        typer.Option("--reason", help="Why you need to see them in full (with --unmask)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Show a process: stage, the person it is about (masked), open tasks, plan · 流程状态.

    The person's name, ID number, phone and address are masked; --unmask --reason "..." shows
    them in full for this one output to your account (--actor or CAREFLOW_ACTOR).
    """
    if reason is not None and not unmask:
        raise InputError("reason", "--reason goes with --unmask · 理由需与 --unmask 同用")
    unmask_as = require_actor(actor) if unmask else None
    info = run_async(_status(state(ctx), workflow_id, unmask_as=unmask_as, reason=reason))
    if as_json:
        echo_json(info)
        return
    echo_lines(_status_lines(info))


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("start")(start)
    app.command("status")(status)

"""``careflow retention``: run the retention process now, see the periods, check the namespace.

``careflow retention run --district X [--dry-run]`` starts ``privacy.retention`` for one
district as your account (a district admin of it; the start is audited like any start) and
prints what it did, or with ``--dry-run`` what it would do, in counts per purpose and table.
The run writes its own ``retention.run`` audit rows. ``careflow retention periods`` shows each
purpose's period in a district; ``careflow retention check`` compares the Temporal
namespace's history retention with the shortest of them and exits 1 when it is longer.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Annotated, Any

import typer
from pydantic import TypeAdapter
from sqlalchemy.engine import Engine

from careflow.access import Attempt, actions
from careflow.errors import InputError
from careflow.localtime import local_minute
from careflow.service import prepare_start
from cli.acting import ActorOption, cli_attempt, connector, require_actor
from cli.app import (
    CliState,
    EnvironmentFailure,
    cli_errors,
    database,
    echo_json,
    echo_lines,
    run_async,
    state,
    temporal_client,
)
from plugins.privacy.models import (
    RETENTION_PROCESS,
    NamespaceCheck,
    RetentionParams,
    RetentionResult,
)
from plugins.privacy.namespace import check_namespace, days
from plugins.privacy.purposes import PURPOSES

__all__ = ["check", "periods", "register", "result_lines", "run"]

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
_TITLES = {p.code: f"{p.title_zh} {p.title_en}" for p in PURPOSES}


def _require_plugin(st: CliState) -> None:
    if RETENTION_PROCESS not in st.registry.processes:
        raise InputError(
            "CAREFLOW_PLUGINS",
            "the privacy plugin is not loaded, so there is no retention process; "
            "load it (unset CAREFLOW_PLUGINS, or add privacy)",
        )


def result_lines(result: RetentionResult) -> list[str]:
    """A run's result as people read it (local minutes, Chinese with English)."""
    mode = "演练，未做修改 dry run, nothing changed" if result.dry_run else "已执行 done"
    lines = [
        f"数据保留 retention · {result.district} · {mode} · "
        f"截至 as of {local_minute(result.as_of)} 北京时间",
        f"  已查看 checked {result.checked} · 仍在进行 still open {result.still_open} · "
        f"未到期 within period {result.waiting}",
    ]
    if result.namespace is not None:
        flag = "" if result.namespace.ok else "⚠️ "
        lines.append(f"  {flag}历史保留 history retention: {result.namespace.message}")
    for purpose, done in result.purposes.items():
        counts = " ".join(f"{k}={v}" for k, v in done.rows.items()) or "-"
        lines.append(
            f"  {purpose} {_TITLES.get(purpose, '')} ({days(done.period)}, "
            f"结案早于 closed before {local_minute(done.cutoff)}): "
            f"{done.cases} 案件 cases · {counts}"
        )
    for purpose, removed in result.consent.items():
        counts = " ".join(f"{k}={v}" for k, v in removed.rows.items()) or "-"
        lines.append(
            f"  {purpose} {_TITLES.get(purpose, '')} 撤回同意 withdrawn consent: "
            f"{removed.cases} 案件 cases · {counts}"
        )
    return lines


async def _run(
    st: CliState,
    engine: Engine,
    attempt: Attempt,
    *,
    district: str,
    request: dict[str, Any],
    wait: float,
) -> tuple[str, RetentionResult | None]:
    started = await actions.start_process(
        connector(st),
        engine,
        st.registry,
        attempt,
        process=RETENTION_PROCESS,
        district=district,
        request=request,
        task_queue=st.settings.task_queue,
    )
    if wait <= 0:
        return started.workflow_id, None
    async with temporal_client(st.settings) as client:
        handle = client.get_workflow_handle(started.workflow_id, result_type=RetentionResult)
        try:
            return started.workflow_id, await asyncio.wait_for(handle.result(), timeout=wait)
        except TimeoutError:
            raise EnvironmentFailure(
                f"保留处理仍在进行 the run {started.workflow_id} has not finished within "
                f"{wait:g}s (is a worker running?); see `careflow status {started.workflow_id}`",
                field="temporal",
            ) from None


@cli_errors
def run(
    ctx: typer.Context,
    district: Annotated[str, typer.Option("--district", "-d", help="District code.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be done; change nothing.")
    ] = False,
    purpose: Annotated[
        list[str] | None,
        typer.Option("--purpose", help="Only this purpose (repeatable); default: all."),
    ] = None,
    wait: Annotated[
        float,
        typer.Option(help="Seconds to wait for the result; 0 prints the workflow id at once."),
    ] = 300.0,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Delete or anonymise closed cases past their retention period now · 数据保留处理.

    Your account must be a district admin of the district; the start and what the run did
    are audited.
    """
    st = state(ctx)
    _require_plugin(st)
    unknown = [p for p in purpose or [] if p not in _TITLES]
    if unknown:
        raise InputError("purpose", f"unknown purpose {unknown[0]!r} (known: {', '.join(_TITLES)})")
    request: dict[str, Any] = {"dry_run": dry_run, "purposes": purpose or []}
    if actor is not None:
        require_actor(actor)
    # Bad input exits 2 before the database or Temporal is asked (see `careflow start`).
    prepare_start(
        st.registry,
        process=RETENTION_PROCESS,
        district=district,
        request=request,
        started_by=actor or "cli",
        task_queue=st.settings.task_queue,
    )
    actor_id = require_actor(actor)
    with database(st.settings) as engine:
        attempt = cli_attempt(engine, actor_id, action="process.start")
        workflow_id, result = run_async(
            _run(st, engine, attempt, district=district, request=request, wait=wait)
        )
    if result is None:
        if as_json:
            echo_json({"workflow_id": workflow_id})
        else:
            typer.echo(workflow_id)
        return
    if as_json:
        echo_json({"workflow_id": workflow_id, **result.model_dump(mode="json")})
        return
    echo_lines([*result_lines(result), f"  流程 workflow: {workflow_id}"])


@cli_errors
def periods(
    ctx: typer.Context,
    district: Annotated[str, typer.Option("--district", "-d", help="District code.")],
    as_json: JsonOption = False,
) -> None:
    """Each purpose's retention period in a district (defaults and overrides) · 保留期限."""
    st = state(ctx)
    _require_plugin(st)
    st.registry.check_district(district)
    params = RetentionParams.model_validate(st.registry.params_for(RETENTION_PROCESS, district))
    if as_json:
        echo_json(
            [
                {
                    "purpose": p.code,
                    "title_zh": p.title_zh,
                    "title_en": p.title_en,
                    "period": _iso(params.period(p.code)),
                    "default": _iso(p.default),
                    "processes": list(p.processes),
                }
                for p in PURPOSES
            ]
        )
        return
    lines = [f"保留期限 retention periods · {district} (结案后 after the case closed)"]
    for p in PURPOSES:
        period = params.period(p.code)
        changed = "" if period == p.default else f" (默认 default {days(p.default)})"
        lines.append(f"  {p.code:<16} {days(period):<14} {p.title_zh} {p.title_en}{changed}")
    echo_lines(lines)


def _iso(value: timedelta) -> str:
    """An ISO 8601 duration, as the configuration file takes it."""
    return str(TypeAdapter(timedelta).dump_python(value, mode="json"))


async def _check(st: CliState) -> NamespaceCheck:
    async with temporal_client(st.settings) as client:
        return await check_namespace(client, st.registry)


@cli_errors
def check(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Whether Temporal keeps closed histories no longer than the app keeps data · 核对.

    Exits 1 when the namespace's history retention is longer than the shortest retention
    period of any purpose in any district.
    """
    checked = run_async(_check(state(ctx)))
    if as_json:
        echo_json(checked)
    else:
        typer.echo(("" if checked.ok else "⚠️ ") + checked.message)
    if not checked.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``retention run|periods|check`` to ``app``."""
    retention_app = typer.Typer(no_args_is_help=True, help="Retention of personal data · 数据保留.")
    retention_app.command("run")(run)
    retention_app.command("periods")(periods)
    retention_app.command("check")(check)
    app.add_typer(retention_app, name="retention")

"""``careflow schedules sync|list``: make Temporal's schedules match the plugins, and show them."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from careflow.localtime import local_minute
from careflow.service import list_schedules, sync_schedules
from cli.app import (
    CliState,
    cli_errors,
    echo_json,
    echo_lines,
    run_async,
    state,
    temporal_client,
)

__all__ = ["list_cmd", "register", "sync"]

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


async def _sync(st: CliState) -> dict[str, list[str]]:
    async with temporal_client(st.settings) as client:
        return await sync_schedules(client, st.registry, task_queue=st.settings.task_queue)


async def _list(st: CliState) -> list[dict[str, Any]]:
    async with temporal_client(st.settings) as client:
        return await list_schedules(client)


def sync_report_lines(report: dict[str, list[str]]) -> list[str]:
    """Human lines for a sync report: counts, then each schedule that changed."""
    lines = [
        f"定时任务同步 schedules synced: {len(report['created'])} created 新建, "
        f"{len(report['updated'])} updated 更新, "
        f"{len(report.get('unchanged', []))} unchanged 未变, "
        f"{len(report['deleted'])} deleted 删除"
    ]
    for action in ("created", "updated", "deleted"):
        lines += [f"  {action}: {schedule_id}" for schedule_id in report[action]]
    return lines


@cli_errors
def sync(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Create, update and delete Temporal schedules to match the plugins · 同步定时任务."""
    report = run_async(_sync(state(ctx)))
    if as_json:
        echo_json(report)
        return
    echo_lines(sync_report_lines(report))


@cli_errors
def list_cmd(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List careflow's schedules as Temporal has them · 定时任务列表."""
    found = run_async(_list(state(ctx)))
    if as_json:
        echo_json(found)
        return
    if not found:
        typer.echo("没有定时任务 no schedules (run `careflow schedules sync`)")
        return
    lines = []
    for entry in found:
        # People read Asia/Shanghai minutes; --json keeps UTC ISO.
        upcoming = ", ".join(local_minute(t) for t in entry["next_action_times"]) or "-"
        lines.append(
            f"■ {entry['schedule_id']} · 下次 next: {upcoming} · "
            f"最近执行 recent runs: {entry['recent_actions']}"
        )
    echo_lines(lines)


def register(app: typer.Typer) -> None:
    """Add the ``schedules`` group to ``app``."""
    group = typer.Typer(help="Temporal schedules of the plugins · 定时任务.", no_args_is_help=True)
    group.command("sync")(sync)
    group.command("list")(list_cmd)
    app.add_typer(group, name="schedules")

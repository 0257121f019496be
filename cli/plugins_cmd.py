"""``careflow plugins``, ``careflow processes`` and ``careflow plan``: what the plugins declare.

These commands read the validated registry only; they need neither Temporal nor the database,
except ``plugins check``, which asks Temporal about running plans and, when the app database
exists, lists the migrations no loaded plugin provides.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from careflow.areas import DISTRICTS, district_title
from careflow.contract import CarePlugin, ProcessSpec, StepSpec
from careflow.plan import Plan, StepKind
from careflow.registry import PluginRegistry
from careflow.service import PluginDependency, plugin_dependencies
from cli.app import (
    _sqlite_file,
    cli_errors,
    echo_json,
    echo_lines,
    run_async,
    state,
    temporal_client,
)

__all__ = ["describe_plugin", "describe_process", "register", "workflow_id_lines"]

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


def _describe_step(plugin: CarePlugin, step: StepSpec) -> dict[str, Any]:
    # The frozen form knows the step's kind and details, so it is the one place to read them.
    frozen = step.to_plan_step(plugin=plugin.name, version=plugin.version)
    described: dict[str, Any] = {
        "key": step.key,
        "process": step.process,
        "point": step.point,
        "kind": frozen.kind.value,
        "districts": sorted(step.districts),
        "summary_zh": step.summary_zh,
    }
    if frozen.kind is StepKind.ACTIVITY:
        described["activity"] = frozen.activity
    elif frozen.kind is StepKind.HUMAN_TASK and frozen.task is not None:
        described["role"] = frozen.task.role
        described["title_zh"] = frozen.task.title_zh
        described["title_en"] = frozen.task.title_en
    elif frozen.kind is StepKind.CHILD_PROCESS:
        described["child_process"] = frozen.child_process
    elif frozen.kind is StepKind.WAIT and frozen.wait is not None:
        described["wait_seconds"] = frozen.wait.total_seconds()
    return described


def describe_plugin(plugin: CarePlugin) -> dict[str, Any]:
    """Everything a plugin declares, as plain JSON-able data."""
    return {
        "name": plugin.name,
        "version": plugin.version,
        "title_zh": plugin.title_zh,
        "title_en": plugin.title_en,
        "order": plugin.order,
        "processes": [spec.id for spec in plugin.processes],
        "roles": [
            {"name": r.name, "title_zh": r.title_zh, "title_en": r.title_en} for r in plugin.roles
        ],
        "steps": [_describe_step(plugin, step) for step in plugin.steps],
        "schedules": [
            {
                "id": s.id,
                "process": s.process,
                "title_zh": s.title_zh,
                "crons": list(s.crons),
                "time_zone": s.time_zone,
                "districts": sorted(s.districts),
            }
            for s in plugin.schedules
        ],
        "routes": [
            {
                "event_type": r.event_type,
                "process": r.process,
                "signal": r.signal,
                "start_if_absent": r.start_if_absent,
            }
            for r in plugin.routes
        ],
        "programmes": [
            {
                "district": p.district,
                "enable": sorted(p.enable),
                "disable": sorted(p.disable),
                "params": {k: dict(v) for k, v in p.params.items()},
            }
            for p in plugin.programmes
        ],
        "workflows": [getattr(w, "__name__", str(w)) for w in plugin.all_workflows()],
        "activities": plugin.activity_names(),
    }


def describe_process(registry: PluginRegistry, spec: ProcessSpec) -> dict[str, Any]:
    """A process with its request and params as JSON Schema."""
    return {
        "id": spec.id,
        "title_zh": spec.title_zh,
        "title_en": spec.title_en,
        "module": spec.module,
        "plugin": registry.owners[spec.id].name,
        "workflow_type": spec.workflow_type,
        "extension_points": list(spec.extension_points),
        "default_enabled": spec.default_enabled,
        "long_lived": spec.long_lived,
        "enabled_in": [d for d in DISTRICTS if registry.is_enabled(spec.id, d)],
        "request_schema": spec.request_model.model_json_schema(),
        "params_schema": spec.params_model.model_json_schema(),
    }


def _plugin_lines(info: dict[str, Any]) -> list[str]:
    lines = [
        f"■ {info['name']} {info['version']} · {info['title_zh']} ({info['title_en']})",
        f"  流程 processes: {', '.join(info['processes']) or '-'}",
    ]
    if info["roles"]:
        roles = ", ".join(f"{r['name']} {r['title_zh']} ({r['title_en']})" for r in info["roles"])
        lines.append(f"  角色 roles: {roles}")
    for step in info["steps"]:
        where = ", ".join(step["districts"]) or "全部 all districts"
        lines.append(
            f"  步骤 step {step['key']} → {step['process']}@{step['point']} "
            f"[{step['kind']}] {step['summary_zh']} · 区 {where}"
        )
    for sched in info["schedules"]:
        lines.append(
            f"  定时 schedule {sched['id']} → {sched['process']} "
            f"{' | '.join(sched['crons'])} ({sched['time_zone']})"
        )
    for route in info["routes"]:
        start = " (starts if absent 不存在则启动)" if route["start_if_absent"] else ""
        lines.append(
            f"  事件 event {route['event_type']} → {route['process']} "
            f"signal {route['signal']}{start}"
        )
    for prog in info["programmes"]:
        lines.append(
            f"  区项目 programme {prog['district']}: enable {prog['enable'] or '-'}, "
            f"disable {prog['disable'] or '-'}, params {sorted(prog['params']) or '-'}"
        )
    return lines


def _process_lines(info: dict[str, Any]) -> list[str]:
    request = info["request_schema"]
    required = set(request.get("required", []))
    fields = [f"{name}{'*' if name in required else ''}" for name in request.get("properties", {})]
    return [
        f"■ {info['id']} · {info['title_zh']} ({info['title_en']})",
        f"  模块 module {info['module']} · 插件 plugin {info['plugin']} · "
        f"workflow {info['workflow_type']}",
        f"  扩展点 extension points: {', '.join(info['extension_points']) or '-'}",
        f"  启用区 enabled in: {', '.join(info['enabled_in']) or '-'}",
        f"  输入 input ({request.get('title', '')}): {', '.join(fields) or '-'}  (* required 必填)",
        f"  参数 params: {', '.join(info['params_schema'].get('properties', {})) or '-'}",
    ]


def _plan_lines(plan: Plan) -> list[str]:
    lines = [
        f"流程计划 plan: {plan.process} · {district_title(plan.district)} ({plan.district})",
        "插件 plugins: " + ", ".join(f"{n} {v}" for n, v in plan.plugins.items()),
        "参数 params:",
        *(f"  {name} = {value}" for name, value in plan.params.items()),
        "步骤 steps:" if plan.steps else "步骤 steps: (无扩展步骤 no extension steps)",
    ]
    for number, step in enumerate(plan.steps, start=1):
        lines.append(
            f"  {number}. [{step.point}] {step.key} · {step.summary_zh} "
            f"({step.kind.value}, {step.plugin} {step.plugin_version})"
        )
    return lines


@cli_errors
def plugins(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List loaded plugins with their processes, steps, schedules and event routes · 插件列表."""
    if ctx.invoked_subcommand is not None:
        return
    registry = state(ctx).registry
    described = [describe_plugin(p) for p in registry.plugins]
    if as_json:
        echo_json(described)
        return
    echo_lines([line for info in described for line in _plugin_lines(info)])


@cli_errors
def processes(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List processes with their input as JSON Schema · 流程列表."""
    registry = state(ctx).registry
    described = [describe_process(registry, spec) for spec in registry.processes.values()]
    if as_json:
        echo_json(described)
        return
    echo_lines([line for info in described for line in _process_lines(info)])


@cli_errors
def plan(
    ctx: typer.Context,
    process: Annotated[str, typer.Argument(help="Process id, e.g. delivery.")],
    district: Annotated[str, typer.Option("--district", "-d", help="District code.")],
    as_json: JsonOption = False,
) -> None:
    """Show the plan a new process would run in a district · 流程计划."""
    resolved = state(ctx).registry.resolve_plan(process, district)
    if as_json:
        echo_json(resolved)
        return
    echo_lines(_plan_lines(resolved))


#: Workflow ids listed per plugin version in text output; ``--json`` lists them all.
SHOWN_IDS = 20


def workflow_id_lines(workflow_ids: list[str], limit: int = SHOWN_IDS) -> list[str]:
    """The first ``limit`` ids, one per line, then how many were left out and where to see them."""
    lines = [f"    {wid}" for wid in workflow_ids[:limit]]
    hidden = len(workflow_ids) - limit
    if hidden > 0:
        lines.append(f"    … 另有 {hidden} 个未列出 {hidden} more not shown (--json lists all)")
    return lines


async def _dependencies(st: Any) -> list[PluginDependency]:
    async with temporal_client(st.settings) as client:
        return await plugin_dependencies(client, st.registry)


def orphaned_migrations(st: Any) -> list[str] | None:
    """Revisions the app database records that no loaded plugin provides (an uninstalled
    module's, whose tables are kept); none when there is no database yet, None when it
    cannot be reached."""
    from sqlalchemy.exc import SQLAlchemyError

    from careflow.db.migrate import orphaned_revisions

    url = st.settings.resolved_database_url
    file = _sqlite_file(url)
    if file is not None and not file.exists():
        return []  # nothing recorded; and never create a database just to look into it
    try:
        return orphaned_revisions(url, plugins=st.registry.plugins)
    except SQLAlchemyError:
        return None


def _orphan_lines(orphaned: list[str] | None) -> list[str]:
    from careflow.db.migrate import orphan_message

    if orphaned is None:
        return ["迁移未检查 migrations not checked: the app database cannot be reached"]
    return [f"■ {orphan_message(revision)}" for revision in orphaned]


@cli_errors
def check(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Running processes per plugin version their plans froze; exit 1 if a plugin is missing.

    Also lists migration revisions the database records that no loaded plugin provides (a
    module uninstalled: its tables are kept); those do not change the exit status.
    """
    st = state(ctx)
    deps = run_async(_dependencies(st))
    orphaned = orphaned_migrations(st)
    if as_json:
        # One list, as before: running plans, then one entry per orphaned migration.
        echo_json(
            [{"kind": "running", **d.model_dump(mode="json"), "missing": d.missing} for d in deps]
            + [
                {
                    "kind": "orphaned_migration",
                    "plugin": None,
                    "revision": revision,
                    "missing": False,
                    "workflow_ids": [],
                }
                for revision in orphaned or []
            ]
        )
    else:
        lines = [] if deps else ["没有运行中的流程 no running processes"]
        for d in deps:
            if d.missing:
                status = "缺失 MISSING"
            elif d.installed_version == d.plan_version:
                status = "已安装 installed"
            else:
                status = f"已升级 upgraded to {d.installed_version}"
            lines.append(
                f"■ {d.plugin} {d.plan_version} · {status} · {len(d.workflow_ids)} running"
            )
            lines += workflow_id_lines(d.workflow_ids)
        echo_lines(lines + _orphan_lines(orphaned))
    if any(d.missing for d in deps):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``plugins`` (with ``plugins check``), ``processes`` and ``plan`` to ``app``."""
    plugins_app = typer.Typer(invoke_without_command=True, help="Plugins · 插件.")
    plugins_app.callback()(plugins)
    plugins_app.command("check")(check)
    app.add_typer(plugins_app, name="plugins")
    app.command("processes")(processes)
    app.command("plan")(plan)

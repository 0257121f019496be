"""``careflow worker`` and ``careflow dev`` (the embedded stack: dev server, database, worker).

``careflow dev`` is what ``make run`` runs: it starts the Temporal dev server as a child
process, migrates and seeds the app database, syncs the plugins' schedules and runs the worker
in this process. SIGINT (Ctrl-C) or SIGTERM stops the worker gracefully first, then the server.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import structlog
import typer

from careflow.codec.keys import key_file_path, load_key_ring
from careflow.companions import load_service
from careflow.db.seed_accounts import DEMO_PASSWORD
from careflow.errors import InputError
from careflow.logging import configure_logging
from careflow.privacy.pseudonyms import ensure_dev_pseudonym_key
from careflow.service import missing_plugins, sync_schedules
from cli.app import (
    CliState,
    EnvironmentFailure,
    cli_errors,
    echo_lines,
    redacted_url,
    require_migrated,
    run_async,
    state,
    stop_on_signals,
    temporal_client,
    temporal_reachable,
)
from cli.db_cmd import migrate_database, seed_database
from cli.devserver import DevServer, DevServerConfig, DevStackError
from cli.keys_cmd import ensure_key_file
from cli.schedules_cmd import sync_report_lines
from plugins.privacy.namespace import check_namespace, limit_namespace_retention

__all__ = ["dev", "register", "run_stack", "serve", "worker"]

log = structlog.get_logger("careflow.dev")


def _configure_logging(st: CliState) -> None:
    configure_logging(level=st.settings.log_level, fmt=st.settings.log_format)


async def _refuse_missing_plugins(st: CliState, allowed: frozenset[str]) -> None:
    """Refuse to serve while running plans name plugins this worker lacks."""
    async with temporal_client(st.settings) as client:
        missing = await missing_plugins(client, st.registry, allowed=allowed)
    if missing:
        names = ", ".join(
            f"{d.plugin} {d.plan_version} ({len(d.workflow_ids)} running)" for d in missing
        )
        raise InputError(
            "plugins",
            f"running processes depend on plugins not installed: {names}; reinstall them, or "
            "start with --allow-missing NAME to serve the rest (see `careflow plugins check`)",
        )


async def _warn_history_retention(st: CliState) -> None:
    """Warn (not refuse: see ``plugins.privacy.namespace``) when Temporal keeps closed
    histories longer than the app keeps their data."""
    async with temporal_client(st.settings) as client:
        checked = await check_namespace(client, st.registry)
    if not checked.ok:
        log.warning("worker.history_retention_too_long", namespace=checked.namespace)
        typer.echo(f"警告 warning: {checked.message}", err=True)


@cli_errors
def worker(
    ctx: typer.Context,
    allow_missing: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-missing",
            help="Start although running plans name this removed plugin (repeatable).",
        ),
    ] = None,
) -> None:
    """Run a worker for every plugin on the task queue · 运行 worker."""
    from worker.main import Unreachable, check_database, check_temporal, run_worker

    st = state(ctx)
    _configure_logging(st)
    # Both checked first, with bounded timeouts, so an unreachable one is one line and exit
    # 1, before migrations log anything.
    try:
        check_database(st.settings.resolved_database_url)
        run_async(check_temporal(st.settings))
    except Unreachable as err:
        raise EnvironmentFailure(str(err), field=err.service) from None
    migrate_database(st.settings, plugins=st.registry.plugins)
    with temporal_reachable(st.settings):
        run_async(_refuse_missing_plugins(st, frozenset(allow_missing or ())))
        run_async(_warn_history_retention(st))
        run_async(run_worker(st.settings, registry=st.registry))


async def _watch(server: DevServer, stop: asyncio.Event) -> None:
    """Stop the worker if the server dies under it, instead of polling a dead frontend."""
    while not stop.is_set():
        if server.exited() is not None:
            log.error("dev.server_exited", status=server.exited())
            stop.set()
            return
        await asyncio.sleep(1.0)


def _key_line(st: CliState) -> str:
    """Where the payload keys come from and which one encrypts (ids only)."""
    ring = load_key_ring(st.settings)
    return f"active {ring.active.key_id} of {len(ring)} · {ring.source}"


def _banner(
    st: CliState,
    config: DevServerConfig,
    seeded: dict[str, Any],
    report: dict[str, list[str]],
    console_url: str,
    ingress_line: str = "关闭 off",
) -> list[str]:
    if seeded["skipped"]:
        seed_line = f"已有数据 kept ({seeded['reason']})"
    else:
        seed_line = f"已写入 seeded {sum(seeded['counts'].values())} rows"
    return [
        "careflow 开发环境已启动 · dev stack is up",
        f"  Temporal Web UI 界面:  {config.ui_url}  (登录控制台后可解密 decoded after a console "
        f"login as auditor or city admin; codec {config.codec_endpoint})",
        f"  员工控制台 console:     {console_url}  (API {console_url}/api/v1 · {console_url}/docs)",
        f"  演示账号 demo accounts: <区域 area>-<角色 role>, 密码 password {DEMO_PASSWORD}",
        "      e.g. wanbailin.wanghua.jiusi-grid_worker · wanbailin.wanghua.jiusi-community_staff",
        "           wanbailin-district_admin · taiyuan-auditor   (all: careflow staff list)",
        f"  Temporal gRPC:         {config.host}:{config.port} · namespace "
        f"{config.namespace} · task queue {st.settings.task_queue}",
        f"  流程状态 state:         {config.db_file} (重启后继续 processes resume after restart)",
        f"  服务器日志 server log:  {config.log_file}",
        f"  数据库 database:        {redacted_url(st.settings.resolved_database_url)}",
        f"  加密密钥 payload keys:  {_key_line(st)}",
        f"  演示数据 demo registry: {seed_line}",
        f"  设备接入 MQTT ingress:  {ingress_line}",
        *("  " + line for line in sync_report_lines(report)),
        "  按 Ctrl-C 停止 · press Ctrl-C to stop",
    ]


async def run_stack(st: CliState, config: DevServerConfig) -> None:
    """Run the embedded stack until SIGINT or SIGTERM; always stop the server at the end.

    The staff service (console and API) and the worker run side by side in this process and
    stop together.

    Raises:
        DevStackError: The server could not start, or died while the worker ran.
    """
    from ingress.dev import start_dev_ingress
    from worker.main import run_worker

    run_staff_service = load_service("staff")
    made = ensure_key_file(st.settings)
    if made is not None:
        # First run: a local key, so nothing is ever written to Temporal in clear.
        log.info("dev.key_created", key_id=made.active.key_id, path=str(key_file_path(st.settings)))
    ensure_dev_pseudonym_key(st.settings)  # case keys: a local, never-rotated secret
    stop = asyncio.Event()
    stop_on_signals(stop)
    server = DevServer(config)
    server.start()
    log.info("dev.server_started", pid=server.pid, address=f"{config.host}:{config.port}")
    service: asyncio.Task[None] | None = None
    ingress: asyncio.Task[None] | None = None
    try:
        if not await server.wait_ready(stop=stop):
            return
        seeded = await asyncio.to_thread(seed_database, st.settings, plugins=st.registry.plugins)
        if stop.is_set():
            return
        async with temporal_client(st.settings) as client:
            # The dev namespace is ours: it keeps histories no longer than the app keeps data.
            fitted = await limit_namespace_retention(client, st.registry)
            log.info("dev.history_retention", ok=fitted.ok, retention=str(fitted.retention))
            report = await sync_schedules(client, st.registry, task_queue=st.settings.task_queue)
            urls: list[str] = []
            up = asyncio.Event()

            def ready(url: str) -> None:
                urls.append(url)
                up.set()

            service = asyncio.create_task(
                run_staff_service(
                    st.settings, st.registry, stop=stop, client=client, on_ready=ready
                )
            )
            listening = asyncio.create_task(up.wait())
            await asyncio.wait({service, listening}, return_when=asyncio.FIRST_COMPLETED)
            if not up.is_set():
                listening.cancel()
                await service  # it failed to start: raise its error
                return
            # The ingress runs when a broker answers; without one the stack says so and goes on.
            ingress_line, ingress = await start_dev_ingress(
                st.settings, st.registry, client=client, stop=stop
            )
            echo_lines(_banner(st, config, seeded, report, urls[0], ingress_line))
            watchdog = asyncio.create_task(_watch(server, stop))
            try:
                await run_worker(st.settings, registry=st.registry, stop=stop)
            finally:
                watchdog.cancel()
                stop.set()
                await service
                if ingress is not None:
                    await ingress
        if server.exited() is not None:
            raise DevStackError(
                f"Temporal dev server stopped unexpectedly; see {config.log_file}:\n"
                + server.log_tail()
            )
    finally:
        if service is not None and not service.done():
            stop.set()
            await asyncio.wait({service}, timeout=15)
        if ingress is not None and not ingress.done():
            stop.set()
            await asyncio.wait({ingress}, timeout=15)
        status = await asyncio.to_thread(server.stop)
        log.info("dev.server_stopped", status=status)


@cli_errors
def serve(ctx: typer.Context) -> None:
    """Run the staff service alone: console and HTTP API · 员工服务.

    Listens on CAREFLOW_API_HOST:CAREFLOW_API_PORT (127.0.0.1:8000); several instances may
    run behind a reverse proxy against one Temporal and one database (see the README).
    """
    st = state(ctx)
    run_staff_service = load_service("staff")
    _configure_logging(st)
    require_migrated(st.settings, plugins=st.registry.plugins)
    stop = asyncio.Event()

    async def main() -> None:
        stop_on_signals(stop)
        await run_staff_service(
            st.settings,
            st.registry,
            stop=stop,
            on_ready=lambda url: typer.echo(f"员工服务 staff service: {url} · Ctrl-C to stop"),
        )

    run_async(main())


@cli_errors
def dev(ctx: typer.Context) -> None:
    """Run the embedded stack: Temporal dev server, database, worker, staff console · 开发环境."""
    st = state(ctx)
    config = DevServerConfig.from_settings(st.settings)
    # Before logging is configured, so a missing binary or a taken port is one plain line.
    DevServer(config).check_ports()
    _configure_logging(st)
    run_async(run_stack(st, config))
    typer.echo("careflow 开发环境已停止 · dev stack stopped")


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("worker")(worker)
    app.command("serve")(serve)
    app.command("dev")(dev)

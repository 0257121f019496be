"""Build and run the worker: every plugin's workflows and activities on one task queue."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import structlog
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import NullPool
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from careflow.codec.check import refuse_missing_keys, ring_of
from careflow.contract import ActivityDeps
from careflow.db import make_engine
from careflow.metrics import ProcessMetrics, metrics_url, runtime_for
from careflow.notify import NotificationAdapter, OutboxLogAdapter
from careflow.registry import PluginRegistry
from careflow.settings import Settings
from careflow.temporal import connect
from worker.interceptors import LogContextInterceptor
from worker.presence import worker_presence
from worker.readable_summaries import ReadableSummaries
from worker.reconcile import reconcile_tasks
from worker.versioning import deployment_config, versioning_plugin

__all__ = [
    "PASSTHROUGH_MODULES",
    "START_CHECK_TIMEOUT",
    "Unreachable",
    "build_worker",
    "check_database",
    "check_temporal",
    "run_worker",
    "workflow_runner",
]

#: Pure modules shared with the sandbox instead of re-imported for every workflow run.
PASSTHROUGH_MODULES = ("careflow", "workflows", "plugins", "pydantic", "pydantic_core")

log = structlog.get_logger("careflow.worker")

KEY_CHECK_SAMPLE = 20
"""How many running processes a starting worker checks for keys its ring lacks."""

SWEEP_INTERVAL = timedelta(minutes=1)
"""How often a running worker closes the inbox tasks of processes that ended without it."""


START_CHECK_TIMEOUT = timedelta(seconds=5)
"""How long a starting worker waits for Temporal or the database to answer its first call."""

_QUOTED_REASON = re.compile(r'(?:message|error): "([^"]+)"')


class Unreachable(Exception):
    """Temporal or the database did not answer a starting worker.

    Args:
        service: ``temporal`` or ``database`` (the ``--json`` error field).
        where: The address tried, with any password masked.
        reason: A short reason (the driver's or the SDK's innermost message).
    """

    def __init__(self, service: str, where: str, reason: str) -> None:
        label = (
            "无法连接 Temporal cannot reach Temporal"
            if service == "temporal"
            else "无法连接数据库 cannot reach the database"
        )
        super().__init__(f"{label} at {where}: {reason}")
        self.service = service
        self.where = where
        self.reason = reason


def _short(text: str, limit: int = 200) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _temporal_reason(err: BaseException) -> str:
    """The innermost message of temporalio's connect error, e.g. ``Connection refused``."""
    if isinstance(err, TimeoutError):
        return f"no answer within {START_CHECK_TIMEOUT.total_seconds():g} s"
    found = _QUOTED_REASON.search(str(err))
    if found is not None:
        return _short(found.group(1))
    return _short(str(err).removeprefix("Failed client connect:").strip()) or type(err).__name__


async def check_temporal(settings: Settings, *, timeout: timedelta = START_CHECK_TIMEOUT) -> None:
    """Connect to Temporal once, within ``timeout``, before the worker builds anything.

    Raises:
        Unreachable: The frontend refused, is unknown, or did not answer in time.
        KeyConfigError: No codec key is configured (from :func:`careflow.temporal.connect`).
    """
    try:
        await asyncio.wait_for(connect(settings), timeout.total_seconds())
    except TimeoutError as err:
        raise Unreachable("temporal", settings.temporal_address, _temporal_reason(err)) from None
    except RuntimeError as err:
        # temporalio raises a bare RuntimeError for a frontend it cannot reach.
        if not str(err).startswith("Failed client connect"):
            raise
        raise Unreachable("temporal", settings.temporal_address, _temporal_reason(err)) from None


def check_database(url: str, *, timeout: timedelta = START_CHECK_TIMEOUT) -> None:
    """Run ``SELECT 1`` on the app database before the worker migrates or uses it.

    PostgreSQL gets a connect timeout, so an address that drops packets fails in
    ``timeout`` instead of the operating system's minutes.

    Raises:
        Unreachable: The database refused the connection or the query (password masked).
    """
    parsed = make_url(url)
    where = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "postgresql":
        engine = create_engine(
            url,
            poolclass=NullPool,
            connect_args={"connect_timeout": max(1, int(timeout.total_seconds()))},
        )
    else:
        engine = make_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as err:
        orig = err.orig if isinstance(err, DBAPIError) else None
        reason = _short(str(orig)) if orig is not None and str(orig) else type(err).__name__
        if parsed.password:
            # Drivers do not echo passwords, but the line must never carry one.
            reason = reason.replace(str(parsed.password), "***")
        raise Unreachable("database", where, reason) from None
    finally:
        engine.dispose()


def workflow_runner() -> SandboxedWorkflowRunner:
    """The sandbox with careflow's pure modules passed through."""
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
    )


def build_worker(
    client: Client,
    registry: PluginRegistry,
    *,
    settings: Settings,
    engine: Engine,
    task_queue: str | None = None,
    notifications: NotificationAdapter | None = None,
    activity_executor: ThreadPoolExecutor,
    max_concurrent_activities: int | None = None,
    max_cached_workflows: int | None = None,
) -> Worker:
    """A worker registering every plugin through temporalio's plugin API.

    The slot and cache sizes come from the settings unless given (tests and benchmarks pass
    their own). With ``settings.build_id`` set the worker is that version of the deployment
    ``settings.deployment_name`` (Worker Versioning, :mod:`worker.versioning`): long-lived
    processes auto-upgrade, the others stay pinned to the version they started on.
    """
    deps = ActivityDeps(
        engine=engine,
        settings=settings,
        notifications=notifications or OutboxLogAdapter(),
        registry=registry,
    )
    plugins = [plugin.temporal_plugin(deps) for plugin in registry.plugins]
    versioned = deployment_config(settings)
    if versioned is not None:
        plugins.append(versioning_plugin(registry))  # last: wraps the runner others adjusted
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        plugins=plugins,
        deployment_config=versioned,
        activity_executor=activity_executor,
        max_concurrent_activities=(
            settings.max_concurrent_activities
            if max_concurrent_activities is None
            else max_concurrent_activities
        ),
        max_cached_workflows=(
            settings.max_cached_workflows if max_cached_workflows is None else max_cached_workflows
        ),
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
        workflow_runner=workflow_runner(),
        interceptors=[LogContextInterceptor(), ReadableSummaries(), ProcessMetrics()],
        graceful_shutdown_timeout=timedelta(seconds=10),
    )


def _sweeper(client: Client, engine: Engine) -> Callable[[], Awaitable[None]]:
    """The task sweep, at most once per :data:`SWEEP_INTERVAL` (it runs after a heartbeat)."""
    last = 0.0

    async def sweep() -> None:
        nonlocal last
        if time.monotonic() - last < SWEEP_INTERVAL.total_seconds():
            return
        last = time.monotonic()
        report = await reconcile_tasks(client, engine)
        if report["cancelled"]:
            log.info("tasks.swept", **report)

    return sweep


async def _check_keys(client: Client) -> None:
    """Refuse to start without the keys the open processes need (a sample of them)."""
    try:
        checked = await refuse_missing_keys(client, sample=KEY_CHECK_SAMPLE)
    except RPCError as err:
        # Visibility cannot be listed here: the worker starts, and a missing key shows as
        # the failing tasks' error, which names the key id.
        log.warning("worker.key_check_skipped", error=type(err).__name__, status=err.status.name)
        return
    log.info(
        "worker.keys_checked", sampled=checked.sampled, active_key=ring_of(client).active.key_id
    )


async def run_worker(
    settings: Settings,
    *,
    registry: PluginRegistry,
    stop: asyncio.Event | None = None,
) -> None:
    """Run a worker until SIGINT/SIGTERM (or ``stop``), then shut down gracefully.

    Raises:
        KeyConfigError: No codec key is configured, or running processes were encrypted with
            a key the ring lacks (named): the worker would fail their every task, so it does
            not start.
    """
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread
            break
    # One runtime per process: it serves the SDK's metrics and careflow's on one endpoint.
    client = await connect(settings, runtime=runtime_for(settings))
    url = metrics_url(settings, host=socket.gethostname())
    if url is not None:
        log.info("worker.metrics", url=url)
    await _check_keys(client)
    engine = make_engine(settings.resolved_database_url)
    with ThreadPoolExecutor(
        max_workers=settings.max_concurrent_activities, thread_name_prefix="careflow-activity"
    ) as executor:
        worker = build_worker(
            client, registry, settings=settings, engine=engine, activity_executor=executor
        )
        log.info(
            "worker.started",
            task_queue=settings.task_queue,
            namespace=settings.temporal_namespace,
            plugins=[f"{p.name} {p.version}" for p in registry.plugins],
            # None: an unversioned worker (the dev stack); else the build it serves.
            deployment=(
                f"{settings.deployment_name}/{settings.build_id}" if settings.build_id else None
            ),
        )
        async with (
            worker,
            worker_presence(
                engine,
                registry,
                task_queue=worker.task_queue,
                also=_sweeper(client, engine),
                temporal_health=client.service_client.check_health,
            ),
        ):
            await stop.wait()
            log.info("worker.stopping")
    engine.dispose()
    log.info("worker.stopped")

"""A running worker's presence row: which plugin versions it serves, refreshed while it runs.

Starts check plans against these rows (``careflow.workers.check_plan_served``), so a plugin
installed while a worker runs is refused at the start, naming what to restart, instead of
stalling on a step whose activity this worker does not have.

The same beat watches what the worker depends on: the database (the row's write) and, when
given a health check, Temporal. Losing one and getting it back are each logged once
(``worker.database_lost`` / ``worker.database_back``, ``worker.temporal_lost`` /
``worker.temporal_back``), never at every failed beat; the SDK and the activities' retries
do the reconnecting.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import structlog
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from careflow.db import crud
from careflow.db.engine import session_scope
from careflow.db.types import utcnow
from careflow.registry import PluginRegistry
from careflow.workers import HEARTBEAT

__all__ = [
    "HEALTH_TIMEOUT",
    "Reachability",
    "served_plugins",
    "worker_identity",
    "worker_presence",
]

log = structlog.get_logger("careflow.worker")

HEALTH_TIMEOUT = timedelta(seconds=5)
"""How long one beat waits for Temporal's health answer before counting it unreachable."""


class Reachability:
    """Whether one dependency answers, logged only when that changes.

    Args:
        name: What it is, in the event names (``database``, ``temporal``).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.reachable = True

    def saw(self, reachable: bool, *, error: str | None = None) -> None:
        """Record one attempt's outcome; log a loss or a return, once each."""
        if reachable == self.reachable:
            return
        self.reachable = reachable
        if reachable:
            log.info(f"worker.{self.name}_back")
        else:
            log.warning(f"worker.{self.name}_lost", error=error)


def worker_identity() -> str:
    """An identity unique to this worker run: process, host and a random suffix."""
    return f"{os.getpid()}@{socket.gethostname()}-{uuid.uuid4().hex[:8]}"


def served_plugins(registry: PluginRegistry) -> dict[str, str]:
    """Plugin name → version of everything this worker registers."""
    return {plugin.name: plugin.version for plugin in registry.plugins}


def _beat(engine: Engine, identity: str, task_queue: str, plugins: dict[str, str]) -> None:
    with session_scope(engine) as session:
        crud.upsert_worker_presence(
            session, identity=identity, task_queue=task_queue, plugins=plugins, now=utcnow()
        )


def _forget(engine: Engine, identity: str) -> None:
    with session_scope(engine) as session:
        crud.remove_worker_presence(session, identity=identity)


@contextlib.asynccontextmanager
async def worker_presence(
    engine: Engine,
    registry: PluginRegistry,
    *,
    task_queue: str,
    identity: str | None = None,
    interval: timedelta = HEARTBEAT,
    also: Callable[[], Awaitable[None]] | None = None,
    temporal_health: Callable[[], Awaitable[object]] | None = None,
) -> AsyncIterator[str]:
    """Keep this worker's presence row while the block runs; yield its identity.

    The row is written before the block starts (so a start right after sees the worker),
    refreshed every ``interval`` and deleted at the end. A database hiccup is logged and
    retried at the next beat: the row only goes stale, which the start rule allows for.

    Args:
        engine: The app database.
        registry: The plugins this worker serves.
        task_queue: The queue it polls.
        identity: Its identity (default: :func:`worker_identity`).
        interval: Time between refreshes.
        also: Periodic housekeeping to run after each refresh (e.g. the task sweep).
        temporal_health: Asks Temporal whether it serves (e.g. the client's
            ``service_client.check_health``), once per beat.
    """
    identity = identity or worker_identity()
    plugins = served_plugins(registry)
    database = Reachability("database")
    temporal = Reachability("temporal")

    async def refresh() -> None:
        try:
            await asyncio.to_thread(_beat, engine, identity, task_queue, plugins)
        except SQLAlchemyError as err:
            # No row only means starts are not checked against this worker: never fatal.
            database.saw(False, error=type(err).__name__)
        else:
            database.saw(True)

    async def check_temporal() -> None:
        if temporal_health is None:
            return
        try:
            answer = await asyncio.wait_for(temporal_health(), HEALTH_TIMEOUT.total_seconds())
        except Exception as err:  # any failure to answer is "unreachable", never fatal
            temporal.saw(False, error=type(err).__name__)
        else:
            # ``check_health`` answers False for a frontend that is up but not serving.
            temporal.saw(answer is not False, error="not_serving")

    await refresh()

    async def beat() -> None:
        while True:
            await asyncio.sleep(interval.total_seconds())
            await refresh()
            await check_temporal()
            if also is not None:
                try:
                    await also()
                except Exception as err:  # housekeeping must never stop the worker
                    log.warning("worker.housekeeping_failed", error=f"{type(err).__name__}")

    task = asyncio.create_task(beat())
    try:
        yield identity
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        try:
            await asyncio.to_thread(_forget, engine, identity)
        except SQLAlchemyError as err:
            log.warning("worker.presence_not_removed", error=type(err).__name__)

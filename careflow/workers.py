"""Which running workers serve which plugin versions, and the rule that guards every start.

A worker writes a ``worker_presence`` row when it starts (identity, task queue, plugin
versions), refreshes ``seen_at`` every :data:`HEARTBEAT` and deletes the row when it stops. A
row not refreshed for :data:`STALE_AFTER` belongs to a worker that died.

The rule (also in docs/ARCHITECTURE.md): a start is refused when at least one live worker is
on the task queue and none of them serves every plugin of the plan at the plan's version. With
no live worker the start goes ahead: the process waits in the task queue, and the next worker
to start loads the plugins installed then, which are the ones the plan was resolved from. Tests
and tools that start processes without a worker are unaffected, because there is no row.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlmodel import Session

from careflow.db import crud
from careflow.db.tables import WorkerPresence
from careflow.db.types import utcnow
from careflow.errors import InputError
from careflow.plan import Plan

__all__ = ["HEARTBEAT", "STALE_AFTER", "WorkerMismatchError", "check_plan_served", "live_workers"]

HEARTBEAT = timedelta(seconds=20)
"""How often a running worker refreshes its row."""

STALE_AFTER = timedelta(seconds=90)
"""A row older than this belongs to a worker that is gone (several heartbeats missed)."""

_RESTART = (
    "重启 worker（careflow dev 或 careflow worker）以加载已安装的插件 · restart the worker "
    "(careflow dev or careflow worker) so it loads the installed plugins"
)


class WorkerMismatchError(InputError):
    """Running workers exist, but none serves the plan's plugins at the plan's versions."""


def live_workers(
    engine: Engine, *, task_queue: str | None, now: datetime | None = None
) -> list[WorkerPresence]:
    """Rows of workers seen within :data:`STALE_AFTER`, newest first.

    A database without the table (not yet migrated) has no known workers.
    """
    since = (now or utcnow()) - STALE_AFTER
    try:
        with Session(engine) as session:
            return list(crud.list_worker_presence(session, task_queue=task_queue, seen_since=since))
    except (OperationalError, ProgrammingError):
        return []


def _gaps(plan: Plan, served: dict[str, str]) -> list[str]:
    gaps = []
    for name, version in plan.plugins.items():
        have = served.get(name)
        if have != version:
            gaps.append(f"{name} {version} ({'worker has ' + have if have else 'not loaded'})")
    return gaps


def check_plan_served(
    engine: Engine, plan: Plan, *, task_queue: str | None, now: datetime | None = None
) -> None:
    """Refuse a plan that no live worker on ``task_queue`` can run.

    Args:
        engine: The app database.
        plan: The resolved plan (its ``plugins``: name → version).
        task_queue: The queue the process will start on; None for any queue.
        now: The current time (UTC).

    Raises:
        WorkerMismatchError: Live workers exist and none serves every plugin of the plan at its
            version; the message names the missing plugins and says to restart the worker.
    """
    live = live_workers(engine, task_queue=task_queue, now=now)
    if not live:
        return
    gaps = [_gaps(plan, worker.plugins) for worker in live]
    if any(not gap for gap in gaps):
        return
    newest = gaps[0]
    raise WorkerMismatchError(
        "plugins",
        f"没有运行中的 worker 能执行此流程 no running worker can run this plan "
        f"({len(live)} running on {live[0].task_queue}; missing: {', '.join(newest)}); "
        f"{_RESTART}",
    )

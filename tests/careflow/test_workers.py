"""A start is refused when running workers exist and none serves the plan's plugins.

Before: a plugin installed while ``careflow dev`` ran was in the CLI's plans but not in the
worker, and the process stalled on ``activity … is not registered on this worker``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session
from structlog.testing import capture_logs

from careflow import service
from careflow.db import crud
from careflow.db.engine import session_scope
from careflow.registry import PluginRegistry
from careflow.workers import STALE_AFTER, WorkerMismatchError, check_plan_served
from plugins.engine import plugin as engine_plugin
from tests.support.sample_plugin import make_sample_plugin
from worker import presence
from worker.presence import served_plugins, worker_presence

REQUEST: dict[str, Any] = {
    "recipient_ref": "P00012",
    "donor_ref": "D0003",
    "items": [{"category": "school_bag", "quantity": 1}],
    "purpose": "micro_wish",
}
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def _worker(engine: Engine, identity: str, plugins: dict[str, str], *, seen: datetime) -> None:
    with session_scope(engine) as session:
        crud.upsert_worker_presence(
            session, identity=identity, task_queue="careflow", plugins=plugins, now=seen
        )


def _plan(registry: PluginRegistry) -> Any:
    return registry.resolve_plan("delivery", "yingze")


@pytest.fixture
def with_sample() -> PluginRegistry:
    return PluginRegistry.build([engine_plugin, make_sample_plugin()])


def test_no_worker_known_lets_the_start_wait_for_one(
    engine: Engine, with_sample: PluginRegistry
) -> None:
    check_plan_served(engine, _plan(with_sample), task_queue="careflow", now=NOW)


def test_live_worker_without_the_plugin_refuses_and_says_what_to_restart(
    engine: Engine, with_sample: PluginRegistry
) -> None:
    _worker(engine, "old-worker", {"engine": engine_plugin.version}, seen=NOW)
    with pytest.raises(WorkerMismatchError) as refused:
        check_plan_served(engine, _plan(with_sample), task_queue="careflow", now=NOW)
    assert refused.value.field == "plugins"
    assert "sample 1.0.0 (not loaded)" in str(refused.value)
    assert "restart the worker" in str(refused.value) and "重启 worker" in str(refused.value)


def test_live_worker_with_another_version_refuses(
    engine: Engine, with_sample: PluginRegistry
) -> None:
    _worker(engine, "old-worker", {"engine": engine_plugin.version, "sample": "0.9.0"}, seen=NOW)
    with pytest.raises(WorkerMismatchError, match=r"sample 1\.0\.0 \(worker has 0\.9\.0\)"):
        check_plan_served(engine, _plan(with_sample), task_queue="careflow", now=NOW)


def test_one_live_worker_serving_the_plan_is_enough(
    engine: Engine, with_sample: PluginRegistry
) -> None:
    _worker(engine, "old-worker", {"engine": engine_plugin.version}, seen=NOW)
    _worker(engine, "new-worker", served_plugins(with_sample), seen=NOW)
    check_plan_served(engine, _plan(with_sample), task_queue="careflow", now=NOW)


def test_stale_and_other_queue_workers_do_not_count(
    engine: Engine, with_sample: PluginRegistry
) -> None:
    _worker(engine, "dead-worker", {}, seen=NOW - STALE_AFTER - timedelta(seconds=1))
    check_plan_served(engine, _plan(with_sample), task_queue="careflow", now=NOW)
    _worker(engine, "live-worker", {}, seen=NOW)
    check_plan_served(engine, _plan(with_sample), task_queue="elsewhere", now=NOW)


def test_prepare_start_refuses_only_while_the_old_worker_runs(
    seeded_engine: Engine, with_sample: PluginRegistry
) -> None:
    def prepare() -> service.PreparedStart:
        return service.prepare_start(
            with_sample,
            process="delivery",
            district="wanbailin",
            request=REQUEST,
            started_by="staff:S0001",
            engine=seeded_engine,
            task_queue="careflow",
        )

    _worker(seeded_engine, "old-worker", {"engine": engine_plugin.version}, seen=datetime.now(UTC))
    with pytest.raises(WorkerMismatchError):
        prepare()
    with session_scope(seeded_engine) as session:
        crud.remove_worker_presence(session, identity="old-worker")  # it was restarted
    assert prepare().input.plan.plugins["sample"] == "1.0.0"


async def test_worker_presence_is_written_while_it_runs_and_removed_after(
    engine: Engine, with_sample: PluginRegistry
) -> None:
    async with worker_presence(engine, with_sample, task_queue="careflow") as identity:
        with Session(engine) as session:
            rows = crud.list_worker_presence(session, task_queue="careflow")
        assert [(r.identity, r.plugins) for r in rows] == [
            (identity, {"engine": engine_plugin.version, "sample": "1.0.0"})
        ]
        check_plan_served(engine, _plan(with_sample), task_queue="careflow")
        without_sample = PluginRegistry.build([engine_plugin])
        # The worker serves more than this plan needs: fine.
        check_plan_served(engine, _plan(without_sample), task_queue="careflow")
    with Session(engine) as session:
        assert list(crud.list_worker_presence(session)) == []


async def test_losing_and_regaining_the_database_and_temporal_is_logged_once_each(
    engine: Engine, with_sample: PluginRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Beats 2-4 cannot write the presence row and Temporal answers no health check at beats
    # 2-5; from then on both answer again.
    beats = {"n": 0}
    write = presence._beat

    def flaky_beat(*args: Any) -> None:
        beats["n"] += 1
        if 2 <= beats["n"] <= 4:
            raise OperationalError("SELECT 1", {}, ConnectionRefusedError("refused"))
        write(*args)

    checks = {"n": 0}

    async def health() -> bool:
        checks["n"] += 1
        if checks["n"] <= 3:
            raise ConnectionError("unreachable")
        return checks["n"] > 4  # up but not serving once, then serving

    monkeypatch.setattr(presence, "_beat", flaky_beat)
    with capture_logs() as logs:
        async with worker_presence(
            engine,
            with_sample,
            task_queue="careflow",
            interval=timedelta(milliseconds=20),
            temporal_health=health,
        ):
            while beats["n"] < 9 or checks["n"] < 9:
                await asyncio.sleep(0.01)
    said = [(e["event"], e.get("error")) for e in logs if e["event"].startswith("worker.")]
    assert said == [
        ("worker.database_lost", "OperationalError"),
        ("worker.temporal_lost", "ConnectionError"),
        ("worker.database_back", None),
        ("worker.temporal_back", None),
    ]

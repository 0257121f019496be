"""Schedules and visibility on the dev server: sync, list, trigger, search by attributes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Engine
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.registry import PluginRegistry
from plugins.engine import plugin as engine_plugin
from tests.conftest import record_history
from worker.testing import running_worker
from workflows.launcher import LaunchResult


async def _visible(client: Client, query: str, *, timeout: float = 20.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        found = [wf.id async for wf in client.list_workflows(query)]
        if found or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.2)


async def _schedules(
    client: Client, done: Callable[[list[str]], bool], *, timeout: float = 20.0
) -> list[dict[str, Any]]:
    """``careflow schedules list`` once visibility shows what ``done`` expects (it lags)."""
    deadline = time.monotonic() + timeout
    while True:
        listed = await service.list_schedules(client)
        if done([s["schedule_id"] for s in listed]) or time.monotonic() > deadline:
            return listed
        await asyncio.sleep(0.2)


async def test_schedules_sync_list_trigger_and_remove(
    dev_env: WorkflowEnvironment, engine: Engine, registry: PluginRegistry
) -> None:
    client = dev_env.client
    async with running_worker(client, registry, engine=engine) as worker:
        report = await service.sync_schedules(client, registry, task_queue=worker.task_queue)
        assert report["created"] == ["careflow.sample.daily.wanbailin"]
        again = await service.sync_schedules(client, registry, task_queue=worker.task_queue)
        assert again == {
            "created": [],
            "updated": [],
            "unchanged": ["careflow.sample.daily.wanbailin"],
            "deleted": [],
        }
        # A different task queue is a different action: updated once, then unchanged again.
        moved = await service.sync_schedules(client, registry, task_queue="elsewhere")
        assert moved["updated"] == ["careflow.sample.daily.wanbailin"]
        assert moved["unchanged"] == []
        back = await service.sync_schedules(client, registry, task_queue=worker.task_queue)
        assert back["updated"] == ["careflow.sample.daily.wanbailin"]
        again = await service.sync_schedules(client, registry, task_queue=worker.task_queue)
        assert again["unchanged"] == ["careflow.sample.daily.wanbailin"]

        listed = await _schedules(client, lambda ids: ids == ["careflow.sample.daily.wanbailin"])
        assert listed[0]["next_action_times"][0].endswith("01:30:00+00:00")  # 09:30 Asia/Shanghai

        await client.get_schedule_handle("careflow.sample.daily.wanbailin").trigger()
        launched = await _visible(
            client, 'CareProcess = "sample.heartbeat" AND CareDistrict = "wanbailin"'
        )
        assert len(launched) == 1 and launched[0].startswith("sample.heartbeat-wanbailin-")
        process = client.get_workflow_handle(launched[0])
        desc = await process.describe()
        assert desc.status == WorkflowExecutionStatus.RUNNING
        assert "测试心跳" in (await desc.static_summary() or "")
        launcher_ids = await _visible(client, 'WorkflowType = "careflow.scheduled_launch"')
        launcher = client.get_workflow_handle(launcher_ids[0], result_type=LaunchResult)
        assert (await launcher.result()).workflow_id == launched[0]
        await record_history(client, launcher, "scheduled_launch")
        await process.terminate("test finished")

        # The plugin is removed: its schedules go with it.
        removed = await service.sync_schedules(
            client, PluginRegistry.build([engine_plugin]), task_queue=worker.task_queue
        )
        assert removed["deleted"] == ["careflow.sample.daily.wanbailin"]
        assert await _schedules(client, lambda ids: ids == []) == []


async def test_plugins_check_names_running_processes_of_a_removed_plugin(
    dev_env: WorkflowEnvironment, engine: Engine, registry: PluginRegistry
) -> None:
    client = dev_env.client
    async with running_worker(client, registry, engine=engine) as worker:
        started = await service.start_process(
            client,
            registry,
            process="delivery",
            district="wanbailin",
            started_by="staff:S1",
            request={"recipient_ref": "P00012", "items": [{"category": "stationery"}]},
            task_queue=worker.task_queue,
        )
        without_sample = PluginRegistry.build([engine_plugin])

        async def sample_missing(
            installed: PluginRegistry, allowed: frozenset[str] = frozenset()
        ) -> list[service.PluginDependency]:
            # Other tests on this dev server may leave processes of other plugins running.
            found = await service.missing_plugins(client, installed, allowed=allowed)
            return [d for d in found if d.plugin == "sample"]

        deadline = time.monotonic() + 20
        missing: list[service.PluginDependency] = []
        while time.monotonic() < deadline and not missing:
            missing = await sample_missing(without_sample)
            await asyncio.sleep(0.2)
        assert [(d.plugin, d.plan_version) for d in missing] == [("sample", "1.0.0")]
        assert started.workflow_id in missing[0].workflow_ids
        # The operator may choose to serve the rest; nothing is reported then.
        assert await sample_missing(without_sample, frozenset({"sample"})) == []
        # With the plugin installed nothing of it is missing.
        assert await sample_missing(registry) == []
        await client.get_workflow_handle(started.workflow_id).terminate("test finished")

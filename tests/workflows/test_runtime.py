"""The process runtime: frozen plans, child processes, continue-as-new."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.registry import PluginRegistry
from careflow.testing import running_worker
from plugins.engine import plugin as engine_plugin
from tests.conftest import record_history
from tests.support.inbox import records_of, result_of, wait_for_task
from tests.support.sample_plugin import make_sample_plugin
from workflows.delivery import DeliveryResult

REQUEST: dict[str, Any] = {"recipient_ref": "P00020", "items": [{"category": "couplets"}]}


async def _deliver(env: WorkflowEnvironment, engine: Engine, workflow_id: str) -> DeliveryResult:
    for key, role, data in (
        ("dropoff", "community_staff", {"items_match": True}),
        ("handover", "grid_worker", {"handed_over": True, "receipt_ref": "R-7"}),
    ):
        task = await wait_for_task(engine, workflow_id, key)
        await service.complete_task(
            env.client, engine, task_id=task.task_id, actor="S0002", role=role, data=data
        )
    handle = env.client.get_workflow_handle(workflow_id)
    return DeliveryResult.model_validate(await result_of(env, handle))


async def test_plugin_upgrade_does_not_change_a_running_plan(
    ts_env: WorkflowEnvironment, engine: Engine
) -> None:
    v1 = PluginRegistry.build([engine_plugin, make_sample_plugin(version="1.0.0")])
    v2 = PluginRegistry.build(
        [engine_plugin, make_sample_plugin(version="2.0.0", stamp_key="sample.stamp.v2")]
    )
    task_queue = "upgrade-" + ts_env.client.identity
    async with running_worker(
        ts_env.client, v1, engine=engine, task_queue=task_queue, max_cached_workflows=0
    ):
        old = await service.start_process(
            ts_env.client,
            v1,
            process="delivery",
            district="yingze",
            request=REQUEST,
            started_by="staff:S0002",
            task_queue=task_queue,
        )
        await wait_for_task(engine, old.workflow_id, "dropoff")

    # The district upgrades its plugin; workers restart with the new version.
    async with running_worker(ts_env.client, v2, engine=engine, task_queue=task_queue):
        new = await service.start_process(
            ts_env.client,
            v2,
            process="delivery",
            district="yingze",
            request=REQUEST,
            started_by="staff:S0002",
            task_queue=task_queue,
        )
        assert (await _deliver(ts_env, engine, old.workflow_id)).outcome == "delivered"
        assert (await _deliver(ts_env, engine, new.workflow_id)).outcome == "delivered"
        old_desc = await ts_env.client.get_workflow_handle(old.workflow_id).describe()

    assert ("sample.stamp", "sample.stamp") in records_of(engine, old.workflow_id)
    assert ("sample.stamp.v2", "sample.stamp") not in records_of(engine, old.workflow_id)
    assert ("sample.stamp.v2", "sample.stamp") in records_of(engine, new.workflow_id)
    assert (await old_desc.memo())["plan_plugins"] == {"engine": "0.1.0", "sample": "1.0.0"}
    assert "sample 1.0.0" in (await old_desc.static_details() or "")


async def test_child_process_step_runs_to_completion(
    ts_env: WorkflowEnvironment, engine: Engine, registry: PluginRegistry
) -> None:
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        started = await service.start_process(
            ts_env.client,
            registry,
            process="delivery",
            district="jinyuan",
            request=REQUEST,
            started_by="staff:S0002",
            task_queue=worker.task_queue,
            case_ref="K1",
        )
        assert (await _deliver(ts_env, engine, started.workflow_id)).outcome == "delivered"
        child_id = "sample.heartbeat-jinyuan-K1.sample.child"
        child = ts_env.client.get_workflow_handle(child_id)
        assert await result_of(ts_env, child) == {"done": 1, "runs": 1}
        await record_history(
            ts_env.client,
            ts_env.client.get_workflow_handle(started.workflow_id),
            "delivery_with_child_process",
        )
    assert records_of(engine, child_id) == [("beat.0", "beat")]


async def test_long_lived_process_continues_as_new_without_losing_beats(
    ts_env: WorkflowEnvironment, engine: Engine, registry: PluginRegistry
) -> None:
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        started = await service.start_process(
            ts_env.client,
            registry,
            process="sample.heartbeat",
            district="wanbailin",
            request={"beats": 8},
            started_by="staff:S0002",
            task_queue=worker.task_queue,
        )
        handle = ts_env.client.get_workflow_handle(started.workflow_id)
        result = await result_of(ts_env, handle)
        last_run = await handle.fetch_history()
        await record_history(ts_env.client, handle, "heartbeat_continued_as_new")

    assert result["done"] == 8 and result["runs"] >= 3
    # Each run stays under the plan's history limit (30) plus one beat's worth of events.
    assert len(last_run.events) < 45
    assert records_of(engine, started.workflow_id) == [(f"beat.{n}", "beat") for n in range(8)]

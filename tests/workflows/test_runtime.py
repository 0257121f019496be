"""The process runtime: frozen plans, child processes, continue-as-new."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from temporalio import workflow
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.contract import CarePlugin, ProcessSpec, TaskType
from careflow.forms import form_ref
from careflow.models import ProcessInput, TaskOutcome
from careflow.plan import EscalationLevel, TaskTemplate
from careflow.registry import PluginRegistry
from plugins.engine import plugin as engine_plugin
from plugins.engine.delivery import DeliveryResult
from tests.conftest import record_history
from tests.support.cases import keyed_id
from tests.support.inbox import notifications_of, records_of, result_of, wait_for_task
from tests.support.sample_plugin import CallForm, make_sample_plugin
from workflows.runtime import BulkTask, CareProcess

# This module defines workflows, so the sandbox re-imports it: the test support (composition,
# with I/O at import) comes in passed through, as the SDK wants for non-workflow code.
with workflow.unsafe.imports_passed_through():
    from worker.testing import running_worker

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
        # The child's case is the step's (<case>.<step key>); its id holds that case's key.
        child_id = keyed_id("sample.heartbeat", "jinyuan", "K1.sample.child")
        assert started.workflow_id == keyed_id("delivery", "jinyuan", "K1")
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


class BulkRequest(BaseModel):
    """Step keys of the tasks to open in bulk, and how to wait for them."""

    keys: list[str]
    # One waiter for the batch (``wait_tasks``) instead of one per task (``human_tasks``).
    one_waiter: bool = False


class BulkParams(BaseModel):
    """Nothing to set."""


@workflow.defn(name="sample.bulk_calls")
class BulkCallsWorkflow(CareProcess):
    """Opens follow-up calls in bulk; each escalates to the district admin like a single task."""

    @workflow.run
    async def run(self, input: ProcessInput[BulkRequest]) -> dict[str, str | None]:
        self.begin(input)
        call = TaskTemplate(
            role="community_staff",
            title_zh="电话回访",
            title_en="Follow-up call",
            form_ref=form_ref(CallForm),
            due=timedelta(hours=4),
            escalation=[EscalationLevel(role="district_admin", due=timedelta(hours=4))],
        )
        keys = input.request.keys
        items = [BulkTask(key=key, template=call) for key in keys]
        if input.request.one_waiter:

            async def kept(task_id: str, outcome: TaskOutcome | None) -> TaskOutcome | None:
                del task_id
                return outcome

            outcomes = await self.wait_tasks(await self.open_tasks(items), kept)
        else:
            outcomes = await self.human_tasks(items)
        return {key: o.role if o else None for key, o in zip(keys, outcomes, strict=True)}


def _bulk_registry() -> PluginRegistry:
    spec = ProcessSpec(
        id="sample.bulk_calls",
        module="sample",
        title_zh="批量回访",
        title_en="Bulk calls",
        workflow=BulkCallsWorkflow,
        request_model=BulkRequest,
        params_model=BulkParams,
    )
    bulk = CarePlugin(
        name="sample_bulk",
        version="1.0.0",
        title_zh="批量测试",
        title_en="Bulk sample",
        processes=(spec,),
        task_types=(TaskType(form=CallForm),),  # opened in the workflow's own code
    )
    return PluginRegistry.build([engine_plugin, bulk])


@pytest.mark.parametrize("one_waiter", [False, True], ids=["waiter_per_task", "one_waiter"])
async def test_bulk_task_escalates_like_a_single_one(
    ts_env: WorkflowEnvironment, engine: Engine, one_waiter: bool
) -> None:
    registry = _bulk_registry()
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        started = await service.start_process(
            ts_env.client,
            registry,
            process="sample.bulk_calls",
            district="xinghualing",
            request={"keys": ["call.a", "call.b", "call.c"], "one_waiter": one_waiter},
            started_by="staff:S0001",
            task_queue=worker.task_queue,
        )
        wf_id = started.workflow_id
        first = await wait_for_task(engine, wf_id, "call.a")
        await service.complete_task(
            ts_env.client,
            engine,
            task_id=first.task_id,
            actor="S1",
            role="community_staff",
            data={"reached": True},
        )
        assert (await wait_for_task(engine, wf_id, "call.a", status="done")).escalation_level == 0
        await ts_env.sleep(timedelta(hours=4, minutes=1))
        # Past the shared due time each open task escalates on its own, as human_task does.
        late = await wait_for_task(engine, wf_id, "call.b", level=1)
        assert late.role == "district_admin"
        await wait_for_task(engine, wf_id, "call.c", level=1)
        escalated = [n for n in notifications_of(engine, wf_id) if n[2] == "task_escalated"]
        assert sorted(n[0] for n in escalated) == ["call.b.escalated.1", "call.c.escalated.1"]
        # Every role the task has been with may still complete it.
        await service.complete_task(
            ts_env.client,
            engine,
            task_id=late.task_id,
            actor="S2",
            role="community_staff",
            data={"reached": False},
        )
        result = await result_of(ts_env, ts_env.client.get_workflow_handle(wf_id))
    assert result == {"call.a": "community_staff", "call.b": "community_staff", "call.c": None}
    assert (await wait_for_task(engine, wf_id, "call.c", status="expired")).escalation_level == 1

"""Steps whose activity keeps failing stall visibly; steps that can never succeed fail visibly.

Before: a plan step naming an activity no worker had was retried forever while the process
showed only RUNNING, and a value the database refused was retried forever too.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError
from temporalio import activity
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.contract import ActivitySet, ActivityStep, CarePlugin
from careflow.models import StepInput, StepOutput
from careflow.registry import PluginRegistry
from careflow.search_attributes import CARE_OVERDUE, CARE_STAGE
from plugins.engine import plugin as engine_plugin
from plugins.engine.delivery import DeliveryResult
from tests.conftest import record_history
from tests.support.inbox import records_of, result_of, wait_for_task
from tests.support.sample_plugin import make_sample_plugin
from worker.testing import running_worker
from workflows.runtime import STALL_PAUSE, ProcessStatus

REQUEST: dict[str, Any] = {
    "recipient_ref": "P00012",
    "donor_ref": "D0003",
    "items": [{"category": "school_bag", "quantity": 1}],
    "purpose": "micro_wish",
}
#: A value a refusing database would echo in SQLAlchemy's message; it must not reach Temporal.
SECRET = "13800000000"


class RefusingActivities:
    """A step whose write the database refuses, as PostgreSQL does for a too-long value."""

    @activity.defn(name="refusing.write")
    def write(self, input: StepInput) -> StepOutput:
        raise DataError(
            "INSERT INTO thing (phone) VALUES (%(phone)s)",
            {"phone": SECRET},
            Exception(
                "value too long for type character varying(16)\nDETAIL: failing row " + SECRET
            ),
        )


REFUSING = CarePlugin(
    name="refusing",
    version="1.0.0",
    title_zh="拒绝写入测试",
    title_en="Refusing test plugin",
    steps=(
        ActivityStep(
            key="refusing.write",
            process="delivery",
            point="after_dropoff",
            summary_zh="写入被拒绝 refused write",
            activity="refusing.write",
        ),
    ),
    activities=(ActivitySet(cls=RefusingActivities, build=lambda deps: RefusingActivities()),),
)


async def _start(
    env: WorkflowEnvironment, registry: PluginRegistry, task_queue: str
) -> WorkflowHandle[Any, Any]:
    started = await service.start_process(
        env.client,
        registry,
        process="delivery",
        district="yingze",
        request=REQUEST,
        started_by="staff:S0001",
        task_queue=task_queue,
    )
    return env.client.get_workflow_handle(started.workflow_id)


async def _drop_off(env: WorkflowEnvironment, engine: Engine, workflow_id: str) -> None:
    dropoff = await wait_for_task(engine, workflow_id, "dropoff")
    await service.complete_task(
        env.client,
        engine,
        task_id=dropoff.task_id,
        actor="S0001",
        role="community_staff",
        data={"items_match": True},
    )


async def _until(
    env: WorkflowEnvironment, check: Callable[[], Awaitable[bool]], *, timeout: float = 60.0
) -> None:
    """Wait (real time) for ``check`` while the server skips retry backoffs and timers."""
    deadline = time.monotonic() + timeout
    async with env.time_skipping_unlocked():  # type: ignore[attr-defined]
        while not await check():
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met in {timeout}s")
            await asyncio.sleep(0.1)


async def _stage(handle: WorkflowHandle[Any, Any]) -> str | None:
    return (await handle.describe()).typed_search_attributes.get(CARE_STAGE)


async def test_step_no_worker_can_run_stalls_visibly_and_recovers_after_a_restart(
    ts_env: WorkflowEnvironment, engine: Engine
) -> None:
    # The CLI resolved the plan with the sample plugin; the running worker predates it.
    with_sample = PluginRegistry.build([engine_plugin, make_sample_plugin()])
    engine_only = PluginRegistry.build([engine_plugin])
    task_queue = f"stall-{uuid.uuid4()}"
    async with running_worker(
        ts_env.client, engine_only, engine=engine, task_queue=task_queue, max_cached_workflows=0
    ):
        handle = await _start(ts_env, with_sample, task_queue)
        await _drop_off(ts_env, engine, handle.id)

        async def stalled() -> bool:
            return await _stage(handle) == "stalled"

        await _until(ts_env, stalled)
        desc = await handle.describe()
        assert desc.typed_search_attributes.get(CARE_OVERDUE) is True
        status = await handle.query("status", result_type=ProcessStatus)
        assert status.problem is not None
        assert (status.problem.state, status.problem.step_key) == ("stalled", "sample.stamp")
        assert status.problem.error_type == "NotFoundError"
        assert "not registered" in status.problem.message
        info = await service.process_status(ts_env.client, engine, workflow_id=handle.id)
        assert info["status"] == "RUNNING" and info["stage"] == "stalled" and info["overdue"]
        assert info["problem"]["activity"] == "sample.stamp"
        assert "not registered" in info["problem"]["message"]
        assert "step_stalled" in {kind for _key, kind in records_of(engine, handle.id)}

    # The operator restarts the worker with the plugin: the next round runs the step.
    async with running_worker(ts_env.client, with_sample, engine=engine, task_queue=task_queue):
        await ts_env.sleep(STALL_PAUSE + timedelta(minutes=1))
        handover = await wait_for_task(engine, handle.id, "handover")
        desc = await handle.describe()
        assert desc.typed_search_attributes.get(CARE_STAGE) != "stalled"
        assert desc.typed_search_attributes.get(CARE_OVERDUE) is False
        await service.complete_task(
            ts_env.client,
            engine,
            task_id=handover.task_id,
            actor="S0001",
            role="grid_worker",
            data={"handed_over": True, "receipt_ref": "R-1"},
        )
        result = DeliveryResult.model_validate(await result_of(ts_env, handle))
        status = await handle.query("status", result_type=ProcessStatus)
        await record_history(ts_env.client, handle, "delivery_step_stalled_recovered")

    assert result.outcome == "delivered"
    assert status.problem is None
    assert ("sample.stamp", "sample.stamp") in records_of(engine, handle.id)


async def test_value_the_database_refuses_fails_the_process_visibly(
    ts_env: WorkflowEnvironment, engine: Engine
) -> None:
    registry = PluginRegistry.build([engine_plugin, REFUSING])
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        handle = await _start(ts_env, registry, worker.task_queue)
        await _drop_off(ts_env, engine, handle.id)
        with pytest.raises(WorkflowFailureError) as failed:
            await asyncio.wait_for(result_of(ts_env, handle), timeout=30)
        await record_history(ts_env.client, handle, "delivery_step_failed")
        desc = await handle.describe()
        info = await service.process_status(ts_env.client, engine, workflow_id=handle.id)

    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "StepFailed"
    assert "refusing.write" in cause.message and "value too long" in cause.message
    assert desc.typed_search_attributes.get(CARE_STAGE) == "failed"
    assert desc.typed_search_attributes.get(CARE_OVERDUE) is True
    assert ("refusing.write", "step_failed") in [
        (key.split(".step_failed")[0], kind) for key, kind in records_of(engine, handle.id)
    ]
    assert info["status"] == "FAILED" and info["stage"] == "failed"
    problem = info["problem"]
    assert (problem["state"], problem["step_key"]) == ("failed", "refusing.write")
    assert problem["error_type"] == "DatabaseRefused"
    assert "value too long for type character varying(16)" in problem["message"]
    # Neither the statement's parameters nor PostgreSQL's DETAIL line leave the worker.
    assert SECRET not in str(info) and SECRET not in cause.message
    history = await handle.fetch_history()
    assert SECRET not in history.to_json()

"""Code upgrades under running processes: Worker Versioning per process type, and patches.

Worker v1 (build ``v1``) runs a long-lived health monitor waiting for readings and a short
Delivery waiting at its drop-off task. v2 changes the commands of both workflows:

- the Delivery records a note before it opens each task, unguarded: a pinned process needs no
  patch, it finishes on v1 while v1's worker stays up;
- the monitor checks each reading (a case record) before it stores it, behind a patch: it
  auto-upgrades, so its next workflow task runs on v2 and replays its v1 history there.

Then the same change without pinning and without the patch fails with a non-determinism
error: the guards are what keep the processes alive, not luck.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio import workflow
from temporalio.api.enums.v1 import EventType, RoutingConfigUpdateState, VersioningBehavior
from temporalio.api.workflowservice.v1 import (
    DescribeWorkerDeploymentRequest,
    SetWorkerDeploymentCurrentVersionRequest,
)
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.contract import CarePlugin
from careflow.db.tables import Person
from careflow.models import ProcessInput, TaskOutcome
from careflow.plan import TaskTemplate
from careflow.registry import PluginRegistry
from careflow.settings import Settings
from plugins.eldercare import plugin as eldercare_plugin
from plugins.eldercare.health.models import (
    MonitorCarry,
    MonitorParams,
    MonitorResult,
    ReadingEvent,
)
from plugins.eldercare.health.tables import HealthReading
from plugins.eldercare.health.workflows import HealthMonitorWorkflow
from plugins.engine import plugin as engine_plugin
from plugins.engine.delivery import DeliveryRequest, DeliveryResult, DeliveryWorkflow
from tests.support.inbox import records_of, wait_for_task
from tests.support.programmes import switched_on
from workflows.runtime import CareProcess

# This module defines workflows, so the sandbox re-imports it: the test support (composition,
# with I/O at import) comes in passed through, as the SDK wants for non-workflow code.
with workflow.unsafe.imports_passed_through():
    from worker.testing import running_worker
    from worker.versioning import versioning_behaviours

DISTRICT = "wanbailin"
MONITOR = "eldercare.health_monitor"
ALERT = "eldercare.health_alert"
CHECK_PATCH = "upgrade-test.reading-checked"
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
REQUEST: dict[str, Any] = {"recipient_ref": "P00020", "items": [{"category": "couplets"}]}
WAIT = 90.0
"""Seconds a step may take before the test gives up (a guard, never a measured figure)."""


@workflow.defn(name="delivery")
class DeliveryV2(DeliveryWorkflow):
    """v2 of Delivery: a note before each task, not guarded (pinned runs never meet it)."""

    @workflow.run
    async def run(self, input: ProcessInput[DeliveryRequest]) -> DeliveryResult:
        return await super().run(input)

    async def human_task(
        self, key: str, template: TaskTemplate, *, community: str | None = None
    ) -> TaskOutcome:
        await self.record(f"v2.{key}", "v2_note", {"before": key})
        return await super().human_task(key, template, community=community)


@workflow.defn(name=MONITOR)
class MonitorV2(HealthMonitorWorkflow):
    """v2 of the monitor: a check before each reading is stored, behind a patch."""

    @workflow.run
    async def run(self, input: ProcessInput[Any]) -> MonitorResult:
        return await super().run(input)

    async def _handle(
        self, event: ReadingEvent, carry: MonitorCarry, params: MonitorParams
    ) -> None:
        if workflow.patched(CHECK_PATCH):
            await self.record(f"checked.{carry.readings}", "reading_checked", {})
        await super()._handle(event, carry, params)


@workflow.defn(name=MONITOR)
class MonitorV2Unpatched(HealthMonitorWorkflow):
    """The same change without its patch: wrong for a process that moves to new code."""

    @workflow.run
    async def run(self, input: ProcessInput[Any]) -> MonitorResult:
        return await super().run(input)

    async def _handle(
        self, event: ReadingEvent, carry: MonitorCarry, params: MonitorParams
    ) -> None:
        await self.record(f"checked.{carry.readings}", "reading_checked", {})
        await super()._handle(event, carry, params)


def _swap(plugin: CarePlugin, workflows: dict[str, type[CareProcess]]) -> CarePlugin:
    """``plugin`` with the workflow classes of some of its processes replaced (new code)."""
    return dataclasses.replace(
        plugin,
        processes=tuple(
            dataclasses.replace(spec, workflow=workflows.get(spec.id, spec.workflow))
            for spec in plugin.processes
        ),
    )


def _registry(
    *, delivery: type[CareProcess] | None = None, monitor: type[CareProcess] | None = None
) -> PluginRegistry:
    engine = _swap(engine_plugin, {"delivery": delivery}) if delivery else engine_plugin
    eldercare = _swap(eldercare_plugin, {MONITOR: monitor}) if monitor else eldercare_plugin
    return PluginRegistry.build(
        [engine, eldercare, switched_on(DISTRICT, MONITOR, ALERT)],
        # Each reading adds about 16 events: a run continues as new after its second.
        overrides={DISTRICT: {MONITOR: {"idle_close": "P1D", "max_history": 30}}},
    )


def _elder(engine: Engine) -> str:
    with Session(engine) as session:
        return session.exec(
            select(Person.id)
            .where(Person.kind == "elder", col(Person.community_code).startswith(f"{DISTRICT}."))
            .order_by(col(Person.id))
            .offset(11)
        ).first()  # type: ignore[return-value]


def _readings(engine: Engine, elder: str) -> int:
    with Session(engine) as session:
        return len(
            session.exec(select(HealthReading.id).where(HealthReading.elder_ref == elder)).all()
        )


async def _until(what: str, check: Callable[[], bool | Awaitable[bool]]) -> None:
    deadline = time.monotonic() + WAIT
    while not await _value(check()):
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        await asyncio.sleep(0.05)


async def _set_current(client: Client, deployment: str, build_id: str) -> None:
    """Make ``build_id`` the deployment's current version once its worker has polled."""
    request = SetWorkerDeploymentCurrentVersionRequest(
        namespace=client.namespace, deployment_name=deployment, build_id=build_id
    )
    deadline = time.monotonic() + WAIT
    while True:
        try:
            await client.workflow_service.set_worker_deployment_current_version(request)
            break
        except RPCError:
            # The version exists only once its worker's first poll reached the server.
            assert time.monotonic() < deadline, f"{deployment}/{build_id} never became current"
            await asyncio.sleep(0.1)
    # The server tells the task queues afterwards; until then tasks may still go to the old one.
    deadline = time.monotonic() + WAIT
    describe = DescribeWorkerDeploymentRequest(
        namespace=client.namespace, deployment_name=deployment
    )
    while True:
        info = (
            await client.workflow_service.describe_worker_deployment(describe)
        ).worker_deployment_info
        if (
            info.routing_config_update_state
            == RoutingConfigUpdateState.ROUTING_CONFIG_UPDATE_STATE_COMPLETED
        ):
            return
        assert time.monotonic() < deadline, (
            f"{deployment}/{build_id} routing never completed",
            info,
        )
        await asyncio.sleep(0.05)


async def _completed_by(handle: WorkflowHandle[Any, Any]) -> list[tuple[str, int]]:
    """(build id, versioning behaviour) of each completed workflow task, oldest first."""
    found = []
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            done = event.workflow_task_completed_event_attributes
            found.append((done.deployment_version.build_id, int(done.versioning_behavior)))
    return found


async def _next_run(handle: WorkflowHandle[Any, Any]) -> str:
    """The run id a run continued as new into."""
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            return event.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
    raise AssertionError(f"run {handle.run_id} did not continue as new")


async def _nondeterminism(handle: WorkflowHandle[Any, Any]) -> list[str]:
    """Messages of the workflow tasks that failed with a non-determinism error."""
    found = []
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            message = event.workflow_task_failed_event_attributes.failure.message
            if "nondetermin" in message.lower():
                found.append(message)
    return found


async def _reading(client: Client, registry: PluginRegistry, elder: str, n: int, queue: str) -> str:
    return await service.route_event(
        client,
        registry,
        event_type="eldercare.reading",
        data={
            "district": DISTRICT,
            "case_ref": elder,
            "device_id": "HS-UPGRADE",
            "measured_at": (T0 + timedelta(minutes=10 * n)).isoformat(),
            "systolic": 120,
            "diastolic": 80,
            "request_id": f"upgrade-{n:03d}",
        },
        task_queue=queue,
    )


async def _delivery(client: Client, registry: PluginRegistry, queue: str, case_ref: str) -> str:
    started = await service.start_process(
        client,
        registry,
        process="delivery",
        district="yingze",
        request=REQUEST,
        started_by="staff:S0002",
        task_queue=queue,
        case_ref=case_ref,
    )
    return started.workflow_id


async def _complete(
    client: Client,
    engine: Engine,
    workflow_id: str,
    steps: Iterable[tuple[str, str, dict[str, Any]]],
) -> None:
    for key, role, data in steps:
        task = await wait_for_task(engine, workflow_id, key)
        await service.complete_task(
            client, engine, task_id=task.task_id, actor="S0002", role=role, data=data
        )


DELIVER = (
    ("dropoff", "community_staff", {"items_match": True}),
    ("handover", "grid_worker", {"handed_over": True, "receipt_ref": "R-9"}),
)
PINNED = int(VersioningBehavior.VERSIONING_BEHAVIOR_PINNED)
AUTO = int(VersioningBehavior.VERSIONING_BEHAVIOR_AUTO_UPGRADE)


def test_long_lived_processes_auto_upgrade_and_the_others_are_pinned() -> None:
    behaviours = versioning_behaviours(_registry())
    assert behaviours[MONITOR] == AUTO and behaviours["eldercare.tiers"] == AUTO
    assert behaviours["delivery"] == PINNED and behaviours["eldercare.green_channel"] == PINNED
    assert behaviours[ALERT] == PINNED


async def test_an_upgrade_moves_long_lived_processes_and_leaves_pinned_ones_on_their_build(
    dev_env: WorkflowEnvironment, seeded_engine: Engine
) -> None:
    client, engine = dev_env.client, seeded_engine
    deployment = f"careflow-upgrade-{uuid.uuid4().hex[:8]}"
    queue = f"upgrade-{uuid.uuid4()}"
    v1, v2 = _registry(), _registry(delivery=DeliveryV2, monitor=MonitorV2)
    elder = _elder(engine)

    def build(build_id: str) -> Settings:
        return Settings(deployment_name=deployment, build_id=build_id)

    async with running_worker(client, v1, engine=engine, settings=build("v1"), task_queue=queue):
        await _set_current(client, deployment, "v1")
        old_delivery = client.get_workflow_handle(await _delivery(client, v1, queue, "UPG-OLD"))
        await wait_for_task(engine, old_delivery.id, "dropoff")
        monitor = client.get_workflow_handle(await _reading(client, v1, elder, 0, queue))
        await _until("reading 0", lambda: _readings(engine, elder) == 1)

        # The upgrade: v2's workers start beside v1's and v2 becomes current; v1 stays up
        # while pinned processes still run on it.
        async with running_worker(
            client, v2, engine=engine, settings=build("v2"), task_queue=queue
        ):
            await _set_current(client, deployment, "v2")

            # The monitor's next task replays its v1 history on v2: the patch is not taken
            # in a run that began on v1 (``patched`` answers once per run), so reading 1 is
            # not checked; that run continues as new on v2, where every reading is checked.
            first_run = (await monitor.describe()).run_id
            await _reading(client, v2, elder, 1, queue)
            await _until("reading 1", lambda: _readings(engine, elder) == 2)
            await _until("the next run", lambda: _run_changed(monitor, first_run))
            await _reading(client, v2, elder, 2, queue)
            await _until("reading 2", lambda: _readings(engine, elder) == 3)
            await _until("reading 2's check", lambda: _has_record(engine, monitor.id, "checked.2"))

            await _complete(client, engine, old_delivery.id, DELIVER)
            old_result = DeliveryResult.model_validate(await old_delivery.result())

            new_delivery = client.get_workflow_handle(await _delivery(client, v2, queue, "UPG-NEW"))
            await _complete(client, engine, new_delivery.id, DELIVER)
            new_result = DeliveryResult.model_validate(await new_delivery.result())
            # The run that checked reading 2: the first run's successor (a later one may
            # have begun by now, had this one's history reached its limit).
            second_run = await _next_run(client.get_workflow_handle(monitor.id, run_id=first_run))
            second_desc = await client.get_workflow_handle(monitor.id, run_id=second_run).describe()
            await monitor.terminate("test over")

    # The monitor moved to v2 with no failed task: its v1 run finished on v2 (unchecked), its
    # next run is v2's from the start and checks each reading.
    first = client.get_workflow_handle(monitor.id, run_id=first_run)
    second = client.get_workflow_handle(monitor.id, run_id=second_run)
    assert await _nondeterminism(first) == [] and await _nondeterminism(second) == []
    checks = [key for key, kind in records_of(engine, monitor.id) if kind == "reading_checked"]
    assert checks == ["checked.2"]
    first_tasks = await _completed_by(first)
    assert first_tasks[0] == ("v1", AUTO) and first_tasks[-1] == ("v2", AUTO)
    assert [b for b, _ in first_tasks] == sorted(b for b, _ in first_tasks)  # v1s, then v2s
    assert set(await _completed_by(second)) == {("v2", AUTO)}, second_run
    versioning = second_desc.raw_description.workflow_execution_info.versioning_info
    assert versioning.deployment_version.build_id == "v2"

    # The pinned Delivery finished on v1, as v1 wrote it: no v2 note before its hand-over.
    assert old_result.outcome == "delivered" and new_result.outcome == "delivered"
    assert {task for task in await _completed_by(old_delivery)} == {("v1", PINNED)}
    assert not [key for key, _ in records_of(engine, old_delivery.id) if key.startswith("v2.")]

    # A Delivery started after the upgrade runs on v2 and takes its new steps.
    assert {task for task in await _completed_by(new_delivery)} == {("v2", PINNED)}
    notes = [key for key, kind in records_of(engine, new_delivery.id) if kind == "v2_note"]
    assert notes == ["v2.dropoff", "v2.handover"]


async def test_the_same_change_without_pinning_or_patch_breaks_waiting_processes(
    dev_env: WorkflowEnvironment, seeded_engine: Engine
) -> None:
    client, engine = dev_env.client, seeded_engine
    queue = f"upgrade-unversioned-{uuid.uuid4()}"
    v1, v2 = _registry(), _registry(delivery=DeliveryV2, monitor=MonitorV2Unpatched)
    elder = _elder(engine)

    # Unversioned workers: the next task of every process goes to whichever worker is up.
    async with running_worker(client, v1, engine=engine, task_queue=queue, max_cached_workflows=0):
        delivery = client.get_workflow_handle(await _delivery(client, v1, queue, "UPG-NDE"))
        await wait_for_task(engine, delivery.id, "dropoff")
        monitor = client.get_workflow_handle(await _reading(client, v1, elder, 0, queue))
        await _until("reading 0", lambda: _readings(engine, elder) == 1)

    async with running_worker(client, v2, engine=engine, task_queue=queue, max_cached_workflows=0):
        await delivery.signal("upgrade_probe")  # any new event: the next task replays on v2
        await _reading(client, v2, elder, 1, queue)
        await _until("the Delivery's failed task", lambda: _has(_nondeterminism(delivery)))
        await _until("the monitor's failed task", lambda: _has(_nondeterminism(monitor)))
        for handle in (delivery, monitor):
            await handle.terminate("test over")

    # Neither took a step on v2: the failing task's commands were never applied.
    assert _readings(engine, elder) == 1
    assert not [key for key, _ in records_of(engine, delivery.id) if key.startswith("v2.")]
    assert not [key for key, _ in records_of(engine, monitor.id) if key.startswith("checked.")]


async def _value(answer: bool | Awaitable[bool]) -> bool:
    return await answer if inspect.isawaitable(answer) else answer


async def _run_changed(handle: WorkflowHandle[Any, Any], run_id: str | None) -> bool:
    return (await handle.describe()).run_id != run_id


def _has_record(engine: Engine, workflow_id: str, key: str) -> bool:
    return key in [k for k, _ in records_of(engine, workflow_id)]


async def _has(found: Awaitable[list[str]]) -> bool:
    return bool(await found)

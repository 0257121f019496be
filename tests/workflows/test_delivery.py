"""The shared Delivery process, end to end on the time-skipping test server."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.errors import InputError
from careflow.models import CompleteTaskInput
from careflow.registry import PluginRegistry
from careflow.search_attributes import CARE_OVERDUE, CARE_STAGE
from plugins.engine.delivery import DeliveryResult
from tests.conftest import record_history
from tests.support.cases import case_ref_of
from tests.support.inbox import notifications_of, records_of, result_of, tasks_of, wait_for_task
from worker.testing import running_worker

REQUEST: dict[str, Any] = {
    "recipient_ref": "P00012",
    "donor_ref": "D0003",
    "items": [{"category": "school_bag", "quantity": 1}],
    "purpose": "micro_wish",
}


async def _start(
    env: WorkflowEnvironment, registry: PluginRegistry, task_queue: str, district: str = "wanbailin"
) -> WorkflowHandle[Any, Any]:
    started = await service.start_process(
        env.client,
        registry,
        process="delivery",
        district=district,
        request=REQUEST,
        started_by="staff:S0001",
        task_queue=task_queue,
    )
    return env.client.get_workflow_handle(started.workflow_id)


async def _complete(
    env: WorkflowEnvironment, engine: Engine, task_id: str, role: str, data: dict[str, Any]
) -> None:
    await service.complete_task(
        env.client, engine, task_id=task_id, actor="S0001", role=role, data=data
    )


async def test_happy_path_runs_plan_steps_and_thanks_the_donor(
    ts_env: WorkflowEnvironment, engine: Engine, registry: PluginRegistry
) -> None:
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        handle = await _start(ts_env, registry, worker.task_queue)
        dropoff = await wait_for_task(engine, handle.id, "dropoff")
        assert dropoff.role == "community_staff"
        assert dropoff.form_schema["properties"]["items_match"]["type"] == "boolean"
        await _complete(ts_env, engine, dropoff.task_id, "community_staff", {"items_match": True})

        handover = await wait_for_task(engine, handle.id, "handover")
        assert handover.role == "grid_worker"
        await _complete(
            ts_env,
            engine,
            handover.task_id,
            "grid_worker",
            {"handed_over": True, "receipt_ref": "R-1"},
        )
        # The district plugin's own human task at after_handover (Wanbailin only).
        call = await wait_for_task(engine, handle.id, "sample.call")
        await _complete(ts_env, engine, call.task_id, "community_staff", {"reached": True})
        result = DeliveryResult.model_validate(await result_of(ts_env, handle))
        await record_history(ts_env.client, handle, "delivery_happy_path")

    assert result.outcome == "delivered"
    assert result.thanked_donor and result.handover_actor == "S0001"
    assert [t.status for t in tasks_of(engine, handle.id)] == ["done", "done", "done"]
    assert records_of(engine, handle.id) == [
        ("request", "delivery_requested"),
        ("dropoff", "goods_dropped_off"),
        ("sample.stamp", "sample.stamp"),
        ("confirmed", "goods_received"),
    ]
    assert notifications_of(engine, handle.id) == [("thanks", "D0003", "delivery_thanks")]
    desc = await handle.describe()
    assert desc.typed_search_attributes.get(CARE_STAGE) == "closed"
    summary = await desc.static_summary()
    assert summary is not None and "物资配送" in summary
    assert "P00012" not in summary and "P00012" not in handle.id


async def test_bad_completions_are_rejected_and_write_nothing(
    ts_env: WorkflowEnvironment, engine: Engine, registry: PluginRegistry
) -> None:
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        handle = await _start(ts_env, registry, worker.task_queue, district="yingze")
        dropoff = await wait_for_task(engine, handle.id, "dropoff")

        with pytest.raises(InputError) as wrong_role:
            await _complete(ts_env, engine, dropoff.task_id, "volunteer", {"items_match": True})
        assert wrong_role.value.field == "role"
        assert "may not complete" in wrong_role.value.problem

        with pytest.raises(InputError) as bad_form:
            await _complete(
                ts_env, engine, dropoff.task_id, "community_staff", {"items_match": "maybe"}
            )
        assert bad_form.value.field == "data.items_match"

        # The workflow's own validator rejects the same, whoever the client is.
        for bad, rule in (
            ({"role": "volunteer", "data": {"items_match": True}}, "RoleNotAllowed"),
            ({"role": "community_staff", "data": {"items_match": "maybe"}}, "InvalidForm"),
            ({"role": "community_staff", "data": {}, "task_id": "T0"}, "UnknownTask"),
        ):
            update = CompleteTaskInput.model_validate(
                {"task_id": dropoff.task_id, "actor": "S0001", **bad}
            )
            with pytest.raises(WorkflowUpdateFailedError) as rejected:
                await handle.execute_update("complete_task", update)
            assert isinstance(rejected.value.cause, ApplicationError)
            assert rejected.value.cause.type == rule

        with pytest.raises(InputError) as unknown:
            await _complete(ts_env, engine, "T000000000000", "community_staff", {})
        assert unknown.value.field == "task_id"

        # Nothing was written: the task is still open, the process still waits for it.
        assert [t.status for t in tasks_of(engine, handle.id)] == ["open"]
        status = await handle.query("status")
        assert [t["task_id"] for t in status["open_tasks"]] == [dropoff.task_id]

        await _complete(ts_env, engine, dropoff.task_id, "community_staff", {"items_match": True})
        with pytest.raises(InputError, match="already done") as closed:
            await _complete(
                ts_env, engine, dropoff.task_id, "community_staff", {"items_match": True}
            )
        assert closed.value.field == "task_id"
        late = CompleteTaskInput(
            task_id=dropoff.task_id, actor="S0001", role="community_staff", data={}
        )
        with pytest.raises(WorkflowUpdateFailedError) as rejected_closed:
            await handle.execute_update("complete_task", late)
        assert isinstance(rejected_closed.value.cause, ApplicationError)
        assert rejected_closed.value.cause.type == "TaskClosed"

        handover = await wait_for_task(engine, handle.id, "handover")
        with pytest.raises(InputError, match="signed receipt"):
            await _complete(ts_env, engine, handover.task_id, "grid_worker", {"handed_over": True})
        await _complete(
            ts_env,
            engine,
            handover.task_id,
            "grid_worker",
            {"handed_over": False, "reason": "搬家"},
        )
        result = DeliveryResult.model_validate(await result_of(ts_env, handle))
        await record_history(ts_env.client, handle, "delivery_not_handed_over")
    assert result.outcome == "not_handed_over"
    assert ("failed", "role:district_admin", "delivery_failed") in notifications_of(
        engine, handle.id
    )


async def test_late_handover_escalates_then_expires_to_the_fallback(
    ts_env: WorkflowEnvironment, engine: Engine, registry: PluginRegistry
) -> None:
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        handle = await _start(ts_env, registry, worker.task_queue, district="yingze")
        dropoff = await wait_for_task(engine, handle.id, "dropoff")
        await _complete(ts_env, engine, dropoff.task_id, "community_staff", {"items_match": True})
        handover = await wait_for_task(engine, handle.id, "handover")

        await ts_env.sleep(timedelta(days=2, minutes=1))
        escalated = await wait_for_task(engine, handle.id, "handover", level=1)
        assert escalated.role == "community_staff" and escalated.overdue
        desc = await handle.describe()
        assert desc.typed_search_attributes.get(CARE_OVERDUE) is True
        assert (
            "handover.escalated.1",
            "role:community_staff",
            "task_escalated",
        ) in notifications_of(engine, handle.id)

        await ts_env.sleep(timedelta(days=1, minutes=1))
        await wait_for_task(engine, handle.id, "handover", level=2)
        result = DeliveryResult.model_validate(await result_of(ts_env, handle))
        await record_history(ts_env.client, handle, "delivery_handover_expired")

    assert result.outcome == "handover_expired"
    expired = next(t for t in tasks_of(engine, handle.id) if t.task_id == handover.task_id)
    assert expired.status == "expired" and expired.role == "district_admin"
    assert ("failed", "delivery_failed") in records_of(engine, handle.id)


async def test_escalated_task_can_be_completed_by_the_new_role(
    ts_env: WorkflowEnvironment, engine: Engine, registry: PluginRegistry
) -> None:
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        handle = await _start(ts_env, registry, worker.task_queue, district="yingze")
        dropoff = await wait_for_task(engine, handle.id, "dropoff")
        await _complete(ts_env, engine, dropoff.task_id, "community_staff", {"items_match": True})
        await wait_for_task(engine, handle.id, "handover")
        await ts_env.sleep(timedelta(days=2, minutes=1))
        escalated = await wait_for_task(engine, handle.id, "handover", level=1)
        await _complete(
            ts_env,
            engine,
            escalated.task_id,
            "community_staff",
            {"handed_over": True, "receipt_ref": "R-9"},
        )
        result = DeliveryResult.model_validate(await result_of(ts_env, handle))
        desc = await handle.describe()
    assert result.outcome == "delivered"
    assert desc.typed_search_attributes.get(CARE_OVERDUE) is False


async def test_dropoff_never_recorded_falls_back(
    ts_env: WorkflowEnvironment, engine: Engine, registry: PluginRegistry
) -> None:
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        handle = await _start(ts_env, registry, worker.task_queue, district="yingze")
        await wait_for_task(engine, handle.id, "dropoff")
        result = DeliveryResult.model_validate(await result_of(ts_env, handle))
        await record_history(ts_env.client, handle, "delivery_never_dropped_off")
    assert result.outcome == "never_dropped_off"
    assert [t.status for t in tasks_of(engine, handle.id)] == ["expired"]


async def test_station_scan_event_records_the_dropoff(
    ts_env: WorkflowEnvironment, engine: Engine, registry: PluginRegistry
) -> None:
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        handle = await _start(ts_env, registry, worker.task_queue, district="xiaodian")
        case_ref = await case_ref_of(ts_env.client, handle.id)
        await wait_for_task(engine, handle.id, "dropoff")
        routed = await service.route_event(
            ts_env.client,
            registry,
            event_type="delivery.dropoff",
            data={"district": "xiaodian", "case_ref": case_ref, "device_id": "ST-07"},
            task_queue=worker.task_queue,
        )
        assert routed == handle.id
        dropoff = await wait_for_task(engine, handle.id, "dropoff", status="done")
        assert dropoff.completed_by == "device:ST-07"
        handover = await wait_for_task(engine, handle.id, "handover")
        await _complete(
            ts_env,
            engine,
            handover.task_id,
            "grid_worker",
            {"handed_over": True, "receipt_ref": "R-2"},
        )
        result = DeliveryResult.model_validate(await result_of(ts_env, handle))
        await record_history(ts_env.client, handle, "delivery_scanned_with_wait_step")
    assert result.outcome == "delivered"

    with pytest.raises(InputError, match="no running process"):
        await service.route_event(
            ts_env.client,
            registry,
            event_type="delivery.dropoff",
            data={"district": "xiaodian", "case_ref": "nobody", "device_id": "ST-07"},
            task_queue="unused",
        )
    with pytest.raises(InputError) as missing:
        await service.route_event(
            ts_env.client,
            registry,
            event_type="delivery.dropoff",
            data={"district": "xiaodian"},
            task_queue="unused",
        )
    assert missing.value.field == "data.case_ref"


async def test_dropoff_not_received_ends_the_delivery_without_a_handover(
    ts_env: WorkflowEnvironment, engine: Engine, registry: PluginRegistry
) -> None:
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        handle = await _start(ts_env, registry, worker.task_queue, district="yingze")
        dropoff = await wait_for_task(engine, handle.id, "dropoff")
        await _complete(
            ts_env,
            engine,
            dropoff.task_id,
            "community_staff",
            {"received": False, "items_match": False, "note": "站点未收到"},
        )
        result = DeliveryResult.model_validate(await result_of(ts_env, handle))
        await record_history(ts_env.client, handle, "delivery_dropoff_not_received")

    assert result.outcome == "never_dropped_off"
    # No hand-over task was opened for goods that never arrived.
    assert [(t.step_key, t.status) for t in tasks_of(engine, handle.id)] == [("dropoff", "done")]
    assert ("not_received", "dropoff_not_received") in records_of(engine, handle.id)
    assert ("failed", "delivery_failed") in records_of(engine, handle.id)
    sent = notifications_of(engine, handle.id)
    assert ("not_received", "D0003", "delivery_not_received") in sent
    assert ("failed", "role:district_admin", "delivery_failed") in sent


def _prepare(registry: PluginRegistry, engine: Engine, request: Any) -> None:
    service.prepare_start(
        registry,
        process="delivery",
        district="wanbailin",
        request=request,
        started_by="staff:S0001",
        engine=engine,
    )


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        ({"recipient_ref": "P99999"}, "input.recipient_ref", "unknown person"),
        ({"donor_ref": "D9999"}, "input.donor_ref", "unknown donor"),
        ({"donor_ref": "P00012"}, "input.donor_ref", "unknown donor"),
        ({"recipient_ref": "P" * 1_000_000}, "input", "KiB"),
        ({"recipient_ref": "P" * 40}, "input.recipient_ref", "at most"),
        ({"items": [{"category": "school_bag", "quantity": "3"}]}, "input.items.0.quantity", ""),
        ({"items": [{"category": "school_bag", "quantity": True}]}, "input.items.0.quantity", ""),
        ({"items": [{"category": "school_bag"}] * 101}, "input.items", "at most 100"),
        ({"items": [{"category": "school_bag"}] * 5000}, "input.items", "more than"),
        ({"colour": "red"}, "input.colour", "Extra inputs"),
        ({"items": [{"category": "school_bag", "colour": "red"}]}, "input.items.0.colour", ""),
    ],
)
def test_delivery_start_refuses_what_the_registry_or_the_model_does_not_support(
    seeded_engine: Engine,
    registry: PluginRegistry,
    change: dict[str, Any],
    field: str,
    problem: str,
) -> None:
    with pytest.raises(InputError) as refused:
        _prepare(registry, seeded_engine, {**REQUEST, **change})
    assert refused.value.field == field
    assert problem in str(refused.value)


def test_delivery_start_accepts_a_donor_of_another_district(
    seeded_engine: Engine, registry: PluginRegistry
) -> None:
    # P00012 lives in Wanbailin; D0003 is a Yingze donor: donors may give across districts.
    _prepare(registry, seeded_engine, REQUEST)

"""The shared community event process on the time-skipping test server."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.registry import PluginRegistry
from plugins.engine import plugin as engine_plugin
from plugins.engine.community_event import (
    CancelRequest,
    CommunityEventResult,
    RegisterRequest,
    RegistrationView,
)
from tests.conftest import record_history
from tests.support.cases import case_ref_of
from tests.support.inbox import notifications_of, records_of, result_of, wait_for_task
from worker.testing import running_worker


@pytest.fixture
def events_registry() -> PluginRegistry:
    return PluginRegistry.build([engine_plugin])


async def _start(
    env: WorkflowEnvironment, registry: PluginRegistry, task_queue: str, *, capacity: int
) -> WorkflowHandle[Any, Any]:
    now = await env.get_current_time()
    started = await service.start_process(
        env.client,
        registry,
        process="community_event",
        district="wanbailin",
        request={
            "kind": "film_screening",
            "title_zh": "公益观影",
            "capacity": capacity,
            "starts_at": (now + timedelta(days=3)).isoformat(),
        },
        started_by="staff:S0001",
        task_queue=task_queue,
    )
    return env.client.get_workflow_handle(started.workflow_id)


async def _register(handle: WorkflowHandle[Any, Any], ref: str, seats: int = 1) -> RegistrationView:
    return await handle.execute_update(
        "register", RegisterRequest(person_ref=ref, seats=seats), result_type=RegistrationView
    )


async def _reminders_sent(engine: Engine, workflow_id: str, count: int) -> list[Any]:
    """The outbox once ``count`` reminders are in it (the worker may still be writing)."""
    for _ in range(200):
        sent = notifications_of(engine, workflow_id)
        if sum(1 for *_, t in sent if t == "event_reminder") >= count:
            return sent
        await asyncio.sleep(0.05)
    raise AssertionError("reminders were not sent")


async def _refused(handle: WorkflowHandle[Any, Any], update: str, arg: Any) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await handle.execute_update(update, arg)
    assert isinstance(err.value.cause, ApplicationError)
    return str(err.value.cause.type)


async def test_waiting_list_reminders_attendance_and_report(
    ts_env: WorkflowEnvironment, engine: Engine, events_registry: PluginRegistry
) -> None:
    async with running_worker(ts_env.client, events_registry, engine=engine) as worker:
        handle = await _start(ts_env, events_registry, worker.task_queue, capacity=3)
        assert (await _register(handle, "P00001")).status == "confirmed"
        two = await _register(handle, "P00002", seats=2)
        assert two.status == "confirmed" and two.seats_left == 0
        full = await _register(handle, "P00003")
        assert full.status == "waitlisted" and full.waitlist_position == 1
        assert (await _register(handle, "P00004")).waitlist_position == 2
        # Refusals: a second registration, too many seats, cancelling a stranger, a phone number.
        assert await _refused(handle, "register", RegisterRequest(person_ref="P00001")) == (
            "RegistrationRefused"
        )
        assert await _refused(
            handle, "register", RegisterRequest(person_ref="P00009", seats=5)
        ) == ("RegistrationRefused")
        assert await _refused(handle, "cancel", CancelRequest(person_ref="P00009")) == (
            "CancellationRefused"
        )
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update("register", {"person_ref": "13800000000"})

        # A cancellation frees two seats: both waiting registrants move up, in order.
        cancelled = await handle.execute_update(
            "cancel", CancelRequest(person_ref="P00002"), result_type=RegistrationView
        )
        assert cancelled.status == "cancelled" and cancelled.seats_left == 0
        # A desk registration through the CLI's event route joins the waiting list.
        case_ref = await case_ref_of(ts_env.client, handle.id)
        await service.route_event(
            ts_env.client,
            events_registry,
            event_type="community_event.register",
            data={"district": "wanbailin", "case_ref": case_ref, "person_ref": "P00005"},
            task_queue=worker.task_queue,
        )
        await service.route_event(
            ts_env.client,
            events_registry,
            event_type="community_event.cancel",
            data={"district": "wanbailin", "case_ref": case_ref, "person_ref": "P00077"},
            task_queue=worker.task_queue,
        )

        await ts_env.sleep(timedelta(days=2, minutes=1))
        sent = await _reminders_sent(engine, handle.id, 3)
        assert [(k, r) for k, r, t in sent if t == "event_reminder"] == [
            ("reminder.P00001", "P00001"),
            ("reminder.P00003", "P00003"),
            ("reminder.P00004", "P00004"),
        ]
        assert sum(1 for *_, t in sent if t == "event_place_offered") == 2

        await ts_env.sleep(timedelta(days=1, minutes=1))
        attendance = await wait_for_task(engine, handle.id, "attendance")
        assert attendance.role == "community_staff"
        assert await _refused(handle, "register", RegisterRequest(person_ref="P00006")) == (
            "RegistrationRefused"
        )
        await service.complete_task(
            ts_env.client,
            engine,
            task_id=attendance.task_id,
            actor="S0002",
            role="community_staff",
            data={"attended": ["P00001", "P00003", "P00042"], "walk_ins": 2},
        )
        result = CommunityEventResult.model_validate(await result_of(ts_env, handle))
        await record_history(ts_env.client, handle, "community_event_held")

    assert result.outcome == "held"
    assert (result.confirmed, result.seats_confirmed, result.waitlisted_at_start) == (3, 3, 1)
    assert (result.cancellations, result.promoted, result.reminders_sent) == (1, 2, 3)
    assert (result.attended, result.no_shows, result.walk_ins) == (2, 1, 3)
    assert result.attendance_rate == pytest.approx(0.667)
    kinds = [kind for _, kind in records_of(engine, handle.id)]
    assert kinds.count("event_registered") == 5
    assert kinds.count("event_request_refused") == 1
    assert kinds[-2:] == ["event_attendance", "event_report"]
    assert ("waitlist_closed.P00005", "P00005", "event_waitlist_closed") in notifications_of(
        engine, handle.id
    )
    desc = await handle.describe()
    summary = await desc.static_summary()
    assert summary is not None and "社区活动" in summary and "P0000" not in summary


async def test_attendance_never_recorded_escalates_then_reports_it_missing(
    ts_env: WorkflowEnvironment, engine: Engine, events_registry: PluginRegistry
) -> None:
    async with running_worker(ts_env.client, events_registry, engine=engine) as worker:
        handle = await _start(ts_env, events_registry, worker.task_queue, capacity=1)
        await _register(handle, "P00001")
        await ts_env.sleep(timedelta(days=3, minutes=1))
        await wait_for_task(engine, handle.id, "attendance")
        await ts_env.sleep(timedelta(days=1, hours=2, minutes=1))
        escalated = await wait_for_task(engine, handle.id, "attendance", level=1)
        assert escalated.role == "district_admin"
        result = CommunityEventResult.model_validate(await result_of(ts_env, handle))
        await record_history(ts_env.client, handle, "community_event_attendance_missing")
    assert result.outcome == "attendance_missing" and result.attendance_rate is None
    assert (
        "attendance_missing",
        "role:district_admin",
        "event_attendance_missing",
    ) in notifications_of(engine, handle.id)


@pytest.mark.parametrize(
    ("event_type", "change", "field"),
    [
        ("community_event.register", {"person_ref": "P99999"}, "data.person_ref"),
        ("community_event.cancel", {"person_ref": "P99999"}, "data.person_ref"),
        ("community_event.register", {"seats": "2"}, "data.seats"),
        ("community_event.register", {"guest": "P00013"}, "data.guest"),
    ],
)
def test_desk_events_for_people_the_registry_does_not_hold_are_refused(
    seeded_engine: Engine,
    events_registry: PluginRegistry,
    event_type: str,
    change: dict[str, Any],
    field: str,
) -> None:
    data = {"district": "wanbailin", "case_ref": "C1", "person_ref": "P00012", **change}
    if event_type.endswith("cancel"):
        data.pop("seats", None)
    from careflow.errors import InputError

    with pytest.raises(InputError) as refused:
        service.prepare_event(
            events_registry, event_type=event_type, data=data, engine=seeded_engine
        )
    assert refused.value.field == field


def test_a_start_with_unknown_fields_or_text_too_long_is_refused(
    seeded_engine: Engine, events_registry: PluginRegistry
) -> None:
    from careflow.errors import InputError

    request = {
        "kind": "film_screening",
        "title_zh": "公益观影",
        "capacity": 30,
        "starts_at": "2026-12-05T14:00:00+08:00",
    }
    for change, field in (
        ({"capacity": "30"}, "input.capacity"),
        ({"venue": "礼堂"}, "input.venue"),
        ({"title_zh": "影" * 65}, "input.title_zh"),
    ):
        with pytest.raises(InputError) as refused:
            service.prepare_start(
                events_registry,
                process="community_event",
                district="wanbailin",
                request={**request, **change},
                started_by="staff:S0001",
                engine=seeded_engine,
            )
        assert refused.value.field == field

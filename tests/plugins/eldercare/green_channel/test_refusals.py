"""What the green channel refuses at the boundary, and what it records when it ignores."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.errors import InputError
from careflow.registry import PluginRegistry
from plugins.eldercare import plugin as eldercare_plugin
from plugins.eldercare.green_channel import GREEN_CHANNEL_PROCESS
from plugins.eldercare.green_channel.tables import GreenChannelBooking
from plugins.engine import plugin as engine_plugin
from tests.conftest import record_history
from tests.plugins.eldercare.green_channel.support import DISTRICT, elder, event, start
from tests.support.cases import case_ref_of
from tests.support.inbox import records_of, tasks_of, wait_for_task
from worker.testing import running_worker


@pytest.fixture
def eldercare() -> PluginRegistry:
    """The engine and the eldercare module."""
    return PluginRegistry.build([engine_plugin, eldercare_plugin])


def _prepare(registry: PluginRegistry, engine: Engine, request: dict[str, object]) -> None:
    service.prepare_start(
        registry,
        process=GREEN_CHANNEL_PROCESS,
        district=DISTRICT,
        request=request,
        started_by="staff:S0001",
        engine=engine,
    )


def test_a_start_the_registry_does_not_support_is_refused(
    seeded_engine: Engine, eldercare: PluginRegistry
) -> None:
    able = elder(seeded_engine, disabled=False)
    other = elder(seeded_engine, disabled=True, district="yingze")
    for request, problem in (
        ({"elder_ref": able.id}, "no disability level"),
        ({"elder_ref": "P99999"}, "unknown person"),
        ({"elder_ref": other.id}, "not in district"),
        ({"elder_ref": able.id, "urgent": True}, "Extra inputs"),
    ):
        with pytest.raises(InputError) as refused:
            _prepare(eldercare, seeded_engine, request)
        assert refused.value.field == ("input.urgent" if "urgent" in request else "input.elder_ref")
        assert problem in str(refused.value)
    # A disabled elder of the district is accepted.
    _prepare(eldercare, seeded_engine, {"elder_ref": elder(seeded_engine, disabled=True).id})


async def test_a_wrong_booking_ref_is_refused_and_an_ignored_answer_is_recorded(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, eldercare: PluginRegistry
) -> None:
    engine = seeded_engine
    person = elder(engine, disabled=True)
    async with running_worker(ts_env.client, eldercare, engine=engine) as worker:
        tq = worker.task_queue
        handle = await start(ts_env, eldercare, tq, GREEN_CHANNEL_PROCESS, {"elder_ref": person.id})
        case_ref = await case_ref_of(ts_env.client, handle.id)
        triage = await wait_for_task(engine, handle.id, "triage")
        await service.complete_task(
            ts_env.client,
            engine,
            task_id=triage.task_id,
            actor="S0001",
            role="doctor",
            data={"level": "urgent"},
        )
        await wait_for_task(engine, handle.id, "booking.1.response")
        with Session(engine) as session:
            booking_ref = session.exec(
                select(GreenChannelBooking.booking_ref).where(
                    GreenChannelBooking.workflow_id == handle.id
                )
            ).one()
        wrong = {"district": DISTRICT, "case_ref": case_ref, "booking_ref": "BK-WRONG"}
        for event_type, extra in (
            ("eldercare.hospital_response", {"accepted": True}),
            ("eldercare.hospital_arrival", {}),
            ("eldercare.hospital_discharge", {}),
        ):
            with pytest.raises(InputError) as refused:
                service.prepare_event(
                    eldercare, event_type=event_type, data={**wrong, **extra}, engine=engine
                )
            assert refused.value.field == "data.booking_ref"
            assert "not a booking of" in refused.value.problem
        # Another case's booking is refused the same way.
        with pytest.raises(InputError):
            service.prepare_event(
                eldercare,
                event_type="eldercare.hospital_response",
                data={**wrong, "case_ref": "C0", "booking_ref": booking_ref, "accepted": True},
                engine=engine,
            )
        # Sent anyway (no check, as in a race), the process ignores it and records that.
        await event(
            ts_env, eldercare, tq, "eldercare.hospital_response", {**wrong, "accepted": True}
        )
        for _ in range(100):
            if ("hospital_ignored.1", "hospital_event_ignored") in records_of(engine, handle.id):
                break
            await ts_env.sleep(1)
        assert ("hospital_ignored.1", "hospital_event_ignored") in records_of(engine, handle.id)
        response = next(
            t for t in tasks_of(engine, handle.id) if t.step_key == "booking.1.response"
        )
        assert response.status == "open"

        # The right answer goes through; a second answer for the same booking is refused.
        right = {**wrong, "booking_ref": booking_ref}
        service.prepare_event(
            eldercare,
            event_type="eldercare.hospital_response",
            data={**right, "accepted": True},
            engine=engine,
        )
        await event(
            ts_env, eldercare, tq, "eldercare.hospital_response", {**right, "accepted": True}
        )
        await wait_for_task(engine, handle.id, "transport")
        with pytest.raises(InputError, match="already accepted"):
            service.prepare_event(
                eldercare,
                event_type="eldercare.hospital_response",
                data={**right, "accepted": True},
                engine=engine,
            )
        await record_history(
            ts_env.client, handle, "eldercare_green_channel_ignored_hospital_event"
        )
        await handle.terminate("test over")

"""The emergency green channel on the time-skipping test server, every path."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from careflow.errors import InputError
from careflow.registry import PluginRegistry
from careflow.search_attributes import CARE_STAGE
from plugins.eldercare import plugin as eldercare_plugin
from plugins.eldercare.green_channel import GREEN_CHANNEL_PROCESS, GreenChannelResult
from plugins.engine import plugin as engine_plugin
from tests.conftest import record_history
from tests.plugins.eldercare.green_channel.support import (
    DISTRICT,
    add_family,
    bookings,
    complete,
    elder,
    event,
    start,
)
from tests.support.cases import case_ref_of
from tests.support.inbox import notifications_of, records_of, result_of, tasks_of, wait_for_task
from worker.testing import running_worker


@pytest.fixture
def eldercare() -> PluginRegistry:
    """The engine and the eldercare module."""
    return PluginRegistry.build([engine_plugin, eldercare_plugin])


def _hospital(engine: Engine, workflow_id: str, n: int = 0) -> str:
    return bookings(engine, workflow_id)[n][0]


async def test_happy_path_measures_minutes_to_arrival(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, eldercare: PluginRegistry
) -> None:
    engine = seeded_engine
    person = elder(engine, disabled=True)
    son = add_family(engine, person.id)
    async with running_worker(ts_env.client, eldercare, engine=engine) as worker:
        tq = worker.task_queue
        handle = await start(
            ts_env,
            eldercare,
            tq,
            GREEN_CHANNEL_PROCESS,
            {"elder_ref": person.id, "source": "family_call", "source_ref": "S0001"},
        )
        case_ref = await case_ref_of(ts_env.client, handle.id)
        triage = await wait_for_task(engine, handle.id, "triage")
        assert triage.role == "doctor" and person.id not in triage.title_zh
        with pytest.raises(InputError, match="120"):
            await complete(ts_env, engine, triage.task_id, "doctor", {"level": "critical"})
        await complete(
            ts_env,
            engine,
            triage.task_id,
            "doctor",
            {"level": "critical", "ambulance_120_called": True},
        )

        await wait_for_task(engine, handle.id, "booking.1.response")
        ((hospital, status, _),) = bookings(engine, handle.id)
        assert status == "requested"
        booking_ref = (await handle.query("status"))["results"] or None
        from sqlmodel import Session, select

        from plugins.eldercare.green_channel.tables import GreenChannelBooking

        with Session(engine) as session:
            row = session.exec(
                select(GreenChannelBooking).where(GreenChannelBooking.workflow_id == handle.id)
            ).one()
            booking_ref = row.booking_ref
        common = {"district": DISTRICT, "case_ref": case_ref, "booking_ref": booking_ref}
        await event(
            ts_env, eldercare, tq, "eldercare.hospital_response", {**common, "accepted": True}
        )

        transport = await wait_for_task(engine, handle.id, "transport")
        assert transport.role == "grid_worker"
        await ts_env.sleep(timedelta(minutes=12))  # the ride
        await complete(
            ts_env,
            engine,
            transport.task_id,
            "grid_worker",
            {"escort_ref": "S0002", "mode": "ambulance_120"},
        )
        await wait_for_task(engine, handle.id, "arrival")
        await event(ts_env, eldercare, tq, "eldercare.hospital_arrival", common)

        await wait_for_task(engine, handle.id, "discharge")
        desc = await handle.describe()
        assert desc.typed_search_attributes.get(CARE_STAGE) == "in_hospital"
        details = await desc.static_summary()
        assert details is not None and person.id not in details
        await ts_env.sleep(timedelta(days=9))  # days in hospital
        await event(
            ts_env, eldercare, tq, "eldercare.hospital_discharge", {**common, "disposition": "home"}
        )
        for day, skip in ((1, 1), (7, 6), (30, 23)):
            await ts_env.sleep(timedelta(days=skip, minutes=5))
            visit = await wait_for_task(engine, handle.id, f"follow_up.d{day}")
            assert visit.role == "doctor"
            await complete(
                ts_env, engine, visit.task_id, "doctor", {"visited": True, "condition": "stable"}
            )
        result = GreenChannelResult.model_validate(await result_of(ts_env, handle))
        await record_history(ts_env.client, handle, "eldercare_green_channel_happy_path")

    assert result.outcome == "completed"
    assert result.triage_level == "critical" and result.ambulance_120_called
    assert result.hospital_ref == hospital and result.booking_ref == booking_ref
    assert result.minutes_to_arrival is not None and 12 <= result.minutes_to_arrival < 20
    assert result.follow_ups == {"1": "visited", "7": "visited", "30": "visited"}
    assert "到院" in result.summary_zh and person.id not in result.summary_zh
    kinds = [kind for _, kind in records_of(engine, handle.id)]
    assert kinds == [
        "green_channel_opened",
        "triaged",
        "ambulance_120_called",
        "booking_requested",
        "hospital_accepted",
        "escorted",
        "arrived",
        "discharged",
        "follow_up_visited",
        "follow_up_visited",
        "follow_up_visited",
        "green_channel_closed",
    ]
    assert bookings(engine, handle.id) == [(hospital, "discharged", "home")]
    assert ("family.0", son, "green_channel_family") in notifications_of(engine, handle.id)
    assert all(t.status == "done" for t in tasks_of(engine, handle.id))


async def test_triage_escalates_refusal_falls_back_then_district_admin(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, eldercare: PluginRegistry
) -> None:
    engine = seeded_engine
    person = elder(engine, disabled=True)
    async with running_worker(ts_env.client, eldercare, engine=engine) as worker:
        tq = worker.task_queue
        handle = await start(ts_env, eldercare, tq, GREEN_CHANNEL_PROCESS, {"elder_ref": person.id})
        case_ref = await case_ref_of(ts_env.client, handle.id)
        await wait_for_task(engine, handle.id, "triage")
        await ts_env.sleep(timedelta(minutes=11))  # the doctor does not answer in time
        triage = await wait_for_task(engine, handle.id, "triage", level=1)
        assert triage.role == "district_admin" and triage.overdue
        await complete(ts_env, engine, triage.task_id, "district_admin", {"level": "urgent"})

        await wait_for_task(engine, handle.id, "booking.1.response")
        partner = bookings(engine, handle.id)[0]
        from sqlmodel import Session, select

        from plugins.eldercare.green_channel.tables import GreenChannelBooking

        with Session(engine) as session:
            ref = session.exec(
                select(GreenChannelBooking.booking_ref).where(
                    GreenChannelBooking.workflow_id == handle.id
                )
            ).one()
        await event(
            ts_env,
            eldercare,
            tq,
            "eldercare.hospital_response",
            {
                "district": DISTRICT,
                "case_ref": case_ref,
                "booking_ref": ref,
                "accepted": False,
                "reason_code": "no_beds",
            },
        )
        # The fallback hospital never answers: its deadline (hospital, then staff) passes.
        await wait_for_task(engine, handle.id, "booking.2.response")
        await ts_env.sleep(timedelta(minutes=16))
        await wait_for_task(engine, handle.id, "booking.2.response", level=1)
        await ts_env.sleep(timedelta(minutes=11))
        arrange = await wait_for_task(engine, handle.id, "arrange")
        assert arrange.role == "district_admin"
        await complete(
            ts_env,
            engine,
            arrange.task_id,
            "district_admin",
            {"arranged": False, "note": "no bed in the city tonight"},
        )
        result = GreenChannelResult.model_validate(await result_of(ts_env, handle))
        await record_history(ts_env.client, handle, "eldercare_green_channel_no_hospital")

    assert result.outcome == "no_hospital" and result.triage_level == "urgent"
    assert [(s, r) for _, s, r in bookings(engine, handle.id)] == [
        ("refused", "no_beds"),
        ("no_answer", None),
    ]
    assert partner[0] != bookings(engine, handle.id)[1][0]
    kinds = [kind for _, kind in records_of(engine, handle.id)]
    assert "hospital_refused" in kinds and "hospital_no_answer" in kinds
    assert ("no_hospital", "role:district_admin", "green_channel_no_hospital") in (
        notifications_of(engine, handle.id)
    )


async def test_admin_arranges_hospital_staff_entries_and_follow_up_escalation(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, eldercare: PluginRegistry
) -> None:
    engine = seeded_engine
    person = elder(engine, disabled=True)
    async with running_worker(ts_env.client, eldercare, engine=engine) as worker:
        tq = worker.task_queue
        handle = await start(ts_env, eldercare, tq, GREEN_CHANNEL_PROCESS, {"elder_ref": person.id})
        triage = await wait_for_task(engine, handle.id, "triage")
        await complete(ts_env, engine, triage.task_id, "doctor", {"level": "routine"})
        for n in (1, 2):  # both hospitals refuse, entered by staff after phone calls
            task = await wait_for_task(engine, handle.id, f"booking.{n}.response")
            await complete(
                ts_env,
                engine,
                task.task_id,
                "hospital",
                {"accepted": False, "reason_code": "no_beds"},
            )
        arrange = await wait_for_task(engine, handle.id, "arrange")
        await complete(
            ts_env,
            engine,
            arrange.task_id,
            "district_admin",
            {"arranged": True, "hospital_ref": "PV999"},
        )
        transport = await wait_for_task(engine, handle.id, "transport")
        await complete(
            ts_env,
            engine,
            transport.task_id,
            "grid_worker",
            {"escort_ref": "V0001", "mode": "community_vehicle"},
        )
        arrival = await wait_for_task(engine, handle.id, "arrival")
        await complete(ts_env, engine, arrival.task_id, "hospital", {"arrived": True})
        discharge = await wait_for_task(engine, handle.id, "discharge")
        await complete(ts_env, engine, discharge.task_id, "hospital", {"disposition": "home"})
        # Day 1: the family doctor lets the visit pass its due time; the district admin acts.
        await ts_env.sleep(timedelta(days=2, minutes=5))
        visit = await wait_for_task(engine, handle.id, "follow_up.d1", level=1)
        assert visit.role == "district_admin"
        await complete(
            ts_env, engine, visit.task_id, "doctor", {"visited": True, "condition": "improving"}
        )
        # Days 7 and 30: nobody visits at all.
        result = GreenChannelResult.model_validate(await result_of(ts_env, handle))
        await record_history(ts_env.client, handle, "eldercare_green_channel_follow_up_missed")

    assert result.outcome == "completed" and result.hospital_ref == "PV999"
    assert result.follow_ups == {"1": "visited", "7": "missed", "30": "missed"}
    assert [s for _, s, _ in bookings(engine, handle.id)] == ["refused", "refused", "discharged"]
    kinds = [kind for _, kind in records_of(engine, handle.id)]
    assert kinds.count("follow_up_missed") == 2 and "hospital_arranged" in kinds
    escalated = [n for n in notifications_of(engine, handle.id) if n[2] == "task_escalated"]
    assert ("follow_up.d1.escalated.1", "role:district_admin", "task_escalated") in escalated


async def test_elder_without_disability_level_is_rejected(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, eldercare: PluginRegistry
) -> None:
    engine = seeded_engine
    person = elder(engine, disabled=False)
    async with running_worker(ts_env.client, eldercare, engine=engine) as worker:
        handle = await start(
            ts_env, eldercare, worker.task_queue, GREEN_CHANNEL_PROCESS, {"elder_ref": person.id}
        )
        result = GreenChannelResult.model_validate(await result_of(ts_env, handle))
        await record_history(ts_env.client, handle, "eldercare_green_channel_rejected")

    assert result.outcome == "rejected" and result.reason == "no_disability_level"
    assert tasks_of(engine, handle.id) == []
    assert records_of(engine, handle.id) == [("rejected", "green_channel_rejected")]

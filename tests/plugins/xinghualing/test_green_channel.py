"""Xinghualing's green channel on the time-skipping server.

The family doctor joins triage; after discharge the community health centre assesses a home
sickbed 家庭病床, before the follow-up visits.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from careflow.db import FamilyDoctorContract, crud
from careflow.errors import InputError
from careflow.models import StepInput
from careflow.notify import OutboxLogAdapter
from careflow.registry import PluginRegistry
from plugins.childcare import plugin as childcare_plugin
from plugins.eldercare import plugin as eldercare_plugin
from plugins.eldercare.green_channel import GREEN_CHANNEL_PROCESS, GreenChannelResult
from plugins.engine import plugin as engine_plugin
from plugins.xinghualing import plugin as xinghualing_plugin
from plugins.xinghualing.activities import NOTIFY_FAMILY_DOCTOR, XinghualingActivities
from tests.conftest import record_history
from tests.plugins.eldercare.green_channel.support import (
    channel_context,
    complete,
    elder,
    record_opened,
    start,
)
from tests.plugins.xinghualing.support import through_discharge
from tests.support.history import activity_inputs
from tests.support.inbox import (
    notifications_of,
    records_of,
    result_of,
    tasks_of,
    wait_for_task,
)
from worker.testing import running_worker

SICKBED = "xinghualing.home_sickbed"


@pytest.fixture
def registry() -> PluginRegistry:
    return PluginRegistry.build(
        [engine_plugin, eldercare_plugin, childcare_plugin, xinghualing_plugin]
    )


async def test_family_doctor_joins_before_triage(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, registry: PluginRegistry
) -> None:
    engine = seeded_engine
    person = elder(engine, disabled=True, district="xinghualing")
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        handle = await start(
            ts_env,
            registry,
            worker.task_queue,
            GREEN_CHANNEL_PROCESS,
            {"elder_ref": person.id, "source": "family_call", "source_ref": "S0001"},
            district="xinghualing",
        )
        task = await wait_for_task(engine, handle.id, "xinghualing.family_doctor_triage")
        assert task.role == "doctor" and person.id not in task.title_zh
        assert task.form_ref == "plugins.xinghualing.forms:FamilyDoctorTriageForm"
        # The notice went out before the task opened, and the city triage waits for it.
        kinds = [kind for _, kind in records_of(engine, handle.id)]
        assert kinds == ["green_channel_opened", "family_doctor_notified"]
        with Session(engine) as session:
            notes = crud.list_notifications(session, workflow_id=handle.id)
            assert [n.template for n in notes] == ["xinghualing_family_doctor_triage"]
            assert person.id not in notes[0].body_zh
        await complete(
            ts_env,
            engine,
            task.task_id,
            "doctor",
            {"joined": True, "suggested_level": "urgent", "history_shared": True},
        )
        triage = await wait_for_task(engine, handle.id, "triage")
        assert triage.role == "doctor"
        status = await handle.query("status")
        assert status["results"]["xinghualing.family_doctor_triage"]["joined"] is True
        await handle.terminate("test done")


async def test_home_sickbed_assessed_after_discharge_before_follow_ups(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, registry: PluginRegistry
) -> None:
    engine = seeded_engine
    person = elder(engine, disabled=True, district="xinghualing")
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        handle = await start(
            ts_env,
            registry,
            worker.task_queue,
            GREEN_CHANNEL_PROCESS,
            {"elder_ref": person.id, "source": "family_call", "source_ref": "S0001"},
            district="xinghualing",
        )
        await through_discharge(ts_env, engine, handle.id)

        sickbed = await wait_for_task(engine, handle.id, SICKBED)
        assert sickbed.role == "doctor" and person.id not in sickbed.title_zh
        assert sickbed.form_ref == "plugins.xinghualing.forms:HomeSickbedForm"
        # Opened after the discharge was recorded; no follow-up visit is open yet.
        assert [kind for _, kind in records_of(engine, handle.id)][-1] == "discharged"
        assert [t.step_key for t in tasks_of(engine, handle.id) if t.status == "open"] == [SICKBED]
        # The form's rule holds in the inbox: an eligible home sickbed needs a care plan.
        with pytest.raises(InputError, match="plan"):
            await complete(ts_env, engine, sickbed.task_id, "doctor", {"eligible": True})
        form = {"eligible": True, "plan": "每周两次上门护理 nursing visits", "visits_per_week": 2}
        await complete(ts_env, engine, sickbed.task_id, "doctor", form)
        done = await wait_for_task(engine, handle.id, SICKBED, status="done")
        assert done.result == form

        for day, skip in ((1, 1), (7, 6), (30, 23)):
            await ts_env.sleep(timedelta(days=skip, minutes=5))
            visit = await wait_for_task(engine, handle.id, f"follow_up.d{day}")
            if day == 1:
                status = await handle.query("status")
                assert status["results"][SICKBED] == form
            await complete(
                ts_env, engine, visit.task_id, "doctor", {"visited": True, "condition": "stable"}
            )
        result = GreenChannelResult.model_validate(await result_of(ts_env, handle))
        # The family-doctor notice got the elder from the extension-point data.
        (notice,) = await activity_inputs(ts_env.client, handle.id, NOTIFY_FAMILY_DOCTOR)
        await record_history(ts_env.client, handle, "xinghualing_green_channel_home_sickbed")

    assert result.outcome == "completed"
    assert result.follow_ups == {"1": "visited", "7": "visited", "30": "visited"}
    assert notice["data"] == {"elder_ref": person.id, "disability_level": person.disability_level}
    assert [kind for _, kind in records_of(engine, handle.id)] == [
        "green_channel_opened",
        "family_doctor_notified",
        "triaged",
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
    assert all(t.status == "done" for t in tasks_of(engine, handle.id))


async def test_unanswered_home_sickbed_escalates_then_expires_and_the_channel_goes_on(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, registry: PluginRegistry
) -> None:
    engine = seeded_engine
    person = elder(engine, disabled=True, district="xinghualing")
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        handle = await start(
            ts_env,
            registry,
            worker.task_queue,
            GREEN_CHANNEL_PROCESS,
            {"elder_ref": person.id},
            district="xinghualing",
        )
        await through_discharge(ts_env, engine, handle.id)
        await wait_for_task(engine, handle.id, SICKBED)

        # Nobody assesses within three days: the district admin gets it.
        await ts_env.sleep(timedelta(days=3, minutes=5))
        escalated = await wait_for_task(engine, handle.id, SICKBED, level=1)
        assert escalated.role == "district_admin" and escalated.overdue
        assert (f"{SICKBED}.escalated.1", "role:district_admin", "task_escalated") in (
            notifications_of(engine, handle.id)
        )
        # Two more days: the final deadline passes, it is recorded expired, follow-ups go on.
        await ts_env.sleep(timedelta(days=2, minutes=5))
        await wait_for_task(engine, handle.id, SICKBED, status="expired")
        visit = await wait_for_task(engine, handle.id, "follow_up.d1")
        status = await handle.query("status")
        assert status["results"][SICKBED] == {"expired": True}
        await complete(
            ts_env, engine, visit.task_id, "doctor", {"visited": True, "condition": "improving"}
        )
        result = GreenChannelResult.model_validate(await result_of(ts_env, handle))
        await record_history(
            ts_env.client, handle, "xinghualing_green_channel_home_sickbed_expired"
        )

    assert result.outcome == "completed"
    assert result.follow_ups == {"1": "visited", "7": "missed", "30": "missed"}
    records = records_of(engine, handle.id)
    assert (f"{SICKBED}.expired", "step_expired") in records
    kinds = [kind for _, kind in records]
    assert (
        kinds.index("discharged") < kinds.index("step_expired") < kinds.index("follow_up_visited")
    )


def test_family_doctor_notice_takes_the_elder_from_data_or_the_case_record(
    seeded_engine: Engine,
) -> None:
    engine = seeded_engine
    person = elder(engine, disabled=True, district="xinghualing")
    acts = XinghualingActivities(engine, OutboxLogAdapter())
    env = ActivityEnvironment()

    # A channel started after the change passes the elder in the extension-point data.
    new_id = f"{GREEN_CHANNEL_PROCESS}-xinghualing-CNEW1"
    step = StepInput(
        workflow_id=new_id,
        step_key="xinghualing.family_doctor_notice",
        context=channel_context("xinghualing", "CNEW1"),
        data={"elder_ref": person.id, "disability_level": person.disability_level},
    )
    env.run(acts.notify_family_doctor, step)

    # One started before it (a running process replaying its old input) has only the record.
    old_id = f"{GREEN_CHANNEL_PROCESS}-xinghualing-COLD1"
    record_opened(engine, old_id, district="xinghualing", case_ref="COLD1", elder_ref=person.id)
    old = step.model_copy(
        update={
            "workflow_id": old_id,
            "context": channel_context("xinghualing", "COLD1"),
            "data": {"disability_level": 2},
        }
    )
    env.run(acts.notify_family_doctor, old)

    with Session(engine) as session:
        for wf_id in (new_id, old_id):
            (notified,) = [
                r
                for r in crud.list_case_records(session, workflow_id=wf_id)
                if r.kind == "family_doctor_notified"
            ]
            assert notified.data["elder_ref"] == person.id


def test_notice_goes_to_the_contracted_doctor_else_to_the_district_doctors(
    seeded_engine: Engine,
) -> None:
    engine = seeded_engine
    person = elder(engine, disabled=True, district="xinghualing")
    with Session(engine) as session:
        doctor = crud.family_doctor_of(session, person_id=person.id)
    assert doctor is not None  # every disabled elder of the demo registry is signed
    acts = XinghualingActivities(engine, OutboxLogAdapter())
    env = ActivityEnvironment()

    def notify(case_ref: str) -> tuple[str, str, dict[str, object]]:
        wf_id = f"{GREEN_CHANNEL_PROCESS}-xinghualing-{case_ref}"
        env.run(
            acts.notify_family_doctor,
            StepInput(
                workflow_id=wf_id,
                step_key="xinghualing.family_doctor_notice",
                context=channel_context("xinghualing", case_ref),
                data={"elder_ref": person.id},
            ),
        )
        with Session(engine) as session:
            (note,) = crud.list_notifications(session, workflow_id=wf_id)
            (record,) = crud.list_case_records(session, workflow_id=wf_id)
            return note.recipient_ref, note.status, record.data

    recipient, status, data = notify("CSIGNED")
    assert (recipient, status) == (f"staff:{doctor}", "sent")
    assert data["contracted"] is True and data["recipient_ref"] == f"staff:{doctor}"

    # The contract ends: the district's doctors hear of the channel instead.
    with Session(engine) as session:
        contract = session.get(FamilyDoctorContract, person.id)
        session.delete(contract)
        session.commit()
    recipient, status, data = notify("CUNSIGNED")
    assert (recipient, status) == ("role:doctor", "sent")
    assert data["contracted"] is False

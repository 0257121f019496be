"""Xinghualing's green channel on the time-skipping server: the family doctor joins triage."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from careflow.db import crud
from careflow.registry import PluginRegistry
from careflow.testing import running_worker
from plugins.childcare import plugin as childcare_plugin
from plugins.eldercare import plugin as eldercare_plugin
from plugins.eldercare.green_channel import GREEN_CHANNEL_PROCESS
from plugins.engine import plugin as engine_plugin
from plugins.xinghualing import plugin as xinghualing_plugin
from tests.plugins.eldercare.green_channel.support import complete, elder, start
from tests.support.inbox import records_of, wait_for_task


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

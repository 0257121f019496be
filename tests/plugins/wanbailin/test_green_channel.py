"""Wanbailin's green channel on the time-skipping server: readings attached before triage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from careflow.db import crud
from careflow.models import StepInput
from careflow.privacy.pseudonyms import default_pseudonyms
from careflow.registry import PluginRegistry
from plugins.childcare import plugin as childcare_plugin
from plugins.eldercare import plugin as eldercare_plugin
from plugins.eldercare.green_channel import GREEN_CHANNEL_PROCESS
from plugins.eldercare.health.tables import HealthReading
from plugins.engine import plugin as engine_plugin
from plugins.wanbailin import plugin as wanbailin_plugin
from plugins.wanbailin.activities import WanbailinActivities
from tests.plugins.eldercare.green_channel.support import (
    channel_context,
    elder,
    record_opened,
    start,
)
from tests.support.inbox import records_of, wait_for_task
from worker.testing import running_worker


@pytest.fixture
def registry() -> PluginRegistry:
    return PluginRegistry.build(
        [engine_plugin, eldercare_plugin, childcare_plugin, wanbailin_plugin]
    )


def _readings(engine: Engine, elder_ref: str, n: int) -> list[int]:
    now = datetime.now(UTC)
    rows = [
        HealthReading(
            workflow_id="eldercare.health_monitor-wanbailin-x",
            step_key=f"reading.{i}",
            elder_ref=elder_ref,
            district="wanbailin",
            device_id="D1",
            measured_at=now - timedelta(hours=n - i),
            systolic=150,
            diastolic=95,
        )
        for i in range(n)
    ]
    with Session(engine) as session:
        session.add_all(rows)
        session.commit()
        return [r.id for r in reversed(rows) if r.id is not None]


async def test_readings_attached_before_triage(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, registry: PluginRegistry
) -> None:
    engine = seeded_engine
    person = elder(engine, disabled=True, district="wanbailin")
    newest_first = _readings(engine, person.id, 7)
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        handle = await start(
            ts_env,
            registry,
            worker.task_queue,
            GREEN_CHANNEL_PROCESS,
            {"elder_ref": person.id, "source": "family_call", "source_ref": "S0001"},
            district="wanbailin",
        )
        await wait_for_task(engine, handle.id, "triage")
        assert [kind for _, kind in records_of(engine, handle.id)] == [
            "green_channel_opened",
            "health_readings_attached",
        ]
        with Session(engine) as session:
            (_, attached) = crud.list_case_records(session, workflow_id=handle.id)
        assert attached.step_key == "wanbailin.triage_readings"
        assert attached.data == {"reading_ids": newest_first[:5], "count": 5}
        await handle.terminate("test done")


async def test_tier_reassessment_tolerates_no_plan(
    ts_env: WorkflowEnvironment, seeded_engine: Engine
) -> None:
    engine = seeded_engine
    person = elder(engine, disabled=True, district="wanbailin")
    wf_id = "eldercare.green_channel-wanbailin-CTEST1"
    ctx = channel_context("wanbailin", "CTEST1")
    record_opened(engine, wf_id, district="wanbailin", case_ref="CTEST1", elder_ref=person.id)
    acts = WanbailinActivities(engine, pseudonyms=default_pseudonyms())
    step = StepInput(workflow_id=wf_id, step_key="wanbailin.tier_reassessment", context=ctx)
    # The activity signals with the worker's client, as a worker gives it.
    env = ActivityEnvironment(client=ts_env.client)
    out = await env.run(acts.request_tier_reassessment, step)
    assert out.data == {"signalled": False, "source_ref": "CTEST1"}
    assert records_of(engine, wf_id)[-1] == ("wanbailin.tier_reassessment", "tiers_not_running")


def test_readings_take_the_elder_from_data_or_the_case_record(seeded_engine: Engine) -> None:
    engine = seeded_engine
    person = elder(engine, disabled=True, district="wanbailin")
    newest_first = _readings(engine, person.id, 3)
    acts = WanbailinActivities(engine, pseudonyms=default_pseudonyms())
    env = ActivityEnvironment()

    # A channel started after the change passes the elder in the extension-point data: no
    # case record needed.
    new = StepInput(
        workflow_id=f"{GREEN_CHANNEL_PROCESS}-wanbailin-CNEW1",
        step_key="wanbailin.triage_readings",
        context=channel_context("wanbailin", "CNEW1"),
        data={"elder_ref": person.id, "disability_level": person.disability_level},
    )
    assert env.run(acts.attach_health_readings, new).data["reading_ids"] == newest_first
    # One started before it has only its ``green_channel_opened`` record.
    old_id = f"{GREEN_CHANNEL_PROCESS}-wanbailin-COLD1"
    record_opened(engine, old_id, district="wanbailin", case_ref="COLD1", elder_ref=person.id)
    old = new.model_copy(
        update={
            "workflow_id": old_id,
            "context": channel_context("wanbailin", "COLD1"),
            "data": {"disability_level": 2},
        }
    )
    assert env.run(acts.attach_health_readings, old).data["reading_ids"] == newest_first
    # Neither: nothing attached, nothing guessed.
    none = new.model_copy(
        update={"workflow_id": f"{GREEN_CHANNEL_PROCESS}-wanbailin-CNONE", "data": {}}
    )
    assert env.run(acts.attach_health_readings, none).data == {"reading_ids": [], "count": 0}

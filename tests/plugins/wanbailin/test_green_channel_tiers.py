"""Wanbailin's green channel on the time-skipping server: discharge asks for a tier reassessment.

The elder's running three-colour care plan (``eldercare.tiers``, same district, same worker)
gets the ``reassess`` signal from the plugin's activity, which connects its own client from
the worker's settings: here they point at the test server.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.db import crud
from careflow.registry import PluginRegistry
from careflow.settings import Settings
from plugins.childcare import plugin as childcare_plugin
from plugins.eldercare import plugin as eldercare_plugin
from plugins.eldercare.green_channel import GREEN_CHANNEL_PROCESS, GreenChannelResult
from plugins.eldercare.tiers import ClosePlanSignal, TiersResult, plan_workflow_ids
from plugins.eldercare.tiers.tables import TierAssessment
from plugins.engine import plugin as engine_plugin
from plugins.wanbailin import plugin as wanbailin_plugin
from plugins.wanbailin.activities import REQUEST_TIER_REASSESSMENT
from tests.conftest import record_history
from tests.plugins.eldercare.green_channel.support import complete, elder, start
from tests.support.cases import case_ref_of
from tests.support.history import activity_inputs
from tests.support.inbox import records_of, result_of, tasks_of, wait_for_task
from worker.testing import running_worker

DISTRICT = "wanbailin"
STEP = "wanbailin.tier_reassessment"


@pytest.fixture
def registry() -> PluginRegistry:
    return PluginRegistry.build(
        [engine_plugin, eldercare_plugin, childcare_plugin, wanbailin_plugin]
    )


async def _through_arrival(env: WorkflowEnvironment, engine: Engine, workflow_id: str) -> None:
    """Answer every green-channel task up to the arrival at hospital, as staff do."""
    answers: list[tuple[str, str, dict[str, Any]]] = [
        ("triage", "doctor", {"level": "urgent"}),
        ("booking.1.response", "hospital", {"accepted": True}),
        ("transport", "grid_worker", {"escort_ref": "S0002", "mode": "community_vehicle"}),
        ("arrival", "hospital", {"arrived": True}),
    ]
    for key, role, data in answers:
        task = await wait_for_task(engine, workflow_id, key)
        await complete(env, engine, task.task_id, role, data)


async def _assessments(engine: Engine, elder_ref: str, count: int) -> list[TierAssessment]:
    """The elder's recorded gradings, once there are ``count`` of them."""
    deadline = time.monotonic() + 15
    while True:
        with Session(engine) as session:
            rows = list(
                session.exec(
                    select(TierAssessment)
                    .where(TierAssessment.elder_ref == elder_ref)
                    .order_by(col(TierAssessment.id))
                ).all()
            )
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.05)


async def test_discharge_asks_the_running_tier_plan_to_reassess(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, registry: PluginRegistry
) -> None:
    engine = seeded_engine
    person = elder(engine, disabled=True, district=DISTRICT)
    # The activity's own client must reach this test server, not the default address.
    settings = Settings(
        temporal_address=ts_env.client.service_client.config.target_host,
        temporal_namespace=ts_env.client.namespace,
    )
    async with running_worker(ts_env.client, registry, engine=engine, settings=settings) as worker:
        tq = worker.task_queue
        started = await service.start_process(
            ts_env.client,
            registry,
            process="eldercare.tiers",
            district=DISTRICT,
            case_ref=person.id,
            request={},
            started_by="staff:S0001",
            task_queue=tq,
        )
        plan = ts_env.client.get_workflow_handle(started.workflow_id)
        assert plan.id == plan_workflow_ids(DISTRICT, person.id)[0]
        facts = {"disability_level": person.disability_level, "lives_alone": person.lives_alone}
        first = await wait_for_task(engine, plan.id, "assess.0")
        await complete(ts_env, engine, first.task_id, "community_staff", facts)
        visit = await wait_for_task(engine, plan.id, "visit.0")
        await complete(ts_env, engine, visit.task_id, visit.role, {"visited": True})
        await wait_for_task(engine, plan.id, "visit.0", status="done")

        channel = await start(
            ts_env,
            registry,
            tq,
            GREEN_CHANNEL_PROCESS,
            {"elder_ref": person.id, "source": "family_call", "source_ref": "S0001"},
            district=DISTRICT,
        )
        case_ref = await case_ref_of(ts_env.client, channel.id)
        await _through_arrival(ts_env, engine, channel.id)
        discharge = await wait_for_task(engine, channel.id, "discharge")
        # In hospital: the tier plan is left alone until the discharge.
        assert "assess.1" not in {t.step_key for t in tasks_of(engine, plan.id)}
        await complete(ts_env, engine, discharge.task_id, "hospital", {"disposition": "home"})

        # The discharge reaches the tier plan: staff get a new assessment to do.
        again = await wait_for_task(engine, plan.id, "assess.1")
        assert again.role == "community_staff" and person.id not in again.title_zh
        assert (await plan.query("status"))["stage"] == "assessing"
        await complete(ts_env, engine, again.task_id, "community_staff", facts)
        graded = await _assessments(engine, person.id, 2)

        result = GreenChannelResult.model_validate(await result_of(ts_env, channel))
        (step_input,) = await activity_inputs(ts_env.client, channel.id, REQUEST_TIER_REASSESSMENT)
        await record_history(ts_env.client, channel, "wanbailin_green_channel_tier_reassessment")
        await plan.signal("close_plan", ClosePlanSignal(reason="withdrawn"))
        closed = TiersResult.model_validate(await result_of(ts_env, plan))
        await record_history(ts_env.client, plan, "wanbailin_tiers_reassessed_after_discharge")

    assert [r.step_key for r in graded] == ["assess.0", "assess.1"]
    assert "asked:discharge" in graded[1].reasons
    assert not [r for r in graded[0].reasons if str(r).startswith("asked:")]
    assert step_input["data"] == {"elder_ref": person.id, "disposition": "home"}
    with Session(engine) as session:
        (requested,) = [
            r for r in crud.list_case_records(session, workflow_id=channel.id) if r.step_key == STEP
        ]
    assert requested.kind == "tier_reassessment_requested"
    assert requested.data == {"signalled": True, "source_ref": case_ref}
    kinds = [kind for _, kind in records_of(engine, channel.id)]
    assert kinds.index("discharged") < kinds.index("tier_reassessment_requested")
    assert result.outcome == "completed"
    assert closed.assessments == 2 and closed.closed_reason == "withdrawn"
    assert {t.step_key for t in tasks_of(engine, plan.id)} >= {"assess.0", "visit.0", "assess.1"}

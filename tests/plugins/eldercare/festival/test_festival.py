"""Festival care 春节送温暖 on the time-skipping test server."""

from __future__ import annotations

from datetime import date

from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.registry import PluginRegistry
from plugins.eldercare import plugin as eldercare_plugin
from plugins.eldercare.festival import FESTIVAL_SCHEDULE, FestivalResult
from plugins.engine import plugin as engine_plugin
from tests.conftest import record_history
from tests.plugins.eldercare.festival.support import (
    delivery_id,
    smallest_community,
    start_as_scheduled,
)
from tests.support.inbox import notifications_of, records_of, result_of, wait_for_task
from worker.testing import running_worker

DISTRICT = "xinghualing"


async def test_gifts_go_to_solitary_and_very_old_elders_in_batches(
    ts_env: WorkflowEnvironment, seeded_engine: Engine
) -> None:
    engine = seeded_engine
    registry = PluginRegistry.build(
        [engine_plugin, eldercare_plugin],
        overrides={DISTRICT: {"eldercare.festival": {"batch_size": 2}}},
    )
    community = smallest_community(engine, DISTRICT, date.today(), at_least=3)
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        festival, _, elders = await start_as_scheduled(
            ts_env, engine, registry, worker.task_queue, DISTRICT, community, 2027
        )
        refused = elders[-1]
        for elder in elders:  # in batches of two: the next batch opens after this one ends
            delivery = delivery_id(DISTRICT, 2027, elder)
            dropoff = await wait_for_task(engine, delivery, "dropoff")
            assert dropoff.community == community
            await service.complete_task(
                ts_env.client,
                engine,
                task_id=dropoff.task_id,
                actor="S0003",
                role="community_staff",
                data={"items_match": True},
            )
            handover = await wait_for_task(engine, delivery, "handover")
            assert handover.role == "grid_worker"
            data = (
                {"handed_over": False, "reason": "老人春节去子女家"}
                if elder == refused
                else {"handed_over": True, "receipt_ref": f"R-{elder}"}
            )
            await service.complete_task(
                ts_env.client,
                engine,
                task_id=handover.task_id,
                actor="S0004",
                role="grid_worker",
                data=data,
            )
        result = FestivalResult.model_validate(await result_of(ts_env, festival))
        await record_history(ts_env.client, festival, "eldercare_festival_batches")

    assert result.recipients == len(elders)
    assert result.outcomes == {"delivered": len(elders) - 1, "not_handed_over": 1}
    assert ("report", "festival_report") in records_of(engine, festival.id)
    assert ("report", "role:district_admin", "festival_report") in notifications_of(
        engine, festival.id
    )


def test_the_schedule_runs_before_every_spring_festival() -> None:
    # Spring Festival falls between 21 January and 20 February: 10 January is always before.
    assert FESTIVAL_SCHEDULE.crons == ("0 9 10 1 *",)
    registry = PluginRegistry.build([engine_plugin, eldercare_plugin])
    assert FESTIVAL_SCHEDULE in [s for _, s in registry.schedules()]

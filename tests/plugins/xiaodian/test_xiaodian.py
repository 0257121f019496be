"""Xiaodian 小店区 district plugin: plans, programme and the insurance check before booking."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from careflow.registry import PluginRegistry
from careflow.testing import running_worker
from plugins.childcare import plugin as childcare_plugin
from plugins.eldercare import plugin as eldercare_plugin
from plugins.eldercare.green_channel import GREEN_CHANNEL_PROCESS
from plugins.engine import plugin as engine_plugin
from plugins.xiaodian import plugin as xiaodian_plugin
from tests.plugins.eldercare.green_channel.support import complete, elder, start
from tests.support.inbox import records_of, wait_for_task

DISTRICT = "xiaodian"


def _registry() -> PluginRegistry:
    return PluginRegistry.build(
        [engine_plugin, eldercare_plugin, childcare_plugin, xiaodian_plugin]
    )


def _steps(
    registry: PluginRegistry, process: str, district: str
) -> list[tuple[str, str, str, str]]:
    plan = registry.resolve_plan(process, district)
    return [(s.key, s.plugin, s.plugin_version, s.point) for s in plan.steps]


EXPECTED = {
    "eldercare.green_channel": [
        ("xiaodian.insurance_check", "xiaodian", "1.0.0", "before_booking")
    ],
    "eldercare.tiers": [("xiaodian.anti_fraud_talk", "xiaodian", "1.0.0", "after_visit")],
    "childcare.places": [("xiaodian.child_safety_law", "xiaodian", "1.0.0", "before_enrolment")],
    "eldercare.festival": [("xiaodian.couplet_session", "xiaodian", "1.0.0", "after_listing")],
}


def test_plans_carry_xiaodian_steps_only_in_xiaodian() -> None:
    registry = _registry()
    for process, expected in EXPECTED.items():
        assert _steps(registry, process, DISTRICT) == expected
        for other in ("yingze", "xinghualing", "wanbailin"):
            assert not any(
                key.startswith("xiaodian.") for key, *_ in _steps(registry, process, other)
            )


def test_lawyer_tasks_and_festival_params() -> None:
    registry = _registry()
    for process in ("eldercare.tiers", "childcare.places"):
        task = registry.resolve_plan(process, DISTRICT).steps[0].task
        assert task is not None and task.role == "lawyer"
    assert registry.params_for("eldercare.festival", DISTRICT)["include_lives_alone"] is True


async def test_insurance_check_runs_before_the_hospital_booking(
    ts_env: WorkflowEnvironment, seeded_engine: Engine
) -> None:
    engine = seeded_engine
    registry = _registry()
    person = elder(engine, disabled=True, district=DISTRICT)
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        handle = await start(
            ts_env,
            registry,
            worker.task_queue,
            GREEN_CHANNEL_PROCESS,
            {"elder_ref": person.id, "source": "family_call", "source_ref": "S0001"},
            district=DISTRICT,
        )
        triage = await wait_for_task(engine, handle.id, "triage")
        await complete(
            ts_env,
            engine,
            triage.task_id,
            "doctor",
            {"level": "critical", "ambulance_120_called": True},
        )
        await wait_for_task(engine, handle.id, "booking.1.response")
        status = await handle.query("status")
        await handle.terminate("test done")

    kinds = [kind for _, kind in records_of(engine, handle.id)]
    assert "xiaodian_insurance_check" in kinds
    assert ("xiaodian.insurance_check", "xiaodian_insurance_check") in records_of(engine, handle.id)
    check = status["results"]["xiaodian.insurance_check"]
    assert check["insured"] is True and check["scheme"] in {"employee", "resident"}

"""Yingze 迎泽区 district plugin: plans, programme and the free-clinic invitation run."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.db.tables import Person
from careflow.registry import PluginRegistry
from careflow.testing import running_worker
from plugins.childcare import plugin as childcare_plugin
from plugins.eldercare import plugin as eldercare_plugin
from plugins.engine import plugin as engine_plugin
from plugins.yingze import plugin as yingze_plugin
from tests.support.inbox import notifications_of, records_of, result_of, wait_for_task

DISTRICT = "yingze"


def _registry() -> PluginRegistry:
    return PluginRegistry.build([engine_plugin, eldercare_plugin, childcare_plugin, yingze_plugin])


def _steps(
    registry: PluginRegistry, process: str, district: str
) -> list[tuple[str, str, str, str]]:
    plan = registry.resolve_plan(process, district)
    return [(s.key, s.plugin, s.plugin_version, s.point) for s in plan.steps]


def test_plans_carry_yingze_steps_only_in_yingze() -> None:
    registry = _registry()
    assert _steps(registry, "eldercare.pension_visit", DISTRICT) == [
        ("yingze.free_clinic", "yingze", "1.0.0", "after_certification_visit")
    ]
    assert _steps(registry, "eldercare.festival", DISTRICT) == [
        ("yingze.student_volunteers", "yingze", "1.0.0", "after_listing")
    ]
    for other in ("xiaodian", "xinghualing", "wanbailin"):
        assert not any(
            key.startswith("yingze.")
            for process in ("eldercare.pension_visit", "eldercare.festival")
            for key, *_ in _steps(registry, process, other)
        )


def test_programme_enables_pension_and_dining_and_sets_festival_handover() -> None:
    registry = _registry()
    for process in (
        "eldercare.pension",
        "eldercare.pension_visit",
        "childcare.dining_round",
        "childcare.dining_inspection",
        "childcare.dining_enrolment",
    ):
        assert registry.is_enabled(process, DISTRICT)
    assert registry.params_for("eldercare.festival", DISTRICT)["handover_role"] == "volunteer"
    task = registry.resolve_plan("eldercare.festival", DISTRICT).steps[0].task
    assert task is not None and task.role == "community_staff"
    assert task.form_ref.endswith("StudentVolunteerRoster")


def _pensioner(engine: Engine) -> Person:
    with Session(engine) as session:
        found = session.exec(
            select(Person)
            .where(
                Person.kind == "elder",
                col(Person.pensioner),
                col(Person.home_bound),
                col(Person.community_code).startswith(f"{DISTRICT}."),
            )
            .order_by(col(Person.id))
        ).first()
    assert found is not None
    return found


async def test_free_clinic_invitation_follows_the_certification_visit(
    ts_env: WorkflowEnvironment, seeded_engine: Engine
) -> None:
    engine = seeded_engine
    registry = _registry()
    elder = _pensioner(engine)
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        started = await service.start_process(
            ts_env.client,
            registry,
            process="eldercare.pension_visit",
            district=DISTRICT,
            request={"elder_ref": elder.id, "year": 2027},
            started_by="staff:S0001",
            task_queue=worker.task_queue,
        )
        handle = ts_env.client.get_workflow_handle(started.workflow_id)
        task = await wait_for_task(engine, handle.id, "visit.0")
        await service.complete_task(
            ts_env.client,
            engine,
            task_id=task.task_id,
            actor="S0005",
            role="grid_worker",
            data={"found": "at_home", "identity_confirmed": True, "identity_method": "face"},
        )
        await result_of(ts_env, handle)

    records = records_of(engine, handle.id)
    visit = records.index(("visit.0", "certification_visit"))
    invitation = records.index(("yingze.free_clinic.1", "yingze_free_clinic_invitation"))
    assert visit < invitation
    assert (
        "yingze.free_clinic.1",
        "role:doctor",
        "yingze_free_clinic_invitation",
    ) in notifications_of(engine, handle.id)

"""Yingze 迎泽区 district plugin: plans, programme, and every Yingze step run on the
time-skipping server (free-clinic invitation after each certification visit, the
student-volunteer roster before festival deliveries)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.db import crud
from careflow.db.tables import Person
from careflow.models import ProcessContext, StepInput
from careflow.registry import PluginRegistry
from plugins.childcare import plugin as childcare_plugin
from plugins.eldercare import plugin as eldercare_plugin
from plugins.eldercare.festival import FestivalResult
from plugins.eldercare.pension import VisitResult
from plugins.engine import plugin as engine_plugin
from plugins.yingze import plugin as yingze_plugin
from plugins.yingze.activities import YingzeActivities
from tests.conftest import record_history
from tests.plugins.eldercare.festival.support import (
    delivery_id,
    delivery_items,
    hand_over_all,
    no_delivery_started,
    smallest_community,
    start_as_scheduled,
)
from tests.support.inbox import notifications_of, records_of, result_of, wait_for_task
from worker.testing import running_worker

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
        # Door-to-door certification is Yingze's practice: other districts have not switched
        # it on, so they cannot start it at all.
        assert not registry.is_enabled("eldercare.pension_visit", other)
        assert not any(
            key.startswith("yingze.") for key, *_ in _steps(registry, "eldercare.festival", other)
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
    # Elsewhere the grid worker hands the goods over.
    assert registry.params_for("eldercare.festival", "xiaodian")["handover_role"] == "grid_worker"
    task = registry.resolve_plan("eldercare.festival", DISTRICT).steps[0].task
    assert task is not None and task.role == "community_staff"
    assert task.form_ref.endswith("StudentVolunteerRoster")


def _pensioners(engine: Engine, count: int = 1) -> list[str]:
    """Registry ids of home-bound pensioners of the district (ids only: failures print them)."""
    with Session(engine) as session:
        found = session.exec(
            select(Person.id)
            .where(
                Person.kind == "elder",
                col(Person.pensioner),
                col(Person.home_bound),
                col(Person.community_code).startswith(f"{DISTRICT}."),
            )
            .order_by(col(Person.id))
            .limit(count)
        ).all()
    assert len(found) == count
    return list(found)


def _invitations(engine: Engine, workflow_id: str) -> list[dict[str, Any]]:
    """Data of every free-clinic invitation record of a workflow, oldest first."""
    with Session(engine) as session:
        return [
            dict(r.data)
            for r in crud.list_case_records(session, workflow_id=workflow_id)
            if r.kind == "yingze_free_clinic_invitation"
        ]


def _doctor_notices(engine: Engine, workflow_id: str) -> list[tuple[str, dict[str, Any]]]:
    """(step key, params) of every free-clinic notice to the health station's doctor.

    Only notices the adapter delivered count: a row left pending reached nobody.
    """
    with Session(engine) as session:
        return [
            (n.step_key, dict(n.params))
            for n in crud.list_notifications(session, workflow_id=workflow_id)
            if n.recipient_ref == "role:doctor"
            and n.template == "yingze_free_clinic_invitation"
            and (n.status, n.adapter) == ("sent", "outbox-log")
        ]


async def _visit(
    env: WorkflowEnvironment, engine: Engine, workflow_id: str, key: str, data: dict[str, Any]
) -> None:
    task = await wait_for_task(engine, workflow_id, key)
    assert task.role == "grid_worker"
    await service.complete_task(
        env.client, engine, task_id=task.task_id, actor="S0005", role="grid_worker", data=data
    )


_AT_HOME = {"found": "at_home", "identity_confirmed": True, "identity_method": "face"}


async def test_free_clinic_invitation_follows_the_certification_visit(
    ts_env: WorkflowEnvironment, seeded_engine: Engine
) -> None:
    engine = seeded_engine
    registry = _registry()
    [elder] = _pensioners(engine)
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        started = await service.start_process(
            ts_env.client,
            registry,
            process="eldercare.pension_visit",
            district=DISTRICT,
            request={"elder_ref": elder, "year": 2027},
            started_by="staff:S0001",
            task_queue=worker.task_queue,
        )
        handle = ts_env.client.get_workflow_handle(started.workflow_id)
        await _visit(ts_env, engine, handle.id, "visit.0", _AT_HOME)
        result = VisitResult.model_validate(await result_of(ts_env, handle))
        await record_history(ts_env.client, handle, "yingze_pension_visit_certified")

    assert result.outcome == "certified" and result.attempts == 1
    records = records_of(engine, handle.id)
    visit = records.index(("visit.0", "certification_visit"))
    invitation = records.index(("yingze.free_clinic.1", "yingze_free_clinic_invitation"))
    assert visit < invitation < records.index(("confirmed", "certification_confirmed"))
    # A visit started on its own has an opaque case ref: the elder comes from the point's data.
    assert elder not in started.workflow_id
    [invited] = _invitations(engine, handle.id)
    assert invited["elder_ref"] == elder and invited["attempt"] == 1
    assert _doctor_notices(engine, handle.id) == [
        ("yingze.free_clinic.1", {"case_ref": invited["case_ref"], "elder_ref": elder})
    ]


async def test_free_clinic_invites_only_after_the_visit_that_found_the_elder_at_home(
    ts_env: WorkflowEnvironment, seeded_engine: Engine
) -> None:
    """Nobody at home: the visit is made again and the invitation waits for that attempt;
    never at home: no invitation and no notice to the doctor at all."""
    engine = seeded_engine
    registry = _registry()
    second_time, never = _pensioners(engine, 2)
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        handles = {}
        for elder in (second_time, never):
            started = await service.start_process(
                ts_env.client,
                registry,
                process="eldercare.pension_visit",
                district=DISTRICT,
                case_ref=f"{elder}.Y2027",
                request={"elder_ref": elder, "year": 2027},
                started_by="staff:S0001",
                task_queue=worker.task_queue,
            )
            handles[elder] = ts_env.client.get_workflow_handle(started.workflow_id)
        retried, away = handles[second_time], handles[never]

        await _visit(ts_env, engine, retried.id, "visit.0", {"found": "not_reached"})
        # The second visit opens; the first attempt invited nobody.
        await wait_for_task(engine, retried.id, "visit.1")
        assert _invitations(engine, retried.id) == []
        assert _doctor_notices(engine, retried.id) == []
        await _visit(ts_env, engine, retried.id, "visit.1", _AT_HOME)
        retried_result = VisitResult.model_validate(await result_of(ts_env, retried))
        await record_history(ts_env.client, retried, "yingze_pension_visit_at_home_second_time")

        for key in ("visit.0", "visit.1"):
            await _visit(ts_env, engine, away.id, key, {"found": "not_reached"})
        away_result = VisitResult.model_validate(await result_of(ts_env, away))
        away_status = await away.query("status")
        await record_history(ts_env.client, away, "yingze_pension_visit_never_at_home")

    assert retried_result.outcome == "certified" and retried_result.attempts == 2
    # One invitation, for the second attempt: its own record key and one notice.
    assert _invitations(engine, retried.id) == [
        {
            "case_ref": f"{second_time}.Y2027",
            "elder_ref": second_time,
            "with": "health_station",
            "attempt": 2,
        }
    ]
    assert [key for key, _ in _doctor_notices(engine, retried.id)] == ["yingze.free_clinic.2"]
    records = records_of(engine, retried.id)
    assert records.index(("visit.1", "certification_visit")) < records.index(
        ("yingze.free_clinic.2", "yingze_free_clinic_invitation")
    )

    assert away_result.outcome == "not_reached" and away_result.attempts == 2
    assert _invitations(engine, away.id) == [] and _doctor_notices(engine, away.id) == []
    assert away_status["results"]["yingze.free_clinic"] == {
        "invited": False,
        "found": "not_reached",
    }
    assert ("not_reached", "role:community_staff", "pension_not_reached") in notifications_of(
        engine, away.id
    )


def _step_input(case_ref: str, data: dict[str, Any]) -> StepInput:
    return StepInput(
        workflow_id=f"eldercare.pension_visit-{DISTRICT}-{case_ref}",
        step_key="yingze.free_clinic",
        context=ProcessContext(
            process="eldercare.pension_visit",
            module="eldercare",
            district=DISTRICT,
            community="yingze.qiaodong.haozhuang",
            case_ref=case_ref,
            started_by="staff:S0001",
        ),
        data=data,
    )


@pytest.mark.parametrize(
    ("case_ref", "data", "expected"),
    [
        # Started before the point passed the elder: a campaign visit's case ref names it.
        ("P00042.Y2027", {"found": "at_home", "attempt": 1}, "P00042"),
        # Started on its own before the change: nobody to name, the case ref stays.
        ("C2611ABCDEF", {"found": "at_home", "attempt": 1}, None),
        # The point's data comes first.
        ("P00042.Y2027", {"found": "at_home", "attempt": 1, "elder_ref": "P00007"}, "P00007"),
    ],
)
def test_invitation_names_the_elder_for_visits_started_before_elder_ref_was_passed(
    engine: Engine, case_ref: str, data: dict[str, Any], expected: str | None
) -> None:
    step = _step_input(case_ref, data)
    assert YingzeActivities(engine).invite_free_clinic(step).data == {"invited": True}
    [invited] = _invitations(engine, step.workflow_id)
    assert invited["elder_ref"] == expected and invited["case_ref"] == case_ref
    assert _doctor_notices(engine, step.workflow_id) == [
        ("yingze.free_clinic.1", {"case_ref": case_ref, "elder_ref": expected})
    ]


async def test_deliveries_wait_for_the_student_volunteer_roster_and_go_to_volunteers(
    ts_env: WorkflowEnvironment, seeded_engine: Engine
) -> None:
    engine = seeded_engine
    registry = _registry()
    community = smallest_community(engine, DISTRICT, date.today())
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        festival, _, elders = await start_as_scheduled(
            ts_env, engine, registry, worker.task_queue, DISTRICT, community, 2027
        )

        roster = await wait_for_task(engine, festival.id, "yingze.student_volunteers")
        assert roster.role == "community_staff"
        assert roster.form_ref.endswith(":StudentVolunteerRoster")
        assert roster.title_zh == "登记返乡大学生志愿者"
        # A day later the roster is still open and no delivery has started.
        await ts_env.sleep(timedelta(days=1))
        assert (await festival.query("status"))["stage"] == "listing"
        await no_delivery_started(ts_env.client, DISTRICT, 2027, elders)
        roster_form = {"volunteers": 12, "universities": ["山西大学"], "briefing_held": True}
        await service.complete_task(
            ts_env.client,
            engine,
            task_id=roster.task_id,
            actor="S0003",
            role="community_staff",
            data=roster_form,
        )
        # Deliveries open now, the hand-overs for volunteers (Yingze's festival param).
        await hand_over_all(ts_env, engine, DISTRICT, 2027, elders, role="volunteer")
        result = FestivalResult.model_validate(await result_of(ts_env, festival))
        status = await festival.query("status")
        items = [
            await delivery_items(ts_env.client, delivery_id(DISTRICT, 2027, e)) for e in elders
        ]
        await record_history(ts_env.client, festival, "yingze_festival_student_volunteers")

    assert result.recipients == len(elders) >= 2
    assert result.outcomes == {"delivered": len(elders)}
    assert status["results"]["yingze.student_volunteers"]["volunteers"] == 12
    # Yingze sets no festival items: every elder gets the city's couplets and gift.
    assert all([i["category"] for i in each] == ["couplets", "festival_gift"] for each in items)

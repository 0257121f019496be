"""Xiaodian 小店区 district plugin: plans, programme, and every Xiaodian step run on the
time-skipping server (insurance check before booking, anti-fraud talk after a tier visit,
child-safety law session before enrolment, couplet session and couplet items in festival)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.db import crud
from careflow.errors import InputError
from careflow.models import ProcessContext, StepInput
from careflow.registry import PluginRegistry
from plugins.childcare import plugin as childcare_plugin
from plugins.childcare.places import PlacesResult
from plugins.childcare.places.tables import PlacesApplication
from plugins.eldercare import plugin as eldercare_plugin
from plugins.eldercare.festival import FestivalResult
from plugins.eldercare.green_channel import GREEN_CHANNEL_PROCESS
from plugins.eldercare.tiers import ClosePlanSignal, TiersResult
from plugins.engine import plugin as engine_plugin
from plugins.xiaodian import plugin as xiaodian_plugin
from plugins.xiaodian.activities import XiaodianActivities
from plugins.xiaodian.adapters import EmbeddedMedicalInsurance
from tests.conftest import record_history
from tests.plugins.childcare.places.support import apply, toddlers
from tests.plugins.eldercare.festival.support import (
    delivery_id,
    delivery_items,
    hand_over_all,
    no_delivery_started,
    smallest_community,
    start_as_scheduled,
)
from tests.plugins.eldercare.green_channel.support import complete, elder, record_opened, start
from tests.plugins.eldercare.tiers.support import young_elders
from tests.support.inbox import records_of, result_of, tasks_of, wait_for_task
from worker.testing import running_worker

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
        ("xiaodian.insurance_check", "xiaodian", "1.1.0", "before_booking")
    ],
    "eldercare.tiers": [("xiaodian.anti_fraud_talk", "xiaodian", "1.1.0", "after_visit")],
    "childcare.places": [("xiaodian.child_safety_law", "xiaodian", "1.1.0", "before_enrolment")],
    "eldercare.festival": [("xiaodian.couplet_session", "xiaodian", "1.1.0", "after_listing")],
}


def test_plans_carry_xiaodian_steps_only_in_xiaodian() -> None:
    registry = _registry()
    for process, expected in EXPECTED.items():
        assert _steps(registry, process, DISTRICT) == expected
        for other in ("yingze", "xinghualing", "wanbailin"):
            if not registry.is_enabled(process, other):
                continue  # tiered care: a practice this registry switches on in Xiaodian only
            assert not any(
                key.startswith("xiaodian.") for key, *_ in _steps(registry, process, other)
            )
    assert registry.is_enabled("eldercare.tiers", DISTRICT)


def test_lawyer_tasks_and_festival_params() -> None:
    registry = _registry()
    for process in ("eldercare.tiers", "childcare.places"):
        task = registry.resolve_plan(process, DISTRICT).steps[0].task
        assert task is not None and task.role == "lawyer"
    festival = registry.params_for("eldercare.festival", DISTRICT)
    assert festival["include_lives_alone"] is True
    assert [i["description_zh"] for i in festival["items"]] == ["春联（老少同写）", "福字"]
    # Other districts keep the city's default goods.
    assert registry.params_for("eldercare.festival", "yingze")["items"] is None


def test_a_district_file_may_not_empty_the_festival_items() -> None:
    with pytest.raises(InputError, match=r'\[district\.xiaodian\."eldercare\.festival"\]: items'):
        PluginRegistry.build(
            [engine_plugin, eldercare_plugin, childcare_plugin, xiaodian_plugin],
            overrides={DISTRICT: {"eldercare.festival": {"items": []}}},
        )


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
        await record_history(ts_env.client, handle, "xiaodian_green_channel_insurance_check")

    kinds = [kind for _, kind in records_of(engine, handle.id)]
    assert "xiaodian_insurance_check" in kinds
    assert ("xiaodian.insurance_check", "xiaodian_insurance_check") in records_of(engine, handle.id)
    check = status["results"]["xiaodian.insurance_check"]
    assert check["insured"] is True and check["scheme"] in {"employee", "resident"}


def _check_input(workflow_id: str, data: dict[str, Any]) -> StepInput:
    return StepInput(
        workflow_id=workflow_id,
        step_key="xiaodian.insurance_check",
        context=ProcessContext(
            process=GREEN_CHANNEL_PROCESS,
            module="eldercare",
            district=DISTRICT,
            community="xiaodian.wucheng.xuefu",
            case_ref="C2611ABCDEF",
            started_by="staff:S0001",
        ),
        data=data,
    )


def _not_insured_notices(engine: Engine, workflow_id: str) -> list[dict[str, Any]]:
    """Params of the not-insured notices the adapter delivered (a pending row reached nobody)."""
    with Session(engine) as session:
        return [
            dict(n.params)
            for n in crud.list_notifications(session, workflow_id=workflow_id)
            if n.template == "xiaodian_not_insured"
            and (n.status, n.adapter) == ("sent", "outbox-log")
        ]


def test_insurance_check_takes_the_elder_from_the_point_then_from_the_case_record(
    seeded_engine: Engine,
) -> None:
    """``elder_ref`` in the point's data comes first; cases started before it was passed
    still find their elder in the ``green_channel_opened`` record."""
    engine = seeded_engine
    activities = XiaodianActivities(engine, EmbeddedMedicalInsurance(engine))
    registered = elder(engine, disabled=True, district=DISTRICT).id
    for wf_id in ("gc-new", "gc-old"):
        record_opened(
            engine, wf_id, district=DISTRICT, case_ref="C2611ABCDEF", elder_ref=registered
        )

    # An id the bureau does not know, passed by the point, wins over the case record.
    passed = activities.check_medical_insurance(
        _check_input("gc-new", {"elder_ref": "P99999", "level": "urgent"})
    )
    assert passed.data["insured"] is False
    assert _not_insured_notices(engine, "gc-new") == [{"elder_ref": "P99999"}]
    # No elder in the data (a case started before the change): the case record's elder.
    old = activities.check_medical_insurance(_check_input("gc-old", {"level": "urgent"}))
    assert old.data["insured"] is True and _not_insured_notices(engine, "gc-old") == []


async def _complete_as(
    env: WorkflowEnvironment, engine: Engine, task_id: str, role: str, data: dict[str, Any]
) -> None:
    await service.complete_task(
        env.client, engine, task_id=task_id, actor="S0002", role=role, data=data
    )


def _open_steps(engine: Engine, workflow_id: str, prefix: str) -> list[str]:
    return [
        t.step_key
        for t in tasks_of(engine, workflow_id)
        if t.step_key.startswith(prefix) and t.status == "open"
    ]


async def test_lawyer_anti_fraud_talk_follows_each_tier_home_visit(
    ts_env: WorkflowEnvironment, seeded_engine: Engine
) -> None:
    engine = seeded_engine
    registry = _registry()
    [elder_ref] = young_elders(engine, DISTRICT, 1)
    talk_form = {"held": True, "topics": ["保健品", "冒充公检法"], "suspected_fraud": True}
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        started = await service.start_process(
            ts_env.client,
            registry,
            process="eldercare.tiers",
            district=DISTRICT,
            case_ref=elder_ref,
            request={},
            started_by="staff:S0001",
            task_queue=worker.task_queue,
        )
        handle = ts_env.client.get_workflow_handle(started.workflow_id)
        assess = await wait_for_task(engine, handle.id, "assess.0")
        # Lives alone: yellow, a grid worker's home visit every 14 days.
        await _complete_as(
            ts_env,
            engine,
            assess.task_id,
            "community_staff",
            {"disability_level": 0, "lives_alone": True},
        )
        visit = await wait_for_task(engine, handle.id, "visit.0")
        assert _open_steps(engine, handle.id, "xiaodian.") == []
        await _complete_as(ts_env, engine, visit.task_id, "grid_worker", {"visited": True})

        talk = await wait_for_task(engine, handle.id, "xiaodian.anti_fraud_talk.0")
        assert talk.role == "lawyer" and talk.title_zh == "入户防诈骗普法"
        assert talk.form_ref.endswith(":AntiFraudTalkForm")
        assert ("visit.0", "home_visit") in records_of(engine, handle.id)
        # Only the lawyer (or whoever it escalated to) may record the talk.
        with pytest.raises(InputError) as refused:
            await _complete_as(ts_env, engine, talk.task_id, "grid_worker", talk_form)
        assert refused.value.field == "role"
        await _complete_as(ts_env, engine, talk.task_id, "lawyer", talk_form)

        # A visit that did not happen (nobody home) brings no lawyer to the door.
        await ts_env.sleep(timedelta(days=14, minutes=1))
        visit = await wait_for_task(engine, handle.id, "visit.1")
        await _complete_as(
            ts_env, engine, visit.task_id, "grid_worker", {"visited": False, "reason": "不在家"}
        )
        # The next visit, 14 days on, is made and followed by a talk of its own.
        await ts_env.sleep(timedelta(days=14, minutes=1))
        visit = await wait_for_task(engine, handle.id, "visit.2")
        assert _open_steps(engine, handle.id, "xiaodian.") == []
        assert ("visit.1", "visit_not_made") in records_of(engine, handle.id)
        await _complete_as(ts_env, engine, visit.task_id, "grid_worker", {"visited": True})
        talk = await wait_for_task(engine, handle.id, "xiaodian.anti_fraud_talk.2")
        await _complete_as(ts_env, engine, talk.task_id, "lawyer", {"held": True})
        await wait_for_task(engine, handle.id, "xiaodian.anti_fraud_talk.2", status="done")
        status = await handle.query("status")

        await handle.signal("close_plan", ClosePlanSignal(reason="moved"))
        result = TiersResult.model_validate(await result_of(ts_env, handle))
        await record_history(ts_env.client, handle, "xiaodian_tiers_anti_fraud_talk")

    assert result.cycles == 3 and result.closed_reason == "moved"
    assert status["results"]["tier"] == "yellow"
    assert status["results"]["xiaodian.anti_fraud_talk.0"]["suspected_fraud"] is True
    assert "xiaodian.anti_fraud_talk.1" not in status["results"]
    assert status["results"]["xiaodian.anti_fraud_talk.2"]["held"] is True


def _application_status(engine: Engine, workflow_id: str) -> str | None:
    with Session(engine) as session:
        row = session.get(PlacesApplication, workflow_id)
        return row.status if row else None


async def test_enrolment_waits_for_the_lawyers_child_safety_session(
    ts_env: WorkflowEnvironment, seeded_engine: Engine
) -> None:
    engine = seeded_engine
    registry = _registry()
    [child] = await toddlers(ts_env, engine, DISTRICT, 1)
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        handle = await apply(ts_env, registry, worker.task_queue, DISTRICT, child)
        offer = await wait_for_task(engine, handle.id, "offer.1")
        assert _open_steps(engine, handle.id, "xiaodian.") == []
        await _complete_as(ts_env, engine, offer.task_id, "community_staff", {"accept": True})

        law = await wait_for_task(engine, handle.id, "xiaodian.child_safety_law")
        assert law.role == "lawyer" and law.title_zh == "儿童安全普法讲座"
        assert law.form_ref.endswith(":ChildSafetyLawForm")
        # Two days on, with the session not yet held, the child is not enrolled.
        await ts_env.sleep(timedelta(days=2))
        assert ("enrolment", "places_enrolled") not in records_of(engine, handle.id)
        assert _application_status(engine, handle.id) != "enrolled"
        await _complete_as(
            ts_env,
            engine,
            law.task_id,
            "lawyer",
            {"held": True, "guardians_attended": 2, "topics": ["防拐", "家庭安全"]},
        )
        result = PlacesResult.model_validate(await result_of(ts_env, handle))
        status = await handle.query("status")
        await record_history(ts_env.client, handle, "xiaodian_places_child_safety_law")

    assert result.outcome == "enrolled" and result.provider_ref is not None
    assert _application_status(engine, handle.id) == "enrolled"
    assert ("enrolment", "places_enrolled") in records_of(engine, handle.id)
    assert status["results"]["xiaodian.child_safety_law"]["guardians_attended"] == 2


async def test_festival_delivers_couplets_after_the_couplet_session(
    ts_env: WorkflowEnvironment, seeded_engine: Engine
) -> None:
    engine = seeded_engine
    registry = _registry()
    community = smallest_community(engine, DISTRICT, date.today())
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        festival, start_day, elders = await start_as_scheduled(
            ts_env, engine, registry, worker.task_queue, DISTRICT, community, 2027
        )

        couplets = await wait_for_task(engine, festival.id, "xiaodian.couplet_session")
        assert couplets.role == "community_staff"
        assert couplets.title_zh == "老少同写春联活动登记"
        assert couplets.form_ref.endswith(":CoupletSessionForm")
        # Two days on, the couplets are still being written: no delivery has started.
        await ts_env.sleep(timedelta(days=2))
        assert (await festival.query("status"))["stage"] == "listing"
        await no_delivery_started(ts_env.client, DISTRICT, 2027, elders)
        await _complete_as(
            ts_env,
            engine,
            couplets.task_id,
            "community_staff",
            {"held_on": start_day.isoformat(), "elders": 15, "children": 20, "couplets": 40},
        )
        await hand_over_all(ts_env, engine, DISTRICT, 2027, elders, role="grid_worker")
        result = FestivalResult.model_validate(await result_of(ts_env, festival))
        status = await festival.query("status")
        items = [
            await delivery_items(ts_env.client, delivery_id(DISTRICT, 2027, e)) for e in elders
        ]
        await record_history(ts_env.client, festival, "xiaodian_festival_couplets")

    assert result.recipients == len(elders) >= 2
    assert result.outcomes == {"delivered": len(elders)}
    assert status["results"]["xiaodian.couplet_session"]["couplets"] == 40
    # Every elder receives what old and young wrote: Xiaodian's items, not the city's gift.
    for each in items:
        assert [(i["category"], i["description_zh"]) for i in each] == [
            ("couplets", "春联（老少同写）"),
            ("fu_character", "福字"),
        ]

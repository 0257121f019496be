"""Door-to-door pension certification 上门养老认证 on the time-skipping test server."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.db.tables import Person
from careflow.registry import PluginRegistry
from plugins.eldercare import plugin as eldercare_plugin
from plugins.eldercare.pension import PENSION_SCHEDULE, CampaignResult, VisitResult
from plugins.eldercare.pension.tables import PensionSubmission
from plugins.engine import plugin as engine_plugin
from tests.conftest import record_history
from tests.support.cases import keyed_id
from tests.support.inbox import notifications_of, records_of, result_of, wait_for_task
from tests.support.programmes import switched_on
from worker.testing import running_worker

DISTRICT = "yingze"


def _registry() -> PluginRegistry:
    return PluginRegistry.build(
        [
            engine_plugin,
            eldercare_plugin,
            switched_on(DISTRICT, "eldercare.pension", "eldercare.pension_visit"),
        ]
    )


def _community_with_few_pensioners(engine: Engine) -> tuple[str, list[str]]:
    with Session(engine) as session:
        rows = session.exec(
            select(Person.id, Person.community_code)
            .where(
                Person.kind == "elder",
                col(Person.pensioner),
                col(Person.home_bound),
                col(Person.community_code).startswith(f"{DISTRICT}."),
            )
            .order_by(col(Person.id))
        ).all()
    by_community: dict[str, list[str]] = {}
    for ref, community in rows:
        by_community.setdefault(community, []).append(ref)
    community, elders = min(
        ((c, e) for c, e in by_community.items() if len(e) >= 3), key=lambda ce: len(ce[1])
    )
    return community, elders


async def _complete(
    env: WorkflowEnvironment, engine: Engine, task_id: str, role: str, data: dict[str, Any]
) -> None:
    await service.complete_task(
        env.client, engine, task_id=task_id, actor="S0005", role=role, data=data
    )


def _visit_id(elder: str, year: int) -> str:
    return keyed_id("eldercare.pension_visit", DISTRICT, f"{elder}.Y{year}")


async def test_campaign_certifies_reports_deceased_and_escalates_missed_visits(
    ts_env: WorkflowEnvironment, seeded_engine: Engine
) -> None:
    engine = seeded_engine
    registry = _registry()
    community, elders = _community_with_few_pensioners(engine)
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        started = await service.start_process(
            ts_env.client,
            registry,
            process="eldercare.pension",
            district=DISTRICT,
            request={"year": 2027, "communities": [community]},
            started_by="schedule:eldercare.pension.yearly",
            task_queue=worker.task_queue,
        )
        campaign = ts_env.client.get_workflow_handle(started.workflow_id)
        certified, deceased, *missed = elders
        task = await wait_for_task(engine, _visit_id(certified, 2027), "visit.0")
        assert task.role == "grid_worker" and task.community == community
        await _complete(
            ts_env,
            engine,
            task.task_id,
            "grid_worker",
            {"found": "at_home", "identity_confirmed": True, "identity_method": "face"},
        )
        task = await wait_for_task(engine, _visit_id(deceased, 2027), "visit.0")
        await _complete(ts_env, engine, task.task_id, "grid_worker", {"found": "deceased"})
        for elder in missed:
            await wait_for_task(engine, _visit_id(elder, 2027), "visit.0")
        # Nobody visits the others: staff after 21 days, the district after 28, missed at 31.
        await ts_env.sleep(timedelta(days=21, minutes=1))
        for elder in missed:
            await wait_for_task(engine, _visit_id(elder, 2027), "visit.0", level=1)
        result = CampaignResult.model_validate(await result_of(ts_env, campaign))
        await record_history(ts_env.client, campaign, "eldercare_pension_campaign")
        visit = ts_env.client.get_workflow_handle(_visit_id(certified, 2027))
        await record_history(ts_env.client, visit, "eldercare_pension_visit_certified")

    assert result.elders == len(elders)
    assert result.outcomes == dict(
        sorted(Counter({"certified": 1, "deceased": 1, "missed": len(missed)}).items())
    )
    with Session(engine) as session:
        [submission] = session.exec(select(PensionSubmission)).all()
    assert submission.elder_ref == certified and submission.year == 2027
    assert ("confirmed", "certification_confirmed") in records_of(
        engine, _visit_id(certified, 2027)
    )
    dead = _visit_id(deceased, 2027)
    assert ("deceased", "role:district_admin", "pension_elder_deceased") in notifications_of(
        engine, dead
    )
    late = _visit_id(missed[0], 2027)
    notes = notifications_of(engine, late)
    assert ("visit.0.escalated.1", "role:community_staff", "task_escalated") in notes
    assert ("visit.0.escalated.2", "role:district_admin", "task_escalated") in notes
    assert ("visit.0.missed", "role:district_admin", "pension_visit_missed") in notes
    assert ("report", "role:district_admin", "pension_campaign_report") in notifications_of(
        engine, campaign.id
    )


async def test_visit_not_reached_twice_and_identity_not_confirmed(
    ts_env: WorkflowEnvironment, seeded_engine: Engine
) -> None:
    engine = seeded_engine
    registry = _registry()
    _, elders = _community_with_few_pensioners(engine)
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        handles = []
        for elder in elders[:2]:
            started = await service.start_process(
                ts_env.client,
                registry,
                process="eldercare.pension_visit",
                district=DISTRICT,
                case_ref=f"{elder}.Y2028",
                request={"elder_ref": elder, "year": 2028},
                started_by="staff:S0001",
                task_queue=worker.task_queue,
            )
            handles.append(ts_env.client.get_workflow_handle(started.workflow_id))
        away, unsure = handles
        for key in ("visit.0", "visit.1"):
            task = await wait_for_task(engine, away.id, key)
            await _complete(ts_env, engine, task.task_id, "grid_worker", {"found": "not_reached"})
        task = await wait_for_task(engine, unsure.id, "visit.0")
        await _complete(
            ts_env,
            engine,
            task.task_id,
            "grid_worker",
            {"found": "at_home", "identity_confirmed": False, "reason": "证件过期"},
        )
        away_result = VisitResult.model_validate(await result_of(ts_env, away))
        unsure_result = VisitResult.model_validate(await result_of(ts_env, unsure))
        await record_history(ts_env.client, away, "eldercare_pension_visit_not_reached")
    assert away_result.outcome == "not_reached" and away_result.attempts == 2
    assert unsure_result.outcome == "identity_not_confirmed"
    assert ("not_reached", "role:community_staff", "pension_not_reached") in notifications_of(
        engine, away.id
    )


def test_yearly_schedule_is_declared_for_the_campaign() -> None:
    registry = _registry()
    schedules = {s.id: s for _, s in registry.schedules()}
    assert schedules["eldercare.pension.yearly"] is PENSION_SCHEDULE
    assert PENSION_SCHEDULE.crons == ("0 9 1 3 *",)

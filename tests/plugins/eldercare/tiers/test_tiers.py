"""Three-colour tiered care 三色分级 on the time-skipping test server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.db.tables import Notification, Pairing
from careflow.registry import PluginRegistry
from plugins.eldercare import plugin as eldercare_plugin
from plugins.eldercare.tiers import (
    ClosePlanSignal,
    ReassessSignal,
    Tier,
    TierRules,
    TiersResult,
    plan_workflow_ids,
)
from plugins.eldercare.tiers.rules import GradeFacts, grade
from plugins.eldercare.tiers.tables import TierAssessment, TierCarePlan
from plugins.engine import plugin as engine_plugin
from tests.conftest import record_history
from tests.plugins.eldercare.tiers.support import young_elders
from tests.support.inbox import notifications_of, records_of, result_of, tasks_of, wait_for_task
from tests.support.programmes import switched_on
from worker.testing import running_worker

DISTRICT = "wanbailin"


def _registry(**params: Any) -> PluginRegistry:
    overrides: Mapping[str, Mapping[str, Mapping[str, Any]]] = (
        {DISTRICT: {"eldercare.tiers": params}} if params else {}
    )
    # Health alerts of the same district ask the plan to reassess.
    enabled = switched_on(
        DISTRICT, "eldercare.tiers", "eldercare.health_monitor", "eldercare.health_alert"
    )
    return PluginRegistry.build([engine_plugin, eldercare_plugin, enabled], overrides=overrides)


async def _start(env: WorkflowEnvironment, registry: PluginRegistry, queue: str, elder: str) -> Any:
    started = await service.start_process(
        env.client,
        registry,
        process="eldercare.tiers",
        district=DISTRICT,
        case_ref=elder,
        request={},
        started_by="staff:S0001",
        task_queue=queue,
    )
    assert started.workflow_id == plan_workflow_ids(DISTRICT, elder)[0]
    assert elder not in started.workflow_id
    return env.client.get_workflow_handle(started.workflow_id)


async def _complete(
    env: WorkflowEnvironment, engine: Engine, task_id: str, role: str, data: dict[str, Any]
) -> None:
    await service.complete_task(
        env.client, engine, task_id=task_id, actor="S0002", role=role, data=data
    )


async def _assess(
    env: WorkflowEnvironment, engine: Engine, wf_id: str, n: int, **form: Any
) -> None:
    task = await wait_for_task(engine, wf_id, f"assess.{n}")
    data = {"disability_level": 0, "lives_alone": False, **form}
    await _complete(env, engine, task.task_id, "community_staff", data)


def _care_plan(engine: Engine, elder: str) -> TierCarePlan:
    with Session(engine) as session:
        plan = session.get(TierCarePlan, elder)
        assert plan is not None
        return plan


def _pairings(engine: Engine, elder: str) -> list[tuple[str, bool]]:
    with Session(engine) as session:
        rows = session.exec(
            select(Pairing).where(Pairing.elder_id == elder).order_by(col(Pairing.id))
        ).all()
        return [(p.kind, p.active) for p in rows]


async def _close(env: WorkflowEnvironment, handle: WorkflowHandle[Any, Any]) -> TiersResult:
    await handle.signal("close_plan", ClosePlanSignal(reason="moved"))
    return TiersResult.model_validate(await result_of(env, handle))


def test_rules_grade_green_yellow_and_red() -> None:
    rules = TierRules()
    assert grade(GradeFacts(70, 0, False, 0), rules).tier is Tier.GREEN
    assert grade(GradeFacts(82, 0, False, 0), rules).reasons == ("age",)
    assert grade(GradeFacts(70, 0, True, 0), rules).tier is Tier.YELLOW
    assert grade(GradeFacts(70, 1, False, 0), rules).tier is Tier.YELLOW
    assert grade(GradeFacts(70, 0, False, 1), rules).tier is Tier.YELLOW
    assert grade(GradeFacts(70, 3, False, 0), rules).reasons == ("disability",)
    assert grade(GradeFacts(81, 0, True, 0), rules).reasons == ("lives_alone_old",)
    assert grade(GradeFacts(91, 0, False, 2), rules).reasons == ("age", "health_events")
    strict = TierRules(yellow_if_lives_alone=False, red_age=85)
    assert grade(GradeFacts(70, 0, True, 0), strict).tier is Tier.GREEN
    assert grade(GradeFacts(86, 0, False, 0), strict).tier is Tier.RED


async def test_green_plan_invites_for_years_and_stays_small(
    ts_env: WorkflowEnvironment, seeded_engine: Engine
) -> None:
    """Continue-as-new: two years of monthly invitations, none lost or sent twice."""
    engine = seeded_engine
    registry = _registry(max_history=40)
    [elder] = young_elders(engine, DISTRICT, 1)
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        handle = await _start(ts_env, registry, worker.task_queue, elder)
        await _assess(ts_env, engine, handle.id, 0)
        # Let the server skip month after month; the six-monthly reassessments nobody does
        # expire and grade from the registry, which keeps this elder green.
        deadline = time.monotonic() + 60
        async with ts_env.time_skipping_unlocked():  # type: ignore[attr-defined]
            while len(_invites(engine, handle.id)) < 24:
                assert time.monotonic() < deadline, "invitations stopped"
                await asyncio.sleep(0.1)
        result = await _close(ts_env, handle)
        last_run = await handle.fetch_history()
        await record_history(ts_env.client, handle, "eldercare_tiers_green_continued_as_new")

    invites = _invites(engine, handle.id)
    cycles = result.cycles
    assert invites == [f"invite.{n}" for n in range(cycles)] and cycles >= 24
    assert result.tier is Tier.GREEN and result.runs >= 4 and result.assessments >= 4
    # Under the limit plus one step (an expired reassessment is the largest) and the close.
    assert len(last_run.events) < 40 + 80
    with Session(engine) as session:
        sources = session.exec(
            select(TierAssessment.source)
            .where(TierAssessment.elder_ref == elder)
            .order_by(col(TierAssessment.id))
        ).all()
    assert sources[0] == "form" and set(sources[1:]) == {"registry"}
    assert _care_plan(engine, elder).active is False


def _invites(engine: Engine, wf_id: str) -> list[str]:
    with Session(engine) as session:
        rows = session.exec(
            select(Notification)
            .where(
                Notification.workflow_id == wf_id, Notification.template == "tiers_event_invitation"
            )
            .order_by(col(Notification.id))
        ).all()
        return [n.step_key for n in rows]


async def test_yellow_visits_continue_as_new_without_losing_or_doubling_a_visit(
    ts_env: WorkflowEnvironment, seeded_engine: Engine
) -> None:
    engine = seeded_engine
    registry = _registry(max_history=40)
    [elder] = young_elders(engine, DISTRICT, 1, offset=1)
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        handle = await _start(ts_env, registry, worker.task_queue, elder)
        await _assess(ts_env, engine, handle.id, 0, lives_alone=True)
        for n in range(6):
            visit = await wait_for_task(engine, handle.id, f"visit.{n}")
            assert visit.role == "grid_worker"
            await _complete(ts_env, engine, visit.task_id, "grid_worker", {"visited": True})
            await ts_env.sleep(timedelta(days=14, minutes=1))
        await wait_for_task(engine, handle.id, "visit.6")
        status = await handle.query("status")
        assert status["results"]["tier"] == "yellow"
        last_run = await handle.fetch_history()
        visit = await wait_for_task(engine, handle.id, "visit.6")
        await _complete(ts_env, engine, visit.task_id, "grid_worker", {"visited": True})
        result = await _close(ts_env, handle)
        await record_history(ts_env.client, handle, "eldercare_tiers_yellow_visits")

    assert result.runs >= 3 and result.cycles == 7
    assert len(last_run.events) < 40 + 40
    visits = [r for r in records_of(engine, handle.id) if r[1] == "home_visit"]
    assert visits == [(f"visit.{n}", "home_visit") for n in range(7)]
    assert sorted(t.step_key for t in tasks_of(engine, handle.id)) == [
        "assess.0",
        *(f"visit.{n}" for n in range(7)),
    ]
    assert _care_plan(engine, elder).tier == "yellow"


async def test_red_pairs_a_volunteer_and_a_missed_visit_escalates(
    ts_env: WorkflowEnvironment, seeded_engine: Engine
) -> None:
    engine = seeded_engine
    registry = _registry()
    [elder] = young_elders(engine, DISTRICT, 1, offset=2)
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        handle = await _start(ts_env, registry, worker.task_queue, elder)
        await _assess(ts_env, engine, handle.id, 0, disability_level=3)
        visit = await wait_for_task(engine, handle.id, "visit.0")
        assert visit.role == "volunteer"
        plan = _care_plan(engine, elder)
        assert plan.tier == "red" and plan.watched and plan.volunteer_ref
        assert ("one_to_one", True) in _pairings(engine, elder)
        assert ("curtain", True) in _pairings(engine, elder)

        await ts_env.sleep(timedelta(days=2, minutes=1))
        escalated = await wait_for_task(engine, handle.id, "visit.0", level=1)
        assert escalated.role == "grid_worker"
        await ts_env.sleep(timedelta(days=1, minutes=1))
        await wait_for_task(engine, handle.id, "visit.0", level=2)
        await ts_env.sleep(timedelta(days=1, minutes=1))
        await wait_for_task(engine, handle.id, "visit.0", status="expired")
        deadline = time.monotonic() + 10
        while ("visit.0.missed", "visit_missed") not in records_of(engine, handle.id):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        result = await _close(ts_env, handle)
        await record_history(ts_env.client, handle, "eldercare_tiers_red_missed_visit")

    assert result.missed_visits == 1 and result.tier is Tier.RED
    notes = notifications_of(engine, handle.id)
    assert ("visit.0.escalated.1", "role:grid_worker", "task_escalated") in notes
    assert ("visit.0.missed", "role:district_admin", "tiers_visit_missed") in notes
    assert ("assess.0.tier", "role:community_staff", "tiers_tier_changed") in notes
    # Moved away: the pairings end and nobody watches the curtains any more.
    assert all(not active for _, active in _pairings(engine, elder))
    assert _care_plan(engine, elder).watched is False


async def test_health_alerts_trigger_a_reassessment_that_changes_the_tier(
    ts_env: WorkflowEnvironment, seeded_engine: Engine
) -> None:
    engine = seeded_engine
    registry = _registry()
    [elder] = young_elders(engine, DISTRICT, 1, offset=3)
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        handle = await _start(ts_env, registry, worker.task_queue, elder)
        await _assess(ts_env, engine, handle.id, 0)
        await wait_for_notification(engine, handle.id, "invite.0")
        assert _care_plan(engine, elder).tier == "green"

        # Two alerts (a referral counts too) before staff reassess: two health events → red.
        for reason in ("health_alert", "referral"):
            await handle.signal("reassess", ReassessSignal(reason=reason, source_ref="A1"))
        await _assess(ts_env, engine, handle.id, 1)
        visit = await wait_for_task(engine, handle.id, "visit.1")
        assert visit.role == "volunteer"
        assert _care_plan(engine, elder).tier == "red"

        # A discharge later: staff find the elder recovered, but the discharge itself is a
        # health event: yellow, and the one-to-one pairing ends.
        await _complete(ts_env, engine, visit.task_id, "volunteer", {"visited": True})
        await handle.signal("reassess", ReassessSignal(reason="discharge"))
        await _assess(ts_env, engine, handle.id, 2, health_events=0)
        visit = await wait_for_task(engine, handle.id, "visit.2")
        assert visit.role == "grid_worker"
        assert _care_plan(engine, elder).tier == "yellow"
        assert ("one_to_one", False) in _pairings(engine, elder)
        await _complete(ts_env, engine, visit.task_id, "grid_worker", {"visited": True})
        result = await _close(ts_env, handle)
        await record_history(ts_env.client, handle, "eldercare_tiers_reassessed")

    assert result.assessments == 3
    with Session(engine) as session:
        rows = session.exec(
            select(TierAssessment)
            .where(TierAssessment.elder_ref == elder)
            .order_by(col(TierAssessment.id))
        ).all()
    assert [(r.tier, r.previous_tier) for r in rows] == [
        ("green", None),
        ("red", "green"),
        ("yellow", "red"),
    ]
    assert "asked:health_alert" in rows[1].reasons and "asked:referral" in rows[1].reasons


async def test_unknown_elder_closes_the_plan(
    ts_env: WorkflowEnvironment, seeded_engine: Engine
) -> None:
    registry = _registry()
    async with running_worker(ts_env.client, registry, engine=seeded_engine) as worker:
        handle = await _start(ts_env, registry, worker.task_queue, "P99999")
        result = TiersResult.model_validate(await result_of(ts_env, handle))
    assert result.closed_reason == "not_registered" and result.tier is None
    assert ("assess.0", "elder_not_registered") in records_of(seeded_engine, handle.id)


async def wait_for_notification(engine: Engine, wf_id: str, step_key: str) -> None:
    """Wait until the outbox holds the notification of ``step_key``."""
    deadline = time.monotonic() + 15
    while step_key not in [key for key, _, _ in notifications_of(engine, wf_id)]:
        if time.monotonic() > deadline:
            pytest.fail(f"no notification {step_key} in {wf_id}")
        await asyncio.sleep(0.05)

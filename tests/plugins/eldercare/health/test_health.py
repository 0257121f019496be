"""Health-station alerts 智慧健康驿站 on the time-skipping test server."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.contract import CarePlugin, DistrictProgramme
from careflow.db.tables import Person
from careflow.registry import PluginRegistry
from plugins.eldercare import plugin as eldercare_plugin
from plugins.eldercare.health import AlertResult, HealthRules, MonitorResult
from plugins.eldercare.health.rules import Measure, evaluate
from plugins.eldercare.health.tables import HealthAlert, HealthReading
from plugins.eldercare.tiers import ClosePlanSignal, plan_workflow_ids
from plugins.engine import plugin as engine_plugin
from tests.conftest import record_history
from tests.support.cases import keyed_id
from tests.support.inbox import notifications_of, records_of, result_of, wait_for_task
from tests.support.programmes import switched_on
from worker.testing import running_worker

DISTRICT = "wanbailin"
MONITOR = "eldercare.health_monitor"

#: A district that has not switched the green channel on: referrals are recorded by hand.
NO_GREEN_CHANNEL = CarePlugin(
    name="test_district",
    version="1.0.0",
    title_zh="测试区",
    title_en="Test district",
    order=50,
    programmes=(
        DistrictProgramme(
            district="xiaodian",
            enable=frozenset({MONITOR, "eldercare.health_alert"}),
            disable=frozenset({"eldercare.green_channel"}),
        ),
    ),
)


def _registry(**monitor: Any) -> PluginRegistry:
    overrides = {DISTRICT: {MONITOR: monitor}} if monitor else None
    return PluginRegistry.build(
        [
            engine_plugin,
            eldercare_plugin,
            NO_GREEN_CHANNEL,
            switched_on(DISTRICT, MONITOR, "eldercare.health_alert", "eldercare.tiers"),
        ],
        overrides=overrides,
    )


def _elders(engine: Engine, district: str, count: int, offset: int) -> list[str]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(Person.id)
                .where(
                    Person.kind == "elder",
                    col(Person.community_code).startswith(f"{district}."),
                )
                .order_by(col(Person.id))
                .offset(offset)
                .limit(count)
            ).all()
        )


_clock = [datetime(2026, 3, 1, 8, 0, tzinfo=UTC)]


async def _reading(
    env: WorkflowEnvironment,
    registry: PluginRegistry,
    queue: str,
    elder: str,
    district: str = DISTRICT,
    **values: Any,
) -> str:
    _clock[0] += timedelta(minutes=10)
    return await service.route_event(
        env.client,
        registry,
        event_type="eldercare.reading",
        data={
            "district": district,
            "case_ref": elder,
            "device_id": "HS-0007",
            "measured_at": _clock[0].isoformat(),
            **values,
        },
        task_queue=queue,
    )


def _alerts(engine: Engine, elder: str) -> list[HealthAlert]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(HealthAlert)
                .where(HealthAlert.elder_ref == elder)
                .order_by(col(HealthAlert.id))
            ).all()
        )


async def _alert_handle(
    env: WorkflowEnvironment, engine: Engine, elder: str, district: str = DISTRICT, n: int = 1
) -> WorkflowHandle[Any, Any]:
    deadline = time.monotonic() + 15
    while len(_alerts(engine, elder)) < n:
        assert time.monotonic() < deadline, "no alert raised"
        await asyncio.sleep(0.05)
    alert = _alerts(engine, elder)[n - 1]
    return env.client.get_workflow_handle(
        keyed_id("eldercare.health_alert", district, f"{elder}.A{alert.id}")
    )


async def _complete(
    env: WorkflowEnvironment, engine: Engine, task_id: str, role: str, data: dict[str, Any]
) -> None:
    await service.complete_task(
        env.client, engine, task_id=task_id, actor="S0009", role=role, data=data
    )


def test_rules_thresholds_and_trend() -> None:
    rules = HealthRules()
    assert evaluate(Measure(systolic=125, diastolic=80), [], rules).severity is None
    assert evaluate(Measure(systolic=165, diastolic=85), [], rules).rules == ("systolic_high",)
    critical = evaluate(Measure(systolic=190, diastolic=115), [], rules)
    assert critical.severity == "critical"
    assert critical.rules == ("systolic_high_critical", "diastolic_high_critical")
    assert evaluate(Measure(spo2=88), [], rules).rules == ("spo2_low_critical",)
    assert evaluate(Measure(glucose=3.5), [], rules).rules == ("glucose_low",)
    assert evaluate(Measure(heart_rate=135), [], rules).severity == "critical"
    rising = [Measure(systolic=s, diastolic=80) for s in (120, 131, 142)]
    assert evaluate(rising[-1], rising, rules).rules == ("trend_systolic",)
    bumpy = [Measure(systolic=s, diastolic=80) for s in (120, 118, 142)]
    assert evaluate(bumpy[-1], bumpy, rules).severity is None
    falling = [Measure(spo2=o) for o in (98, 96, 95)]
    assert evaluate(falling[-1], falling, rules).rules == ("trend_spo2",)


async def test_critical_alert_is_due_in_an_hour_and_advice_reaches_the_elder(
    ts_env: WorkflowEnvironment, seeded_engine: Engine
) -> None:
    engine = seeded_engine
    registry = _registry()
    [elder] = _elders(engine, DISTRICT, 1, 0)
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        q = worker.task_queue
        monitor_id = await _reading(ts_env, registry, q, elder, systolic=120, diastolic=78)
        await _reading(ts_env, registry, q, elder, systolic=192, diastolic=112)
        alert = await _alert_handle(ts_env, engine, elder)
        review = await wait_for_task(engine, alert.id, "review")
        assert review.role == "doctor"
        opened = (await alert.describe()).start_time
        assert timedelta(minutes=59) < review.due_at - opened <= timedelta(hours=1, minutes=1)
        # A second critical reading while the doctor has the alert joins it.
        await _reading(ts_env, registry, q, elder, systolic=186, diastolic=111)
        await _complete(
            ts_env, engine, review.task_id, "doctor", {"outcome": "advice", "advice_zh": "低盐饮食"}
        )
        result = AlertResult.model_validate(await result_of(ts_env, alert))
        await record_history(ts_env.client, alert, "eldercare_health_alert_advice")

    assert result.outcome == "advice" and result.severity == "critical"
    assert result.tier_reassessment is False  # this elder has no care plan running
    assert ("tiers", "tiers_not_running") in records_of(engine, alert.id)
    assert ("advice", elder, "health_advice") in notifications_of(engine, alert.id)
    [row] = _alerts(engine, elder)
    assert row.status == "closed" and row.outcome == "advice"
    assert row.rules == ["systolic_high_critical", "diastolic_high_critical"]
    with Session(engine) as session:
        readings = session.exec(select(HealthReading).where(HealthReading.elder_ref == elder)).all()
    assert [r.alert_id for r in readings] == [None, row.id, row.id]
    # Readings (and the elder's registry id) never reach ids, summaries or search attributes.
    assert monitor_id == keyed_id(MONITOR, DISTRICT, elder)
    assert elder not in alert.id
    desc = await alert.describe()
    summary = await desc.static_summary()
    assert summary is not None and "192" not in summary and "192" not in alert.id


async def test_warning_review_escalates_then_home_visit(
    ts_env: WorkflowEnvironment, seeded_engine: Engine
) -> None:
    engine = seeded_engine
    registry = _registry()
    [elder] = _elders(engine, DISTRICT, 1, 1)
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        await _reading(ts_env, registry, worker.task_queue, elder, glucose=12.4)
        alert = await _alert_handle(ts_env, engine, elder)
        review = await wait_for_task(engine, alert.id, "review")
        opened = (await alert.describe()).start_time
        assert timedelta(hours=23) < review.due_at - opened <= timedelta(hours=24, minutes=1)
        await ts_env.sleep(timedelta(hours=24, minutes=1))
        escalated = await wait_for_task(engine, alert.id, "review", level=1)
        assert escalated.role == "district_admin"
        await _complete(ts_env, engine, review.task_id, "doctor", {"outcome": "home_visit"})
        visit = await wait_for_task(engine, alert.id, "home_visit")
        await _complete(ts_env, engine, visit.task_id, "doctor", {"visited": True})
        result = AlertResult.model_validate(await result_of(ts_env, alert))
        await record_history(ts_env.client, alert, "eldercare_health_alert_home_visit")
    assert result.outcome == "home_visit" and result.severity == "warning"
    assert ("review.escalated.1", "role:district_admin", "task_escalated") in notifications_of(
        engine, alert.id
    )
    assert ("home_visit", "home_visit") in records_of(engine, alert.id)


async def test_unreviewed_critical_alert_expires_to_the_district(
    ts_env: WorkflowEnvironment, seeded_engine: Engine
) -> None:
    engine = seeded_engine
    registry = _registry()
    [elder] = _elders(engine, DISTRICT, 1, 2)
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        await _reading(ts_env, registry, worker.task_queue, elder, spo2=86)
        alert = await _alert_handle(ts_env, engine, elder)
        await wait_for_task(engine, alert.id, "review")
        result = AlertResult.model_validate(await result_of(ts_env, alert))
        await record_history(ts_env.client, alert, "eldercare_health_alert_expired")
    assert result.outcome == "review_expired"
    assert ("review.expired", "role:district_admin", "health_review_expired") in (
        notifications_of(engine, alert.id)
    )


async def test_trend_alert_refers_to_the_green_channel_and_reassesses_the_tier(
    ts_env: WorkflowEnvironment, seeded_engine: Engine
) -> None:
    engine = seeded_engine
    registry = _registry()
    [elder] = _elders(engine, DISTRICT, 1, 3)
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        q = worker.task_queue
        plan = await service.start_process(
            ts_env.client,
            registry,
            process="eldercare.tiers",
            district=DISTRICT,
            case_ref=elder,
            request={},
            started_by="staff:S0001",
            task_queue=q,
        )
        first = await wait_for_task(engine, plan.workflow_id, "assess.0")
        await _complete(
            ts_env,
            engine,
            first.task_id,
            "community_staff",
            {"disability_level": 0, "lives_alone": False},
        )
        for systolic in (118, 129, 141):
            await _reading(ts_env, registry, q, elder, systolic=systolic, diastolic=80)
        alert = await _alert_handle(ts_env, engine, elder)
        assert _alerts(engine, elder)[0].rules == ["trend_systolic"]
        # The alert asked the elder's care plan to reassess.
        await wait_for_task(engine, plan.workflow_id, "assess.1")
        review = await wait_for_task(engine, alert.id, "review")
        await _complete(ts_env, engine, review.task_id, "doctor", {"outcome": "referral"})
        result = AlertResult.model_validate(await result_of(ts_env, alert))
        await record_history(ts_env.client, alert, "eldercare_health_alert_referral")
        assert result.green_channel_workflow_id == keyed_id(
            "eldercare.green_channel", DISTRICT, f"{elder}.A{result.alert_id}.gc"
        )
        child = ts_env.client.get_workflow_handle(result.green_channel_workflow_id)
        assert (await child.describe()).workflow_type == "eldercare.green_channel"
        tiers = ts_env.client.get_workflow_handle(plan_workflow_ids(DISTRICT, elder)[0])
        await tiers.signal("close_plan", ClosePlanSignal(reason="withdrawn"))

    assert result.outcome == "referral" and result.tier_reassessment


async def test_referral_without_green_channel_is_recorded_for_the_district(
    ts_env: WorkflowEnvironment, seeded_engine: Engine
) -> None:
    engine = seeded_engine
    registry = _registry()
    [elder] = _elders(engine, "xiaodian", 1, 0)
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        await _reading(
            ts_env, registry, worker.task_queue, elder, district="xiaodian", heart_rate=138
        )
        alert = await _alert_handle(ts_env, engine, elder, district="xiaodian")
        review = await wait_for_task(engine, alert.id, "review")
        await _complete(ts_env, engine, review.task_id, "doctor", {"outcome": "referral"})
        result = AlertResult.model_validate(await result_of(ts_env, alert))
        await record_history(ts_env.client, alert, "eldercare_health_alert_referral_recorded")
    assert result.outcome == "referral_recorded" and result.green_channel_workflow_id is None
    assert ("referral", "role:district_admin", "health_referral") in notifications_of(
        engine, alert.id
    )


async def test_monitor_continues_as_new_and_closes_when_idle(
    ts_env: WorkflowEnvironment, seeded_engine: Engine
) -> None:
    engine = seeded_engine
    registry = _registry(max_history=30, idle_close="P1D")
    [elder] = _elders(engine, DISTRICT, 1, 4)
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        for n in range(12):
            wf_id = await _reading(
                ts_env, registry, worker.task_queue, elder, systolic=120 + n % 2, diastolic=80
            )
        monitor = ts_env.client.get_workflow_handle(wf_id)
        deadline = time.monotonic() + 15
        while _count_readings(engine, elder) < 12:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        # A day without readings: the monitor closes (the next reading starts it again).
        result = MonitorResult.model_validate(await result_of(ts_env, monitor))
        await record_history(ts_env.client, monitor, "eldercare_health_monitor_idle")
    assert result.readings == 12 and result.alerts == 0 and result.runs >= 2
    with Session(engine) as session:
        keys = session.exec(
            select(HealthReading.step_key)
            .where(HealthReading.elder_ref == elder)
            .order_by(col(HealthReading.id))
        ).all()
    assert list(keys) == [f"reading.{n}" for n in range(12)]


def _count_readings(engine: Engine, elder: str) -> int:
    with Session(engine) as session:
        return len(
            session.exec(select(HealthReading).where(HealthReading.elder_ref == elder)).all()
        )


@pytest.mark.parametrize("bad", [{"systolic": 150}, {}])
def test_bad_readings_are_rejected(bad: dict[str, Any]) -> None:
    from careflow.errors import InputError

    with pytest.raises(InputError):
        service.prepare_event(
            _registry(),
            event_type="eldercare.reading",
            data={
                "district": DISTRICT,
                "case_ref": "P00001",
                "device_id": "HS-1",
                "measured_at": "2026-03-01T08:00:00+00:00",
                **bad,
            },
        )

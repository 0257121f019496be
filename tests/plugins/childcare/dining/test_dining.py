"""Small dining table supervision on the time-skipping test server: every path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.db.tables import Guardian, Provider
from careflow.registry import PluginRegistry
from plugins.childcare.dining import CHECKLIST_ITEMS, DiningResult
from plugins.childcare.dining.tables import DiningEnrolment, DiningSuspension
from tests.conftest import record_history
from tests.support.inbox import notifications_of, records_of, result_of, wait_for_task
from worker.testing import running_worker

DISTRICT = "yingze"
PASS: dict[str, Any] = dict.fromkeys(CHECKLIST_ITEMS, True)
FAIL: dict[str, Any] = {**PASS, "sample_retention": False, "findings": "未留样"}


def _table(engine: Engine) -> str:
    with Session(engine) as session:
        return (
            session.exec(
                select(Provider.id)
                .where(Provider.kind == "dining_table", Provider.district_code == DISTRICT)
                .order_by(col(Provider.id))
            ).first()
            or ""
        )


async def _start(
    env: WorkflowEnvironment, registry: PluginRegistry, task_queue: str, provider: str
) -> WorkflowHandle[Any, Any]:
    started = await service.start_process(
        env.client,
        registry,
        process="childcare.dining_inspection",
        district=DISTRICT,
        request={"provider_ref": provider},
        started_by="staff:S0001",
        task_queue=task_queue,
    )
    return env.client.get_workflow_handle(started.workflow_id)


async def _inspect(
    env: WorkflowEnvironment, engine: Engine, handle: WorkflowHandle[Any, Any], key: str, data: Any
) -> None:
    task = await wait_for_task(engine, handle.id, key)
    assert task.role == "community_staff"
    await service.complete_task(
        env.client, engine, task_id=task.task_id, actor="S0002", role="community_staff", data=data
    )


async def test_clean_inspection_passes(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, cc_registry: PluginRegistry
) -> None:
    engine = seeded_engine
    async with running_worker(ts_env.client, cc_registry, engine=engine) as worker:
        handle = await _start(ts_env, cc_registry, worker.task_queue, _table(engine))
        await _inspect(ts_env, engine, handle, "inspection", PASS)
        result = DiningResult.model_validate(await result_of(ts_env, handle))
        await record_history(ts_env.client, handle, "childcare_dining_passed")
    assert result.outcome == "passed" and result.failed_items == []
    assert notifications_of(engine, handle.id) == []


async def test_failure_is_rectified_after_the_recheck(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, cc_registry: PluginRegistry
) -> None:
    engine = seeded_engine
    provider = _table(engine)
    async with running_worker(ts_env.client, cc_registry, engine=engine) as worker:
        handle = await _start(ts_env, cc_registry, worker.task_queue, provider)
        await _inspect(ts_env, engine, handle, "inspection", FAIL)
        # The re-check opens only when the rectification period is over.
        result = await _recheck_after_deadline(ts_env, engine, handle, PASS)
        await record_history(ts_env.client, handle, "childcare_dining_rectified")
    assert result.outcome == "rectified" and result.rechecks == 1
    assert result.failed_items == ["sample_retention"]
    assert ("rectification.1", provider, "dining_rectification_notice") in notifications_of(
        engine, handle.id
    )


async def _recheck_after_deadline(
    env: WorkflowEnvironment, engine: Engine, handle: WorkflowHandle[Any, Any], data: Any
) -> DiningResult:
    await env.sleep(timedelta(days=7, minutes=1))
    await _inspect(env, engine, handle, "recheck.1", data)
    return DiningResult.model_validate(await result_of(env, handle))


async def test_repeated_failure_suspends_and_tells_the_families(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, cc_registry: PluginRegistry
) -> None:
    engine = seeded_engine
    provider = _table(engine)
    with Session(engine) as session:
        children = session.exec(
            select(Guardian.child_id).distinct().order_by(col(Guardian.child_id)).limit(2)
        ).all()
        for child in children:
            session.add(DiningEnrolment(provider_id=provider, child_id=child))
        session.commit()
        guardians = set(
            session.exec(select(Guardian.guardian_id).where(col(Guardian.child_id).in_(children)))
        )
    async with running_worker(ts_env.client, cc_registry, engine=engine) as worker:
        handle = await _start(ts_env, cc_registry, worker.task_queue, provider)
        await _inspect(ts_env, engine, handle, "inspection", FAIL)
        result = await _recheck_after_deadline(ts_env, engine, handle, FAIL)
        await record_history(ts_env.client, handle, "childcare_dining_suspended")
    assert result.outcome == "suspended" and result.families_notified == len(guardians)
    sent = notifications_of(engine, handle.id)
    assert {r for _, r, t in sent if t == "dining_suspended_family"} == guardians
    assert ("suspended.district", "role:district_admin", "dining_suspended") in sent
    assert ("suspension", "dining_suspended") in records_of(engine, handle.id)
    with Session(engine) as session:
        row = session.get(DiningSuspension, handle.id)
    assert row is not None and row.provider_id == provider


async def test_round_inspects_every_active_table_but_not_a_suspended_one(
    dev_env: WorkflowEnvironment, seeded_engine: Engine, cc_registry: PluginRegistry
) -> None:
    # On the dev server: the time-skipping server keeps time locked after a parent that
    # started abandoned children has completed, which would stall every later test.
    engine = seeded_engine
    provider = _table(engine)
    with Session(engine) as session:
        session.add(
            DiningSuspension(
                workflow_id="earlier-case",
                provider_id=provider,
                suspended_at=datetime(2026, 11, 1, tzinfo=UTC),
                failed_items=["sample_retention"],
            )
        )
        session.commit()
    async with running_worker(dev_env.client, cc_registry, engine=engine) as worker:
        started = await service.start_process(
            dev_env.client,
            cc_registry,
            process="childcare.dining_round",
            district=DISTRICT,
            request={},
            started_by="schedule:childcare.dining.monthly",
            task_queue=worker.task_queue,
        )
        handle = dev_env.client.get_workflow_handle(started.workflow_id)
        result = await handle.result()
        await record_history(dev_env.client, handle, "childcare_dining_round")
        for wf_id in result["inspections"]:
            await wait_for_task(engine, wf_id, "inspection")
            await dev_env.client.get_workflow_handle(wf_id).terminate("test over")
    assert len(result["inspections"]) == 2
    assert not any(wf_id.endswith(provider) for wf_id in result["inspections"])


async def test_inspection_never_done_escalates_then_falls_back(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, cc_registry: PluginRegistry
) -> None:
    engine = seeded_engine
    async with running_worker(ts_env.client, cc_registry, engine=engine) as worker:
        handle = await _start(ts_env, cc_registry, worker.task_queue, _table(engine))
        await wait_for_task(engine, handle.id, "inspection")
        await ts_env.sleep(timedelta(days=7, minutes=1))
        escalated = await wait_for_task(engine, handle.id, "inspection", level=1)
        assert escalated.role == "district_admin"
        result = DiningResult.model_validate(await result_of(ts_env, handle))
        await record_history(ts_env.client, handle, "childcare_dining_missed")
    assert result.outcome == "inspection_missed"
    assert ("missed", "role:district_admin", "dining_inspection_missed") in notifications_of(
        engine, handle.id
    )

"""Childcare places and the guardian's consent: none on record, recorded late, withdrawn."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.db.engine import session_scope
from careflow.db.tables import CaseRecord, Guardian
from careflow.localtime import STAFF_TIMEZONE
from careflow.privacy import consent as rules
from careflow.privacy.withdrawal import CONSENT_WITHDRAWN_SIGNAL, ConsentWithdrawn
from careflow.registry import PluginRegistry
from plugins.childcare import plugin as childcare_plugin
from plugins.childcare.places import PlacesResult
from plugins.childcare.places.tables import PlacesApplication
from plugins.engine import plugin as engine_plugin
from tests.conftest import record_history
from tests.plugins.childcare.places.support import apply, taken, toddlers
from tests.support.inbox import notifications_of, records_of, result_of, tasks_of, wait_for_task
from worker.testing import running_worker

DISTRICT = "xinghualing"
PURPOSE = "childcare_place"


@pytest.fixture
def cc_registry() -> PluginRegistry:
    return PluginRegistry.build([engine_plugin, childcare_plugin])


def _withdraw(engine: Engine, child: str) -> None:
    with session_scope(engine) as session:
        rules.withdraw_consent(
            session,
            subject_id=child,
            purpose=PURPOSE,
            withdrawn_by="S0001",
            at=datetime(2026, 1, 2, tzinfo=UTC),
        )


def _consent_again(engine: Engine, child: str, on: date) -> None:
    with session_scope(engine) as session:
        link = session.exec(select(Guardian).where(Guardian.child_id == child)).first()
        assert link is not None
        rules.record_consent(
            session,
            subject_id=child,
            purpose=PURPOSE,
            granted_by=link.guardian_id,
            relation=link.relation,
            granted_on=on,
            recorded_by="S0002",
            request_id="rtest",
            today=on,
        )


async def _staff(env: WorkflowEnvironment, engine: Engine, workflow_id: str, data: object) -> None:
    task = await wait_for_task(engine, workflow_id, "consent")
    assert task.role == "community_staff" and task.community is not None
    await service.complete_task(
        env.client, engine, task_id=task.task_id, actor="S0002", role="community_staff", data=data
    )


async def test_without_consent_the_childs_data_is_not_used(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, cc_registry: PluginRegistry
) -> None:
    engine = seeded_engine
    [child] = await toddlers(ts_env, engine, DISTRICT, 1)
    _withdraw(engine, child)
    async with running_worker(ts_env.client, cc_registry, engine=engine) as worker:
        handle = await apply(ts_env, cc_registry, worker.task_queue, DISTRICT, child)
        await _staff(ts_env, engine, handle.id, {"recorded": False, "note": "家长未带同意书"})
        result = PlacesResult.model_validate(await result_of(ts_env, handle))
        await record_history(ts_env.client, handle, "childcare_places_consent_missing")
    assert result.outcome == "consent_missing" and result.reason == "no_consent_record"
    kinds = [kind for _, kind in records_of(engine, handle.id)]
    # Neither the eligibility check (the child's age and home) nor matching ran.
    assert kinds == ["consent_missing", "places_report"]
    with Session(engine) as session:
        assert session.get(PlacesApplication, handle.id) is None
        record = session.exec(
            select(CaseRecord).where(
                CaseRecord.workflow_id == handle.id, CaseRecord.kind == "consent_missing"
            )
        ).one()
    assert "未登记监护人同意" in record.data["reason_zh"]
    assert ("consent_missing", "role:community_staff", "consent_missing") in notifications_of(
        engine, handle.id
    )


async def test_consent_recorded_while_staff_follow_up_lets_the_application_go_on(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, cc_registry: PluginRegistry
) -> None:
    engine = seeded_engine
    [child] = await toddlers(ts_env, engine, DISTRICT, 1)
    _withdraw(engine, child)
    async with running_worker(ts_env.client, cc_registry, engine=engine) as worker:
        handle = await apply(ts_env, cc_registry, worker.task_queue, DISTRICT, child)
        await wait_for_task(engine, handle.id, "consent")
        today = (await ts_env.get_current_time()).astimezone(STAFF_TIMEZONE).date()
        _consent_again(engine, child, today)
        await _staff(ts_env, engine, handle.id, {"recorded": True})
        offer = await wait_for_task(engine, handle.id, "offer.1")
        await service.complete_task(
            ts_env.client,
            engine,
            task_id=offer.task_id,
            actor="S0002",
            role="community_staff",
            data={"accept": True},
        )
        result = PlacesResult.model_validate(await result_of(ts_env, handle))
    assert result.outcome == "enrolled"
    kinds = [kind for _, kind in records_of(engine, handle.id)]
    assert kinds[:3] == ["consent_missing", "consent_recorded", "places_eligibility"]


async def test_a_withdrawal_ends_the_application_and_passes_the_seat_on(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, cc_registry: PluginRegistry
) -> None:
    engine = seeded_engine
    [child] = await toddlers(ts_env, engine, DISTRICT, 1)
    async with running_worker(ts_env.client, cc_registry, engine=engine) as worker:
        handle = await apply(ts_env, cc_registry, worker.task_queue, DISTRICT, child)
        offer = await wait_for_task(engine, handle.id, "offer.1")
        with Session(engine) as session:
            row = session.get(PlacesApplication, handle.id)
            assert row is not None and row.provider_id is not None
            seat = row.provider_id
        held = taken(engine, seat)
        # Another child's withdrawal, or another purpose, changes nothing here.
        at = await ts_env.get_current_time()
        for other in (
            ConsentWithdrawn(subject_ref="P00001", purpose=PURPOSE, withdrawn_at=at, consent_id=1),
            ConsentWithdrawn(subject_ref=child, purpose="classroom", withdrawn_at=at, consent_id=2),
        ):
            await handle.signal(CONSENT_WITHDRAWN_SIGNAL, other)
        _withdraw(engine, child)
        await handle.signal(
            CONSENT_WITHDRAWN_SIGNAL,
            ConsentWithdrawn(
                subject_ref=child,
                purpose=PURPOSE,
                withdrawn_at=at + timedelta(minutes=1),
                consent_id=3,
                request_id="rwithdraw",
            ),
        )
        result = PlacesResult.model_validate(await result_of(ts_env, handle))
        await record_history(ts_env.client, handle, "childcare_places_consent_withdrawn")
    assert result.outcome == "consent_withdrawn"
    (task,) = [t for t in tasks_of(engine, offer.workflow_id) if t.step_key == "offer.1"]
    assert task.status == "cancelled" and task.result == {"cancelled": "consent_withdrawn"}
    assert task.completed_by is None
    with Session(engine) as session:
        row = session.get(PlacesApplication, handle.id)
        record = session.exec(
            select(CaseRecord).where(
                CaseRecord.workflow_id == handle.id, CaseRecord.kind == "consent_withdrawn"
            )
        ).one()
    assert row is not None and row.status == "withdrawn" and row.provider_id is None
    assert taken(engine, seat) == held - 1
    assert record.data["request_id"] == "rwithdraw" and record.data["consent_id"] == 3
    assert ("consent_withdrawn", "role:community_staff", "consent_withdrawn") in notifications_of(
        engine, handle.id
    )

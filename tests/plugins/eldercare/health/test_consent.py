"""Health readings are used only with the elder's consent; a withdrawal ends the monitor."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.db.tables import Person
from careflow.errors import InputError
from careflow.privacy.consent import withdraw_consent
from careflow.privacy.withdrawal import ConsentWithdrawn
from careflow.registry import PluginRegistry
from plugins.eldercare import plugin as eldercare_plugin
from plugins.eldercare.health import MonitorResult
from plugins.eldercare.health.tables import HealthReading
from plugins.engine import plugin as engine_plugin
from tests.conftest import record_history
from tests.support.cases import keyed_id
from tests.support.inbox import records_of
from tests.support.programmes import switched_on
from worker.testing import running_worker

DISTRICT = "wanbailin"
MONITOR = "eldercare.health_monitor"


def _registry() -> PluginRegistry:
    return PluginRegistry.build(
        [engine_plugin, eldercare_plugin, switched_on(DISTRICT, MONITOR, "eldercare.health_alert")]
    )


def _elder(engine: Engine, offset: int = 0) -> str:
    with Session(engine) as session:
        found = session.exec(
            select(Person.id)
            .where(Person.kind == "elder", col(Person.community_code).startswith(f"{DISTRICT}."))
            .order_by(col(Person.id))
            .offset(offset)
        ).first()
    assert found is not None
    return found


def _reading(elder: str, minutes: int) -> dict[str, Any]:
    return {
        "district": DISTRICT,
        "case_ref": elder,
        "device_id": "HS-0007",
        "measured_at": (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat(),
        "systolic": 128,
        "diastolic": 82,
    }


def _readings(engine: Engine, elder: str) -> int:
    with Session(engine) as session:
        return len(
            session.exec(select(HealthReading).where(HealthReading.elder_ref == elder)).all()
        )


def _withdraw(engine: Engine, elder: str) -> int:
    with Session(engine) as session:
        consent = withdraw_consent(
            session, subject_id=elder, purpose="health_monitoring", withdrawn_by="S0001"
        )
        session.commit()
        assert consent.id is not None
        return consent.id


async def test_a_reading_without_consent_is_refused_and_nothing_starts(
    ts_env: WorkflowEnvironment, seeded_engine: Engine
) -> None:
    registry = _registry()
    elder = _elder(seeded_engine, offset=3)
    _withdraw(seeded_engine, elder)
    with pytest.raises(InputError) as refused:
        await service.route_event(
            ts_env.client,
            registry,
            event_type="eldercare.reading",
            data=_reading(elder, 5),
            task_queue="unused",
            engine=seeded_engine,
        )
    assert refused.value.field == "data.case_ref"
    assert "健康监测的同意" in str(refused.value)
    assert _readings(seeded_engine, elder) == 0
    with pytest.raises(RPCError, match="not found"):
        await ts_env.client.get_workflow_handle(keyed_id(MONITOR, DISTRICT, elder)).describe()


async def test_a_withdrawal_ends_the_monitor_with_a_record_and_stores_nothing_more(
    ts_env: WorkflowEnvironment, seeded_engine: Engine
) -> None:
    registry, engine = _registry(), seeded_engine
    elder = _elder(engine)
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        await service.route_event(
            ts_env.client,
            registry,
            event_type="eldercare.reading",
            data=_reading(elder, 10),
            task_queue=worker.task_queue,
            engine=engine,
        )
        deadline = time.monotonic() + 15
        while _readings(engine, elder) < 1:
            assert time.monotonic() < deadline, "the reading was not stored"
            await asyncio.sleep(0.05)
        consent_id = _withdraw(engine, elder)
        handle = ts_env.client.get_workflow_handle(keyed_id(MONITOR, DISTRICT, elder))
        await handle.signal(
            "consent_withdrawn",
            ConsentWithdrawn(
                subject_ref=elder,
                purpose="health_monitoring",
                withdrawn_at=datetime.now(UTC),
                consent_id=consent_id,
            ),
        )
        result = MonitorResult.model_validate(await handle.result())
        await record_history(ts_env.client, handle, "eldercare_health_monitor_consent_withdrawn")
    assert result.ended == "consent_withdrawn" and result.readings == 1
    assert ("consent", "consent_withdrawn") in records_of(engine, handle.id)
    # The next reading is refused at the door: the monitor does not start again.
    with pytest.raises(InputError):
        await service.route_event(
            ts_env.client,
            registry,
            event_type="eldercare.reading",
            data=_reading(elder, 1),
            task_queue="unused",
            engine=engine,
        )
    assert _readings(engine, elder) == 1

"""Routed events are applied once per event id by the process itself, across continue-as-new.

Temporal stores every signal it is sent; the runtime's ``event_signal`` handlers drop a
repeat of an id the process applied. Shown with the health monitor, which stores a reading per
``reading`` signal and continues as new every few readings.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.db.tables import Person
from careflow.registry import PluginRegistry
from plugins.eldercare import plugin as eldercare_plugin
from plugins.eldercare.health import MonitorResult
from plugins.eldercare.health.tables import HealthReading
from plugins.engine import plugin as engine_plugin
from tests.conftest import record_history
from tests.support.inbox import result_of
from tests.support.programmes import switched_on
from worker.testing import running_worker
from workflows.runtime import AppliedEvents

DISTRICT = "wanbailin"
MONITOR = "eldercare.health_monitor"
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def test_applied_events_forget_the_oldest_beyond_their_bound() -> None:
    applied = AppliedEvents(keep=3)
    assert [applied.add(i) for i in ("a", "b", "a", "c")] == [True, True, False, True]
    assert applied.add("d")  # "a" is forgotten
    assert applied.recent() == ["b", "c", "d"] and "a" not in applied and len(applied) == 3
    assert applied.add("a") and not applied.add("d")


def _elder(engine: Engine) -> str:
    with Session(engine) as session:
        return session.exec(
            select(Person.id)
            .where(Person.kind == "elder", col(Person.community_code).startswith(f"{DISTRICT}."))
            .order_by(col(Person.id))
            .offset(7)
        ).first()  # type: ignore[return-value]


def _stored(engine: Engine, elder: str) -> list[str]:
    with Session(engine) as session:
        rows = session.exec(
            select(HealthReading.measured_at)
            .where(HealthReading.elder_ref == elder)
            .order_by(col(HealthReading.id))
        ).all()
    return [m.replace(tzinfo=UTC).isoformat() if m.tzinfo is None else m.isoformat() for m in rows]


async def test_a_repeated_event_id_is_ignored_before_and_after_continue_as_new(
    ts_env: WorkflowEnvironment, seeded_engine: Engine
) -> None:
    engine = seeded_engine
    registry = PluginRegistry.build(
        [engine_plugin, eldercare_plugin, switched_on(DISTRICT, MONITOR, "eldercare.health_alert")],
        overrides={DISTRICT: {MONITOR: {"max_history": 30, "idle_close": "P1D"}}},
    )
    elder = _elder(engine)

    async def send(n: int) -> str:
        return await service.route_event(
            ts_env.client,
            registry,
            event_type="eldercare.reading",
            data={
                "district": DISTRICT,
                "case_ref": elder,
                "device_id": "HS-ONCE",
                "measured_at": (T0 + timedelta(minutes=10 * n)).isoformat(),
                "systolic": 120,
                "diastolic": 80,
                "request_id": f"evt-{n:03d}",
            },
            task_queue=queue,
        )

    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        queue = worker.task_queue
        handle = ts_env.client.get_workflow_handle(await send(0))
        first_run = (await handle.describe()).run_id
        await send(0)  # the device (or a redelivery) sent it again: same event id
        for n in range(1, 10):
            await send(n)
            await send(n)
        deadline = time.monotonic() + 30
        while len(_stored(engine, elder)) < 10 or (await handle.describe()).run_id == first_run:
            assert time.monotonic() < deadline, _stored(engine, elder)
            await asyncio.sleep(0.05)
        # Repeats of ids applied in earlier runs, then one new reading.
        for n in (0, 1, 9):
            await send(n)
        await send(10)
        while len(_stored(engine, elder)) < 11:
            assert time.monotonic() < deadline, _stored(engine, elder)
            await asyncio.sleep(0.05)
        result = MonitorResult.model_validate(await result_of(ts_env, handle))
        await record_history(ts_env.client, handle, "eldercare_health_monitor_repeated_events")
    assert result.readings == 11 and result.runs >= 2
    expected = [(T0 + timedelta(minutes=10 * n)).isoformat() for n in range(11)]
    assert _stored(engine, elder) == expected

"""Childcare places on the time-skipping test server: every path, and no overbooking."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.db.tables import Person, Provider
from careflow.registry import PluginRegistry
from plugins.childcare import plugin as childcare_plugin
from plugins.childcare.places import PlacesResult
from plugins.childcare.places.activities import take_seat
from plugins.childcare.places.tables import PlacesApplication, PlacesCapacity
from plugins.engine import plugin as engine_plugin
from tests.conftest import record_history
from tests.plugins.childcare.places.support import apply, taken, toddlers
from tests.support.cases import keyed_id
from tests.support.inbox import records_of, result_of, tasks_of, wait_for_task
from worker.testing import running_worker

DISTRICT = "xinghualing"


@pytest.fixture
def cc_registry() -> PluginRegistry:
    return PluginRegistry.build([engine_plugin, childcare_plugin])


def _older_child(engine: Engine, young: list[str]) -> str:
    with Session(engine) as session:
        return (
            session.exec(
                select(Person.id)
                .where(
                    Person.kind == "child",
                    col(Person.community_code).startswith(f"{DISTRICT}."),
                    col(Person.id).not_in(young),
                    col(Person.birth_date) < date(2023, 1, 1),
                )
                .order_by(col(Person.id))
            ).first()
            or ""
        )


def _one_seat(engine: Engine) -> str:
    """Only one seat in the district: the first provider has it, the others are full."""
    with Session(engine) as session:
        providers = session.exec(
            select(Provider.id)
            .where(Provider.kind == "childcare", Provider.district_code == DISTRICT)
            .order_by(col(Provider.id))
        ).all()
        for i, pid in enumerate(providers):
            session.add(PlacesCapacity(provider_id=pid, capacity=1 if i == 0 else 0, taken=0))
        session.commit()
    return providers[0]


async def _answer(
    env: WorkflowEnvironment, engine: Engine, handle: WorkflowHandle[Any, Any], key: str, data: Any
) -> None:
    task = await wait_for_task(engine, handle.id, key)
    await service.complete_task(
        env.client, engine, task_id=task.task_id, actor="S0002", role="community_staff", data=data
    )


async def test_offer_accepted_is_enrolled_and_too_old_is_refused(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, cc_registry: PluginRegistry
) -> None:
    engine = seeded_engine
    [child] = await toddlers(ts_env, engine, DISTRICT, 1)
    old = _older_child(engine, [child])
    async with running_worker(ts_env.client, cc_registry, engine=engine) as worker:
        handle = await apply(ts_env, cc_registry, worker.task_queue, DISTRICT, child)
        await _answer(ts_env, engine, handle, "offer.1", {"accept": True})
        result = PlacesResult.model_validate(await result_of(ts_env, handle))
        await record_history(ts_env.client, handle, "childcare_places_enrolled")
        refused = await apply(ts_env, cc_registry, worker.task_queue, DISTRICT, old)
        too_old = PlacesResult.model_validate(await result_of(ts_env, refused))
        await record_history(ts_env.client, refused, "childcare_places_ineligible")
    assert result.outcome == "enrolled" and result.provider_ref is not None
    with Session(engine) as session:
        provider = session.get(Provider, result.provider_ref)
        row = session.get(PlacesApplication, handle.id)
    # The family preferred a community place: they got one, not the district centre.
    assert provider is not None and provider.community_code is not None
    assert row is not None and row.status == "enrolled"
    assert taken(engine, result.provider_ref) == 1
    assert ("enrolment", "places_enrolled") in records_of(engine, handle.id)
    assert too_old.outcome == "ineligible" and too_old.reason == "too_old"


async def test_full_capacity_waits_and_gets_the_seat_another_family_declines(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, cc_registry: PluginRegistry
) -> None:
    engine = seeded_engine
    first, second = await toddlers(ts_env, engine, DISTRICT, 2)
    seat = _one_seat(engine)
    async with running_worker(ts_env.client, cc_registry, engine=engine) as worker:
        holder = await apply(ts_env, cc_registry, worker.task_queue, DISTRICT, first)
        await wait_for_task(engine, holder.id, "offer.1")
        waiting = await apply(ts_env, cc_registry, worker.task_queue, DISTRICT, second)
        while ("waiting.0", "places_waiting") not in records_of(engine, waiting.id):
            await ts_env.sleep(timedelta(seconds=1))
        assert taken(engine, seat) == 1
        await _answer(ts_env, engine, holder, "offer.1", {"accept": False})
        declined = PlacesResult.model_validate(await result_of(ts_env, holder))
        await record_history(ts_env.client, holder, "childcare_places_declined")
        await _answer(ts_env, engine, waiting, "offer.1", {"accept": True})
        result = PlacesResult.model_validate(await result_of(ts_env, waiting))
        await record_history(ts_env.client, waiting, "childcare_places_waited")
    assert declined.outcome == "declined"
    assert result.outcome == "enrolled" and result.waited and result.provider_ref == seat
    assert taken(engine, seat) == 1  # passed on, never double-counted


async def test_expired_offer_passes_the_seat_to_the_next_family(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, cc_registry: PluginRegistry
) -> None:
    engine = seeded_engine
    first, second = await toddlers(ts_env, engine, DISTRICT, 2)
    seat = _one_seat(engine)
    async with running_worker(ts_env.client, cc_registry, engine=engine) as worker:
        holder = await apply(ts_env, cc_registry, worker.task_queue, DISTRICT, first)
        await wait_for_task(engine, holder.id, "offer.1")
        waiting = await apply(ts_env, cc_registry, worker.task_queue, DISTRICT, second)
        while ("waiting.0", "places_waiting") not in records_of(engine, waiting.id):
            await ts_env.sleep(timedelta(seconds=1))
        expired = PlacesResult.model_validate(await result_of(ts_env, holder))
        await record_history(ts_env.client, holder, "childcare_places_offer_expired")
        await wait_for_task(engine, waiting.id, "offer.1")
        await _answer(ts_env, engine, waiting, "offer.1", {"accept": True})
        result = PlacesResult.model_validate(await result_of(ts_env, waiting))
    assert expired.outcome == "offer_expired"
    assert (f"seat_passed.{waiting.id}", "places_seat_passed") in records_of(engine, holder.id)
    assert result.outcome == "enrolled" and result.provider_ref == seat
    assert taken(engine, seat) == 1


def test_concurrent_reservations_never_overbook(seeded_engine: Engine) -> None:
    engine = seeded_engine
    seat = _one_seat(engine)
    with Session(engine) as session:
        session.get(PlacesCapacity, seat).capacity = 3  # type: ignore[union-attr]
        session.commit()

    def attempt(_: int) -> bool:
        for _try in range(50):
            try:
                with Session(engine) as session:
                    ok = take_seat(session, seat)
                    session.commit()
                    return ok
            except Exception:  # SQLite "database is locked" under contention: try again
                continue
        raise AssertionError("no attempt got through")

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(attempt, range(20)))
    assert results.count(True) == 3 and taken(engine, seat) == 3
    with Session(engine) as session, pytest.raises(Exception, match=r"(?i)check|constraint"):
        session.get(PlacesCapacity, seat).taken = 4  # type: ignore[union-attr]
        session.commit()


async def test_whole_waiting_list_expires_while_the_seat_stays_taken(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, cc_registry: PluginRegistry
) -> None:
    engine = seeded_engine
    holder_child, *waiting_children = await toddlers(ts_env, engine, DISTRICT, 3)
    seat = _one_seat(engine)
    async with running_worker(ts_env.client, cc_registry, engine=engine) as worker:
        holder = await apply(ts_env, cc_registry, worker.task_queue, DISTRICT, holder_child)
        await _answer(ts_env, engine, holder, "offer.1", {"accept": True})
        assert PlacesResult.model_validate(await result_of(ts_env, holder)).outcome == "enrolled"
        waiting = [
            await apply(ts_env, cc_registry, worker.task_queue, DISTRICT, child)
            for child in waiting_children
        ]
        for handle in waiting:
            for _ in range(120):
                if ("waiting.0", "places_waiting") in records_of(engine, handle.id):
                    break
                await ts_env.sleep(timedelta(seconds=1))
            else:
                raise AssertionError(f"{handle.id} never joined the waiting list")
        # Nobody releases the seat: after 180 days every waiting application lapses.
        results = [PlacesResult.model_validate(await result_of(ts_env, h)) for h in waiting]
        await record_history(ts_env.client, waiting[0], "childcare_places_waiting_list_expired")
    for handle, result in zip(waiting, results, strict=True):
        assert result.outcome == "waiting_list_expired" and result.waited
        assert result.offers == [] and result.provider_ref is None
        with Session(engine) as session:
            row = session.get(PlacesApplication, handle.id)
            assert row is not None and row.status == "lapsed" and row.provider_id is None
        assert ("report", "places_report") in records_of(engine, handle.id)
    assert taken(engine, seat) == 1  # the enrolled family keeps it; no seat was invented


async def test_a_family_applies_by_event_and_a_used_number_is_refused(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, cc_registry: PluginRegistry
) -> None:
    engine = seeded_engine
    [child] = await toddlers(ts_env, engine, DISTRICT, 1)
    event = {
        "district": DISTRICT,
        "case_ref": "A-0001",
        "child_ref": child,
        "preferred_kinds": ["community"],
    }
    async with running_worker(ts_env.client, cc_registry, engine=engine) as worker:
        workflow_id = await service.route_event(
            ts_env.client,
            cc_registry,
            event_type="childcare.places_apply",
            data=event,
            task_queue=worker.task_queue,
        )
        assert workflow_id == keyed_id("childcare.places", DISTRICT, "A-0001")
        handle = ts_env.client.get_workflow_handle(workflow_id)
        # A repeat of the event reaches the running application and changes nothing.
        await service.route_event(
            ts_env.client,
            cc_registry,
            event_type="childcare.places_apply",
            data=event,
            task_queue=worker.task_queue,
        )
        await _answer(ts_env, engine, handle, "offer.1", {"accept": True})
        result = PlacesResult.model_validate(await result_of(ts_env, handle))
        await record_history(ts_env.client, handle, "childcare_places_applied_by_event")
        # The same application number again starts a new run, which refuses to reuse it.
        await service.route_event(
            ts_env.client,
            cc_registry,
            event_type="childcare.places_apply",
            data=event,
            task_queue=worker.task_queue,
        )
        again = PlacesResult.model_validate(await result_of(ts_env, handle))
    assert result.outcome == "enrolled"
    assert again.outcome == "ineligible" and again.reason == "application_number_used"
    with Session(engine) as session:
        row = session.get(PlacesApplication, workflow_id)
        assert row is not None and row.status == "enrolled"
    assert [t.step_key for t in tasks_of(engine, workflow_id)] == ["offer.1"]

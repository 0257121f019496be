"""The five-thirty classroom on the time-skipping test server: every path of a session."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.db.tables import Guardian, Person
from careflow.registry import PluginRegistry
from plugins.childcare.classroom import ClassroomResult, HandoverRequest
from plugins.childcare.classroom.tables import ClassroomEnrolment
from tests.conftest import record_history
from tests.support.cases import case_ref_of, keyed_id
from tests.support.inbox import notifications_of, records_of, result_of, tasks_of, wait_for_task
from worker.testing import running_worker

DISTRICT = "wanbailin"


def _pickups(engine: Engine) -> tuple[str, dict[str, tuple[str, str | None]]]:
    """A community and its children: child → (an authorised guardian, an unauthorised one)."""
    with Session(engine) as session:
        rows = session.exec(
            select(Person.community_code, Guardian)
            .join(Guardian, col(Guardian.child_id) == Person.id)
            .where(col(Person.community_code).startswith(f"{DISTRICT}."))
            .order_by(col(Person.community_code), col(Guardian.child_id))
        ).all()
    found: dict[str, dict[str, list[Guardian]]] = {}
    for community, guardian in rows:
        found.setdefault(community, {}).setdefault(guardian.child_id, []).append(guardian)
    for community, children in found.items():
        usable = {
            child: (
                next(g.guardian_id for g in gs if g.authorised_pickup),
                next((g.guardian_id for g in gs if not g.authorised_pickup), None),
            )
            for child, gs in children.items()
            if any(g.authorised_pickup for g in gs)
        }
        if len(usable) >= 3 and any(bad for _, bad in usable.values()):
            return community, usable
    raise AssertionError("the demo registry has no community with three collectable children")


def _enrol(engine: Engine, community: str, children: list[str]) -> None:
    with Session(engine) as session:
        for child in children:
            session.add(
                ClassroomEnrolment(
                    child_id=child, community_code=community, enrolled_on=date(2026, 9, 1)
                )
            )
        session.commit()


async def _start(
    env: WorkflowEnvironment, registry: PluginRegistry, task_queue: str, community: str
) -> WorkflowHandle[Any, Any]:
    now = await env.get_current_time()
    started = await service.start_process(
        env.client,
        registry,
        process="childcare.classroom",
        district=DISTRICT,
        community=community,
        request={"ends_at": (now + timedelta(hours=2)).isoformat()},
        started_by="staff:S0001",
        task_queue=task_queue,
    )
    return env.client.get_workflow_handle(started.workflow_id)


async def _check_in(
    env: WorkflowEnvironment, engine: Engine, handle: WorkflowHandle[Any, Any], present: list[str]
) -> None:
    task = await wait_for_task(engine, handle.id, "check_in")
    assert task.role == "volunteer"
    await service.complete_task(
        env.client,
        engine,
        task_id=task.task_id,
        actor="V0001",
        role="volunteer",
        data={"present": present},
    )


async def test_authorised_handovers_and_refused_pickups(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, cc_registry: PluginRegistry
) -> None:
    engine = seeded_engine
    community, pickups = _pickups(engine)
    # One child whose family includes someone not authorised to collect, two others.
    with_bad = next(c for c in sorted(pickups) if pickups[c][1])
    other, absent = [c for c in sorted(pickups) if c != with_bad][:2]
    present = [with_bad, other]
    _enrol(engine, community, [with_bad, other, absent])
    async with running_worker(ts_env.client, cc_registry, engine=engine) as worker:
        handle = await _start(ts_env, cc_registry, worker.task_queue, community)
        await _check_in(ts_env, engine, handle, present)
        good, bad = pickups[with_bad]
        assert bad is not None
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(
                "hand_over", HandoverRequest(child_ref=with_bad, guardian_ref=bad, actor="V0001")
            )
        assert isinstance(refused.value.cause, ApplicationError)
        assert refused.value.cause.type == "UnauthorisedPickup"
        with pytest.raises(WorkflowUpdateFailedError) as not_here:
            await handle.execute_update(
                "hand_over",
                HandoverRequest(child_ref=absent, guardian_ref=pickups[absent][0], actor="V0001"),
            )
        assert isinstance(not_here.value.cause, ApplicationError)
        assert not_here.value.cause.type == "NotPresent"
        case_ref = await case_ref_of(ts_env.client, handle.id)
        await service.route_event(
            ts_env.client,
            cc_registry,
            event_type="childcare.classroom.handover",
            data={
                "district": DISTRICT,
                "case_ref": case_ref,
                "child_ref": with_bad,
                "guardian_ref": bad,
                "actor": "V0001",
            },
            task_queue=worker.task_queue,
        )
        await handle.execute_update(
            "hand_over", HandoverRequest(child_ref=with_bad, guardian_ref=good, actor="V0001")
        )
        await service.route_event(
            ts_env.client,
            cc_registry,
            event_type="childcare.classroom.handover",
            data={
                "district": DISTRICT,
                "case_ref": case_ref,
                "child_ref": other,
                "guardian_ref": pickups[other][0],
                "actor": "V0002",
            },
            task_queue=worker.task_queue,
        )
        result = ClassroomResult.model_validate(await result_of(ts_env, handle))
        await record_history(ts_env.client, handle, "childcare_classroom_all_collected")

    assert result.outcome == "all_collected" and result.present == 2 and result.enrolled == 3
    assert {h.child_ref: h.guardian_ref for h in result.handovers} == {
        with_bad: good,
        other: pickups[other][0],
    }
    assert result.refused_pickups == 1 and result.late == [] and result.not_collected == []
    kinds = [kind for _, kind in records_of(engine, handle.id)]
    assert kinds.count("child_handed_over") == 2 and "pickup_refused" in kinds
    sent = notifications_of(engine, handle.id)
    assert ("pickup_refused.1", "role:community_staff", "classroom_pickup_refused") in sent
    assert any(t == "classroom_absent" for *_, t in sent)
    desc = await handle.describe()
    summary = await desc.static_summary()
    assert summary is not None and "五点半课堂" in summary


async def test_late_child_gets_a_call_that_escalates_and_the_pickup_closes_it(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, cc_registry: PluginRegistry
) -> None:
    engine = seeded_engine
    community, pickups = _pickups(engine)
    child = sorted(pickups)[0]
    _enrol(engine, community, [child])
    async with running_worker(ts_env.client, cc_registry, engine=engine) as worker:
        handle = await _start(ts_env, cc_registry, worker.task_queue, community)
        await _check_in(ts_env, engine, handle, [child])
        await ts_env.sleep(timedelta(hours=2, minutes=31))
        call = await wait_for_task(engine, handle.id, f"call.{child}")
        assert call.role == "volunteer"
        await ts_env.sleep(timedelta(minutes=21))
        escalated = await wait_for_task(engine, handle.id, f"call.{child}", level=1)
        assert escalated.role == "community_staff"
        await handle.execute_update(
            "hand_over",
            HandoverRequest(child_ref=child, guardian_ref=pickups[child][0], actor="S1"),
        )
        result = ClassroomResult.model_validate(await result_of(ts_env, handle))
        await record_history(ts_env.client, handle, "childcare_classroom_late_pickup")

    assert result.outcome == "all_collected" and result.late == [child]
    assert result.handovers[0].minutes_after_end > 30
    closed = next(t for t in tasks_of(engine, handle.id) if t.step_key == f"call.{child}")
    assert closed.status == "done" and closed.result is not None
    assert closed.result["resolved_by_pickup"] is True


async def test_uncollected_child_escalates_to_staff_then_the_district(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, cc_registry: PluginRegistry
) -> None:
    engine = seeded_engine
    community, pickups = _pickups(engine)
    child = sorted(pickups)[0]
    _enrol(engine, community, [child])
    async with running_worker(ts_env.client, cc_registry, engine=engine) as worker:
        handle = await _start(ts_env, cc_registry, worker.task_queue, community)
        # Nobody checks in: the child counts as present and still needs a hand-over.
        result = ClassroomResult.model_validate(await result_of(ts_env, handle))
        await record_history(ts_env.client, handle, "childcare_classroom_not_collected")

    assert result.check_in_missing and result.present == 1
    assert result.outcome == "not_all_collected" and result.not_collected == [child]
    statuses = {t.step_key: (t.status, t.role) for t in tasks_of(engine, handle.id)}
    assert statuses["check_in"] == ("expired", "community_staff")
    assert statuses[f"call.{child}"] == ("expired", "community_staff")
    sent = notifications_of(engine, handle.id)
    assert (f"call_expired.{child}", "role:district_admin", "classroom_call_expired") in sent
    assert ("not_collected", "role:district_admin", "classroom_not_collected") in sent
    assert (f"not_collected.{child}", "child_not_collected") in records_of(engine, handle.id)


async def test_school_day_starts_one_session_per_enrolled_community(
    dev_env: WorkflowEnvironment, seeded_engine: Engine, cc_registry: PluginRegistry
) -> None:
    # On the dev server: the time-skipping server keeps time locked after a parent that
    # started abandoned children has completed, which would stall every later test.
    engine = seeded_engine
    community, pickups = _pickups(engine)
    _enrol(engine, community, sorted(pickups)[:1])
    async with running_worker(dev_env.client, cc_registry, engine=engine) as worker:
        started = await service.start_process(
            dev_env.client,
            cc_registry,
            process="childcare.classroom_day",
            district=DISTRICT,
            request={},
            started_by="schedule:childcare.classroom.school_day",
            task_queue=worker.task_queue,
        )
        handle = dev_env.client.get_workflow_handle(started.workflow_id)
        result = await handle.result()
        await record_history(dev_env.client, handle, "childcare_classroom_day")
        session = dev_env.client.get_workflow_handle(result["sessions"][0])
        await wait_for_task(engine, session.id, "check_in")
        await session.terminate("test over")
    local = community.removeprefix(f"{DISTRICT}.")
    # Each session's case is the day's plus the community; its id holds that case's key.
    assert result["sessions"] == [
        keyed_id("childcare.classroom", DISTRICT, f"{started.case_ref}.{local}")
    ]

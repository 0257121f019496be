"""The five-thirty classroom and the guardian's consent: enrolment, the roster, a withdrawal."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.db.engine import session_scope
from careflow.db.seed import demo_child_without_consent
from careflow.db.tables import CaseRecord, Guardian, Person
from careflow.privacy import consent as rules
from careflow.privacy.withdrawal import CONSENT_WITHDRAWN_SIGNAL, ConsentWithdrawn
from careflow.registry import PluginRegistry
from plugins.childcare.classroom import ClassroomResult, EnrolmentResult, HandoverRequest
from plugins.childcare.classroom.tables import ClassroomEnrolment
from tests.conftest import record_history
from tests.support.inbox import notifications_of, records_of, result_of, wait_for_task
from worker.testing import running_worker

DISTRICT = "wanbailin"


def _records(engine: Engine, workflow_id: str, kind: str) -> list[dict[str, Any]]:
    with Session(engine) as session:
        return [
            r.data
            for r in session.exec(
                select(CaseRecord).where(
                    CaseRecord.workflow_id == workflow_id, CaseRecord.kind == kind
                )
            ).all()
        ]


def _collectable(engine: Engine, community: str, n: int) -> dict[str, str]:
    """``n`` children of ``community`` with consent, each with a guardian authorised to collect."""
    with Session(engine) as session:
        rows = session.exec(
            select(Guardian)
            .join(Person, col(Person.id) == col(Guardian.child_id))
            .where(Person.community_code == community, col(Guardian.authorised_pickup).is_(True))
            .order_by(col(Guardian.child_id))
        ).all()
        have = rules.consenting(
            session, subject_ids=[g.child_id for g in rows], purpose="classroom", on=date.today()
        )
    found: dict[str, str] = {}
    for link in rows:
        if link.child_id in have:
            found.setdefault(link.child_id, link.guardian_id)
    assert len(found) >= n
    return dict(sorted(found.items())[:n])


def _enrol(engine: Engine, community: str, children: list[str]) -> None:
    with Session(engine) as session:
        for child in children:
            session.add(
                ClassroomEnrolment(
                    child_id=child, community_code=community, enrolled_on=date(2026, 9, 1)
                )
            )
        session.commit()


async def _session(
    env: WorkflowEnvironment, registry: PluginRegistry, queue: str, community: str
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
        task_queue=queue,
    )
    return env.client.get_workflow_handle(started.workflow_id)


async def test_a_child_without_consent_is_not_enrolled(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, cc_registry: PluginRegistry
) -> None:
    engine = seeded_engine
    with Session(engine) as session:
        child = demo_child_without_consent(session)
        assert child is not None
        person = session.get(Person, child)
        assert person is not None
        home = person.community_code
    async with running_worker(ts_env.client, cc_registry, engine=engine) as worker:
        workflow_id = await service.route_event(
            ts_env.client,
            cc_registry,
            event_type="childcare.classroom_enrol",
            data={"district": DISTRICT, "actor": "S0001", "child_ref": child, "community": home},
            task_queue=worker.task_queue,
        )
        handle = ts_env.client.get_workflow_handle(workflow_id)
        result = EnrolmentResult.model_validate(await result_of(ts_env, handle))
        await record_history(ts_env.client, handle, "childcare_classroom_enrolment_no_consent")
    (change,) = result.changes
    assert not change.accepted and change.reason == "no_consent"
    assert change.reason_zh == "未登记监护人同意（五点半课堂）"
    with Session(engine) as session:
        assert session.get(ClassroomEnrolment, child) is None
    (refused,) = _records(engine, workflow_id, "classroom_enrolment_refused")
    assert refused["reason"] == "no_consent" and refused["reason_zh"]
    assert any(
        template == "consent_missing" and recipient == "role:community_staff"
        for _, recipient, template in notifications_of(engine, workflow_id)
    )


async def test_the_roster_leaves_out_a_child_whose_consent_was_withdrawn(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, cc_registry: PluginRegistry
) -> None:
    engine = seeded_engine
    community = "wanbailin.wanghua.jiusi"
    kept, gone = _collectable(engine, community, 2)
    _enrol(engine, community, [kept, gone])
    with session_scope(engine) as session:
        rules.withdraw_consent(
            session,
            subject_id=gone,
            purpose="classroom",
            withdrawn_by="S0001",
            at=datetime(2026, 1, 5, tzinfo=UTC),
        )
    async with running_worker(ts_env.client, cc_registry, engine=engine) as worker:
        handle = await _session(ts_env, cc_registry, worker.task_queue, community)
        task = await wait_for_task(engine, handle.id, "check_in")
        await service.complete_task(
            ts_env.client,
            engine,
            task_id=task.task_id,
            actor="V0001",
            role="volunteer",
            data={"present": []},
        )
        result = ClassroomResult.model_validate(await result_of(ts_env, handle))
    assert result.enrolled == 1
    (missing,) = _records(engine, handle.id, "consent_missing")
    assert missing["children"] == [gone] and "未登记监护人同意" in missing["reason_zh"]
    (check_in,) = _records(engine, handle.id, "classroom_check_in")
    assert check_in["absent"] == [kept]  # the other child is not on today's roster at all
    assert ("consent_missing", "role:community_staff", "consent_missing") in notifications_of(
        engine, handle.id
    )


async def test_a_withdrawal_during_a_session_is_recorded_and_the_child_still_handed_over(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, cc_registry: PluginRegistry
) -> None:
    engine = seeded_engine
    community = "wanbailin.wanghua.jiusi"
    pickups = _collectable(engine, community, 2)
    child, other = pickups
    _enrol(engine, community, [child, other])
    async with running_worker(ts_env.client, cc_registry, engine=engine) as worker:
        handle = await _session(ts_env, cc_registry, worker.task_queue, community)
        task = await wait_for_task(engine, handle.id, "check_in")
        await service.complete_task(
            ts_env.client,
            engine,
            task_id=task.task_id,
            actor="V0001",
            role="volunteer",
            data={"present": [child]},
        )
        for _ in range(100):
            if ("check_in", "classroom_check_in") in records_of(engine, handle.id):
                break
            await ts_env.sleep(timedelta(seconds=1))
        at = await ts_env.get_current_time()
        for subject in (child, other, "P00001"):  # P00001 is not on the roster: ignored
            await handle.signal(
                CONSENT_WITHDRAWN_SIGNAL,
                ConsentWithdrawn(
                    subject_ref=subject, purpose="classroom", withdrawn_at=at, consent_id=7
                ),
            )
        for _ in range(100):
            if len(_records(engine, handle.id, "consent_withdrawn")) == 2:
                break
            await ts_env.sleep(timedelta(seconds=1))
        await handle.execute_update(
            "hand_over",
            HandoverRequest(child_ref=child, guardian_ref=pickups[child], actor="S0002"),
        )
        result = ClassroomResult.model_validate(await result_of(ts_env, handle))
        await record_history(ts_env.client, handle, "childcare_classroom_consent_withdrawn")
    withdrawn = {r["child_ref"]: r for r in _records(engine, handle.id, "consent_withdrawn")}
    assert set(withdrawn) == {child, other}
    assert withdrawn[child]["in_care"] is True and withdrawn[other]["in_care"] is False
    # Safety first: the child in the room was still handed over to an authorised guardian.
    assert [h.child_ref for h in result.handovers] == [child]
    assert result.outcome == "all_collected"
    sent = notifications_of(engine, handle.id)
    assert (f"consent_withdrawn.{child}", "role:community_staff", "consent_withdrawn") in sent

"""Classroom enrolment through routed events: checked against the registry, written, recorded."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.db.tables import Person
from careflow.errors import InputError
from careflow.registry import PluginRegistry
from plugins.childcare.classroom import EnrolmentResult
from plugins.childcare.classroom.tables import ClassroomEnrolment
from tests.conftest import record_history
from tests.support.cases import keyed_id
from tests.support.inbox import records_of, result_of
from worker.testing import running_worker

DISTRICT = "wanbailin"


def _people(engine: Engine) -> tuple[Person, str, str, str]:
    """A child of the district, another community of the district, an adult, an outside child."""
    with Session(engine) as session:
        child = session.exec(
            select(Person)
            .where(Person.kind == "child", col(Person.community_code).startswith(f"{DISTRICT}."))
            .order_by(col(Person.id))
        ).first()
        assert child is not None
        other = session.exec(
            select(Person.community_code).where(
                col(Person.community_code).startswith(f"{DISTRICT}."),
                Person.community_code != child.community_code,
            )
        ).first()
        adult = session.exec(select(Person.id).where(Person.kind == "adult")).first()
        outside = session.exec(
            select(Person.id).where(
                Person.kind == "child", col(Person.community_code).not_like(f"{DISTRICT}.%")
            )
        ).first()
    assert other and adult and outside
    return child, other, adult, outside


async def _event(
    env: WorkflowEnvironment, registry: PluginRegistry, queue: str, event_type: str, **data: Any
) -> EnrolmentResult:
    workflow_id = await service.route_event(
        env.client,
        registry,
        event_type=event_type,
        data={"district": DISTRICT, "actor": "S0001", **data},
        task_queue=queue,
    )
    handle = env.client.get_workflow_handle(workflow_id)
    return EnrolmentResult.model_validate(await result_of(env, handle))


async def test_staff_enrol_and_withdraw_a_child_by_event(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, cc_registry: PluginRegistry
) -> None:
    engine = seeded_engine
    child, other, adult, outside = _people(engine)
    home = child.community_code
    async with running_worker(ts_env.client, cc_registry, engine=engine) as worker:
        q = worker.task_queue
        enrolled = await _event(
            ts_env, cc_registry, q, "childcare.classroom_enrol", child_ref=child.id, community=home
        )
        workflow_id = keyed_id("childcare.classroom_enrolment", DISTRICT, child.id)
        await record_history(
            ts_env.client,
            ts_env.client.get_workflow_handle(workflow_id),
            "childcare_classroom_enrolment",
        )
        again = await _event(
            ts_env, cc_registry, q, "childcare.classroom_enrol", child_ref=child.id, community=home
        )
        elsewhere = await _event(
            ts_env, cc_registry, q, "childcare.classroom_enrol", child_ref=child.id, community=other
        )
        not_a_child = await _event(
            ts_env, cc_registry, q, "childcare.classroom_enrol", child_ref=adult, community=home
        )
        withdrawn = await _event(
            ts_env, cc_registry, q, "childcare.classroom_unenrol", child_ref=child.id
        )
        with Session(engine) as session:
            row = session.get(ClassroomEnrolment, child.id)
            assert row is not None and not row.active and row.community_code == home
        unknown = await _event(
            ts_env, cc_registry, q, "childcare.classroom_enrol", child_ref=outside, community=home
        )

    assert enrolled.changes[0].accepted and enrolled.changes[0].changed
    assert again.changes[0].accepted and again.changes[0].reason == "already_enrolled"
    assert not elsewhere.changes[0].accepted and elsewhere.changes[0].reason == "not_in_community"
    assert not_a_child.changes[0].reason == "not_a_registered_child"
    assert withdrawn.changes[0].changed and not withdrawn.changes[0].active
    assert unknown.changes[0].reason == "not_in_district"
    kinds = [kind for _, kind in records_of(engine, workflow_id)]
    # Every run of the child's process left its own record under the same workflow id.
    assert kinds == [
        "classroom_enrolled",
        "classroom_enrolled",
        "classroom_enrolment_refused",
        "classroom_unenrolled",
    ]


def test_enrol_event_needs_a_community_of_the_district(cc_registry: PluginRegistry) -> None:
    base = {"district": DISTRICT, "child_ref": "P00012", "actor": "S0001"}
    with pytest.raises(InputError, match="community"):
        service.prepare_event(cc_registry, event_type="childcare.classroom_enrol", data=base)
    with pytest.raises(InputError, match="not in"):
        service.prepare_event(
            cc_registry,
            event_type="childcare.classroom_enrol",
            data={**base, "community": "xiaodian.x.y"},
        )
    with pytest.raises(InputError, match="case_ref"):
        service.prepare_event(
            cc_registry,
            event_type="childcare.classroom_unenrol",
            data={**base, "case_ref": "P00013"},
        )
    prepared = service.prepare_event(
        cc_registry, event_type="childcare.classroom_unenrol", data=base
    )
    assert prepared.workflow_id == keyed_id("childcare.classroom_enrolment", DISTRICT, "P00012")

"""Dining table enrolment through routed events: who eats where, checked and recorded."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.db.tables import Person, Provider
from careflow.registry import PluginRegistry
from plugins.childcare.dining import DiningEnrolmentResult
from plugins.childcare.dining.activities import DiningActivities
from plugins.childcare.dining.models import SuspendInput
from plugins.childcare.dining.tables import DiningEnrolment
from tests.conftest import record_history
from tests.support.cases import keyed_id
from tests.support.inbox import records_of, result_of
from worker.testing import running_worker

DISTRICT = "yingze"


def _registry_ids(engine: Engine) -> tuple[str, str, str, str]:
    """A child of the district, its dining table, a childcare centre, another district's table."""
    with Session(engine) as session:
        child = session.exec(
            select(Person.id)
            .where(Person.kind == "child", col(Person.community_code).startswith(f"{DISTRICT}."))
            .order_by(col(Person.id))
        ).first()
        tables = session.exec(
            select(Provider.id, Provider.district_code)
            .where(Provider.kind == "dining_table")
            .order_by(col(Provider.id))
        ).all()
        centre = session.exec(
            select(Provider.id).where(
                Provider.kind == "childcare", Provider.district_code == DISTRICT
            )
        ).first()
    table = next(pid for pid, district in tables if district == DISTRICT)
    elsewhere = next(pid for pid, district in tables if district != DISTRICT)
    assert child and centre
    return child, table, centre, elsewhere


async def _event(
    env: WorkflowEnvironment, registry: PluginRegistry, queue: str, event_type: str, **data: Any
) -> DiningEnrolmentResult:
    workflow_id = await service.route_event(
        env.client,
        registry,
        event_type=event_type,
        data={"district": DISTRICT, "actor": "S0001", **data},
        task_queue=queue,
    )
    handle = env.client.get_workflow_handle(workflow_id)
    return DiningEnrolmentResult.model_validate(await result_of(env, handle))


async def test_staff_register_a_family_at_a_table_and_hear_of_its_suspension(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, cc_registry: PluginRegistry
) -> None:
    engine = seeded_engine
    child, table, centre, elsewhere = _registry_ids(engine)
    enrol = "childcare.dining_enrol"
    async with running_worker(ts_env.client, cc_registry, engine=engine) as worker:
        q = worker.task_queue
        enrolled = await _event(ts_env, cc_registry, q, enrol, child_ref=child, provider_ref=table)
        workflow_id = keyed_id("childcare.dining_enrolment", DISTRICT, child)
        await record_history(
            ts_env.client,
            ts_env.client.get_workflow_handle(workflow_id),
            "childcare_dining_enrolment",
        )
        not_a_table = await _event(
            ts_env, cc_registry, q, enrol, child_ref=child, provider_ref=centre
        )
        other_district = await _event(
            ts_env, cc_registry, q, enrol, child_ref=child, provider_ref=elsewhere
        )
        # The families registered here are the ones a suspension tells.
        told = DiningActivities(engine).suspend(
            SuspendInput(
                workflow_id="test-suspension",
                provider_ref=table,
                failed_items=["food_storage"],
                at=datetime.now(UTC),
            )
        )
        withdrawn = await _event(
            ts_env, cc_registry, q, "childcare.dining_unenrol", child_ref=child, provider_ref=table
        )
        suspended = await _event(ts_env, cc_registry, q, enrol, child_ref=child, provider_ref=table)

    assert enrolled.changes[0].accepted and enrolled.changes[0].changed
    assert not_a_table.changes[0].reason == "not_a_dining_table"
    assert other_district.changes[0].reason == "table_not_in_district"
    assert told.children == 1 and told.guardians
    assert withdrawn.changes[0].changed and not withdrawn.changes[0].active
    assert suspended.changes[0].reason == "table_suspended"
    with Session(engine) as session:
        row = session.get(DiningEnrolment, (table, child))
        assert row is not None and not row.active
    kinds = [kind for _, kind in records_of(engine, workflow_id)]
    assert kinds.count("dining_enrolled") == 1 and kinds.count("dining_unenrolled") == 1
    assert kinds.count("dining_enrolment_refused") == 3

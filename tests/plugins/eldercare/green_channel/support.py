"""Helpers shared by the eldercare green-channel and curtain tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.db import crud
from careflow.db.tables import Household, HouseholdMember, Person
from careflow.models import ProcessContext
from careflow.registry import PluginRegistry
from plugins.eldercare.green_channel import GREEN_CHANNEL_PROCESS
from plugins.eldercare.green_channel.tables import GreenChannelBooking

DISTRICT = "xinghualing"


def elder(engine: Engine, *, disabled: bool, district: str = DISTRICT) -> Person:
    """A seeded elder of ``district``, with or without a disability level."""
    with Session(engine) as session:
        statement = (
            select(Person)
            .where(Person.kind == "elder")
            .where(col(Person.community_code).startswith(f"{district}."))
            .where((Person.disability_level > 0) if disabled else (Person.disability_level == 0))
            .order_by(col(Person.id))
        )
        found = session.exec(statement).first()
        assert found is not None
        return found


def add_family(engine: Engine, elder_ref: str) -> str:
    """Give the elder a son in the same household; return his registry id."""
    with Session(engine) as session:
        person = session.get(Person, elder_ref)
        assert person is not None
        household = session.exec(
            select(HouseholdMember).where(HouseholdMember.person_id == elder_ref)
        ).first()
        if household is None:
            session.add(Household(id="H99001", community_code=person.community_code))
            session.add(
                HouseholdMember(household_id="H99001", person_id=elder_ref, relation="head")
            )
            household_id = "H99001"
        else:
            household_id = household.household_id
        son = person.model_copy(
            update={"id": "P99001", "kind": "adult", "disability_level": 0, "lives_alone": False}
        )
        session.add(Person.model_validate(son.model_dump()))
        session.flush()
        session.add(
            HouseholdMember(household_id=household_id, person_id="P99001", relation="child")
        )
        session.commit()
    return "P99001"


def channel_context(district: str, case_ref: str) -> ProcessContext:
    """The context of a green channel staff opened in ``district`` for ``case_ref``."""
    return ProcessContext(
        process=GREEN_CHANNEL_PROCESS,
        module="eldercare",
        district=district,
        case_ref=case_ref,
        started_by="staff:S0001",
    )


def record_opened(
    engine: Engine, workflow_id: str, *, district: str, case_ref: str, elder_ref: str
) -> None:
    """Write a channel's ``green_channel_opened`` case record, naming its elder.

    A channel started before the extension points passed ``elder_ref`` in their data has only
    this record to find its elder by.
    """
    with Session(engine) as session:
        crud.insert_case_record(
            session,
            workflow_id=workflow_id,
            step_key="opened",
            process=GREEN_CHANNEL_PROCESS,
            district=district,
            case_ref=case_ref,
            kind="green_channel_opened",
            data={"elder_ref": elder_ref},
        )
        session.commit()


def bookings(engine: Engine, workflow_id: str) -> list[tuple[str, str, str | None]]:
    """(hospital, status, reason) of every booking of a workflow, in request order."""
    with Session(engine) as session:
        rows = session.exec(
            select(GreenChannelBooking)
            .where(GreenChannelBooking.workflow_id == workflow_id)
            .order_by(col(GreenChannelBooking.requested_at), col(GreenChannelBooking.step_key))
        ).all()
        return [(r.hospital_ref, r.status, r.reason_code) for r in rows]


async def start(
    env: WorkflowEnvironment,
    registry: PluginRegistry,
    task_queue: str,
    process: str,
    request: dict[str, Any],
    *,
    district: str = DISTRICT,
    case_ref: str | None = None,
) -> WorkflowHandle[Any, Any]:
    """Start a process as a staff action would."""
    started = await service.start_process(
        env.client,
        registry,
        process=process,
        district=district,
        request=request,
        started_by="staff:S0001",
        task_queue=task_queue,
        case_ref=case_ref,
    )
    return env.client.get_workflow_handle(started.workflow_id)


async def complete(
    env: WorkflowEnvironment, engine: Engine, task_id: str, role: str, data: dict[str, Any]
) -> None:
    """Complete a task as staff do from their inbox."""
    await service.complete_task(
        env.client, engine, task_id=task_id, actor="S0001", role=role, data=data
    )


async def event(
    env: WorkflowEnvironment,
    registry: PluginRegistry,
    task_queue: str,
    event_type: str,
    data: dict[str, Any],
) -> str:
    """Route a device or partner event as ``careflow event`` does."""
    return await service.route_event(
        env.client, registry, event_type=event_type, data=data, task_queue=task_queue
    )

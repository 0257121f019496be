"""A withdrawal recorded by staff reaches the running process that uses the child's data.

On the dev server: the action finds running processes through the search attributes, which
the time-skipping server does not index.
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from careflow.access import Attempt, accounts, actions, new_request_id
from careflow.db.tables import AuditEntry, Person
from careflow.registry import PluginRegistry
from plugins.childcare import plugin as childcare_plugin
from plugins.childcare.places import PlacesResult
from plugins.engine import plugin as engine_plugin
from tests.plugins.childcare.places.support import apply, toddlers
from tests.support.inbox import records_of, wait_for_task
from worker.testing import running_worker

DISTRICT = "xinghualing"


async def _visible(client: Client, workflow_id: str) -> None:
    deadline = time.monotonic() + 20
    query = f'WorkflowId = "{workflow_id}" AND ExecutionStatus = "Running"'
    while not [w async for w in client.list_workflows(query)]:
        assert time.monotonic() < deadline, f"{workflow_id} not visible"
        await asyncio.sleep(0.2)


async def test_staff_withdraw_consent_and_the_running_application_ends(
    dev_env: WorkflowEnvironment, seeded_engine: Engine
) -> None:
    engine = seeded_engine
    registry = PluginRegistry.build([engine_plugin, childcare_plugin])
    client = dev_env.client
    [child] = await toddlers(dev_env, engine, DISTRICT, 1)
    with Session(engine) as session:
        person = session.get(Person, child)
        assert person is not None
        principal = accounts.load_principal(
            session, accounts.account_id(session, f"{person.community_code}-community_staff")
        )
    async with running_worker(client, registry, engine=engine) as worker:
        handle = await apply(dev_env, registry, worker.task_queue, DISTRICT, child)
        await wait_for_task(engine, handle.id, "offer.1")
        await _visible(client, handle.id)
        attempt = Attempt(principal=principal, channel="console", request_id=new_request_id())
        withdrawal = await actions.withdraw_consent(
            client, engine, attempt, subject_id=child, purpose="childcare_place"
        )
        result = PlacesResult.model_validate(await handle.result())
    assert handle.id in withdrawal.told and withdrawal.not_told is None
    assert "已通知" in withdrawal.message
    assert result.outcome == "consent_withdrawn"
    assert ("consent_withdrawn", "consent_withdrawn") in records_of(engine, handle.id)
    with Session(engine) as session:
        (row,) = session.exec(
            select(AuditEntry).where(AuditEntry.request_id == attempt.request_id)
        ).all()
    assert (row.action, row.outcome, row.reason) == ("consent.withdraw", "accepted", None)
    assert row.target == f"consent:{withdrawal.consent.id}"

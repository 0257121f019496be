"""Helpers for childcare-places tests of any district: toddlers, applying for them, seats taken."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.db.tables import Person
from careflow.registry import PluginRegistry
from plugins.childcare.places.tables import PlacesCapacity

__all__ = ["apply", "taken", "toddlers"]


async def toddlers(env: WorkflowEnvironment, engine: Engine, district: str, n: int) -> list[str]:
    """The first ``n`` children of ``district``, made about one year old at the server's clock.

    The session's time-skipping server may be years past the seed's reference date, so ages
    are set from its clock rather than trusted from the seed.
    """
    born = (await env.get_current_time()).date() - timedelta(days=400)
    with Session(engine) as session:
        rows = session.exec(
            select(Person)
            .where(Person.kind == "child", col(Person.community_code).startswith(f"{district}."))
            .order_by(col(Person.id))
            .limit(n)
        ).all()
        for row in rows:
            row.birth_date = born
            session.add(row)
        session.commit()
        return [row.id for row in rows]


async def apply(
    env: WorkflowEnvironment, registry: PluginRegistry, task_queue: str, district: str, child: str
) -> WorkflowHandle[Any, Any]:
    """Apply for a community place for ``child`` in ``district``, as staff do."""
    started = await service.start_process(
        env.client,
        registry,
        process="childcare.places",
        district=district,
        request={"child_ref": child, "preferred_kinds": ["community"]},
        started_by="staff:S0001",
        task_queue=task_queue,
    )
    return env.client.get_workflow_handle(started.workflow_id)


def taken(engine: Engine, provider: str) -> int:
    """Seats taken at ``provider`` (-1 when it has no capacity row)."""
    with Session(engine) as session:
        row = session.get(PlacesCapacity, provider)
        return row.taken if row else -1

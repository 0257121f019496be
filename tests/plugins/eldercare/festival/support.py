"""Helpers for festival-care tests of any district: who is listed, and driving the deliveries."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.db.tables import Person
from careflow.registry import PluginRegistry
from plugins.eldercare.tiers.activities import age_on
from tests.support.cases import keyed_id
from tests.support.inbox import wait_for_task

__all__ = [
    "delivery_id",
    "delivery_items",
    "eligible",
    "hand_over_all",
    "no_delivery_started",
    "smallest_community",
    "start_as_scheduled",
]


def eligible(engine: Engine, district: str, day: date) -> dict[str, list[str]]:
    """Solitary or 80+ elders of the district by community, as the festival lists them."""
    with Session(engine) as session:
        people = session.exec(
            select(Person)
            .where(Person.kind == "elder", col(Person.community_code).startswith(f"{district}."))
            .order_by(col(Person.id))
        ).all()
    found: dict[str, list[str]] = {}
    for p in people:
        if p.lives_alone or age_on(p.birth_date, day) >= 80:
            found.setdefault(p.community_code, []).append(p.id)
    return found


def smallest_community(engine: Engine, district: str, day: date, *, at_least: int = 2) -> str:
    """The community with the fewest (but ``at_least``) festival recipients: a short test."""
    by_community = eligible(engine, district, day)
    return min(
        (c for c, refs in by_community.items() if len(refs) >= at_least),
        key=lambda c: len(by_community[c]),
    )


async def start_as_scheduled(
    env: WorkflowEnvironment,
    engine: Engine,
    registry: PluginRegistry,
    task_queue: str,
    district: str,
    community: str,
    year: int,
) -> tuple[WorkflowHandle[Any, Any], date, list[str]]:
    """Start the festival for one community as the spring schedule would.

    Returns the festival's handle, the day it started on the test server's clock, and the
    community's recipients as listed on that day.
    """
    started = await service.start_process(
        env.client,
        registry,
        process="eldercare.festival",
        district=district,
        request={"year": year, "communities": [community]},
        started_by="schedule:eldercare.festival.spring",
        task_queue=task_queue,
    )
    festival = env.client.get_workflow_handle(started.workflow_id)
    start_day = (await festival.describe()).start_time.date()
    return festival, start_day, eligible(engine, district, start_day)[community]


def delivery_id(district: str, year: int, elder: str) -> str:
    """The workflow id of one elder's festival delivery (its case ``F<year>.<elder>``, keyed)."""
    return keyed_id("delivery", district, f"F{year}.{elder}")


async def delivery_items(client: Client, workflow_id: str) -> list[dict[str, Any]]:
    """The items a delivery was started with, read from its start event."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    [process_input] = await client.data_converter.decode(started.input.payloads)
    items: list[dict[str, Any]] = process_input["request"]["items"]
    return items


async def no_delivery_started(client: Client, district: str, year: int, elders: list[str]) -> None:
    """No elder's delivery workflow exists yet (checked)."""
    for elder in elders:
        with pytest.raises(RPCError) as missing:
            await client.get_workflow_handle(delivery_id(district, year, elder)).describe()
        assert missing.value.status == RPCStatusCode.NOT_FOUND


async def hand_over_all(
    env: WorkflowEnvironment,
    engine: Engine,
    district: str,
    year: int,
    elders: list[str],
    *,
    role: str,
) -> None:
    """Record every drop-off, then hand each elder's goods over as ``role`` (checked)."""
    for elder in elders:
        delivery = delivery_id(district, year, elder)
        dropoff = await wait_for_task(engine, delivery, "dropoff")
        await service.complete_task(
            env.client,
            engine,
            task_id=dropoff.task_id,
            actor="S0003",
            role="community_staff",
            data={"items_match": True},
        )
        handover = await wait_for_task(engine, delivery, "handover")
        assert handover.role == role
        await service.complete_task(
            env.client,
            engine,
            task_id=handover.task_id,
            actor="V0001",
            role=role,
            data={"handed_over": True, "receipt_ref": f"R-{elder}"},
        )

"""Helpers that walk a micro-wish campaign the way staff and donors would."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.db.tables import Task
from careflow.registry import PluginRegistry
from plugins.childcare import plugin as childcare_plugin
from plugins.childcare.microwish.tables import CwCampaign, CwPledge, CwPool, CwWish
from plugins.engine import plugin as engine_plugin
from tests.support.cases import keyed_id
from tests.support.inbox import wait_for_task

__all__ = [
    "DISTRICT",
    "JIUSI",
    "Walk",
    "microwish_registry",
]

DISTRICT = "wanbailin"
JIUSI = "wanbailin.wanghua.jiusi"
PROCESS = "childcare.microwish"


def microwish_registry(**params: Any) -> PluginRegistry:
    """The engine and childcare plugins, with Wanbailin's campaign params overridden."""
    # Ages on a fixed day: the time-skipping server's clock moves on from test to test.
    fixed = {"min_age": 0, "max_age": 17, "eligibility_date": "2026-06-01"}
    overrides = {DISTRICT: {PROCESS: {**fixed, **params}}}
    return PluginRegistry.build([engine_plugin, childcare_plugin], overrides=overrides)


class Walk:
    """One campaign under test: start it, act on its tasks, read its tables."""

    def __init__(self, env: WorkflowEnvironment, engine: Engine, registry: PluginRegistry) -> None:
        self.env, self.engine, self.registry = env, engine, registry
        self.case_ref = f"MW{uuid.uuid4().hex[:8]}"
        self.handle: WorkflowHandle[Any, Any] | None = None

    @property
    def workflow_id(self) -> str:
        return keyed_id(PROCESS, DISTRICT, self.case_ref)

    async def start(self, task_queue: str, **request: Any) -> WorkflowHandle[Any, Any]:
        started = await service.start_process(
            self.env.client,
            self.registry,
            process=PROCESS,
            district=DISTRICT,
            request={"communities": [JIUSI], **request},
            case_ref=self.case_ref,
            started_by="staff:S0001",
            task_queue=task_queue,
        )
        self.handle = self.env.client.get_workflow_handle(started.workflow_id)
        return self.handle

    def wishes(self) -> list[CwWish]:
        with Session(self.engine) as session:
            return list(
                session.exec(
                    select(CwWish)
                    .where(CwWish.campaign_id == self.workflow_id)
                    .order_by(col(CwWish.id))
                ).all()
            )

    def pool(self) -> list[CwPool]:
        with Session(self.engine) as session:
            return list(
                session.exec(select(CwPool).where(CwPool.campaign_id == self.workflow_id)).all()
            )

    def pledges(self) -> dict[str, str]:
        with Session(self.engine) as session:
            rows = session.exec(select(CwPledge).where(CwPledge.campaign_id == self.workflow_id))
            return {p.pledge_ref: p.status for p in rows.all()}

    def tasks(self) -> list[Task]:
        with Session(self.engine) as session:
            return list(session.exec(select(Task).where(Task.workflow_id == self.workflow_id)))

    async def open_visits(self, count: int) -> list[CwWish]:
        """The campaign's wishes once their ``count`` first visit tasks are open."""
        deadline = time.monotonic() + 15
        while True:
            wishes = self.wishes()
            keys = {t.step_key for t in self.tasks() if t.status == "open"}
            if len(wishes) == count and all(f"visit.{w.id}" in keys for w in wishes):
                return wishes
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(wishes)} wishes, open tasks {sorted(keys)}")
            await asyncio.sleep(0.05)

    async def published(self) -> None:
        """Wait until the wish list is published: pledges are taken from then on."""
        deadline = time.monotonic() + 15
        while True:
            with Session(self.engine) as session:
                campaign = session.get(CwCampaign, self.workflow_id)
                if campaign is not None and campaign.published_at is not None:
                    return
            if time.monotonic() > deadline:
                raise AssertionError("the wish list was not published")
            await asyncio.sleep(0.05)

    async def task(
        self, step_key: str, *, level: int | None = None, workflow_id: str | None = None
    ) -> Task:
        return await wait_for_task(
            self.engine, workflow_id or self.workflow_id, step_key, level=level
        )

    async def complete(
        self, step_key: str, data: dict[str, Any], *, role: str, workflow_id: str | None = None
    ) -> None:
        task = await self.task(step_key, workflow_id=workflow_id)
        await service.complete_task(
            self.env.client, self.engine, task_id=task.task_id, actor="S0001", role=role, data=data
        )

    async def visit(self, wish_id: int, data: dict[str, Any], *, suffix: str = "") -> None:
        await self.complete(f"visit.{wish_id}{suffix}", data, role="grid_worker")

    async def review(self, wish_id: int, data: dict[str, Any], *, suffix: str = "") -> None:
        await self.complete(f"review.{wish_id}{suffix}", data, role="community_staff")

    async def event(self, event_type: str, *, checked: bool = False, **data: Any) -> None:
        """Send an event; ``checked`` runs the service's database checks as the CLI does."""
        await service.route_event(
            self.env.client,
            self.registry,
            event_type=event_type,
            data={"district": DISTRICT, "case_ref": self.case_ref, **data},
            task_queue="unused",
            engine=self.engine if checked else None,
        )

    def delivery_id(self, wish_id: int) -> str:
        return keyed_id("delivery", DISTRICT, f"{self.case_ref}.W{wish_id}")

    async def deliver(self, wish_id: int) -> None:
        """Community staff record the drop-off, the grid worker hands over with a receipt."""
        wf = self.delivery_id(wish_id)
        await self.complete(
            "dropoff", {"items_match": True}, role="community_staff", workflow_id=wf
        )
        await self.complete(
            "handover",
            {"handed_over": True, "receipt_ref": f"R-{wish_id}"},
            role="grid_worker",
            workflow_id=wf,
        )

    async def next_visit(self, done: set[int]) -> int:
        """The id of the next open first-round visit task not yet in ``done``."""
        deadline = time.monotonic() + 15
        while True:
            for t in self.tasks():
                wish = int(t.step_key.split(".")[1]) if t.step_key.startswith("visit.") else 0
                if t.status == "open" and wish and wish not in done:
                    return wish
            if time.monotonic() > deadline:
                raise AssertionError(f"no open visit beyond {sorted(done)}")
            await asyncio.sleep(0.05)

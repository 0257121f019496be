"""A completion answers within its deadline: "accepted, still being recorded" while the task row
cannot be written, and the process records it once the database is back; nothing doubles."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.access import Attempt, actions
from careflow.access.accounts import load_principal
from careflow.db import crud
from careflow.db.tables import AuditEntry, Staff
from careflow.registry import PluginRegistry
from plugins.engine import plugin as engine_plugin
from tests.support.inbox import wait_for_task
from worker.testing import running_worker

JIUSI = "wanbailin.wanghua.jiusi"


def _attempt(engine: Engine, username: str, request_id: str) -> Attempt:
    with Session(engine) as session:
        staff_id = session.exec(select(Staff.id).where(Staff.username == username)).one()
        return Attempt(
            principal=load_principal(session, staff_id), channel="api", request_id=request_id
        )


async def test_slow_recording_answers_accepted_then_records_once(
    dev_env: WorkflowEnvironment, seeded_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = PluginRegistry.build([engine_plugin])
    down = {"close": True}
    real_close = crud.close_task

    def close_while_up(*args: Any, **kwargs: Any) -> Any:
        if down["close"]:
            raise OperationalError("UPDATE task", {}, Exception("database is locked"))
        return real_close(*args, **kwargs)

    async with running_worker(dev_env.client, registry, engine=seeded_engine) as worker:
        started = await service.start_process(
            dev_env.client,
            registry,
            process="delivery",
            district="wanbailin",
            community=JIUSI,
            request={"recipient_ref": "P00012", "items": [{"category": "school_bag"}]},
            started_by="S0001",
            task_queue=worker.task_queue,
        )
        task = await wait_for_task(seeded_engine, started.workflow_id, "dropoff")
        monkeypatch.setattr(crud, "close_task", close_while_up)
        staff = _attempt(seeded_engine, f"{JIUSI}-community_staff", "r-slow")
        done = await actions.complete_task(
            dev_env.client,
            seeded_engine,
            registry,
            staff,
            task_id=task.task_id,
            data={"items_match": True},
            reply_within=1.0,
        )
        assert not done.recorded and done.outcome is None
        assert "still being recorded" in done.message
        # The process has it (the validator passed, the Update is in the history): another
        # person's completion is refused by the workflow as closed, not run twice.
        other = _attempt(seeded_engine, "wanbailin-district_admin", "r-other")
        assert other.principal is not None
        down["close"] = False
        closed = await wait_for_task(
            seeded_engine, started.workflow_id, "dropoff", status="done", timeout=30
        )
        assert closed.completed_by == staff.actor
        # The same person again (a retry after the 202): the recorded answer, nothing more.
        again = await actions.complete_task(
            dev_env.client,
            seeded_engine,
            registry,
            _attempt(seeded_engine, f"{JIUSI}-community_staff", "r-again"),
            task_id=task.task_id,
            data={"items_match": True},
        )
        assert again.recorded
        await dev_env.client.get_workflow_handle(started.workflow_id).terminate("test done")
    with Session(seeded_engine) as session:
        rows = session.exec(select(AuditEntry).where(AuditEntry.action == "task.complete")).all()
    assert [(r.request_id, r.outcome, r.reason) for r in rows] == [
        ("r-slow", "accepted", "still_recording")
    ]

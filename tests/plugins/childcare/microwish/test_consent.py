"""Micro-wish visits and the guardian's consent: no visit without it, a withdrawal mid-campaign."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.db.engine import session_scope
from careflow.db.seed import demo_child_without_consent
from careflow.db.tables import CaseRecord
from careflow.errors import InputError
from careflow.privacy import consent as rules
from careflow.privacy.withdrawal import CONSENT_WITHDRAWN_SIGNAL, ConsentWithdrawn
from careflow.settings import Settings
from plugins.childcare.microwish import CampaignReport
from tests.conftest import record_history
from tests.plugins.childcare.microwish.walk import Walk, microwish_registry
from tests.support.inbox import notifications_of, result_of
from worker.testing import running_worker


async def _settled(walk: Walk, wishes: int, visits: int) -> None:
    """Until the campaign has ``wishes`` wishes and ``visits`` open first-round visits."""
    deadline = time.monotonic() + 15
    while True:
        open_visits = [
            t for t in walk.tasks() if t.status == "open" and t.step_key.startswith("visit.")
        ]
        if len(walk.wishes()) == wishes and len(open_visits) == visits:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(walk.wishes())} wishes, {len(open_visits)} open visits")
        await asyncio.sleep(0.05)


def _records(engine: Engine, workflow_id: str, kind: str) -> list[CaseRecord]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(CaseRecord).where(
                    CaseRecord.workflow_id == workflow_id, CaseRecord.kind == kind
                )
            ).all()
        )


async def test_a_child_without_consent_is_not_visited(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, tmp_path: Path
) -> None:
    engine = seeded_engine
    with Session(engine) as session:
        child = demo_child_without_consent(session)
    assert child is not None
    walk = Walk(ts_env, engine, microwish_registry())
    async with running_worker(
        ts_env.client, walk.registry, engine=engine, settings=Settings(data_dir=tmp_path)
    ) as worker:
        handle = await walk.start(worker.task_queue, extra_children=[child])
        await _settled(walk, wishes=5, visits=4)
        (refused,) = [w for w in walk.wishes() if w.child_ref == child]
        assert (refused.status, refused.reason) == ("rejected", "no_consent_record")
        # No task ever named the child: the grid worker never saw them.
        assert not any(
            child in t.title_zh or t.step_key == f"visit.{refused.id}" for t in walk.tasks()
        )
        for wish in walk.wishes():
            if wish.id != refused.id:
                await walk.visit(wish.id or 0, {"declined": True})
        report = CampaignReport.model_validate(await result_of(ts_env, handle))
        await record_history(ts_env.client, handle, "childcare_microwish_consent_missing")
    assert report.counts["reason.no_consent_record"] == 1
    (record,) = _records(engine, walk.workflow_id, "consent_missing")
    assert record.data["wish_ids"] == [refused.id]
    assert "未登记监护人同意" in record.data["reason_zh"]
    assert any(
        template == "consent_missing" and recipient == "role:community_staff"
        for _, recipient, template in notifications_of(engine, walk.workflow_id)
    )


async def test_a_withdrawal_ends_the_childs_wish_and_cancels_its_visit(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, tmp_path: Path
) -> None:
    engine = seeded_engine
    walk = Walk(ts_env, engine, microwish_registry())
    async with running_worker(
        ts_env.client, walk.registry, engine=engine, settings=Settings(data_dir=tmp_path)
    ) as worker:
        handle = await walk.start(worker.task_queue)
        a, *others = await walk.open_visits(4)
        visit = await walk.task(f"visit.{a.id}")
        at = datetime.now(UTC)
        with session_scope(engine) as session:
            row = rules.withdraw_consent(
                session, subject_id=a.child_ref, purpose="microwish", withdrawn_by="S0010", at=at
            )
            consent_id = row.id or 0
        # A child of no wish of this campaign, and another purpose: nothing happens.
        for subject, purpose in (("P00001", "microwish"), (a.child_ref, "classroom")):
            await handle.signal(
                CONSENT_WITHDRAWN_SIGNAL,
                ConsentWithdrawn(
                    subject_ref=subject, purpose=purpose, withdrawn_at=at, consent_id=0
                ),
            )
        await handle.signal(
            CONSENT_WITHDRAWN_SIGNAL,
            ConsentWithdrawn(
                subject_ref=a.child_ref,
                purpose="microwish",
                withdrawn_at=at,
                consent_id=consent_id,
                request_id="rwd",
            ),
        )
        deadline = time.monotonic() + 15
        while not _records(engine, walk.workflow_id, "consent_withdrawn"):
            assert time.monotonic() < deadline, "the withdrawal was not recorded"
            await asyncio.sleep(0.05)
        (cancelled,) = [t for t in walk.tasks() if t.task_id == visit.task_id]
        assert cancelled.status == "cancelled"
        assert cancelled.result == {"cancelled": "consent_withdrawn"}
        with pytest.raises(InputError):  # nobody may complete it any more
            await service.complete_task(
                ts_env.client,
                engine,
                task_id=visit.task_id,
                actor="S0001",
                role="grid_worker",
                data={"declined": True},
            )
        for wish in others:
            await walk.visit(wish.id or 0, {"declined": True})
        report = CampaignReport.model_validate(await result_of(ts_env, handle))
        await record_history(ts_env.client, handle, "childcare_microwish_consent_withdrawn")
    (record,) = _records(engine, walk.workflow_id, "consent_withdrawn")
    assert record.data["wish_ids"] == [a.id] and record.data["cancelled_tasks"] == [visit.task_id]
    assert record.data["request_id"] == "rwd"
    (ended,) = [w for w in walk.wishes() if w.id == a.id]
    assert (ended.status, ended.reason) == ("withdrawn", "consent_withdrawn")
    assert ended.visited_by is None  # the visit form never reached the wish
    assert report.counts["status.withdrawn"] == 1
    assert report.counts["reason.consent_withdrawn"] == 1
    sent = notifications_of(engine, walk.workflow_id)
    assert any(template == "consent_withdrawn" for _, _, template in sent)

"""The micro-wish campaign end to end on the time-skipping test server: every path."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from careflow.db import crud
from careflow.db.tables import Person
from careflow.errors import InputError
from careflow.search_attributes import CARE_STAGE
from careflow.settings import Settings
from plugins.childcare.microwish import CampaignReport
from plugins.childcare.microwish.report import load_report
from tests.conftest import record_history
from tests.plugins.childcare.microwish.walk import JIUSI, Walk, microwish_registry
from tests.support.inbox import notifications_of, records_of, result_of
from worker.testing import running_worker

BAG = {
    "category": "school_bag",
    "estimated_value_yuan": 120,
    "guardian_consent": True,
    "description_zh": "新书包",
}
COAT = {
    "category": "winter_coat",
    "size": "130",
    "estimated_value_yuan": 200,
    "guardian_consent": True,
}
BOOKS = {"category": "books", "estimated_value_yuan": 80, "guardian_consent": True}
APPROVE = {"approve": True}
NORTH = "wanbailin.wanghua.wanghua_north"


def _names(engine: Engine, refs: list[str]) -> list[str]:
    with Session(engine) as session:
        return [p.name for p in session.exec(select(Person).where(Person.id.in_(refs))).all()]  # type: ignore[attr-defined]


async def test_happy_path_matches_procures_delivers_and_reports(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, tmp_path: Path
) -> None:
    engine = seeded_engine
    walk = Walk(ts_env, engine, microwish_registry())
    settings = Settings(data_dir=tmp_path)
    async with running_worker(
        ts_env.client, walk.registry, engine=engine, settings=settings
    ) as worker:
        handle = await walk.start(worker.task_queue)
        a, b, c, d = await walk.open_visits(4)
        await walk.visit(d.id or 0, {"declined": True, "decline_reason": "已有"})
        visit = await walk.task(f"visit.{a.id}")
        # The title names the wish, never the child (it is read in Temporal's summaries too).
        assert visit.role == "grid_worker" and f"W{a.id}" in visit.title_zh
        assert a.child_ref not in visit.title_zh
        # Each visit sits in its own community's inbox, though the campaign is district-wide.
        assert visit.community == a.community
        names = _names(engine, [w.child_ref for w in (a, b, c, d)])
        assert not any(n in t.title_zh for t in walk.tasks() for n in names)

        await walk.visit(a.id or 0, BAG)
        await walk.visit(b.id or 0, COAT)
        await walk.visit(c.id or 0, BOOKS)
        await walk.review(a.id or 0, APPROVE)
        await walk.review(b.id or 0, {"approve": True, "priority": 3})
        await walk.review(c.id or 0, APPROVE)

        # Donors pledge while the window is open; one withdraws before matching.
        await walk.published()
        await walk.event(
            "childcare.pledge",
            pledge_ref="PL-1",
            donor_ref="D0001",
            category="school_bag",
            quantity=1,
            dropoff=JIUSI,
        )
        await walk.event(
            "childcare.pledge",
            pledge_ref="PL-2",
            donor_ref="D0002",
            category="winter_coat",
            size="130",
            quantity=1,
            dropoff=NORTH,
        )
        await walk.event(
            "childcare.pledge", pledge_ref="PL-3", donor_ref="D0003", kind="money", amount_yuan=500
        )
        await walk.event(
            "childcare.pledge",
            pledge_ref="PL-4",
            donor_ref="D0004",
            category="books",
            quantity=1,
            dropoff=JIUSI,
        )
        await walk.event("childcare.pledge_withdrawn", pledge_ref="PL-4")
        await ts_env.sleep(timedelta(days=14, minutes=1))

        # Nobody pledged books any more: the charity officer buys them.
        buy = await walk.task(f"procure.{c.id}")
        assert buy.role == "charity_officer"
        await walk.complete(
            f"procure.{c.id}", {"purchased": True, "cost_yuan": 60}, role="charity_officer"
        )
        for wish in (a, b, c):
            await walk.deliver(wish.id or 0)
        report = CampaignReport.model_validate(await result_of(ts_env, handle))
        await record_history(ts_env.client, handle, "childcare_microwish_happy_path")

    assert report.counts["wishes"] == 4 and report.counts["reason.declined_by_guardian"] == 1
    assert report.counts["approved"] == 3 and report.counts["filled"] == 3
    assert report.counts["matched_by_pledge"] == 2 and report.counts["procured"] == 1
    assert report.counts["delivered"] == 3
    assert report.fill_rate == 1.0
    assert [(x.community, x.fill_rate) for x in report.communities] == [(JIUSI, 1.0)]
    assert report.money_pledged_yuan == 500 and report.money_spent_yuan == 60
    assert report.days_visit_to_delivery_median is not None
    assert report.pledges == {"goods.active": 2, "goods.withdrawn": 1, "money.active": 1}
    assert walk.pledges()["PL-4"] == "withdrawn"
    # The pool is anonymised: no child reference, no name, only band, gender, place, item.
    pool = walk.pool()
    assert len(pool) == 3 and {p.category for p in pool} == {"school_bag", "winter_coat", "books"}
    assert all(not hasattr(p, "child_ref") for p in pool)
    # The report lives in the app database; the result names it, no host path.
    assert report.report_id == walk.workflow_id
    assert "json_path" not in report.model_dump() and str(tmp_path) not in report.model_dump_json()
    with Session(engine) as session:
        stored = load_report(session, report.report_id)
    assert stored is not None and stored[0] == report
    assert stored[1].startswith("community,") and stored[1].splitlines()[1].startswith(JIUSI)
    kinds = [k for _, k in records_of(engine, walk.workflow_id)]
    assert kinds[:3] == ["campaign_opened", "wishes_published", "pledge_window_closed"]
    assert ("published", "role:charity_officer", "microwish_published") in notifications_of(
        engine, walk.workflow_id
    )
    desc = await handle.describe()
    assert desc.typed_search_attributes.get(CARE_STAGE) == "closed"
    summary = await desc.static_summary()
    assert summary is not None and "微心愿" in summary
    assert not any(n in summary or n in handle.id for n in names)


def records_with_data(engine: Engine, workflow_id: str) -> list[tuple[str, dict[str, Any]]]:
    """(kind, data) of every case record of a workflow, in order."""
    with Session(engine) as session:
        return [(r.kind, r.data) for r in crud.list_case_records(session, workflow_id=workflow_id)]


def _eligible_jiusi_child(engine: Engine) -> str:
    """A Jiusi child of a low-income household (the tests take every age)."""
    with Session(engine) as session:
        rows = session.exec(
            select(Person).where(
                Person.kind == "child", Person.community_code == JIUSI, Person.low_income
            )
        ).all()
    return sorted(p.id for p in rows)[0]


async def test_rejections_send_back_duplicate_no_consent_cap_late_pledges(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, tmp_path: Path
) -> None:
    engine = seeded_engine
    walk = Walk(ts_env, engine, microwish_registry(procurement_budget_yuan=1000))
    twice = _eligible_jiusi_child(engine)
    async with running_worker(
        ts_env.client, walk.registry, engine=engine, settings=Settings(data_dir=tmp_path)
    ) as worker:
        handle = await walk.start(worker.task_queue, extra_children=[twice])
        wishes = await walk.open_visits(5)
        dup = wishes[-1]
        orig = next(w for w in wishes[:-1] if w.child_ref == twice)
        others = [w for w in wishes[:-1] if w.id != orig.id]
        await walk.visit(others[2].id or 0, {"declined": True, "decline_reason": "已有"})

        # Sent back once, visited again, approved.
        await walk.visit(orig.id or 0, BAG)
        await walk.review(orig.id or 0, {"approve": False, "reason": "描述不清"})
        await walk.visit(orig.id or 0, {**BAG, "description_zh": "蓝色书包"}, suffix=".r2")
        await walk.review(orig.id or 0, APPROVE, suffix=".r2")
        # The same child's second wish passes review but the one-wish rule rejects it.
        await walk.visit(dup.id or 0, BOOKS)
        await walk.review(dup.id or 0, APPROVE)
        # No consent: rejected in code, no review task. Over the cap: the same.
        await walk.visit(others[0].id or 0, {**BOOKS, "guardian_consent": False})
        await walk.visit(others[1].id or 0, {**BOOKS, "estimated_value_yuan": 999})

        await walk.published()
        # No open wish for books (the only books wish was rejected): the pledge is money.
        await walk.event(
            "childcare.pledge", pledge_ref="PL-1", donor_ref="D0001", kind="money", amount_yuan=10
        )
        await ts_env.sleep(timedelta(days=14, minutes=1))
        # After matching: a pledge and a withdrawal are refused (and recorded).
        await walk.task(f"procure.{orig.id}")
        await walk.event("childcare.pledge_withdrawn", pledge_ref="PL-1")
        await walk.event(
            "childcare.pledge",
            pledge_ref="PL-9",
            donor_ref="D0009",
            category="school_bag",
            quantity=1,
            dropoff=JIUSI,
        )
        await walk.complete(
            f"procure.{orig.id}", {"purchased": False, "reason": "无货"}, role="charity_officer"
        )
        report = CampaignReport.model_validate(await result_of(ts_env, handle))
        await record_history(ts_env.client, handle, "childcare_microwish_rejections")

    by_id = {w.id: w for w in walk.wishes()}
    assert (by_id[dup.id].status, by_id[dup.id].reason) == ("rejected", "duplicate")
    assert (by_id[others[0].id].status, by_id[others[0].id].reason) == ("rejected", "no_consent")
    assert by_id[others[1].id].reason == "over_value_cap"
    # The officer's words stay in the case record; the wish and the report hold a code.
    assert (by_id[orig.id].status, by_id[orig.id].reason) == ("declined", "not_bought")
    assert report.counts["reason.not_bought"] == 1
    assert not any("无货" in key for key in report.counts)
    records = records_with_data(engine, walk.workflow_id)
    declined = [d for k, d in records if k == "procurement_declined"]
    assert declined == [{"wish_id": orig.id, "reason": "not_bought", "note": "无货"}]
    # The late pledge and the refused withdrawal are in the case record, with a code.
    refused = [(d["op"], d["pledge_ref"], d["reason"]) for k, d in records if k == "pledge_refused"]
    assert refused == [("withdraw", "PL-1", "after_matching"), ("pledge", "PL-9", "after_matching")]
    assert by_id[orig.id].description_zh == "蓝色书包"
    keys = {t.step_key for t in walk.tasks()}
    assert f"review.{others[0].id}" not in keys and f"review.{others[1].id}" not in keys
    assert walk.pledges() == {"PL-1": "active"}  # PL-9 came after matching: refused
    assert report.counts["approved"] == 1 and report.counts["filled"] == 0
    assert report.counts["reason.duplicate"] == 1
    assert len(walk.pool()) == 1


async def test_escalations_and_expiries_of_visits_and_reviews(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, tmp_path: Path
) -> None:
    engine = seeded_engine
    walk = Walk(ts_env, engine, microwish_registry())
    async with running_worker(
        ts_env.client, walk.registry, engine=engine, settings=Settings(data_dir=tmp_path)
    ) as worker:
        handle = await walk.start(worker.task_queue)
        a, b, c, d = await walk.open_visits(4)
        await walk.visit(d.id or 0, {"declined": True, "decline_reason": "已有"})
        await ts_env.sleep(timedelta(days=5, minutes=1))
        late = await walk.task(f"visit.{a.id}", level=1)
        assert late.role == "community_staff" and late.overdue
        # Community staff finish the escalated visits: one guardian declines, one wish.
        await walk.complete(
            f"visit.{a.id}", {"declined": True, "decline_reason": "不需要"}, role="community_staff"
        )
        await walk.complete(f"visit.{c.id}", BOOKS, role="community_staff")
        await walk.task(f"review.{c.id}")
        await ts_env.sleep(timedelta(days=3, minutes=1))
        escalated = await walk.task(f"review.{c.id}", level=1)
        assert escalated.role == "district_admin"
        await ts_env.sleep(timedelta(days=2, minutes=1))
        report = CampaignReport.model_validate(await result_of(ts_env, handle))
        await record_history(ts_env.client, handle, "childcare_microwish_escalations")

    by_id = {w.id: w for w in walk.wishes()}
    assert by_id[a.id].status == "declined_by_guardian"
    assert (by_id[b.id].status, by_id[b.id].reason) == ("visit_expired", "visit_expired")
    assert (by_id[c.id].status, by_id[c.id].reason) == ("rejected", "review_expired")
    assert report.counts["approved"] == 0 and report.fill_rate == 0.0
    sent = notifications_of(engine, walk.workflow_id)
    assert (f"visit.{a.id}.escalated.1", "role:community_staff", "task_escalated") in sent
    assert (f"review.{c.id}.escalated.1", "role:district_admin", "task_escalated") in sent
    statuses = {t.step_key: t.status for t in walk.tasks()}
    assert statuses[f"visit.{b.id}"] == "expired" and statuses[f"review.{c.id}"] == "expired"


async def test_budget_final_deadline_and_late_delivery_escalation(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, tmp_path: Path
) -> None:
    engine = seeded_engine
    walk = Walk(
        ts_env,
        engine,
        microwish_registry(procurement_budget_yuan=100, delivery_due=timedelta(days=1)),
    )
    async with running_worker(
        ts_env.client, walk.registry, engine=engine, settings=Settings(data_dir=tmp_path)
    ) as worker:
        handle = await walk.start(worker.task_queue)
        a, b, c, d = await walk.open_visits(4)
        await walk.visit(d.id or 0, {"declined": True, "decline_reason": "已有"})
        for wish, value, priority in ((a, 80, 1), (b, 90, 2), (c, 50, 1)):
            await walk.visit(wish.id or 0, {**BOOKS, "estimated_value_yuan": value})
            await walk.review(wish.id or 0, {"approve": True, "priority": priority})
        await walk.published()
        await walk.event(
            "childcare.pledge", pledge_ref="PL-M", donor_ref="D0005", kind="money", amount_yuan=100
        )
        await ts_env.sleep(timedelta(days=14, minutes=1))
        # Budget 100 + 100 pledged: b (priority 2) and a fit, c is declined over budget.
        await walk.complete(
            f"procure.{b.id}", {"purchased": True, "cost_yuan": 95}, role="charity_officer"
        )
        await walk.task(f"procure.{a.id}")
        await ts_env.sleep(timedelta(days=7, minutes=1))
        escalated = await walk.task(f"procure.{a.id}", level=1)
        assert escalated.role == "district_admin"
        await ts_env.sleep(timedelta(days=3, minutes=1))
        # a expired past the final deadline; b's delivery starts and runs late.
        await walk.task("dropoff", workflow_id=walk.delivery_id(b.id or 0))
        await ts_env.sleep(timedelta(days=1, minutes=1))
        await walk.deliver(b.id or 0)
        report = CampaignReport.model_validate(await result_of(ts_env, handle))
        await record_history(ts_env.client, handle, "childcare_microwish_budget_and_late")

    by_id = {w.id: w for w in walk.wishes()}
    assert (by_id[c.id].status, by_id[c.id].reason) == ("declined", "over_budget")
    assert (by_id[a.id].status, by_id[a.id].reason) == ("declined", "final_deadline")
    assert by_id[b.id].status == "delivered"
    assert report.money_spent_yuan == 95 and report.money_pledged_yuan == 100
    assert report.counts["procured"] == 1 and report.counts["delivered"] == 1
    sent = notifications_of(engine, walk.workflow_id)
    assert ("delivery_late.1", "role:district_admin", "microwish_delivery_late") in sent
    assert ("delivery_late.1", "deliveries_late") in records_of(engine, walk.workflow_id)


async def test_waves_continue_as_new_and_keep_pledges(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, tmp_path: Path
) -> None:
    engine = seeded_engine
    walk = Walk(ts_env, engine, microwish_registry(visit_wave=1, max_history=10))
    async with running_worker(
        ts_env.client, walk.registry, engine=engine, settings=Settings(data_dir=tmp_path)
    ) as worker:
        handle = await walk.start(worker.task_queue)
        done: set[int] = set()
        while len(done) < 4:
            wish = await walk.next_visit(done)
            await walk.visit(wish, {"declined": True})
            done.add(wish)
        await walk.published()
        await walk.event(
            "childcare.pledge", pledge_ref="PL-1", donor_ref="D0001", kind="money", amount_yuan=50
        )
        report = CampaignReport.model_validate(await result_of(ts_env, handle))
        await record_history(ts_env.client, handle, "childcare_microwish_continued_as_new")

    history = await handle.fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    assert started.continued_execution_run_id  # this run continued an earlier one
    assert report.counts["status.declined_by_guardian"] == 4
    assert report.money_pledged_yuan == 50
    assert [k for _, k in records_of(engine, walk.workflow_id)].count("campaign_opened") == 1


async def test_refused_pledges_reach_the_sender_or_the_case_record(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, tmp_path: Path
) -> None:
    engine = seeded_engine
    walk = Walk(ts_env, engine, microwish_registry(procurement_budget_yuan=0))
    bag: dict[str, Any] = {
        "pledge_ref": "PL-1",
        "donor_ref": "D0001",
        "category": "school_bag",
        "quantity": 1,
        "dropoff": JIUSI,
    }
    async with running_worker(
        ts_env.client, walk.registry, engine=engine, settings=Settings(data_dir=tmp_path)
    ) as worker:
        handle = await walk.start(worker.task_queue)
        a, b, c, d = await walk.open_visits(4)
        # Before publication: the service refuses the pledge, naming the field ...
        with pytest.raises(InputError) as refused:
            await walk.event("childcare.pledge", checked=True, **bag)
        assert refused.value.field == "data.case_ref"
        # ... and a signal that reaches the campaign anyway is refused there and recorded.
        await walk.event("childcare.pledge", **{**bag, "pledge_ref": "PL-0"})
        for wish in (b, c, d):
            await walk.visit(wish.id or 0, {"declined": True})
        await walk.visit(a.id or 0, BAG)
        await walk.review(a.id or 0, APPROVE)
        await walk.published()
        await walk.event("childcare.pledge", checked=True, **bag)
        await walk.event("childcare.pledge", checked=True, **bag)  # resent: nothing changes
        while "PL-1" not in walk.pledges():  # the check reads what the campaign has stored
            await asyncio.sleep(0.05)
        with pytest.raises(InputError) as refused:
            await walk.event("childcare.pledge", checked=True, **{**bag, "dropoff": NORTH})
        assert refused.value.field == "data.pledge_ref"
        # Sent unchecked, the same refusals happen in the campaign and go to its case record.
        await walk.event("childcare.pledge", **{**bag, "dropoff": NORTH})
        await walk.event("childcare.pledge_withdrawn", pledge_ref="PL-9")
        await ts_env.sleep(timedelta(days=14, minutes=1))
        await walk.deliver(a.id or 0)
        report = CampaignReport.model_validate(await result_of(ts_env, handle))
        await record_history(ts_env.client, handle, "childcare_microwish_refusals")

    refusals = [
        (d["op"], d["pledge_ref"], d["reason"])
        for k, d in records_with_data(engine, walk.workflow_id)
        if k == "pledge_refused"
    ]
    assert refusals == [
        ("pledge", "PL-0", "not_published"),
        ("pledge", "PL-1", "duplicate_ref"),
        ("withdraw", "PL-9", "unknown_pledge"),
    ]
    assert walk.pledges() == {"PL-1": "active"}
    assert report.counts["matched"] == 1 and report.counts["filled"] == 1
    assert report.fill_rate == 1.0

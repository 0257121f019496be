"""Wanbailin's charity association co-signs the micro-wish list before publication.

Time-skipping runs of the ``before_publication`` point: withheld wishes never reach the
anonymised pool; a refused list goes to the district admin, and a list nobody signs closes
the campaign unpublished.
"""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from careflow.db.tables import Person
from careflow.registry import PluginRegistry
from careflow.settings import Settings
from plugins.childcare import plugin as childcare_plugin
from plugins.childcare.microwish import CampaignReport
from plugins.eldercare import plugin as eldercare_plugin
from plugins.engine import plugin as engine_plugin
from plugins.wanbailin import plugin as wanbailin_plugin
from tests.conftest import record_history
from tests.plugins.childcare.microwish.walk import DISTRICT, Walk
from tests.support.inbox import notifications_of, records_of, result_of
from worker.testing import running_worker

BAG = {"category": "school_bag", "estimated_value_yuan": 120, "guardian_consent": True}
BOOKS = {"category": "books", "estimated_value_yuan": 80, "guardian_consent": True}
COSIGN = "wanbailin.charity_cosign"


def _registry() -> PluginRegistry:
    # Ages on a fixed day (the test server's clock moves on); no charity budget, so the
    # campaign ends right after matching when nobody pledges.
    params = {
        "min_age": 0,
        "max_age": 17,
        "eligibility_date": "2026-06-01",
        "procurement_budget_yuan": 0,
    }
    return PluginRegistry.build(
        [engine_plugin, eldercare_plugin, childcare_plugin, wanbailin_plugin],
        overrides={DISTRICT: {"childcare.microwish": params}},
    )


def _list_rows(path: str) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


async def _approved_wishes(walk: Walk, count: int) -> list[int]:
    """Visit and approve the first ``count`` wishes; the rest are declined by guardians."""
    wishes = await walk.open_visits(4)
    ids = [w.id or 0 for w in wishes]
    for n, wish_id in enumerate(ids):
        if n < count:
            await walk.visit(wish_id, BAG if n % 2 == 0 else BOOKS)
            await walk.review(wish_id, {"approve": True})
        else:
            await walk.visit(wish_id, {"declined": True, "decline_reason": "已有"})
    return ids[:count]


async def test_cosign_withholds_a_wish_before_publication(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, tmp_path: Path
) -> None:
    engine = seeded_engine
    walk = Walk(ts_env, engine, _registry())
    async with running_worker(
        ts_env.client, walk.registry, engine=engine, settings=Settings(data_dir=tmp_path)
    ) as worker:
        handle = await walk.start(worker.task_queue)
        a, b, c = await _approved_wishes(walk, 3)

        task = await walk.task(COSIGN)
        assert task.role == "charity_officer" and task.title_zh == "区慈善会联签微心愿清单"
        # Nothing is in the charity pool while the list waits for the co-signature.
        assert walk.pool() == []
        status = await handle.query("status")
        assert status["stage"] == "signing"
        listed = _list_rows(str(tmp_path / "reports" / f"{walk.workflow_id}.wishlist.r1.csv"))
        assert [int(r["wish_id"]) for r in listed] == [a, b, c]
        # The list is anonymised like the pool: no child id, no name.
        children = [w.child_ref for w in walk.wishes()]
        with Session(engine) as session:
            names = [
                p.name
                for p in session.exec(select(Person).where(Person.id.in_(children))).all()  # type: ignore[attr-defined]
            ]
        text = Path(tmp_path / "reports" / f"{walk.workflow_id}.wishlist.r1.csv").read_text(
            encoding="utf-8"
        )
        assert not any(ref in text for ref in children) and not any(n in text for n in names)

        await walk.complete(
            COSIGN,
            {
                "cosigned": True,
                "signatory_ref": "C0001",
                "withheld_wish_ids": [b, 999_999],
                "reason": "该户本年度已获其他资助",
            },
            role="charity_officer",
        )
        await ts_env.sleep(timedelta(days=14, minutes=1))
        report = CampaignReport.model_validate(await result_of(ts_env, handle))
        await record_history(ts_env.client, handle, "wanbailin_microwish_cosigned")

    assert sorted(p.wish_id for p in walk.pool()) == [a, c]
    by_id = {w.id: w for w in walk.wishes()}
    assert (by_id[b].status, by_id[b].reason) == ("withheld", "withheld_at_sign_off")
    kinds = [k for _, k in records_of(engine, walk.workflow_id)]
    assert kinds[:4] == [
        "campaign_opened",
        "wishes_withheld",
        "wish_list_signed",
        "wishes_published",
    ]
    assert report.counts["status.withheld"] == 1
    assert report.counts["approved"] == 2  # the withheld wish is not counted as approved
    assert report.counts["reason.over_budget"] == 2


async def test_refused_list_is_revised_then_unsigned_closes_unpublished(
    ts_env: WorkflowEnvironment, seeded_engine: Engine, tmp_path: Path
) -> None:
    engine = seeded_engine
    walk = Walk(ts_env, engine, _registry())
    async with running_worker(
        ts_env.client, walk.registry, engine=engine, settings=Settings(data_dir=tmp_path)
    ) as worker:
        handle = await walk.start(worker.task_queue)
        a, b = await _approved_wishes(walk, 2)
        await walk.complete(
            COSIGN,
            {"cosigned": False, "signatory_ref": "C0001", "reason": "价值核定不一致"},
            role="charity_officer",
        )
        revise = await walk.task("revise_list.r1")
        assert revise.role == "district_admin"
        assert revise.form_ref == "plugins.childcare.microwish.forms:ListRevisionForm"
        await walk.complete(
            "revise_list.r1",
            {"resubmit": True, "withheld_wish_ids": [a], "note": "删去重复资助"},
            role="district_admin",
        )
        # Round two: a fresh list without the withheld wish, and a fresh co-sign task.
        second = await walk.task(f"{COSIGN}.r2")
        assert second.role == "charity_officer"
        listed = _list_rows(str(tmp_path / "reports" / f"{walk.workflow_id}.wishlist.r2.csv"))
        assert [int(r["wish_id"]) for r in listed] == [b]
        # Nobody signs: the task escalates to the district, then its last deadline passes.
        await ts_env.sleep(timedelta(days=2, minutes=1))
        assert (await walk.task(f"{COSIGN}.r2", level=1)).role == "district_admin"
        await ts_env.sleep(timedelta(days=1, minutes=1))
        report = CampaignReport.model_validate(await result_of(ts_env, handle))
        await record_history(ts_env.client, handle, "wanbailin_microwish_not_signed")

    assert walk.pool() == []
    by_id = {w.id: w for w in walk.wishes()}
    assert (by_id[a].status, by_id[a].reason) == ("withheld", "withheld_at_revision")
    assert (by_id[b].status, by_id[b].reason) == ("withheld", "list_not_signed")
    kinds = [k for _, k in records_of(engine, walk.workflow_id)]
    assert kinds.count("wish_list_refused") == 2 and "wishes_published" not in kinds
    assert kinds[-2:] == ["campaign_not_published", "campaign_reported"]
    sent = notifications_of(engine, walk.workflow_id)
    assert ("not_published", "role:district_admin", "microwish_not_published") in sent
    assert report.counts["approved"] == 0 and report.counts["status.withheld"] == 2

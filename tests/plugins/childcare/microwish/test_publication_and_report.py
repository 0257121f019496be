"""The campaign's tables without Temporal: anonymised publication, pledge storage, the report."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from careflow.settings import Settings
from plugins.childcare.microwish.activities import MicroWishActivities
from plugins.childcare.microwish.anonymise import MIN_CELL, WishTraits, published_cells
from plugins.childcare.microwish.models import (
    OpenCampaignInput,
    PledgeEvent,
    PledgeOp,
    PledgeOpsInput,
    ReportInput,
    WishCategory,
)
from plugins.childcare.microwish.report import load_report, report_csv
from plugins.childcare.microwish.tables import CwCampaign, CwMatch, CwPledge, CwPool, CwWish

DISTRICT = "wanbailin"
JIUSI = "wanbailin.wanghua.jiusi"
CAMPAIGN = "childcare.microwish-wanbailin-MWTEST"
T0 = datetime(2026, 6, 1, 9, tzinfo=UTC)


def _open(engine: Engine, tmp_path: Path, communities: list[str]) -> MicroWishActivities:
    acts = MicroWishActivities(engine, Settings(data_dir=tmp_path))
    acts.open_campaign(
        OpenCampaignInput(
            campaign_id=CAMPAIGN,
            district=DISTRICT,
            case_ref="MWTEST",
            communities=communities,
            extra_children=[],
            min_age=0,
            max_age=17,
            eligibility_date=T0.date(),
            budget_yuan=0,
            opened_at=T0,
        )
    )
    return acts


def _approve_all(engine: Engine) -> int:
    """Every wish approved, items cycling through every category (coats and shoes sized)."""
    categories = itertools.cycle(list(WishCategory))
    with Session(engine) as session:
        wishes = session.exec(select(CwWish).where(CwWish.campaign_id == CAMPAIGN)).all()
        for wish in wishes:
            category = next(categories)
            wish.status, wish.category = "approved", category.value
            wish.size = (
                "130" if category in (WishCategory.WINTER_COAT, WishCategory.SHOES) else None
            )
            session.add(wish)
        session.commit()
        return len(wishes)


def test_no_published_wish_is_unique_on_community_age_band_and_gender(
    seeded_engine: Engine, tmp_path: Path
) -> None:
    # The demo campaign: every low-income child of the district, every wish approved.
    acts = _open(seeded_engine, tmp_path, [])
    approved = _approve_all(seeded_engine)
    assert approved >= 20
    acts.publish(ReportInput(campaign_id=CAMPAIGN, at=T0))
    with Session(seeded_engine) as session:
        pool = session.exec(select(CwPool).where(CwPool.campaign_id == CAMPAIGN)).all()
        wishes = {w.id: w for w in session.exec(select(CwWish)).all()}
    assert len(pool) == approved
    cells = Counter((p.community, p.age_band, p.gender) for p in pool)
    assert min(cells.values()) >= MIN_CELL, cells
    # Gender only where the item is cut by it; bands are wide, never an age.
    assert all(p.gender == "*" for p in pool if p.category != WishCategory.WINTER_COAT)
    assert {p.age_band for p in pool} <= {"0-5", "6-11", "12-17", "*"}
    # Most rows keep their community: coarsening is only for small cells.
    kept = sum(p.community == wishes[p.wish_id].community for p in pool)
    assert kept >= len(pool) // 2


def test_small_cells_lose_gender_then_age_then_community() -> None:
    w = [
        WishTraits(1, "a", 7, "F", "winter_coat"),
        WishTraits(2, "a", 8, "M", "books"),
        WishTraits(3, "a", 9, "F", "books"),
        WishTraits(4, "a", 13, "M", "books"),
        WishTraits(5, "b", 7, "F", "books"),
    ]
    cells = published_cells(w)
    # 1–3 share community a and band 6-11 once the coat loses its gender; 4 is alone in its
    # band and 5 alone in its community: both end district-wide with every column hidden.
    assert {(cells[i].community, cells[i].age_band, cells[i].gender) for i in (1, 2, 3)} == {
        ("a", "6-11", "*")
    }
    assert (cells[4].community, cells[5].community) == ("*", "*")
    counts = Counter(cells.values())
    assert counts[cells[4]] == 2  # the best a campaign of five can do for the last two


def _pledge(ref: str, *, quantity: int = 1, dropoff: str = JIUSI) -> PledgeEvent:
    return PledgeEvent(
        district=DISTRICT,
        case_ref="MWTEST",
        pledge_ref=ref,
        donor_ref="D0001",
        category=WishCategory.BOOKS,
        quantity=quantity,
        dropoff=dropoff,
    )


def _op(event: PledgeEvent, at: datetime) -> PledgeOp:
    return PledgeOp(op="pledge", pledge=event, pledge_ref=event.pledge_ref, at=at)


def test_pledges_are_stored_only_after_publication_and_refusals_are_returned(
    seeded_engine: Engine, tmp_path: Path
) -> None:
    engine = seeded_engine
    acts = _open(engine, tmp_path, [JIUSI])
    with Session(engine) as session:
        for wish in session.exec(select(CwWish)).all():
            wish.status, wish.category = "approved", "books"
            session.add(wish)
        session.commit()
    early = acts.apply_pledges(
        PledgeOpsInput(campaign_id=CAMPAIGN, ops=[_op(_pledge("PL-0"), T0)], window_open=True)
    )
    assert [(r.pledge_ref, r.reason) for r in early.refusals] == [("PL-0", "not_published")]
    published_at = T0 + timedelta(hours=1)
    acts.publish(ReportInput(campaign_id=CAMPAIGN, at=published_at))
    later = published_at + timedelta(minutes=1)
    tally = acts.apply_pledges(
        PledgeOpsInput(
            campaign_id=CAMPAIGN,
            ops=[
                _op(_pledge("PL-1"), T0 + timedelta(minutes=30)),  # sent before publication
                _op(_pledge("PL-2"), later),
                _op(_pledge("PL-2"), later),  # the same pledge again: nothing changes
                _op(_pledge("PL-2", dropoff="wanbailin.wanghua.wanghua_north"), later),
                _op(_pledge("PL-3", quantity=50), later),  # more than the open wishes
                PledgeOp(op="withdraw", pledge_ref="PL-9", at=later),
            ],
            window_open=True,
        )
    )
    assert [(r.op, r.pledge_ref, r.reason) for r in tally.refusals] == [
        ("pledge", "PL-1", "not_published"),
        ("pledge", "PL-2", "duplicate_ref"),
        ("pledge", "PL-3", "over_open_wishes"),
        ("withdraw", "PL-9", "unknown_pledge"),
    ]
    assert (tally.accepted, tally.duplicate, tally.refused) == (1, 1, 4)
    with Session(engine) as session:
        stored = {p.pledge_ref: p.status for p in session.exec(select(CwPledge)).all()}
    assert stored == {"PL-2": "active"}


def test_filled_means_delivered_and_reasons_are_codes(
    seeded_engine: Engine, tmp_path: Path
) -> None:
    engine = seeded_engine
    acts = _open(engine, tmp_path, [JIUSI])
    outcomes = ["delivered", "delivered", "not_delivered", "declined"]
    with Session(engine) as session:
        wishes = session.exec(select(CwWish).order_by(CwWish.id)).all()  # type: ignore[arg-type]
        assert len(wishes) >= 4
        for wish, status in zip(wishes, outcomes, strict=False):
            wish.status, wish.category = status, "books"
            if status == "declined":
                wish.reason = "缺货 out of stock"  # free text stored by an older version
            else:
                session.add(CwMatch(campaign_id=CAMPAIGN, wish_id=wish.id or 0, source="procured"))
            session.add(wish)
        session.commit()
    report = acts.write_report(ReportInput(campaign_id=CAMPAIGN, at=T0))
    counts = report.counts
    assert (counts["approved"], counts["procured"], counts["delivered"]) == (4, 3, 2)
    assert (counts["filled"], counts["not_delivered"], counts["matched"]) == (2, 1, 0)
    assert report.fill_rate == 0.5  # 2 delivered of 4 approved, not 3 of 4
    assert counts["reason.other"] == 1 and not any("缺货" in k for k in counts)
    line = report.communities[0]
    assert (line.procured, line.delivered, line.filled, line.fill_rate) == (3, 2, 2, 0.5)
    # Stored in the database under its id; no host path anywhere.
    assert report.report_id == CAMPAIGN and str(tmp_path) not in report.model_dump_json()
    assert not (tmp_path / "reports").exists()
    with Session(engine) as session:
        stored = load_report(session, report.report_id)
        assert session.get(CwCampaign, CAMPAIGN).closed_at is not None  # type: ignore[union-attr]
    assert stored is not None and stored == (report, report_csv(report))

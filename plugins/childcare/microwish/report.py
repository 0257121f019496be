"""The closing report of a campaign: counts, fill rate per community, time to delivery, money.

Built from the ``cw_`` tables only; it names communities and counts, never a child. Stored in
the app database (``cw_report``), where every worker and reader finds it: no host files.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, select

from plugins.childcare.microwish.anonymise import WishTraits, published_cells
from plugins.childcare.microwish.models import CampaignReport, CommunityLine, WishList
from plugins.childcare.microwish.rules import REASONS_ZH
from plugins.childcare.microwish.tables import CwCampaign, CwMatch, CwPledge, CwReport, CwWish

__all__ = [
    "APPROVED_STATUSES",
    "load_report",
    "report_csv",
    "traits",
    "write_report",
    "write_wish_list",
]

APPROVED_STATUSES = (
    "approved",
    "procuring",
    "declined",
    "matched",
    "procured",
    "delivered",
    "not_delivered",
)


def report_csv(report: CampaignReport) -> str:
    """The per-community table of the report, with a district total line."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["community", "wishes", "approved", "matched", "procured", "delivered", "fill_rate"]
    )
    for line in report.communities:
        writer.writerow(
            [
                line.community,
                line.wishes,
                line.approved,
                line.matched,
                line.procured,
                line.delivered,
                f"{line.fill_rate:.4f}",
            ]
        )
    writer.writerow(
        [
            report.district,
            report.counts.get("wishes", 0),
            report.counts.get("approved", 0),
            report.counts.get("matched", 0),
            report.counts.get("procured", 0),
            report.counts.get("delivered", 0),
            f"{report.fill_rate:.4f}",
        ]
    )
    return out.getvalue()


def traits(wish: CwWish) -> WishTraits:
    """What the anonymised publication may use of a wish."""
    return WishTraits(
        wish_id=wish.id or 0,
        community=wish.community,
        age=wish.age,
        gender=wish.gender,
        category=wish.category or "",
    )


def _line(community: str, mine: list[CwWish], sources: dict[int, str]) -> CommunityLine:
    ok = sum(w.status in APPROVED_STATUSES for w in mine)
    delivered = sum(w.status == "delivered" for w in mine)
    return CommunityLine(
        community=community,
        wishes=len(mine),
        approved=ok,
        matched=sum(sources.get(w.id or 0) == "pledge" for w in mine),
        procured=sum(sources.get(w.id or 0) == "procured" for w in mine),
        filled=delivered,
        delivered=delivered,
        fill_rate=round(delivered / ok, 4) if ok else 0.0,
    )


def write_report(session: Session, *, campaign_id: str, at: datetime) -> CampaignReport:
    """Compute the report, store it as the campaign's ``cw_report`` row; close the campaign.

    A wish is filled once it is delivered: a matched or bought wish whose hand-over did not
    happen is counted as matched or procured and ``not_delivered``, never as filled. Reasons
    are counted by code; a reason that is not a known code counts as ``reason.other``.

    Args:
        session: The open session; the caller commits.
        campaign_id: The campaign (its workflow id), also the report's id.
        at: When the campaign closes.

    Returns:
        The report, also the campaign workflow's result.
    """
    campaign = session.get(CwCampaign, campaign_id)
    if campaign is None:
        raise LookupError(f"no micro-wish campaign {campaign_id!r}")
    wishes = session.exec(select(CwWish).where(CwWish.campaign_id == campaign_id)).all()
    pledges = session.exec(select(CwPledge).where(CwPledge.campaign_id == campaign_id)).all()
    sources = {
        m.wish_id: m.source
        for m in session.exec(select(CwMatch).where(CwMatch.campaign_id == campaign_id))
    }
    statuses = Counter(w.status for w in wishes)
    reasons = Counter(w.reason if w.reason in REASONS_ZH else "other" for w in wishes if w.reason)
    approved = [w for w in wishes if w.status in APPROVED_STATUSES]
    delivered = statuses.get("delivered", 0)
    lines = [
        _line(community, [w for w in wishes if w.community == community], sources)
        for community in sorted({w.community for w in wishes})
    ]
    days = [
        (w.delivered_at - w.visited_at).total_seconds() / 86400
        for w in wishes
        if w.delivered_at is not None and w.visited_at is not None
    ]
    matched = sum(source == "pledge" for source in sources.values())
    report = CampaignReport(
        campaign_id=campaign_id,
        district=campaign.district,
        counts={
            "wishes": len(wishes),
            "approved": len(approved),
            "pledged_units": sum(
                p.quantity for p in pledges if p.kind == "goods" and p.status == "active"
            ),
            "matched": matched,
            "matched_by_pledge": matched,
            "procured": sum(source == "procured" for source in sources.values()),
            "delivered": delivered,
            "not_delivered": statuses.get("not_delivered", 0),
            "filled": delivered,
            **{f"status.{k}": v for k, v in sorted(statuses.items())},
            **{f"reason.{k}": v for k, v in sorted(reasons.items())},
        },
        pledges=dict(sorted(Counter(f"{p.kind}.{p.status}" for p in pledges).items())),
        fill_rate=round(delivered / len(approved), 4) if approved else 0.0,
        communities=lines,
        days_visit_to_delivery_median=round(statistics.median(days), 2) if days else None,
        days_visit_to_delivery_max=round(max(days), 2) if days else None,
        money_pledged_yuan=campaign.money_pledged_yuan,
        money_spent_yuan=campaign.spent_yuan,
        budget_yuan=campaign.budget_yuan,
        report_id=campaign_id,
    )
    text = report_csv(report)
    row = session.get(CwReport, campaign_id)
    if row is None:
        row = CwReport(campaign_id=campaign_id, csv=text, created_at=at)
    row.data, row.csv = report.model_dump(mode="json"), text
    session.add(row)
    campaign.closed_at = campaign.closed_at or at
    session.add(campaign)
    return report


def load_report(session: Session, report_id: str) -> tuple[CampaignReport, str] | None:
    """A stored report and its CSV table, by the ``report_id`` a campaign returned."""
    row = session.get(CwReport, report_id)
    if row is None:
        return None
    return CampaignReport.model_validate(row.data), row.csv


def write_wish_list(
    session: Session, *, campaign_id: str, round_: int, reports_dir: Path
) -> WishList:
    """Write the approved wishes as the sign-off list 待联签心愿清单, anonymised like the pool.

    One CSV per round (wish id, community, age band, gender, item, size, estimated value,
    priority): the signatory withholds wishes by their id. No child id, name or household;
    community, age band and gender coarsened as in the pool.
    """
    wishes = session.exec(
        select(CwWish)
        .where(CwWish.campaign_id == campaign_id, CwWish.status == "approved")
        .order_by(CwWish.id)  # type: ignore[arg-type]
    ).all()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["wish_id", "community", "age_band", "gender", "category", "size", "value_yuan", "priority"]
    )
    cells = published_cells([traits(w) for w in wishes])
    for w in wishes:
        cell = cells[w.id or 0]
        writer.writerow(
            [
                w.id,
                cell.community,
                cell.age_band,
                cell.gender,
                w.category or "",
                w.size or "",
                w.estimated_value_yuan if w.estimated_value_yuan is not None else "",
                w.priority,
            ]
        )
    reports_dir.mkdir(parents=True, exist_ok=True)
    path = reports_dir / f"{campaign_id.replace('/', '_')}.wishlist.r{round_}.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    return WishList(approved=len(wishes), path=str(path))

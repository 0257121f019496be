"""The closing report of a campaign: counts, fill rate per community, time to delivery, money.

Built from the ``cw_`` tables only; it names communities and counts, never a child.
"""

from __future__ import annotations

import csv
import io
import json
import statistics
from collections import Counter
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, select

from plugins.childcare.microwish.models import CampaignReport, CommunityLine, WishList
from plugins.childcare.microwish.rules import age_band
from plugins.childcare.microwish.tables import CwCampaign, CwMatch, CwPledge, CwReport, CwWish

__all__ = ["report_csv", "write_report", "write_wish_list"]

_FILLED = ("matched", "procured", "delivered", "not_delivered")
_APPROVED = ("approved", "procuring", "declined", *_FILLED)


def report_csv(report: CampaignReport) -> str:
    """The per-community table of the report, with a district total line."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["community", "wishes", "approved", "filled", "delivered", "fill_rate"])
    for line in report.communities:
        writer.writerow(
            [
                line.community,
                line.wishes,
                line.approved,
                line.filled,
                line.delivered,
                f"{line.fill_rate:.4f}",
            ]
        )
    writer.writerow(
        [
            report.district,
            report.counts.get("wishes", 0),
            report.counts.get("approved", 0),
            report.counts.get("filled", 0),
            report.counts.get("delivered", 0),
            f"{report.fill_rate:.4f}",
        ]
    )
    return out.getvalue()


def write_report(
    session: Session, *, campaign_id: str, at: datetime, reports_dir: Path
) -> CampaignReport:
    """Compute the report, store it as a ``cw_report`` row and as two files; close the campaign.

    Args:
        session: The open session; the caller commits.
        campaign_id: The campaign (its workflow id).
        at: When the campaign closes.
        reports_dir: Directory of the JSON and CSV files.

    Returns:
        The report, also the campaign workflow's result.
    """
    campaign = session.get(CwCampaign, campaign_id)
    if campaign is None:
        raise LookupError(f"no micro-wish campaign {campaign_id!r}")
    wishes = session.exec(select(CwWish).where(CwWish.campaign_id == campaign_id)).all()
    pledges = session.exec(select(CwPledge).where(CwPledge.campaign_id == campaign_id)).all()
    sources = Counter(
        m.source for m in session.exec(select(CwMatch).where(CwMatch.campaign_id == campaign_id))
    )
    statuses = Counter(w.status for w in wishes)
    reasons = Counter(w.reason for w in wishes if w.reason)
    approved = [w for w in wishes if w.status in _APPROVED]
    filled = [w for w in wishes if w.status in _FILLED]
    lines = []
    for community in sorted({w.community for w in wishes}):
        mine = [w for w in wishes if w.community == community]
        ok = sum(w.status in _APPROVED for w in mine)
        got = sum(w.status in _FILLED for w in mine)
        lines.append(
            CommunityLine(
                community=community,
                wishes=len(mine),
                approved=ok,
                filled=got,
                delivered=sum(w.status == "delivered" for w in mine),
                fill_rate=round(got / ok, 4) if ok else 0.0,
            )
        )
    days = [
        (w.delivered_at - w.visited_at).total_seconds() / 86400
        for w in wishes
        if w.delivered_at is not None and w.visited_at is not None
    ]
    safe_name = campaign_id.replace("/", "_")
    reports_dir.mkdir(parents=True, exist_ok=True)
    json_path, csv_path = reports_dir / f"{safe_name}.json", reports_dir / f"{safe_name}.csv"
    report = CampaignReport(
        campaign_id=campaign_id,
        district=campaign.district,
        counts={
            "wishes": len(wishes),
            "approved": len(approved),
            "filled": len(filled),
            "matched_by_pledge": sources.get("pledge", 0),
            "procured": sources.get("procured", 0),
            "delivered": statuses.get("delivered", 0),
            **{f"status.{k}": v for k, v in sorted(statuses.items())},
            **{f"reason.{k}": v for k, v in sorted(reasons.items())},
        },
        pledges=dict(sorted(Counter(f"{p.kind}.{p.status}" for p in pledges).items())),
        fill_rate=round(len(filled) / len(approved), 4) if approved else 0.0,
        communities=lines,
        days_visit_to_delivery_median=round(statistics.median(days), 2) if days else None,
        days_visit_to_delivery_max=round(max(days), 2) if days else None,
        money_pledged_yuan=campaign.money_pledged_yuan,
        money_spent_yuan=campaign.spent_yuan,
        budget_yuan=campaign.budget_yuan,
        json_path=str(json_path),
        csv_path=str(csv_path),
    )
    text = report_csv(report)
    json_path.write_text(
        json.dumps(report.model_dump(mode="json"), ensure_ascii=False, indent=2), encoding="utf-8"
    )
    csv_path.write_text(text, encoding="utf-8")
    row = session.get(CwReport, campaign_id)
    if row is None:
        row = CwReport(campaign_id=campaign_id, csv=text, created_at=at)
    row.data, row.csv = report.model_dump(mode="json"), text
    session.add(row)
    campaign.closed_at = campaign.closed_at or at
    session.add(campaign)
    return report


def write_wish_list(
    session: Session, *, campaign_id: str, round_: int, reports_dir: Path
) -> WishList:
    """Write the approved wishes as the sign-off list 待联签心愿清单, anonymised like the pool.

    One CSV per round (wish id, community, age band, gender, item, size, estimated value,
    priority): the signatory withholds wishes by their id. No child id, name or household.
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
    for w in wishes:
        writer.writerow(
            [
                w.id,
                w.community,
                age_band(w.age),
                w.gender,
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

"""The micro-wish section 微心愿 of a district report: wishes, how far each got (published for
pledges, matched to a pledge, bought, delivered, or ended unfilled and why), and the fill
rate per community, the fairness the matching promises, shown.

Which campaigns count: those that *collected wishes* in the period, i.e. a campaign
(``cw_campaign`` of the district) opened on one of its local days (children are selected
then, one wish row each) or one of whose wishes had its visit recorded on one (``visited_at``;
for a community-limited viewer, a wish of the viewer's communities). Every wish of such a
campaign counts, at the stage it has reached now: the funnel follows a campaign to its end,
whatever day matching or delivery came, so the weeks of a campaign's visits all show it whole.

The counts are the campaign report's (:mod:`plugins.childcare.microwish.report`), so a
closed campaign's figures agree with its ``cw_report``:

* *Wishes* 心愿数: the campaign's wish rows, one per child selected (children, people counts).
* *Approved* 审核通过: wishes of the report's approved statuses (approved and every stage
  after it); the fill rate's denominator.
* *Published for pledges* 已发布认捐: wishes copied to the charity pool (``cw_pool``), which
  donors pledge against.
* *Matched* 已认领: wishes a pledge fills (``cw_match.source = 'pledge'``); *procured*
  慈善采购: wishes the charity association bought (``source = 'procured'``).
* *Delivered* 已送达: status ``delivered``: the only wishes that count as filled (a matched or
  bought wish whose hand-over did not happen is ``not_delivered``).
* *Declined* 未能满足: wishes that ended unfilled with a reason (``cw_wish.reason``); the
  reasons table splits them by reason code (:data:`~plugins.childcare.microwish.rules.REASONS_ZH`),
  a code this module does not know counting as ``other`` 其他, as in the report.
* *Fill rate* 满足率: delivered over approved, four decimals; None (blank) without an
  approved wish, rather than a 0 % that would read as a community left out.
* *Pledged units* 认捐物品件数: goods units of the campaigns' active pledges (the report's
  ``pledged_units``); a community-limited viewer counts the pledges dropped off in their
  communities.

Everything is counted in SQL, grouped per community; no child, donor or pledge ref leaves it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from careflow.db.tables import Area
from careflow.figures import Chart, Column, FigureQuery, FigureSpec, Section, Table
from careflow.figures.sql import count_where
from plugins.childcare.microwish.models import PROCESS_ID

# The report's notion of an approved wish: one place decides it for the report and the figures.
from plugins.childcare.microwish.report import APPROVED_STATUSES
from plugins.childcare.microwish.rules import REASONS_ZH
from plugins.childcare.microwish.tables import CwCampaign, CwMatch, CwPledge, CwPool, CwWish

__all__ = [
    "APPROVED_STATUSES",
    "FIGURES",
    "FIGURES_KEY",
    "OTHER_REASON",
    "OTHER_REASON_ZH",
    "STAGES",
    "compute",
    "fill_rate",
]

FIGURES_KEY = "childcare.microwish"
OTHER_REASON = "other"
OTHER_REASON_ZH = "其他"
"""A reason code this module has no words for (the report counts it as ``reason.other``)."""

STAGES: tuple[tuple[str, str, str], ...] = (
    ("collected", "收集心愿", "Wishes collected"),
    ("approved", "审核通过", "Approved"),
    ("pledged", "已发布认捐", "Published for pledges"),
    ("matched", "已认领", "Matched to a pledge"),
    ("procured", "慈善采购", "Bought by the charity association"),
    ("delivered", "已送达", "Delivered"),
    ("declined", "未能满足", "Ended unfilled"),
)
"""The funnel's rows: code, Chinese and English labels, in the order a wish goes."""


def fill_rate(delivered: int, approved: int) -> float | None:
    """Delivered over approved (the report's fill rate), four decimals; None without an
    approved wish."""
    return round(delivered / approved, 4) if approved else None


def _within(moment: Any, query: FigureQuery) -> ColumnElement[bool]:
    return and_(moment >= query.period.since, moment < query.period.until)


def _covered(community: Any, query: FigureQuery) -> list[ColumnElement[bool]]:
    if query.communities is None:
        return []
    return [community.in_(sorted(query.communities))]


def _campaigns(query: FigureQuery) -> Any:
    """The district's campaigns that collected wishes in the period (a subquery of ids)."""
    visited = (
        exists()
        .where(
            col(CwWish.campaign_id) == col(CwCampaign.campaign_id),
            _within(col(CwWish.visited_at), query),
            *_covered(col(CwWish.community), query),
        )
        .correlate(CwCampaign)
    )
    return (
        select(col(CwCampaign.campaign_id))
        .where(
            col(CwCampaign.district) == query.district,
            or_(_within(col(CwCampaign.opened_at), query), visited),
        )
        .subquery("campaigns")
    )


def _per_community(session: Session, query: FigureQuery, campaigns: Any) -> dict[str, list[int]]:
    """Per community: one count per stage of :data:`STAGES`, in their order."""
    published = exists().where(col(CwPool.wish_id) == col(CwWish.id)).correlate(CwWish)
    # Eight columns: more than sqlmodel's typed select takes, so SQLAlchemy's own.
    statement = (
        sa_select(
            col(CwWish.community),
            func.count(),
            count_where(col(CwWish.status).in_(APPROVED_STATUSES)),
            count_where(published),
            count_where(col(CwMatch.source) == "pledge"),
            count_where(col(CwMatch.source) == "procured"),
            count_where(col(CwWish.status) == "delivered"),
            count_where(col(CwWish.reason).is_not(None)),
        )
        .select_from(CwWish)
        .join(campaigns, campaigns.c.campaign_id == col(CwWish.campaign_id))
        .outerjoin(CwMatch, col(CwMatch.wish_id) == col(CwWish.id))
        .where(*_covered(col(CwWish.community), query))
        .group_by(col(CwWish.community))
    )
    return {
        str(community): [int(n or 0) for n in counts]
        for community, *counts in session.execute(statement)
    }


def _campaigncount_where(session: Session, query: FigureQuery, campaigns: Any) -> int:
    """Campaigns with a wish the viewer covers (one campaign spans several communities)."""
    statement = (
        select(func.count(col(CwWish.campaign_id).distinct()))
        .select_from(CwWish)
        .join(campaigns, campaigns.c.campaign_id == col(CwWish.campaign_id))
        .where(*_covered(col(CwWish.community), query))
    )
    return int(session.exec(statement).one())


def _reasons(session: Session, query: FigureQuery, campaigns: Any) -> list[tuple[str, int]]:
    """Wishes ended unfilled per reason code, in :data:`REASONS_ZH` order, ``other`` last."""
    statement = (
        select(col(CwWish.reason), func.count())
        .join(campaigns, campaigns.c.campaign_id == col(CwWish.campaign_id))
        .where(col(CwWish.reason).is_not(None), *_covered(col(CwWish.community), query))
        .group_by(col(CwWish.reason))
    )
    counts: dict[str, int] = {}
    for reason, n in session.exec(statement):
        code = reason if reason in REASONS_ZH else OTHER_REASON
        counts[code] = counts.get(code, 0) + int(n)
    order = [*REASONS_ZH, OTHER_REASON]
    return sorted(counts.items(), key=lambda kv: order.index(kv[0]))


def _pledged_units(session: Session, query: FigureQuery, campaigns: Any) -> int:
    """Goods units of the campaigns' active pledges (dropped off in covered communities)."""
    statement = (
        select(func.coalesce(func.sum(col(CwPledge.quantity)), 0))
        .select_from(CwPledge)
        .join(campaigns, campaigns.c.campaign_id == col(CwPledge.campaign_id))
        .where(
            col(CwPledge.kind) == "goods",
            col(CwPledge.status) == "active",
            *_covered(col(CwPledge.dropoff), query),
        )
    )
    return int(session.exec(statement).one())


def _community_names(session: Session, codes: Iterable[str]) -> dict[str, str]:
    named = sorted({c for c in codes if c})
    if not named:
        return {}
    rows = session.exec(select(Area.code, Area.name_zh).where(col(Area.code).in_(named))).all()
    return dict(rows)


def compute(session: Session, query: FigureQuery) -> Section:
    """The micro-wish section of ``query``'s district and period.

    Args:
        session: A session on the app database (read only).
        query: The district, period and the communities the viewer covers.

    Returns:
        The section: headline totals and fill rate, the funnel of stages (with its chart),
        the reasons wishes ended unfilled, and wishes, matches, deliveries and fill rate per
        community; empty tables when no campaign collected wishes in the period.
    """
    campaigns = _campaigns(query)
    per_community = _per_community(session, query, campaigns)
    names = _community_names(session, per_community)
    totals = [sum(counts[i] for counts in per_community.values()) for i in range(len(STAGES))]
    total = dict(zip((code for code, _, _ in STAGES), totals, strict=True))
    # No campaign: no funnel rows (the dashboard says "no data"), not seven zeros.
    funnel_rows = [(zh, code, total[code]) for code, zh, _ in STAGES] if per_community else []
    funnel = Table(
        key="funnel",
        title_zh="心愿进展",
        title_en="How far the wishes got",
        columns=(
            Column("stage_zh", "环节", "Stage", kind="text"),
            Column("stage", "代码", "Code", kind="text"),
            Column("wishes", "心愿数", "Wishes", kind="people"),
        ),
        rows=funnel_rows,
        chart=Chart(kind="bar", x="stage_zh", series=("wishes",)),
        note_zh=(
            "每名入选儿童一条心愿；已认领为认捐匹配，慈善采购为慈善会购买，"
            "二者送达后方计为已送达；未能满足含走访超时、审核未通过、暂缓发布、未采购等。"
        ),
    )
    reasons = Table(
        key="reasons",
        title_zh="未能满足原因",
        title_en="Why wishes ended unfilled",
        columns=(
            Column("reason_zh", "原因", "Reason", kind="text"),
            Column("reason", "代码", "Code", kind="text"),
            Column("wishes", "心愿数", "Wishes", kind="people"),
        ),
        rows=[
            (REASONS_ZH.get(code, OTHER_REASON_ZH), code, n)
            for code, n in _reasons(session, query, campaigns)
        ],
        chart=Chart(kind="bar", x="reason_zh", series=("wishes",)),
    )
    by_community = Table(
        key="per_community",
        title_zh="各社区心愿满足情况",
        title_en="Wishes filled per community",
        columns=(
            Column("community_zh", "社区", "Community", kind="text"),
            Column("community", "社区代码", "Community code", kind="text"),
            Column("wishes", "心愿数", "Wishes", kind="people"),
            Column("approved", "审核通过", "Approved", kind="people"),
            Column("matched", "已认领", "Matched to a pledge", kind="people"),
            Column("procured", "慈善采购", "Bought", kind="people"),
            Column("delivered", "已送达", "Delivered", kind="people"),
            Column("fill_rate", "满足率", "Fill rate", kind="percent"),
        ),
        rows=[
            (
                names.get(code, code),
                code,
                counts[0],
                counts[1],
                counts[3],
                counts[4],
                counts[5],
                fill_rate(counts[5], counts[1]),
            )
            for code, counts in sorted(per_community.items())
        ],
        chart=Chart(kind="bar", x="community_zh", series=("approved", "matched", "delivered")),
        note_zh="满足率：已送达心愿占审核通过心愿的比例（与活动总结报告一致）。",
    )
    return Section(
        key=FIGURES_KEY,
        title_zh="微心愿",
        title_en="Micro-wish campaigns",
        headline=(
            ("微心愿活动 campaigns", _campaigncount_where(session, query, campaigns)),
            ("心愿数（儿童人数）wishes", total["collected"]),
            ("已认领（人）matched", total["matched"]),
            ("已送达（人）delivered", total["delivered"]),
            ("满足率 fill rate", fill_rate(total["delivered"], total["approved"])),
            ("认捐物品件数 pledged units", _pledged_units(session, query, campaigns)),
        ),
        tables=(funnel, reasons, by_community),
    )


FIGURES = FigureSpec(
    key=FIGURES_KEY,
    title_zh="微心愿",
    title_en="Micro-wish campaigns",
    compute=compute,
    order=210,
    processes=(PROCESS_ID,),
)
"""The micro-wish section, shown for districts that run the campaign."""

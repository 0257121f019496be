"""The micro-wish section 微心愿 of a district report, on hand-made ``cw_`` rows.

Xinghualing, the week of 5 to 11 January 2026 (local days). Communities c1 and c2 are the
viewer's in the restricted queries; c3 is outside them. Times are local (Asia/Shanghai) and
stored in UTC, as the activities store them.

Campaigns and why they count (or not) for the week:

=====  ===========================  ===========================================  ==========
camp.  opened                       visits                                       counts
=====  ===========================  ===========================================  ==========
A      5th 09:00 (in the week)      a1 … a13 on the 6th, a8 pending, a11 expired  yes
B      Dec 2025                     b1 (c2) at the 5th 00:00:00; b2 (c1) in Dec   yes
C      Dec 2025                     c1 (c3) on the 8th; c2 (c1) in Dec            district
D      Dec 2025                     d1 (c1) on the 4th at 23:59:59                no
E      5th (another district)       e1 on the 6th                                 no
=====  ===========================  ===========================================  ==========

C counts for the whole district but not for a viewer of c1 and c2: its only visit of the
week was in c3. The wishes (status, reason, whether published to the pool, the match):

====  =========  =============  ======================  =======  =========
wish  community  status         reason                  pool     match
====  =========  =============  ======================  =======  =========
a1    c1         delivered                              yes      pledge
a2    c1         delivered                              yes      procured
a3    c1         not_delivered                          yes      pledge
a4    c1         declined       over_budget             yes
a5    c1         rejected       no_consent
a6    c2         matched                                yes      pledge
a7    c2         withheld       withheld_at_sign_off
a8    c2         pending_visit
a9    c2         rejected       legacy_code (unknown)
a10   c3         delivered                              yes      pledge
a11   c3         visit_expired  visit_expired
a12   c2         declined       over_budget             yes
a13   c3         declined       over_budget             yes
b1    c2         approved                               yes
b2    c1         delivered                              yes      pledge
c1    c3         in_review
c2    c1         delivered                              yes      procured
d1    c1         delivered                              yes      pledge
e1    elsewhere  delivered                              yes      pledge
====  =========  =============  ======================  =======  =========

Pledges (goods units of active ones count): A 3 at c1, 2 at c3, 5 withdrawn and 4 late at
c1, money at c2; B 1 at c2 and 2 with no drop-off; C 7 at c1; D 10 and E 10.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from careflow.db.tables import Area
from careflow.figures import FigureQuery, Period, Section, district_figures, to_csv, to_xlsx
from careflow.localtime import STAFF_TIMEZONE
from careflow.registry import PluginRegistry
from plugins.childcare.microwish.figures import FIGURES, fill_rate
from plugins.childcare.microwish.report import write_report
from plugins.childcare.microwish.tables import CwCampaign, CwMatch, CwPledge, CwPool, CwWish
from tests.support.plugins import BUILT_IN

DISTRICT = "xinghualing"
C1, C2, C3 = (f"{DISTRICT}.s1.c{n}" for n in (1, 2, 3))
ELSEWHERE = "wanbailin.s9.c9"
DEC, EVE, D1, D2 = date(2025, 12, 10), date(2026, 1, 4), date(2026, 1, 5), date(2026, 1, 11)
PERIOD = Period(D1, D2)
MINE = frozenset({C1, C2})
REGISTRY = PluginRegistry.build(list(BUILT_IN))
HEADLINE = (
    "微心愿活动 campaigns",
    "心愿数（儿童人数）wishes",
    "已认领（人）matched",
    "已送达（人）delivered",
    "满足率 fill rate",
    "认捐物品件数 pledged units",
)
STAGES_ZH = ("收集心愿", "审核通过", "已发布认捐", "已认领", "慈善采购", "已送达", "未能满足")
STAGES = ("collected", "approved", "pledged", "matched", "procured", "delivered", "declined")


def local(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A local moment, in UTC as stored."""
    return datetime(
        day.year, day.month, day.day, hour, minute, second, tzinfo=STAFF_TIMEZONE
    ).astimezone(UTC)


VISIT_A = local(date(2026, 1, 6), 10)


# campaign: (opened, district)
CAMPAIGNS: dict[str, tuple[datetime, str]] = {
    "A": (local(D1, 9), DISTRICT),
    "B": (local(DEC, 9), DISTRICT),
    "C": (local(DEC, 9), DISTRICT),
    "D": (local(DEC, 9), DISTRICT),
    "E": (local(D1, 9), "wanbailin"),
}


def campaign_id(name: str) -> str:
    return f"childcare.microwish-{CAMPAIGNS[name][1]}-{name}"


# wish: (id, campaign, community, status, visited, reason, pooled, match source)
WISHES: tuple[tuple[Any, ...], ...] = (
    (1, "A", C1, "delivered", VISIT_A, None, True, "pledge"),
    (2, "A", C1, "delivered", VISIT_A, None, True, "procured"),
    (3, "A", C1, "not_delivered", VISIT_A, None, True, "pledge"),
    (4, "A", C1, "declined", VISIT_A, "over_budget", True, None),
    (5, "A", C1, "rejected", VISIT_A, "no_consent", False, None),
    (6, "A", C2, "matched", VISIT_A, None, True, "pledge"),
    (7, "A", C2, "withheld", VISIT_A, "withheld_at_sign_off", False, None),
    (8, "A", C2, "pending_visit", None, None, False, None),
    (9, "A", C2, "rejected", VISIT_A, "legacy_code", False, None),
    (10, "A", C3, "delivered", VISIT_A, None, True, "pledge"),
    (11, "A", C3, "visit_expired", None, "visit_expired", False, None),
    (12, "A", C2, "declined", VISIT_A, "over_budget", True, None),
    (13, "A", C3, "declined", VISIT_A, "over_budget", True, None),
    (21, "B", C2, "approved", local(D1, 0, 0, 0), None, True, None),
    (22, "B", C1, "delivered", local(DEC, 15), None, True, "pledge"),
    (31, "C", C3, "in_review", local(date(2026, 1, 8), 15), None, False, None),
    (32, "C", C1, "delivered", local(DEC, 15), None, True, "procured"),
    (41, "D", C1, "delivered", local(EVE, 23, 59, 59), None, True, "pledge"),
    (51, "E", ELSEWHERE, "delivered", VISIT_A, None, True, "pledge"),
)

# pledge: (campaign, kind, quantity, drop-off, status)
PLEDGES: tuple[tuple[Any, ...], ...] = (
    ("A", "goods", 3, C1, "active"),
    ("A", "goods", 2, C3, "active"),
    ("A", "goods", 5, C1, "withdrawn"),
    ("A", "goods", 4, C1, "late"),
    ("A", "money", 0, C2, "active"),
    ("B", "goods", 1, C2, "active"),
    ("B", "goods", 2, None, "active"),
    ("C", "goods", 7, C1, "active"),
    ("D", "goods", 10, C1, "active"),
    ("E", "goods", 10, ELSEWHERE, "active"),
)


def areas() -> list[Area]:
    rows = [
        Area(code=DISTRICT, level="district", name_zh="杏花岭区", name_en="Xinghualing"),
        Area(
            code=f"{DISTRICT}.s1",
            level="street",
            parent_code=DISTRICT,
            name_zh="一街道",
            name_en="s1",
        ),
    ]
    rows += [
        Area(code=c, level="community", parent_code=f"{DISTRICT}.s1", name_zh=zh, name_en=c)
        for c, zh in ((C1, "一社区"), (C2, "二社区"), (C3, "三社区"))
    ]
    return rows


@pytest.fixture
def db(any_engine: Engine) -> Iterator[Session]:
    """The fixture rows (see the module's docstring), in a session."""
    with Session(any_engine) as session:
        session.add_all(areas())
        session.add_all(
            CwCampaign(
                campaign_id=campaign_id(name),
                district=district,
                case_ref=name,
                communities=[C1, C2, C3],
                opened_at=opened,
            )
            for name, (opened, district) in CAMPAIGNS.items()
        )
        session.flush()
        for seq, (wid, name, community, status, visited, reason, _, _) in enumerate(WISHES):
            session.add(
                CwWish(
                    id=wid,
                    campaign_id=campaign_id(name),
                    seq=seq,
                    child_ref=f"P{wid:04d}",
                    community=community,
                    gender="F",
                    age=9,
                    status=status,
                    category="school_bag",
                    reason=reason,
                    visited_at=visited,
                )
            )
        for n, (name, kind, quantity, dropoff, status) in enumerate(PLEDGES):
            session.add(
                CwPledge(
                    campaign_id=campaign_id(name),
                    pledge_ref=f"PL{n}",
                    donor_ref=f"D{n}",
                    kind=kind,
                    category="school_bag" if kind == "goods" else None,
                    quantity=quantity,
                    amount_yuan=200 if kind == "money" else 0,
                    dropoff=dropoff,
                    status=status,
                )
            )
        session.flush()
        for wid, name, community, _, _, _, pooled, source in WISHES:
            if pooled:
                session.add(
                    CwPool(
                        campaign_id=campaign_id(name),
                        wish_id=wid,
                        district=CAMPAIGNS[name][1],
                        community=community,
                        age_band="9-11",
                        gender="F",
                        category="school_bag",
                    )
                )
            if source is not None:
                session.add(CwMatch(campaign_id=campaign_id(name), wish_id=wid, source=source))
        session.commit()
        yield session


def _compute(
    session: Session, communities: frozenset[str] | None = None, period: Period = PERIOD
) -> Section:
    return FIGURES.compute(
        session, FigureQuery(district=DISTRICT, period=period, communities=communities)
    )


def _table(section: Section, key: str) -> list[tuple[Any, ...]]:
    (table,) = [t for t in section.tables if t.key == key]
    return list(table.rows)


def _funnel(*counts: Any) -> list[tuple[Any, ...]]:
    return list(zip(STAGES_ZH, STAGES, counts, strict=True))


def test_fill_rate_is_delivered_over_approved() -> None:
    assert fill_rate(5, 11) == 0.4545
    assert fill_rate(0, 3) == 0.0
    assert fill_rate(0, 0) is None


def test_the_whole_district(db: Session) -> None:
    section = _compute(db)
    assert (section.key, section.title_zh) == ("childcare.microwish", "微心愿")
    # Campaigns A, B and C; D's visit was a second before the week, E is another district's.
    assert dict(section.headline) == dict(zip(HEADLINE, (3, 17, 5, 5, 0.4545, 15), strict=True))
    assert _table(section, "funnel") == _funnel(17, 11, 11, 5, 2, 5, 7)
    assert _table(section, "reasons") == [
        ("未获监护人同意", "no_consent", 1),
        ("走访超时", "visit_expired", 1),
        ("超出采购预算", "over_budget", 3),
        ("联签时暂缓发布", "withheld_at_sign_off", 1),
        ("其他", "other", 1),
    ]
    assert _table(section, "per_community") == [
        # community, code, wishes, approved, matched, procured, delivered, fill rate
        ("一社区", C1, 7, 6, 3, 2, 4, 0.6667),
        ("二社区", C2, 6, 3, 1, 0, 0, 0.0),
        ("三社区", C3, 4, 2, 1, 0, 1, 0.5),
    ]


def test_a_viewer_of_some_communities_counts_only_theirs(db: Session) -> None:
    section = _compute(db, MINE)
    # C's only visit of the week was in c3: none of C's wishes count, not even c1's c2.
    # Pledged units: A's 3 and B's 1 dropped off in c1 and c2.
    assert dict(section.headline) == dict(zip(HEADLINE, (2, 12, 4, 3, 0.375, 4), strict=True))
    assert _table(section, "funnel") == _funnel(12, 8, 8, 4, 1, 3, 5)
    assert _table(section, "reasons") == [
        ("未获监护人同意", "no_consent", 1),
        ("超出采购预算", "over_budget", 2),
        ("联签时暂缓发布", "withheld_at_sign_off", 1),
        ("其他", "other", 1),
    ]
    assert _table(section, "per_community") == [
        ("一社区", C1, 6, 5, 3, 1, 3, 0.6),
        ("二社区", C2, 6, 3, 1, 0, 0, 0.0),
    ]


def test_a_visit_counts_on_its_local_day(db: Session) -> None:
    # D's one visit, at 23:59:59 on the 4th, makes it a campaign of the 4th.
    eve = _compute(db, period=Period(EVE, EVE))
    assert dict(eve.headline) == dict(zip(HEADLINE, (1, 1, 1, 1, 1.0, 10), strict=True))
    assert _table(eve, "per_community") == [("一社区", C1, 1, 1, 1, 0, 1, 1.0)]
    # The 5th: A opened, B's visit at 00:00:00; C's visit of the 8th is not that day's.
    first = _compute(db, period=Period(D1, D1))
    assert dict(first.headline)["微心愿活动 campaigns"] == 2
    assert _table(first, "funnel") == _funnel(15, 10, 10, 5, 1, 4, 7)


def test_district_figures_show_small_child_counts_as_fewer_than_three(db: Session) -> None:
    figures = district_figures(db, REGISTRY, district=DISTRICT, period=PERIOD)
    (section,) = [s for s in figures.sections if s.key == "childcare.microwish"]
    assert _table(section, "per_community") == [
        ("一社区", C1, 7, 6, 3, "<3", 4, 0.6667),
        ("二社区", C2, 6, 3, "<3", 0, 0, 0.0),
        ("三社区", C3, 4, "<3", "<3", 0, "<3", 0.5),
    ]
    assert _table(section, "funnel") == _funnel(17, 11, 11, 5, "<3", 5, 7)
    assert [n for _, _, n in _table(section, "reasons")] == ["<3", "<3", 3, "<3", "<3"]

    only_c3 = district_figures(
        db, REGISTRY, district=DISTRICT, period=PERIOD, communities=frozenset({C3})
    )
    (section,) = [s for s in only_c3.sections if s.key == "childcare.microwish"]
    # A (opened in the week) and C (c3's visit); a10, a11, a13 and C's c1.
    assert dict(section.headline) == dict(zip(HEADLINE, (2, 4, "<3", "<3", 0.5, 2), strict=True))


def test_an_empty_period_has_no_rows(db: Session) -> None:
    period = Period(date(2025, 6, 1), date(2025, 6, 7))
    section = _compute(db, period=period)
    assert section.empty
    assert [len(t.rows) for t in section.tables] == [0, 0, 0]
    assert dict(section.headline) == dict(zip(HEADLINE, (0, 0, 0, 0, None, 0), strict=True))
    figures = district_figures(db, REGISTRY, district=DISTRICT, period=period)
    assert all(s.empty for s in figures.sections if s.key == "childcare.microwish")


def test_the_figures_agree_with_the_campaign_reports(db: Session, tmp_path: Path) -> None:
    """The campaigns' closing reports, summed per community, give the same counts."""
    section = _compute(db)
    lines: dict[str, list[int]] = {}
    for name in ("A", "B", "C"):
        report = write_report(db, campaign_id=campaign_id(name), at=local(D2, 18))
        for line in report.communities:
            sums = lines.setdefault(line.community, [0] * 5)
            for i, n in enumerate(
                (line.wishes, line.approved, line.matched, line.procured, line.delivered)
            ):
                sums[i] += n
    db.rollback()
    assert {row[1]: list(row[2:7]) for row in _table(section, "per_community")} == lines


def test_the_exports_show_the_fill_rate_as_a_percent(db: Session) -> None:
    figures = district_figures(db, REGISTRY, district=DISTRICT, period=PERIOD)
    text = to_csv(figures).decode("utf-8-sig")
    assert "微心愿,概要,满足率 fill rate,数值,45.5%" in text
    assert "微心愿,各社区心愿满足情况,一社区,满足率,66.7%" in text
    assert "微心愿,未能满足原因,超出采购预算,心愿数,3" in text
    empty = district_figures(
        db, REGISTRY, district=DISTRICT, period=Period(date(2025, 6, 1), date(2025, 6, 7))
    )
    assert "微心愿,概要,满足率 fill rate,数值,\r\n" in to_csv(empty).decode("utf-8-sig")
    assert to_xlsx(empty).startswith(b"PK")  # a blank fill rate is written as an empty cell

"""The curtain appointment's report section on hand-made rows, on SQLite and PostgreSQL.

Xinghualing, 2 and 3 March 2026 (local days). Communities c1 and c2 are the viewer's in the
restricted queries; c3 is outside them; wanbailin's rows never count. Times are local
(Asia/Shanghai) and stored in UTC, as the workflows store them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from careflow.db.tables import Area, CaseRecord, Person, Task
from careflow.figures import FigureQuery, Period, Section, district_figures
from careflow.localtime import STAFF_TIMEZONE
from careflow.registry import PluginRegistry
from plugins.eldercare.curtain import CHECK_PROCESS
from plugins.eldercare.curtain.figures import FIGURES
from plugins.eldercare.curtain.tables import CurtainAwayNotice
from tests.support.plugins import BUILT_IN

DISTRICT = "xinghualing"
C1, C2, C3 = (f"{DISTRICT}.s1.c{n}" for n in (1, 2, 3))
ELSEWHERE = "wanbailin.s9.c9"
D1, D2 = date(2026, 3, 2), date(2026, 3, 3)
EVE = date(2026, 3, 1)
PERIOD = Period(D1, D2)
MINE = frozenset({C1, C2})
REGISTRY = PluginRegistry.build(list(BUILT_IN))


def local(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A local moment, in UTC as stored."""
    return datetime(
        day.year, day.month, day.day, hour, minute, second, tzinfo=STAFF_TIMEZONE
    ).astimezone(UTC)


_n = iter(range(1, 10_000))


def task(
    workflow_id: str,
    step_key: str,
    community: str,
    opened_at: datetime,
    *,
    case_ref: str,
    status: str = "open",
    closed_at: datetime | None = None,
    due_at: datetime | None = None,
    district: str = DISTRICT,
    process: str = CHECK_PROCESS,
) -> Task:
    return Task(
        task_id=f"T{next(_n)}",
        workflow_id=workflow_id,
        step_key=step_key,
        process=process,
        module="eldercare",
        district=district,
        community=community,
        case_ref=case_ref,
        role="volunteer",
        title_zh="窗帘之约",
        title_en="curtain",
        form_ref="f",
        status=status,
        due_at=due_at or opened_at + timedelta(hours=1),
        opened_at=opened_at,
        closed_at=closed_at,
    )


def check(
    elder: str,
    day: date,
    community: str,
    *,
    status: str = "open",
    closed: tuple[int, int] | None = None,
    opened: datetime | None = None,
    own: bool = False,
    district: str = DISTRICT,
) -> Task:
    """One elder's check: a batch's bulk task (due 10:30), or a check staff started (own)."""
    ref = f"{elder}.{day:%Y%m%d}"
    return task(
        f"check-{ref}" if own else f"batch-{day:%Y%m%d}-{district}",
        "check" if own else f"check.{ref}",
        community,
        opened or local(day, 9, 30),
        case_ref=ref,
        status=status,
        closed_at=local(day, *closed) if closed else None,
        due_at=local(day, 10, 30),
        district=district,
    )


def escalation(
    elder: str, day: date, community: str, *steps: tuple[str, int, int], district: str = DISTRICT
) -> list[Task]:
    """The check process's call / door tasks of one elder's morning."""
    ref = f"{elder}.{day:%Y%m%d}"
    return [
        task(f"check-{ref}", step, community, local(day, h, m), case_ref=ref, district=district)
        for step, h, m in steps
    ]


def emergency(elder: str, day: date, at: datetime, *, green: str | None, **kw: Any) -> CaseRecord:
    ref = f"{elder}.{day:%Y%m%d}"
    return CaseRecord(
        workflow_id=f"check-{ref}",
        step_key="emergency",
        process=CHECK_PROCESS,
        district=kw.get("district", DISTRICT),
        case_ref=ref,
        kind="curtain_emergency",
        data={"green_channel": green},
        created_at=at,
    )


def person(elder: str, community: str) -> Person:
    return Person(
        id=elder,
        kind="elder",
        name="测试",
        id_number="0",
        gender="F",
        birth_date=date(1940, 1, 1),
        community_code=community,
        lives_alone=True,
    )


def away(n: int, elder: str, district: str, filed: datetime) -> CurtainAwayNotice:
    return CurtainAwayNotice(
        elder_id=elder,
        district=district,
        away_from=D1,
        away_until=D2,
        filed_by="family",
        workflow_id=f"away-{n}",
        step_key="notice",
        created_at=filed,
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
        Area(code="wanbailin", level="district", name_zh="万柏林区", name_en="Wanbailin"),
        Area(
            code="wanbailin.s9",
            level="street",
            parent_code="wanbailin",
            name_zh="九街道",
            name_en="s9",
        ),
        Area(
            code=ELSEWHERE,
            level="community",
            parent_code="wanbailin.s9",
            name_zh="九社区",
            name_en="c9",
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
        session.flush()
        session.add_all(
            [person("P1", C1), person("P10", C3), person("P11", C1), person("P99", ELSEWHERE)]
        )
        session.flush()
        rows: list[Any] = [
            # 2 March, c1: P1 early and P2 at the deadline itself (on time), P3 no report
            # (expired: call, door, emergency with a green channel), P4 still open.
            check("P1", D1, C1, status="done", closed=(9, 50)),
            check("P2", D1, C1, status="done", closed=(10, 30)),
            check("P3", D1, C1, status="expired", closed=(10, 30)),
            check("P4", D1, C1),
            *escalation("P3", D1, C1, ("call", 10, 31), ("door", 11, 0)),
            emergency("P3", D1, local(D1, 11, 40), green="eldercare.green_channel-x-1"),
            # 2 March, c2: P5 reported closed curtains on time (then a call), P6 on time, P8
            # a staff-started check opened at local midnight exactly: the 2nd's.
            check("P5", D1, C2, status="done", closed=(10, 0)),
            *escalation("P5", D1, C2, ("call", 10, 5)),
            check("P6", D1, C2, status="done", closed=(10, 10)),
            check("P8", D1, C2, own=True, opened=local(D1, 0, 0, 0)),
            # 2 March, c3 (outside the viewer's communities): P10 on time, then a call.
            check("P10", D1, C3, status="done", closed=(9, 40)),
            *escalation("P10", D1, C3, ("call", 10, 40)),
            # 3 March, c1: P1, P2 on time; P3's check started by staff (step "check").
            check("P1", D2, C1, status="done", closed=(9, 45)),
            check("P2", D2, C1, status="done", closed=(10, 29)),
            check("P3", D2, C1, own=True, status="done", closed=(9, 55)),
            # 3 March, c2: P5 no report: call, door, emergency without a green channel.
            check("P5", D2, C2, status="expired", closed=(10, 30)),
            *escalation("P5", D2, C2, ("call", 10, 31), ("door", 11, 5)),
            emergency("P5", D2, local(D2, 12, 0), green=None),
            # Outside the period: P9's check on the 1st, its emergency one second before the
            # 2nd; P7's check at local midnight after the 3rd.
            check("P9", EVE, C1, own=True, opened=local(EVE, 23, 0)),
            *escalation("P9", EVE, C1, ("door", 23, 30)),
            emergency("P9", EVE, local(EVE, 23, 59, 59), green=None),
            check("P7", date(2026, 3, 4), C2, own=True, opened=local(date(2026, 3, 4), 0, 0, 0)),
            # Another district's check, call and emergency; another process's tasks.
            check("P99", D1, ELSEWHERE, status="done", closed=(9, 31), district="wanbailin"),
            *escalation("P99", D1, ELSEWHERE, ("call", 10, 31), district="wanbailin"),
            emergency("P99", D1, local(D1, 11, 0), green=None, district="wanbailin"),
            task(
                "gc-1",
                "check.P1.20260302",
                C1,
                local(D1, 9, 30),
                case_ref="x",
                process="eldercare.green_channel",
                status="done",
                closed_at=local(D1, 9, 31),
            ),
            task(
                "gc-1",
                "call",
                C1,
                local(D1, 9, 30),
                case_ref="x",
                process="eldercare.green_channel",
            ),
            # A record of the check that is no emergency.
            CaseRecord(
                workflow_id="check-P3.20260302",
                step_key="report",
                process=CHECK_PROCESS,
                district=DISTRICT,
                case_ref="P3.20260302",
                kind="no_report",
                created_at=local(D1, 10, 30),
            ),
            # Away notices: P1 (c1) and P10 (c3) in the period; P11 before it; wanbailin's.
            away(1, "P1", DISTRICT, local(D1, 8, 0)),
            away(2, "P10", DISTRICT, local(D2, 7, 0)),
            away(3, "P11", DISTRICT, local(EVE, 23, 0)),
            away(4, "P99", "wanbailin", local(D1, 8, 0)),
        ]
        session.add_all(rows)
        session.commit()
        yield session


def _compute(session: Session, communities: frozenset[str] | None = None) -> Section:
    return FIGURES.compute(
        session, FigureQuery(district=DISTRICT, period=PERIOD, communities=communities)
    )


def _table(section: Section, key: str) -> list[tuple[Any, ...]]:
    (table,) = [t for t in section.tables if t.key == key]
    return list(table.rows)


def test_the_whole_district_per_day_and_community(db: Session) -> None:
    section = _compute(db)
    assert section.key == "eldercare.curtain"
    assert section.title_zh == "窗帘之约"
    assert _table(section, "per_day_community") == [
        # day, community, code, watched, on time, call, door, emergency
        (D1, "一社区", C1, 4, 2, 1, 1, 1),
        (D1, "二社区", C2, 3, 2, 1, 0, 0),
        (D1, "三社区", C3, 1, 1, 1, 0, 0),
        (D2, "一社区", C1, 3, 3, 0, 0, 0),
        (D2, "二社区", C2, 1, 0, 1, 1, 1),
    ]
    assert _table(section, "per_day") == [(D1, 8, 5, 3, 1, 1), (D2, 4, 3, 1, 1, 1)]
    assert _table(section, "per_community") == [
        # community, code, distinct elders, checks, on time, share, call, door, emergency
        ("一社区", C1, 4, 7, 5, 0.7143, 1, 1, 1),
        ("二社区", C2, 3, 4, 2, 0.5, 2, 1, 1),
        ("三社区", C3, 1, 1, 1, 1.0, 1, 0, 0),
    ]
    assert dict(section.headline) == {
        "关注老人人数 elders watched": 8,
        "查看次数 checks": 12,
        "按时反馈 on time": 8,
        "按时反馈率 on-time share": 0.6667,
        "电话联系 calls": 4,
        "上门查看 door checks": 2,
        "紧急处置 emergencies": 2,
        "其中开通急诊绿色通道 green channels opened": 1,
        "外出报备 away notices": 2,
    }


def test_a_viewer_of_some_communities_counts_only_theirs(db: Session) -> None:
    section = _compute(db, MINE)
    assert _table(section, "per_day") == [(D1, 7, 4, 2, 1, 1), (D2, 4, 3, 1, 1, 1)]
    assert [row[1] for row in _table(section, "per_community")] == [C1, C2]
    assert dict(section.headline) == {
        "关注老人人数 elders watched": 7,
        "查看次数 checks": 11,
        "按时反馈 on time": 7,
        "按时反馈率 on-time share": 0.6364,
        "电话联系 calls": 3,
        "上门查看 door checks": 2,
        "紧急处置 emergencies": 2,
        "其中开通急诊绿色通道 green channels opened": 1,
        "外出报备 away notices": 1,
    }


def test_one_day_ends_at_local_midnight(db: Session) -> None:
    first = FIGURES.compute(db, FigureQuery(district=DISTRICT, period=Period(D1, D1)))
    assert _table(first, "per_day") == [(D1, 8, 5, 3, 1, 1)]
    eve = FIGURES.compute(db, FigureQuery(district=DISTRICT, period=Period(EVE, EVE)))
    # 23:59:59 on the 1st is the 1st's: P9's check, door check and emergency.
    assert _table(eve, "per_day_community") == [(EVE, "一社区", C1, 1, 0, 0, 1, 1)]
    assert _table(eve, "per_day") == [(EVE, 1, 0, 0, 1, 1)]
    after = date(2026, 3, 4)
    next_day = FIGURES.compute(db, FigureQuery(district=DISTRICT, period=Period(after, after)))
    # Local midnight after the 3rd opens the 4th: P7's check.
    assert _table(next_day, "per_day") == [(after, 1, 0, 0, 0, 0)]


def test_district_figures_show_small_people_counts_as_fewer_than_three(db: Session) -> None:
    figures = district_figures(db, REGISTRY, district=DISTRICT, period=PERIOD)
    (section,) = [s for s in figures.sections if s.key == "eldercare.curtain"]
    assert _table(section, "per_day_community") == [
        (D1, "一社区", C1, 4, 2, 1, 1, 1),
        (D1, "二社区", C2, 3, 2, 1, 0, 0),
        (D1, "三社区", C3, "<3", 1, 1, 0, 0),
        (D2, "一社区", C1, 3, 3, 0, 0, 0),
        (D2, "二社区", C2, "<3", 0, 1, 1, 1),
    ]
    assert _table(section, "per_community")[2] == ("三社区", C3, "<3", 1, 1, 1.0, 1, 0, 0)
    assert dict(section.headline)["关注老人人数 elders watched"] == 8

    only_c3 = district_figures(
        db, REGISTRY, district=DISTRICT, period=PERIOD, communities=frozenset({C3})
    )
    (section,) = [s for s in only_c3.sections if s.key == "eldercare.curtain"]
    headline = dict(section.headline)
    assert headline["关注老人人数 elders watched"] == "<3"
    assert headline["查看次数 checks"] == 1  # checks are events, not people
    assert headline["外出报备 away notices"] == 1


def test_an_empty_period_has_no_rows(db: Session) -> None:
    period = Period(date(2026, 1, 1), date(2026, 1, 7))
    section = FIGURES.compute(db, FigureQuery(district=DISTRICT, period=period))
    assert section.empty
    assert [len(t.rows) for t in section.tables] == [0, 0, 0]
    assert dict(section.headline)["关注老人人数 elders watched"] == 0
    assert dict(section.headline)["按时反馈率 on-time share"] == 0.0
    figures = district_figures(db, REGISTRY, district=DISTRICT, period=period)
    assert all(s.empty for s in figures.sections if s.key == "eldercare.curtain")

"""The health stations' report section on hand-made rows, on SQLite and PostgreSQL.

Wanbailin (which runs the health stations), 2 and 3 March 2026 (local days). Street s1 holds
communities c1 and c2, street s2 holds c3; P7 is no longer in the registry (no community);
xinghualing's rows never count. Times are local (Asia/Shanghai) and stored in UTC.

Readings: 2nd: P1 ×2, P2 (c1), P4 (c2), P6 (c3), P7 (none); 3rd: P1 at midnight, P3 (c1),
P4, P5 ×2 (c2). Outside: P2 at 23:59:59 on the 1st, P3 at midnight after the 3rd.

The alerts raised in the period, and their doctor reviews (task ``review``):

=====  =====  =========  ==========  ========  ==============================================
alert  elder  community  raised      severity  review
=====  =====  =========  ==========  ========  ==============================================
A1     P1     c1         2nd 08:00   critical  done 08:20, due 08:30: on time
A2     P2     c1         2nd 09:00   warning   done 22:00, due 21:00: late
A3     P4     c2         2nd 10:00   critical  escalated (due moved to 11:30), done 11:10: late
A4     P7     (none)     2nd 12:00   warning   expired: missed
A7     P6     c3         2nd 11:00   warning   done at its due time exactly: on time
A5     P1     c1         3rd 00:00   warning   open
A6     P5     c2         3rd 10:00   critical  no task yet: open
A8     P3     c1         3rd 08:00   warning   cancelled
=====  =====  =========  ==========  ========  ==============================================
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from careflow.db.tables import Area, Person, Task
from careflow.figures import FigureQuery, Period, Section, district_figures
from careflow.localtime import STAFF_TIMEZONE
from careflow.registry import PluginRegistry
from plugins.eldercare.health import HEALTH_ALERT_PROCESS
from plugins.eldercare.health.figures import FIGURES, NO_COMMUNITY_ZH
from plugins.eldercare.health.tables import HealthAlert, HealthReading
from tests.support.plugins import BUILT_IN

DISTRICT = "wanbailin"
C1, C2 = f"{DISTRICT}.s1.c1", f"{DISTRICT}.s1.c2"
C3 = f"{DISTRICT}.s2.c3"
ELSEWHERE = "xinghualing.s9.c9"
EVE, D1, D2, AFTER = date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)
PERIOD = Period(D1, D2)
REGISTRY = PluginRegistry.build(list(BUILT_IN))
HEADLINE = (
    "测量老人人数 elders measured",
    "测量次数 readings",
    "预警 alerts",
    "危急预警 critical",
    "警示预警 warnings",
    "按时复核 reviewed on time",
    "按时复核率 on-time review rate",
    "逾期复核 reviewed late",
    "超期未复核 never reviewed",
    "待复核 review open",
)


def local(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A local moment, in UTC as stored."""
    return datetime(
        day.year, day.month, day.day, hour, minute, second, tzinfo=STAFF_TIMEZONE
    ).astimezone(UTC)


_n = iter(range(1, 10_000))


def reading(elder: str, at: datetime, *, district: str = DISTRICT) -> HealthReading:
    n = next(_n)
    return HealthReading(
        id=n,
        workflow_id=f"eldercare.health_monitor-{district}-k{elder}",
        step_key=f"reading.{n}",
        elder_ref=elder,
        district=district,
        device_id="station-1",
        measured_at=at,
        systolic=150,
        diastolic=90,
        created_at=at,
    )


def alert(
    alert_id: int, elder: str, at: datetime, severity: str, *, district: str = DISTRICT
) -> HealthAlert:
    return HealthAlert(
        id=alert_id,
        workflow_id=f"eldercare.health_monitor-{district}-k{elder}",
        step_key=f"reading.a{alert_id}",
        elder_ref=elder,
        district=district,
        reading_id=1,
        severity=severity,
        rules=["systolic_high"],
        raised_at=at,
    )


def review(
    alert_id: int,
    elder: str,
    opened_at: datetime,
    *,
    due_at: datetime,
    status: str = "open",
    closed_at: datetime | None = None,
    escalated: bool = False,
    step_key: str = "review",
    district: str = DISTRICT,
    community: str | None = None,
) -> Task:
    """The alert process's task (the doctor's review unless ``step_key`` says otherwise)."""
    return Task(
        task_id=f"T{next(_n)}",
        workflow_id=f"eldercare.health_alert-{district}-kA{alert_id}",
        step_key=step_key,
        process=HEALTH_ALERT_PROCESS,
        module="eldercare",
        district=district,
        community=community,
        case_ref=f"{elder}.A{alert_id}",
        role="district_admin" if escalated else "doctor",
        title_zh="健康预警审核",
        title_en="review",
        form_ref="f",
        status=status,
        escalation_level=1 if escalated else 0,
        overdue=escalated,
        due_at=due_at,
        opened_at=opened_at,
        closed_at=closed_at,
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
    )


def areas() -> list[Area]:
    rows = [
        Area(code=DISTRICT, level="district", name_zh="万柏林区", name_en="Wanbailin"),
        Area(code="xinghualing", level="district", name_zh="杏花岭区", name_en="Xinghualing"),
    ]
    rows += [
        Area(code=code, level="street", parent_code=parent, name_zh=zh, name_en=code)
        for code, parent, zh in (
            (f"{DISTRICT}.s1", DISTRICT, "一街道"),
            (f"{DISTRICT}.s2", DISTRICT, "二街道"),
            ("xinghualing.s9", "xinghualing", "九街道"),
        )
    ]
    rows += [
        Area(
            code=code,
            level="community",
            parent_code=code.rsplit(".", 1)[0],
            name_zh=zh,
            name_en=code,
        )
        for code, zh in ((C1, "一社区"), (C2, "二社区"), (C3, "三社区"), (ELSEWHERE, "九社区"))
    ]
    return rows


@pytest.fixture
def db(any_engine: Engine) -> Iterator[Session]:
    """The fixture rows (see the module's docstring), in a session."""
    with Session(any_engine) as session:
        session.add_all(areas())
        session.flush()
        session.add_all(
            [
                person("P1", C1),
                person("P2", C1),
                person("P3", C1),
                person("P4", C2),
                person("P5", C2),
                person("P6", C3),
                person("P99", ELSEWHERE),
            ]
        )
        session.flush()
        rows: list[Any] = [
            # Readings of the 2nd and the 3rd (P1's at local midnight is the 3rd's).
            reading("P1", local(D1, 8, 0)),
            reading("P1", local(D1, 18, 0)),
            reading("P2", local(D1, 9, 0)),
            reading("P4", local(D1, 10, 0)),
            reading("P6", local(D1, 11, 0)),
            reading("P7", local(D1, 12, 0)),
            reading("P1", local(D2, 0, 0, 0)),
            reading("P3", local(D2, 8, 0)),
            reading("P4", local(D2, 9, 0)),
            reading("P5", local(D2, 10, 0)),
            reading("P5", local(D2, 10, 30)),
            # Outside the period, and another district's.
            reading("P2", local(EVE, 23, 59, 59)),
            reading("P3", local(AFTER, 0, 0, 0)),
            reading("P99", local(D1, 9, 0), district="xinghualing"),
            # Alerts and their reviews (the table in the module's docstring).
            alert(1, "P1", local(D1, 8, 0), "critical"),
            review(
                1,
                "P1",
                local(D1, 8, 1),
                due_at=local(D1, 8, 30),
                status="done",
                closed_at=local(D1, 8, 20),
                community=C1,
            ),
            # A1's home visit, done late: no review, not counted.
            review(
                1,
                "P1",
                local(D1, 8, 20),
                due_at=local(D1, 9, 0),
                status="done",
                closed_at=local(D2, 9, 0),
                step_key="home_visit",
                community=C1,
            ),
            alert(2, "P2", local(D1, 9, 0), "warning"),
            review(
                2,
                "P2",
                local(D1, 9, 1),
                due_at=local(D1, 21, 0),
                status="done",
                closed_at=local(D1, 22, 0),
                community=C1,
            ),
            alert(3, "P4", local(D1, 10, 0), "critical"),
            review(
                3,
                "P4",
                local(D1, 10, 1),
                due_at=local(D1, 11, 30),
                status="done",
                closed_at=local(D1, 11, 10),
                escalated=True,
                community=C2,
            ),
            alert(4, "P7", local(D1, 12, 0), "warning"),
            review(
                4,
                "P7",
                local(D1, 12, 1),
                due_at=local(D2, 12, 0),
                status="expired",
                closed_at=local(D2, 12, 0),
            ),
            alert(7, "P6", local(D1, 11, 0), "warning"),
            review(
                7,
                "P6",
                local(D1, 11, 1),
                due_at=local(D1, 23, 0),
                status="done",
                closed_at=local(D1, 23, 0),
                community=C3,
            ),
            alert(5, "P1", local(D2, 0, 0, 0), "warning"),
            review(5, "P1", local(D2, 0, 1), due_at=local(D2, 12, 0), community=C1),
            alert(6, "P5", local(D2, 10, 0), "critical"),
            alert(8, "P3", local(D2, 8, 0), "warning"),
            review(
                8,
                "P3",
                local(D2, 8, 1),
                due_at=local(D2, 20, 0),
                status="cancelled",
                closed_at=local(D2, 9, 0),
                community=C1,
            ),
            # Outside the period: A9 one second before it (reviewed), A10 at midnight after it
            # (P3's: its case ref "P3.A10" must not join A1's "P1.A1").
            alert(9, "P2", local(EVE, 23, 59, 59), "critical"),
            review(
                9,
                "P2",
                local(D1, 0, 0, 30),
                due_at=local(D1, 1, 0),
                status="done",
                closed_at=local(D1, 0, 10),
                community=C1,
            ),
            alert(10, "P3", local(AFTER, 0, 0, 0), "warning"),
            review(10, "P3", local(AFTER, 0, 1), due_at=local(AFTER, 12, 0), community=C1),
            # Another district's alert, reviewed on time.
            alert(11, "P99", local(D1, 9, 0), "critical", district="xinghualing"),
            review(
                11,
                "P99",
                local(D1, 9, 1),
                due_at=local(D1, 10, 0),
                status="done",
                closed_at=local(D1, 9, 30),
                district="xinghualing",
                community=ELSEWHERE,
            ),
        ]
        session.add_all(rows)
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


def _street(session: Session, street: str) -> frozenset[str]:
    """The communities a grant on ``street`` covers."""
    codes = session.exec(
        select(Area.code).where(Area.level == "community", Area.parent_code == street)
    ).all()
    return frozenset(codes)


def test_the_whole_district_per_day_and_community(db: Session) -> None:
    section = _compute(db)
    assert section.key == "eldercare.health"
    assert section.title_zh == "健康驿站"
    assert _table(section, "per_day") == [
        # day, readings, elders measured, alerts, critical, warning
        (D1, 6, 5, 5, 2, 3),
        (D2, 5, 4, 3, 1, 2),
    ]
    assert _table(section, "per_community") == [
        # community, code, elders, readings, alerts, critical, warning,
        # on time, late, missed, open, cancelled, on-time rate
        ("一社区", C1, 3, 5, 4, 1, 3, 1, 1, 0, 1, 1, 0.5),
        ("二社区", C2, 2, 4, 2, 2, 0, 0, 1, 0, 1, 0, 0.0),
        ("三社区", C3, 1, 1, 1, 0, 1, 1, 0, 0, 0, 0, 1.0),
        (NO_COMMUNITY_ZH, None, 1, 1, 1, 0, 1, 0, 0, 1, 0, 0, 0.0),
    ]
    assert dict(section.headline) == dict(
        zip(HEADLINE, (7, 11, 8, 3, 5, 2, 0.4, 2, 1, 2), strict=True)
    )


def test_a_street_viewer_counts_only_its_communities(db: Session) -> None:
    street = _street(db, f"{DISTRICT}.s1")
    assert street == {C1, C2}
    section = _compute(db, street)
    assert _table(section, "per_day") == [(D1, 4, 3, 3, 2, 1), (D2, 5, 4, 3, 1, 2)]
    assert [row[1] for row in _table(section, "per_community")] == [C1, C2]
    assert dict(section.headline) == dict(
        zip(HEADLINE, (5, 9, 6, 3, 3, 1, 0.3333, 2, 0, 2), strict=True)
    )


def test_a_community_viewer_sees_only_that_community(db: Session) -> None:
    section = _compute(db, frozenset({C3}))
    assert _table(section, "per_day") == [(D1, 1, 1, 1, 0, 1)]
    assert _table(section, "per_community") == [("三社区", C3, 1, 1, 1, 0, 1, 1, 0, 0, 0, 0, 1.0)]


def test_one_day_ends_at_local_midnight(db: Session) -> None:
    eve = _compute(db, period=Period(EVE, EVE))
    # 23:59:59 on the 1st is the 1st's: P2's reading and A9 (reviewed on time on the 2nd).
    assert _table(eve, "per_day") == [(EVE, 1, 1, 1, 1, 0)]
    assert _table(eve, "per_community") == [("一社区", C1, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 1.0)]
    after = _compute(db, period=Period(AFTER, AFTER))
    # Local midnight after the 3rd opens the 4th: P3's reading and A10 (open).
    assert _table(after, "per_day") == [(AFTER, 1, 1, 1, 0, 1)]
    assert _table(after, "per_community") == [("一社区", C1, 1, 1, 1, 0, 1, 0, 0, 0, 1, 0, 0.0)]


def test_district_figures_show_small_people_counts_as_fewer_than_three(db: Session) -> None:
    figures = district_figures(db, REGISTRY, district=DISTRICT, period=PERIOD)
    (section,) = [s for s in figures.sections if s.key == "eldercare.health"]
    assert _table(section, "per_day") == [(D1, 6, 5, 5, 2, 3), (D2, 5, 4, 3, 1, 2)]
    assert [row[:4] for row in _table(section, "per_community")] == [
        ("一社区", C1, 3, 5),
        ("二社区", C2, "<3", 4),
        ("三社区", C3, "<3", 1),
        (NO_COMMUNITY_ZH, None, "<3", 1),
    ]
    assert dict(section.headline)["测量老人人数 elders measured"] == 7

    only_c3 = district_figures(
        db, REGISTRY, district=DISTRICT, period=PERIOD, communities=frozenset({C3})
    )
    (section,) = [s for s in only_c3.sections if s.key == "eldercare.health"]
    headline = dict(section.headline)
    assert headline["测量老人人数 elders measured"] == "<3"
    assert headline["测量次数 readings"] == 1  # readings are events, not people
    assert _table(section, "per_day") == [(D1, 1, "<3", 1, 0, 1)]


def test_the_section_is_shown_only_where_the_stations_run(db: Session) -> None:
    figures = district_figures(db, REGISTRY, district="xinghualing", period=PERIOD)
    assert "eldercare.health" not in [s.key for s in figures.sections]


def test_an_empty_period_has_no_rows(db: Session) -> None:
    period = Period(date(2026, 1, 1), date(2026, 1, 7))
    section = _compute(db, period=period)
    assert section.empty
    assert [len(t.rows) for t in section.tables] == [0, 0]
    assert dict(section.headline) == dict(zip(HEADLINE, (0,) * 6 + (0.0,) + (0,) * 3, strict=True))
    figures = district_figures(db, REGISTRY, district=DISTRICT, period=period)
    (shown,) = [s for s in figures.sections if s.key == "eldercare.health"]
    assert shown.empty

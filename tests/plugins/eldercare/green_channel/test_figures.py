"""The green channel's report section on hand-made rows, on SQLite and PostgreSQL.

Xinghualing, 2 and 3 March 2026 (local days). Communities c1 and c2 are the viewer's in the
restricted queries; c3 is outside them; one case names no community; wanbailin's rows never
count. Times are local (Asia/Shanghai) and stored in UTC, as the workflow stores them.

The cases opened in the period (gc-1 … gc-8):

=====  =========  ==============  =======  =========  ======================  =========
case   community  opened (local)  minutes  admitted   outcome                 120 call
=====  =========  ==============  =======  =========  ======================  =========
gc-1   c1         2nd 08:00       25.0     partner    completed               yes
gc-2   c1         2nd 09:00       30.0     partner    completed
gc-3   c1         2nd 10:00       30.5     fallback   deceased
gc-4   c2         2nd 11:00       77.5     arranged   discharge_unconfirmed
gc-5   c2         3rd 00:00:00    -        -          no_hospital
gc-6   c2         3rd 12:00       130.0    partner    (open)
gc-7   c3         3rd 13:00       95.0     partner    (open)
gc-8   (none)     3rd 14:00       -        (booking)  (open)
=====  =========  ==============  =======  =========  ======================  =========
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from careflow.db.tables import Area, CaseRecord, Task
from careflow.figures import FigureQuery, Period, Section, district_figures
from careflow.localtime import STAFF_TIMEZONE
from careflow.registry import PluginRegistry
from plugins.eldercare.green_channel import GREEN_CHANNEL_PROCESS
from plugins.eldercare.green_channel.figures import FIGURES, NO_COMMUNITY_ZH, median, p90
from tests.support.plugins import BUILT_IN

DISTRICT = "xinghualing"
C1, C2, C3 = (f"{DISTRICT}.s1.c{n}" for n in (1, 2, 3))
ELSEWHERE = "wanbailin.s9.c9"
EVE, D1, D2, AFTER = date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)
PERIOD = Period(D1, D2)
MINE = frozenset({C1, C2})
REGISTRY = PluginRegistry.build(list(BUILT_IN))
HEADLINE = (
    "开通病例人次 cases opened",
    "已到院人次 arrived",
    "到院用时中位数（分钟）median minutes",
    "到院用时P90（分钟）p90 minutes",
    "呼叫120 ambulance called",
    "不符合条件未受理 rejected",
    "随访按时完成 follow-ups on time",
    "应随访 follow-ups due",
)


def local(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A local moment, in UTC as stored."""
    return datetime(
        day.year, day.month, day.day, hour, minute, second, tzinfo=STAFF_TIMEZONE
    ).astimezone(UTC)


def record(
    wf: str, step: str, kind: str, at: datetime, data: dict[str, Any], district: str
) -> CaseRecord:
    return CaseRecord(
        workflow_id=wf,
        step_key=step,
        process=GREEN_CHANNEL_PROCESS,
        district=district,
        case_ref=f"{wf}.ref",
        kind=kind,
        data=data,
        created_at=at,
    )


def task(
    wf: str,
    step: str,
    community: str | None,
    opened_at: datetime,
    *,
    status: str = "open",
    closed_after: timedelta | None = None,
    level: int = 0,
    district: str = DISTRICT,
) -> Task:
    """A task of the channel, due a day after it opened."""
    return Task(
        task_id=f"T.{wf}.{step}",
        workflow_id=wf,
        step_key=step,
        process=GREEN_CHANNEL_PROCESS,
        module="eldercare",
        district=district,
        community=community,
        case_ref=f"{wf}.ref",
        role="doctor",
        title_zh="急诊绿色通道",
        title_en="green channel",
        form_ref="f",
        status=status,
        escalation_level=level,
        overdue=level > 0,
        due_at=opened_at + timedelta(days=1) * (level + 1),
        opened_at=opened_at,
        closed_at=opened_at + closed_after if closed_after is not None else None,
    )


def case(
    n: int,
    community: str | None,
    opened: datetime,
    *,
    minutes: float | None = None,
    admitted: str | None = None,
    outcome: str | None = None,
    ambulance: bool = False,
    district: str = DISTRICT,
) -> list[Any]:
    """The rows one channel leaves: opened record, triage task, bookings, arrival, closing."""
    wf = f"gc-{n}"
    later = opened + timedelta(minutes=5)
    rows: list[Any] = [
        record(wf, "opened", "green_channel_opened", opened, {"elder_ref": f"P{n}"}, district),
        task(wf, "triage", community, opened + timedelta(minutes=1), district=district),
    ]
    if ambulance:
        rows.append(record(wf, "ambulance", "ambulance_120_called", later, {}, district))
    if admitted == "partner":
        rows.append(record(wf, "booking.1.response", "hospital_accepted", later, {}, district))
    elif admitted == "fallback":
        rows.append(record(wf, "booking.1.response", "hospital_refused", later, {}, district))
        rows.append(record(wf, "booking.2.response", "hospital_accepted", later, {}, district))
    elif admitted == "arranged":
        rows.append(record(wf, "booking.1.response", "hospital_no_answer", later, {}, district))
        rows.append(record(wf, "arranged", "hospital_arranged", later, {}, district))
    if minutes is not None:
        arrived = opened + timedelta(minutes=minutes)
        data = {"minutes_to_arrival": minutes}
        rows.append(record(wf, "arrival", "arrived", arrived, data, district))
    if outcome is not None:
        closed = {"outcome": outcome, "minutes_to_arrival": minutes}
        rows.append(record(wf, "closed", "green_channel_closed", later, closed, district))
    return rows


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


HOUR = timedelta(hours=1)


@pytest.fixture
def db(any_engine: Engine) -> Iterator[Session]:
    """The fixture rows (see the module's docstring), in a session."""
    with Session(any_engine) as session:
        session.add_all(areas())
        session.flush()
        rows: list[Any] = [
            *case(
                1,
                C1,
                local(D1, 8),
                minutes=25.0,
                admitted="partner",
                outcome="completed",
                ambulance=True,
            ),
            *case(2, C1, local(D1, 9), minutes=30.0, admitted="partner", outcome="completed"),
            *case(3, C1, local(D1, 10), minutes=30.5, admitted="fallback", outcome="deceased"),
            *case(
                4,
                C2,
                local(D1, 11),
                minutes=77.5,
                admitted="arranged",
                outcome="discharge_unconfirmed",
            ),
            *case(5, C2, local(D2, 0, 0, 0), outcome="no_hospital"),
            *case(6, C2, local(D2, 12), minutes=130.0, admitted="partner"),
            *case(7, C3, local(D2, 13), minutes=95.0, admitted="partner"),
            *case(8, None, local(D2, 14)),
            # Not of the period: opened a second before it (arriving in it), opened at local
            # midnight after it; another district's case, with its 120 call.
            *case(9, C1, local(EVE, 23, 59, 59), minutes=40.0, admitted="partner"),
            *case(10, C1, local(AFTER, 0, 0, 0), minutes=20.0, admitted="partner"),
            *case(
                11,
                ELSEWHERE,
                local(D1, 8),
                minutes=10.0,
                admitted="partner",
                ambulance=True,
                district="wanbailin",
            ),
            # Rejected by the registry check: one in the period, one of wanbailin's.
            record("gc-r1", "rejected", "green_channel_rejected", local(D1, 7), {}, DISTRICT),
            record("gc-r2", "rejected", "green_channel_rejected", local(D1, 7), {}, "wanbailin"),
            # Follow-ups opened in the period (each due a day after it opened).
            task("gc-1", "follow_up.d1", C1, local(D1, 12), status="done", closed_after=6 * HOUR),
            task(
                "gc-1",
                "follow_up.d7",
                C1,
                local(D2, 8),
                status="done",
                level=1,
                closed_after=36 * HOUR,
            ),
            task("gc-1", "follow_up.d30", C1, local(D2, 20)),
            task(
                "gc-2", "follow_up.d1", C1, local(D1, 12), status="expired", closed_after=48 * HOUR
            ),
            task("gc-2", "follow_up.d7", C1, local(D1, 13), status="done", closed_after=25 * HOUR),
            task("gc-3", "follow_up.d1", C1, local(D1, 14)),
            task("gc-4", "follow_up.d1", C2, local(D1, 15), status="done", closed_after=24 * HOUR),
            task("gc-4", "follow_up.d7", C2, local(D2, 15), status="cancelled", closed_after=HOUR),
            task("gc-7", "follow_up.d1", C3, local(D2, 16), status="done", closed_after=HOUR),
            # Not of the period, or not of the district.
            task("gc-9", "follow_up.d30", C1, local(EVE, 23), status="done", closed_after=HOUR),
            task(
                "gc-11",
                "follow_up.d1",
                ELSEWHERE,
                local(D1, 9),
                status="done",
                closed_after=HOUR,
                district="wanbailin",
            ),
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


def test_median_and_p90_of_minute_values() -> None:
    assert median([]) is None and p90([]) is None
    assert median([5.0]) == 5.0 and p90([5.0]) == 5.0
    assert median([25.0, 30.0, 30.5, 77.5, 95.0, 130.0]) == 54.0
    # Nearest rank: the 9th of ten values, the 10th of eleven.
    assert p90([float(n) for n in range(1, 11)]) == 9.0
    assert p90([float(n) for n in range(1, 12)]) == 10.0


def test_the_whole_district(db: Session) -> None:
    section = _compute(db)
    assert (section.key, section.title_zh) == ("eldercare.green_channel", "急诊绿色通道")
    assert dict(section.headline) == dict(
        zip(HEADLINE, (8, 6, 54.0, 130.0, 1, 1, 3, 9), strict=True)
    )
    assert _table(section, "per_community") == [
        # community, code, cases, arrived, median, p90
        ("一社区", C1, 3, 3, 30.0, 30.5),
        ("二社区", C2, 3, 2, 103.8, 130.0),
        ("三社区", C3, 1, 1, 95.0, 95.0),
        (NO_COMMUNITY_ZH, None, 1, 0, None, None),
    ]
    assert _table(section, "arrival_minutes") == [
        ("≤30", 2),
        ("31–60", 1),
        ("61–90", 1),
        ("91–120", 1),
        (">120", 1),
    ]
    assert _table(section, "admissions") == [
        ("合作医院接收", "partner_hospital", 4),
        ("备用医院接收", "fallback_hospital", 1),
        ("区民政协调医院接收", "hospital_arranged", 1),
        ("未落实接收医院", "no_hospital", 1),
        ("预约中", "booking", 1),
    ]
    assert _table(section, "outcomes") == [
        ("出院结案", "completed", 2),
        ("出院未确认", "discharge_unconfirmed", 1),
        ("离世", "deceased", 1),
        ("未落实接收医院", "no_hospital", 1),
        ("处理中", "open", 3),
    ]
    assert _table(section, "follow_ups") == [
        # due, on time, late, missed, open, cancelled
        ("出院后第1天", 5, 3, 0, 1, 1, 0),
        ("出院后第7天", 3, 0, 2, 0, 0, 1),
        ("出院后第30天", 1, 0, 0, 0, 1, 0),
    ]


def test_a_viewer_of_some_communities_counts_only_theirs(db: Session) -> None:
    section = _compute(db, MINE)
    # gc-7 (c3), gc-8 (no community) and the rejected channel are not the viewer's.
    assert dict(section.headline) == dict(
        zip(HEADLINE, (6, 5, 30.5, 130.0, 1, 0, 2, 8), strict=True)
    )
    assert [row[1] for row in _table(section, "per_community")] == [C1, C2]
    assert [n for _, n in _table(section, "arrival_minutes")] == [2, 1, 1, 0, 1]
    assert [row[2] for row in _table(section, "admissions")] == [3, 1, 1, 1, 0]
    assert [row[2] for row in _table(section, "outcomes")] == [2, 1, 1, 1, 1]
    assert _table(section, "follow_ups")[0] == ("出院后第1天", 4, 2, 0, 1, 1, 0)


def test_a_case_opened_at_local_midnight_is_that_days(db: Session) -> None:
    second = FIGURES.compute(db, FigureQuery(district=DISTRICT, period=Period(D1, D1)))
    assert dict(second.headline)["开通病例人次 cases opened"] == 4  # gc-1 … gc-4
    third = FIGURES.compute(db, FigureQuery(district=DISTRICT, period=Period(D2, D2)))
    assert dict(third.headline)["开通病例人次 cases opened"] == 4  # gc-5 (00:00:00) … gc-8
    eve = FIGURES.compute(db, FigureQuery(district=DISTRICT, period=Period(EVE, EVE)))
    # gc-9, opened at 23:59:59, arrived 40 minutes later, on the 2nd: counted with its opening.
    assert _table(eve, "per_community") == [("一社区", C1, 1, 1, 40.0, 40.0)]
    assert _table(eve, "follow_ups") == [("出院后第30天", 1, 1, 0, 0, 0, 0)]


def test_district_figures_show_small_people_counts_as_fewer_than_three(db: Session) -> None:
    figures = district_figures(db, REGISTRY, district=DISTRICT, period=PERIOD)
    (section,) = [s for s in figures.sections if s.key == "eldercare.green_channel"]
    assert _table(section, "per_community") == [
        ("一社区", C1, 3, 3, 30.0, 30.5),
        ("二社区", C2, 3, "<3", 103.8, 130.0),
        ("三社区", C3, "<3", "<3", 95.0, 95.0),
        (NO_COMMUNITY_ZH, None, "<3", 0, None, None),
    ]
    assert dict(section.headline)["开通病例人次 cases opened"] == 8

    only_c3 = district_figures(
        db, REGISTRY, district=DISTRICT, period=PERIOD, communities=frozenset({C3})
    )
    (section,) = [s for s in only_c3.sections if s.key == "eldercare.green_channel"]
    assert dict(section.headline) == dict(
        zip(HEADLINE, ("<3", "<3", 95.0, 95.0, 0, 0, 1, 1), strict=True)
    )
    # Band counts are of cases, not shown beside a community: not suppressed.
    assert [n for _, n in _table(section, "arrival_minutes")] == [0, 0, 0, 1, 0]


def test_an_empty_period_has_no_rows(db: Session) -> None:
    period = Period(date(2026, 1, 1), date(2026, 1, 7))
    section = FIGURES.compute(db, FigureQuery(district=DISTRICT, period=period))
    assert section.empty
    assert [len(t.rows) for t in section.tables] == [0, 0, 0, 0, 0]
    assert dict(section.headline) == dict(
        zip(HEADLINE, (0, 0, None, None, 0, 0, 0, 0), strict=True)
    )
    figures = district_figures(db, REGISTRY, district=DISTRICT, period=period)
    assert all(s.empty for s in figures.sections if s.key == "eldercare.green_channel")

"""The three-colour tiers section 三色分级 on hand-made rows, on SQLite and PostgreSQL.

Wanbailin, the week of Monday 2 to Sunday 8 March 2026 (local days). Community c1 lies in
street s1, c2 in street s2; one elder's plan has no community. Xinghualing's rows never count.
Times are local (Asia/Shanghai) and stored in UTC, as the workflows store them.

The elders (the case ref of a care plan is the elder's registry id):

======  =====  =====================================================================
elder   plan   gradings (and closings)
======  =====  =====================================================================
E1      c1     green 10 Feb; yellow 3 Mar 10:00; red 6 Mar 09:00
E2      c1     red 20 Feb; plan closed 5 Mar 15:00
E3      c2     yellow 15 Jan; green 4 Mar 00:30 (UTC: still the 3rd)
E4      c2     green 7 Mar 12:00
E5      c1     green 10 Jan; red 2 Feb; plan closed 20 Feb (before the period)
E6      none   yellow 1 Feb
E7      c2     green 9 Mar 00:00 (local midnight after the period)
E9      c1     green 15 Feb; plan closed 3 Mar 10:00; yellow again 5 Mar 10:00
E10     c2     yellow 5 Jan
X1      (xinghualing) red 1 Feb
======  =====  =====================================================================

At the end of each day (red, yellow, green, total): 2nd 1 3 2 6 (E2 | E3 E6 E10 | E1 E9);
3rd 1 4 0 5; 4th 1 3 1 5; 5th 0 4 1 5; 6th 1 3 1 5; 7th and 8th 1 3 2 6.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.db.tables import Area, CaseRecord, Person, Task
from careflow.figures import FigureQuery, Period, Section, district_figures
from careflow.figures.export import to_csv, to_json, to_xlsx
from careflow.localtime import STAFF_TIMEZONE
from careflow.registry import PluginRegistry
from plugins.eldercare import plugin as eldercare_plugin
from plugins.eldercare.tiers import TIERS_PROCESS, ClosePlanSignal
from plugins.eldercare.tiers.figures import FIGURES
from plugins.eldercare.tiers.tables import TierAssessment, TierCarePlan
from plugins.engine import plugin as engine_plugin
from staff_service.console.charts import chart_for
from tests.plugins.eldercare.tiers.support import young_elders
from tests.support.inbox import result_of, wait_for_task
from tests.support.plugins import BUILT_IN
from tests.support.programmes import switched_on
from worker.testing import running_worker

DISTRICT = "wanbailin"
OTHER = "xinghualing"
S1, S2 = f"{DISTRICT}.s1", f"{DISTRICT}.s2"
C1, C2 = f"{S1}.c1", f"{S2}.c2"
ELSEWHERE = f"{OTHER}.s9.c9"
WEEK = Period(date(2026, 3, 2), date(2026, 3, 8))
REGISTRY = PluginRegistry.build(list(BUILT_IN))


def march(day: int) -> date:
    return date(2026, 3, day)


def local(day: date, hour: int = 10, minute: int = 0, second: int = 0) -> datetime:
    """A local moment, in UTC as stored."""
    return datetime(
        day.year, day.month, day.day, hour, minute, second, tzinfo=STAFF_TIMEZONE
    ).astimezone(UTC)


_n = iter(range(1, 10_000))


def graded(elder: str, tier: str, at: datetime, *, district: str = DISTRICT) -> TierAssessment:
    n = next(_n)
    return TierAssessment(
        workflow_id=f"{TIERS_PROCESS}-{district}-{elder}",
        step_key=f"assess.{n}",
        elder_ref=elder,
        district=district,
        tier=tier,
        source="registry",
        assessed_at=at,
    )


def plan(
    elder: str, community: str | None, tier: str, *, active: bool = True, district: str = DISTRICT
) -> TierCarePlan:
    return TierCarePlan(
        elder_ref=elder, district=district, community=community, tier=tier, active=active
    )


def record(
    elder: str,
    kind: str,
    at: datetime,
    *,
    district: str = DISTRICT,
    process: str = TIERS_PROCESS,
) -> CaseRecord:
    return CaseRecord(
        workflow_id=f"{process}-{district}-{elder}",
        step_key=f"{kind}.{next(_n)}",
        process=process,
        district=district,
        case_ref=elder,
        kind=kind,
        data={"reason": "moved"} if kind == "plan_closed" else {},
        created_at=at,
    )


def visit(
    elder: str,
    step_key: str,
    community: str | None,
    opened: datetime,
    status: str = "open",
    *,
    visited: bool | None = None,
    district: str = DISTRICT,
    process: str = TIERS_PROCESS,
) -> Task:
    """A visit task of an elder's care plan; ``visited`` is the submitted form's answer."""
    result: dict[str, Any] | None = None
    if status == "done":
        assert visited is not None
        result = {"visited": visited, "elder_well": True, "needs_reassessment": False}
        if not visited:
            result["reason"] = "nobody answered"
    elif status == "cancelled":
        result = {"cancelled": "plan_closed"}
    return Task(
        task_id=f"T{next(_n)}",
        workflow_id=f"{process}-{district}-{elder}",
        step_key=step_key,
        process=process,
        module="eldercare",
        district=district,
        community=community,
        case_ref=elder,
        role="grid_worker",
        title_zh="上门探访",
        title_en="visit",
        form_ref="eldercare.tiers.visit",
        status=status,
        due_at=opened + timedelta(days=2),
        opened_at=opened,
        closed_at=None if status == "open" else opened + timedelta(hours=5),
        result=result,
    )


def areas() -> list[Area]:
    def area(code: str, level: str, parent: str | None, zh: str) -> Area:
        return Area(code=code, level=level, parent_code=parent, name_zh=zh, name_en=code)

    return [
        area(DISTRICT, "district", None, "万柏林区"),
        area(S1, "street", DISTRICT, "一街道"),
        area(S2, "street", DISTRICT, "二街道"),
        area(C1, "community", S1, "一社区"),
        area(C2, "community", S2, "二社区"),
        area(OTHER, "district", None, "杏花岭区"),
        area(f"{OTHER}.s9", "street", OTHER, "九街道"),
        area(ELSEWHERE, "community", f"{OTHER}.s9", "九社区"),
    ]


@pytest.fixture
def db(any_engine: Engine) -> Iterator[Session]:
    """The fixture rows (see the module's docstring), in a session."""
    with Session(any_engine) as session:
        session.add_all(areas())
        session.flush()
        rows: list[Any] = [
            graded("E1", "green", local(date(2026, 2, 10))),
            graded("E1", "yellow", local(march(3), 10)),
            graded("E1", "red", local(march(6), 9)),
            plan("E1", C1, "red"),
            graded("E2", "red", local(date(2026, 2, 20))),
            record("E2", "plan_closed", local(march(5), 15)),
            plan("E2", C1, "red", active=False),
            graded("E3", "yellow", local(date(2026, 1, 15))),
            graded("E3", "green", local(march(4), 0, 30)),
            plan("E3", C2, "green"),
            graded("E4", "green", local(march(7), 12)),
            plan("E4", C2, "green"),
            graded("E5", "green", local(date(2026, 1, 10))),
            graded("E5", "red", local(date(2026, 2, 2))),
            record("E5", "plan_closed", local(date(2026, 2, 20))),
            plan("E5", C1, "red", active=False),
            graded("E6", "yellow", local(date(2026, 2, 1))),
            plan("E6", None, "yellow"),
            graded("E7", "green", local(march(9), 0, 0, 0)),
            plan("E7", C2, "green"),
            graded("E9", "green", local(date(2026, 2, 15))),
            record("E9", "plan_closed", local(march(3), 10)),
            graded("E9", "yellow", local(march(5), 10)),
            plan("E9", C1, "yellow"),
            graded("E10", "yellow", local(date(2026, 1, 5))),
            plan("E10", C2, "yellow"),
            # Records that close nothing: another kind, and another process's plan_closed.
            record("E1", "home_visit", local(march(3), 16)),
            record("E3", "plan_closed", local(march(2)), process="eldercare.green_channel"),
            # Another district's elder, graded and visited.
            graded("X1", "red", local(date(2026, 2, 1)), district=OTHER),
            plan("X1", ELSEWHERE, "red", district=OTHER),
            visit("X1", "visit.0", ELSEWHERE, local(march(2)), "expired", district=OTHER),
            # c1's visits: made, door not opened, cancelled by the closing, missed, open,
            # and one opened at local midnight exactly (the 5th's).
            visit("E1", "visit.0", C1, local(march(3), 10, 5), "done", visited=True),
            visit("E2", "visit.3", C1, local(march(2), 9), "done", visited=False),
            visit("E2", "visit.4", C1, local(march(5), 8), "cancelled"),
            visit("E1", "visit.1", C1, local(march(6), 9, 5), "expired"),
            visit("E1", "visit.2", C1, local(march(8), 23, 59, 59)),
            visit("E9", "visit.0", C1, local(march(5), 0, 0, 0), "done", visited=True),
            # c2's: two missed; one made a second before the period.
            visit("E3", "visit.7", C2, local(march(2), 10), "expired"),
            visit("E10", "visit.9", C2, local(march(3), 11), "expired"),
            visit("E3", "visit.8", C2, local(march(1), 23, 59, 59), "done", visited=True),
            # No community: one made; one opened at local midnight after the period.
            visit("E6", "visit.5", None, local(march(4), 14), "done", visited=True),
            visit("E6", "visit.6", None, local(march(9), 0, 0, 0)),
            # Not a care plan's visit: a district step's task, an assessment, another process.
            visit("E1", "visit.1.call", C1, local(march(6), 12), "done", visited=True),
            visit("E1", "assess.2", C1, local(march(6), 8), "done", visited=True),
            visit("E1", "visit.0", C1, local(march(4)), "expired", process="eldercare.curtain"),
        ]
        session.add_all(rows)
        session.commit()
        yield session


def _compute(
    session: Session, period: Period = WEEK, communities: frozenset[str] | None = None
) -> Section:
    return FIGURES.compute(
        session, FigureQuery(district=DISTRICT, period=period, communities=communities)
    )


def _table(section: Section, key: str) -> list[tuple[Any, ...]]:
    (table,) = [t for t in section.tables if t.key == key]
    return list(table.rows)


def _street(code: str) -> frozenset[str]:
    """The communities a grant at a street covers (as the report action computes them)."""
    return frozenset(
        a.code for a in areas() if a.level == "community" and a.code.startswith(code + ".")
    )


def test_elders_per_tier_each_day_follow_regradings_and_closings(db: Session) -> None:
    section = _compute(db)
    assert section.key == "eldercare.tiers"
    assert section.title_zh == "三色分级"
    assert _table(section, "tiers_over_time") == [
        # day, red, yellow, green, total
        (march(2), 1, 3, 2, 6),
        (march(3), 1, 4, 0, 5),  # E1 yellow; E9's plan closed
        (march(4), 1, 3, 1, 5),  # E3 green from 00:30 local
        (march(5), 0, 4, 1, 5),  # E2's plan closed; E9 yellow again
        (march(6), 1, 3, 1, 5),  # E1 red
        (march(7), 1, 3, 2, 6),  # E4 graded
        (march(8), 1, 3, 2, 6),
    ]
    assert _table(section, "tiers_by_community") == [
        ("一社区", 1, 1, 0, 2),
        ("二社区", 0, 1, 2, 3),
        ("未分社区", 0, 1, 0, 1),
    ]


def test_visits_due_made_and_missed(db: Session) -> None:
    section = _compute(db)
    assert _table(section, "visits_by_community") == [
        # community, due, made, door not opened, missed, open, made rate
        ("二社区", 2, 0, 0, 2, 0, 0.0),
        ("一社区", 5, 2, 1, 1, 1, 0.4),
        ("未分社区", 1, 1, 0, 0, 0, 1.0),
    ]
    assert _table(section, "visits_over_time") == [
        # day opened, due, made, missed
        (march(2), 2, 0, 1),
        (march(3), 2, 1, 1),
        (march(4), 1, 1, 0),
        (march(5), 1, 1, 0),
        (march(6), 1, 0, 1),
        (march(7), 0, 0, 0),
        (march(8), 1, 0, 0),
    ]
    assert dict(section.headline) == {
        "红色老人人数（期末）red-tier elders at the end": 1,
        "黄色老人人数（期末）yellow-tier elders at the end": 3,
        "绿色老人人数（期末）green-tier elders at the end": 2,
        "应探访（次）visits due": 8,
        "已探访（次）visits made": 3,
        "逾期未探访（次）visits missed": 3,
        "探访完成率 visits made rate": 0.375,
    }


def test_a_street_viewer_counts_only_its_communities(db: Session) -> None:
    section = _compute(db, communities=_street(S1))
    assert _table(section, "tiers_over_time") == [
        (march(2), 1, 0, 2, 3),
        (march(3), 1, 1, 0, 2),
        (march(4), 1, 1, 0, 2),
        (march(5), 0, 2, 0, 2),
        (march(6), 1, 1, 0, 2),
        (march(7), 1, 1, 0, 2),
        (march(8), 1, 1, 0, 2),
    ]
    assert _table(section, "tiers_by_community") == [("一社区", 1, 1, 0, 2)]
    assert _table(section, "visits_by_community") == [("一社区", 5, 2, 1, 1, 1, 0.4)]
    assert _table(section, "visits_over_time") == [
        (march(2), 1, 0, 0),
        (march(3), 1, 1, 0),
        (march(4), 0, 0, 0),
        (march(5), 1, 1, 0),
        (march(6), 1, 0, 1),
        (march(7), 0, 0, 0),
        (march(8), 1, 0, 0),
    ]
    assert dict(section.headline) == {
        "红色老人人数（期末）red-tier elders at the end": 1,
        "黄色老人人数（期末）yellow-tier elders at the end": 1,
        "绿色老人人数（期末）green-tier elders at the end": 0,
        "应探访（次）visits due": 5,
        "已探访（次）visits made": 2,
        "逾期未探访（次）visits missed": 1,
        "探访完成率 visits made rate": 0.4,
    }


def test_one_day_ends_at_local_midnight(db: Session) -> None:
    fifth = _compute(db, Period(march(5), march(5)))
    assert _table(fifth, "tiers_over_time") == [(march(5), 0, 4, 1, 5)]
    # E9's visit opened at 00:00:00 local on the 5th is the 5th's; E2's cancelled one is none.
    assert _table(fifth, "visits_over_time") == [(march(5), 1, 1, 0)]
    first = _compute(db, Period(march(1), march(1)))
    # 23:59:59 local on the 1st is the 1st's.
    assert _table(first, "visits_by_community") == [("二社区", 1, 1, 0, 0, 0, 1.0)]
    ninth = _compute(db, Period(march(9), march(9)))
    # E7 graded at local midnight after the 8th holds green on the 9th.
    assert _table(ninth, "tiers_over_time") == [(march(9), 1, 3, 3, 7)]
    assert _table(ninth, "visits_over_time") == [(march(9), 1, 0, 0)]


def test_a_long_period_is_shown_per_week(db: Session) -> None:
    section = _compute(db, Period(date(2026, 1, 1), date(2026, 3, 15)))
    jan, feb = (lambda d: date(2026, 1, d)), (lambda d: date(2026, 2, d))
    assert section.tables[0].columns[0].key == "week"
    assert _table(section, "tiers_over_time") == [
        # first day of the week (cut at the period's start), tiers at the week's last day
        (jan(1), 0, 0, 0, 0),
        (jan(5), 0, 1, 1, 2),
        (jan(12), 0, 2, 1, 3),
        (jan(19), 0, 2, 1, 3),
        (jan(26), 0, 3, 1, 4),
        (feb(2), 1, 3, 0, 4),
        (feb(9), 1, 3, 2, 6),
        (feb(16), 1, 3, 2, 6),  # E5's plan closed, E2 graded red
        (feb(23), 1, 3, 2, 6),
        (march(2), 1, 3, 2, 6),
        (march(9), 1, 3, 3, 7),
    ]
    visits = _table(section, "visits_over_time")
    assert len(visits) == 11
    assert [row for row in visits if row[1:] != (0, 0, 0)] == [
        (feb(23), 1, 1, 0),
        (march(2), 8, 3, 3),
        (march(9), 1, 0, 0),
    ]


def test_district_figures_show_small_people_counts_as_fewer_than_three(db: Session) -> None:
    figures = district_figures(db, REGISTRY, district=DISTRICT, period=WEEK)
    (section,) = [s for s in figures.sections if s.key == "eldercare.tiers"]
    assert _table(section, "tiers_by_community") == [
        ("一社区", "<3", "<3", 0, "<3"),
        ("二社区", 0, "<3", "<3", 3),
        ("未分社区", 0, "<3", 0, "<3"),
    ]
    assert _table(section, "tiers_over_time")[1] == (march(3), "<3", 4, 0, 5)
    # Visits are events, not people: never suppressed.
    assert _table(section, "visits_by_community")[0] == ("二社区", 2, 0, 0, 2, 0, 0.0)
    assert dict(section.headline) == {
        "红色老人人数（期末）red-tier elders at the end": "<3",
        "黄色老人人数（期末）yellow-tier elders at the end": 3,
        "绿色老人人数（期末）green-tier elders at the end": "<3",
        "应探访（次）visits due": 8,
        "已探访（次）visits made": 3,
        "逾期未探访（次）visits missed": 3,
        "探访完成率 visits made rate": 0.375,
    }
    # A district not running tiered care has no such section.
    other = district_figures(db, REGISTRY, district=OTHER, period=WEEK)
    assert "eldercare.tiers" not in [s.key for s in other.sections]


def test_an_empty_period_has_no_rows(db: Session) -> None:
    section = _compute(db, Period(date(2025, 12, 1), date(2025, 12, 7)))
    assert section.empty
    assert [len(t.rows) for t in section.tables] == [0, 0, 0, 0]
    assert dict(section.headline) == {
        "红色老人人数（期末）red-tier elders at the end": 0,
        "黄色老人人数（期末）yellow-tier elders at the end": 0,
        "绿色老人人数（期末）green-tier elders at the end": 0,
        "应探访（次）visits due": 0,
        "已探访（次）visits made": 0,
        "逾期未探访（次）visits missed": 0,
        "探访完成率 visits made rate": 0.0,
    }


async def test_a_care_plan_run_by_the_workflow_counts_in_the_section(
    ts_env: WorkflowEnvironment, seeded_engine: Engine
) -> None:
    """The rows the care plan itself writes (assessment, visit task, closing) are what the
    section reads: a yellow elder counts until the plan closes, the visit stays counted."""
    engine = seeded_engine
    registry = PluginRegistry.build(
        [engine_plugin, eldercare_plugin, switched_on(DISTRICT, TIERS_PROCESS)]
    )
    [elder] = young_elders(engine, DISTRICT, 1, offset=3)
    with Session(engine) as session:
        person = session.get(Person, elder)
        assert person is not None
        community = person.community_code
        area = session.get(Area, community)
        assert area is not None
        name = area.name_zh
    today = datetime.now(STAFF_TIMEZONE).date()
    # Yesterday to tomorrow: the last day's counts do not depend on when around midnight
    # this runs.
    period = Period(today - timedelta(days=1), today + timedelta(days=1))

    def section() -> Section:
        with Session(engine) as session:
            return _compute(session, period)

    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        started = await service.start_process(
            ts_env.client,
            registry,
            process=TIERS_PROCESS,
            district=DISTRICT,
            community=community,
            case_ref=elder,
            request={},
            started_by="staff:S0001",
            task_queue=worker.task_queue,
        )
        handle = ts_env.client.get_workflow_handle(started.workflow_id)
        assess = await wait_for_task(engine, handle.id, "assess.0")
        await service.complete_task(
            ts_env.client,
            engine,
            task_id=assess.task_id,
            actor="S0002",
            role="community_staff",
            data={"disability_level": 0, "lives_alone": True},
        )
        first = await wait_for_task(engine, handle.id, "visit.0")
        await service.complete_task(
            ts_env.client,
            engine,
            task_id=first.task_id,
            actor="S0002",
            role="grid_worker",
            data={"visited": False, "reason": "家中无人 nobody home"},
        )
        await wait_for_task(engine, handle.id, "visit.0", status="done")
        open_plan = section()
        await handle.signal("close_plan", ClosePlanSignal(reason="moved"))
        await result_of(ts_env, handle)
    closed = section()

    assert _table(open_plan, "tiers_over_time")[-1] == (period.end, 0, 1, 0, 1)
    assert _table(open_plan, "tiers_by_community") == [(name, 0, 1, 0, 1)]
    assert _table(open_plan, "visits_by_community") == [(name, 1, 0, 1, 0, 0, 0.0)]
    # Graded and closed today: nobody held a tier at the end of any day; the visit counts.
    assert _table(closed, "tiers_over_time") == []
    assert _table(closed, "tiers_by_community") == []
    assert _table(closed, "visits_by_community") == [(name, 1, 0, 1, 0, 0, 0.0)]
    assert dict(closed.headline)["黄色老人人数（期末）yellow-tier elders at the end"] == 0


def test_the_section_exports_and_draws(db: Session) -> None:
    figures = district_figures(db, REGISTRY, district=DISTRICT, period=WEEK)
    (document,) = [s for s in to_json(figures)["sections"] if s["key"] == "eldercare.tiers"]
    by_key = {t["key"]: t for t in document["tables"]}
    assert list(by_key) == [
        "tiers_over_time",
        "tiers_by_community",
        "visits_by_community",
        "visits_over_time",
    ]
    assert by_key["tiers_by_community"]["rows"][1] == {
        "community": "二社区",
        "red": 0,
        "yellow": "<3",
        "green": "<3",
        "total": 3,
    }
    assert to_xlsx(figures)[:2] == b"PK"
    assert "三色分级" in to_csv(figures).decode("utf-8-sig")
    (section,) = [s for s in figures.sections if s.key == "eldercare.tiers"]
    for n, table in enumerate(section.tables):
        chart = chart_for(table, chart_id=f"tiers-{n}")
        assert chart is not None and "<svg" in chart

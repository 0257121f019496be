"""The tasks section 工单 on hand-made rows, on SQLite and PostgreSQL.

Wanbailin, the week of 3 to 9 March 2025 (local days; UTC 2 March 16:00 to 9 March 16:00).
Communities A and B are the viewer's in the restricted queries; C is outside them; a task
without a community counts for whole-district viewers only; Yingze's task never counts.
Times are local (Asia/Shanghai) and stored in UTC, as the task activities store them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from careflow.db.tables import Area, Task
from careflow.figures import FigureQuery, Period, Section, district_figures
from careflow.localtime import STAFF_TIMEZONE
from careflow.registry import PluginRegistry
from plugins.engine import figures as task_figures
from plugins.engine.figures import FIGURES
from tests.support.plugins import BUILT_IN

DISTRICT = "wanbailin"
A, B, C = (f"{DISTRICT}.s1.{c}" for c in ("a", "b", "c"))
ELSEWHERE = "yingze.s9.c9"
PERIOD = Period(date(2025, 3, 3), date(2025, 3, 9))
MINE = frozenset({A, B})
# Built once: it also registers the roles' Chinese titles the per-role table shows.
REGISTRY = PluginRegistry.build(list(BUILT_IN))


def local(month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A local moment of 2025, in UTC as stored."""
    return datetime(2025, month, day, hour, minute, second, tzinfo=STAFF_TIMEZONE).astimezone(UTC)


_n = iter(range(1, 10_000))


def task(
    community: str | None,
    role: str,
    opened_at: datetime,
    due_at: datetime,
    *,
    status: str = "open",
    closed_at: datetime | None = None,
    escalation_level: int = 0,
    district: str = DISTRICT,
) -> Task:
    """A task row; an escalated one carries the overdue flag, as escalation sets it."""
    n = next(_n)
    return Task(
        task_id=f"T{n}",
        workflow_id=f"wf-{n}",
        step_key="step",
        process="engine.delivery",
        module="engine",
        district=district,
        community=community,
        case_ref=f"case-{n}",
        role=role,
        title_zh="工单",
        title_en="task",
        form_ref="f",
        status=status,
        escalation_level=escalation_level,
        overdue=escalation_level > 0,
        due_at=due_at,
        opened_at=opened_at,
        closed_at=closed_at,
    )


def areas() -> list[Area]:
    rows = [
        Area(code=DISTRICT, level="district", name_zh="万柏林区", name_en="Wanbailin"),
        Area(code=f"{DISTRICT}.s1", level="street", parent_code=DISTRICT, name_zh="一街道",
             name_en="s1"),
    ]  # fmt: skip
    rows += [
        Area(code=c, level="community", parent_code=f"{DISTRICT}.s1", name_zh=zh, name_en=c)
        for c, zh in ((A, "甲社区"), (B, "乙社区"), (C, "丙社区"))
    ]
    return rows


def week_tasks() -> list[Task]:
    """The week's rows; the comment says how each one counts."""
    return [
        # A: done before due → on time.
        task(A, "grid_worker", local(3, 3, 9), local(3, 4, 9), status="done",
             closed_at=local(3, 3, 18)),
        # A: done after due → late.
        task(A, "grid_worker", local(3, 3, 10), local(3, 4, 10), status="done",
             closed_at=local(3, 5, 10)),
        # A: escalated once, done within the escalated deadline → late and escalated.
        task(A, "community_staff", local(3, 4, 8), local(3, 6, 8), status="done",
             closed_at=local(3, 5, 12), escalation_level=1),
        # A: open past due → overdue.
        task(A, "grid_worker", local(3, 5, 8), local(3, 6, 8)),
        # A: opened a second before the week ends, not due yet → opened only.
        task(A, "community_staff", local(3, 9, 23, 59, 59), local(3, 12, 9)),
        # A: opened at the local midnight that starts the week, done in time → on time.
        task(A, "grid_worker", local(3, 3, 0), local(3, 3, 12), status="done",
             closed_at=local(3, 3, 11)),
        # A: opened at the local midnight that ends the week, and a second before it began.
        task(A, "grid_worker", local(3, 10, 0), local(3, 10, 12)),
        task(A, "grid_worker", local(3, 2, 23, 59, 59), local(3, 3, 12)),
        # B: done after the week, late: late, and overdue at the week's end.
        task(B, "grid_worker", local(3, 6, 9), local(3, 7, 9), status="done",
             closed_at=local(3, 10, 9)),
        # B: escalated twice, open, next deadline after the week → escalated, overdue (flag).
        task(B, "district_admin", local(3, 6, 10), local(3, 20, 9), escalation_level=2),
        # B: expired before the week's end → opened only.
        task(B, "grid_worker", local(3, 7, 9), local(3, 8, 9), status="expired",
             closed_at=local(3, 8, 9)),
        # No community: done in time → on time (whole-district viewers only).
        task(None, "district_admin", local(3, 4, 9), local(3, 5, 9), status="done",
             closed_at=local(3, 4, 15)),
        # C (outside the restricted viewer's communities): open past due → overdue.
        task(C, "grid_worker", local(3, 4, 9), local(3, 5, 9)),
        # Another district: never counted.
        task(ELSEWHERE, "grid_worker", local(3, 4, 9), local(3, 5, 9), district="yingze"),
    ]  # fmt: skip


@pytest.fixture
def session(any_engine: Engine) -> Iterator[Session]:
    with Session(any_engine) as session:
        session.add_all(areas())
        session.flush()
        yield session


@pytest.fixture
def db(session: Session) -> Session:
    """The week's rows (see :func:`week_tasks`), committed."""
    session.add_all(week_tasks())
    session.commit()
    return session


def _compute(
    session: Session, communities: frozenset[str] | None = None, period: Period = PERIOD
) -> Section:
    return FIGURES.compute(
        session, FigureQuery(district=DISTRICT, period=period, communities=communities)
    )


def _table(section: Section, key: str) -> list[tuple[Any, ...]]:
    (table,) = [t for t in section.tables if t.key == key]
    return list(table.rows)


def test_the_whole_district_per_community_and_role(db: Session) -> None:
    section = _compute(db)
    assert (section.key, section.title_zh) == ("tasks", "工单")
    assert dict(section.headline) == {
        "新开工单 opened": 11,
        "按时完成 done on time": 3,
        "逾期完成 done late": 3,
        "已升级 escalated": 2,
        "逾期未完成 overdue": 4,
        "按时完成率 on-time share": 0.2727,
    }
    assert _table(section, "per_community") == [
        # community, code, opened, on time, late, escalated, overdue, on-time share
        ("甲社区", A, 6, 2, 2, 1, 1, 0.3333),
        ("乙社区", B, 3, 0, 1, 1, 2, 0.0),
        ("未指定社区", None, 1, 1, 0, 0, 0, 1.0),
        ("丙社区", C, 1, 0, 0, 0, 1, 0.0),
    ]
    assert _table(section, "per_role") == [
        ("网格员", "grid_worker", 7, 2, 2, 0, 3, 0.2857),
        ("社区工作人员", "community_staff", 2, 0, 1, 1, 0, 0.0),
        ("区民政", "district_admin", 2, 1, 0, 1, 1, 0.5),
    ]
    assert _table(section, "attention") == [
        # community, code, opened, overdue, overdue share, escalated, escalated share
        ("丙社区", C, 1, 1, 1.0, 0, 0.0),
        ("乙社区", B, 3, 2, 0.6667, 1, 0.3333),
        ("甲社区", A, 6, 1, 0.1667, 1, 0.1667),
    ]


def test_a_viewer_of_some_communities_counts_only_theirs(db: Session) -> None:
    section = _compute(db, MINE)
    assert dict(section.headline) == {
        "新开工单 opened": 9,
        "按时完成 done on time": 2,
        "逾期完成 done late": 3,
        "已升级 escalated": 2,
        "逾期未完成 overdue": 3,
        "按时完成率 on-time share": 0.2222,
    }
    assert [row[1] for row in _table(section, "per_community")] == [A, B]
    assert [row[1] for row in _table(section, "attention")] == [B, A]
    assert _table(section, "per_role")[0] == ("网格员", "grid_worker", 6, 2, 2, 0, 2, 0.3333)


def test_the_week_ends_at_local_midnight(db: Session) -> None:
    """The day after the week holds only the task opened at its local midnight."""
    section = _compute(db, period=Period(date(2025, 3, 10), date(2025, 3, 10)))
    # Still open past its noon deadline when the 10th ends: overdue.
    assert _table(section, "per_community") == [("甲社区", A, 1, 0, 0, 0, 1, 0.0)]
    before = _compute(db, period=Period(date(2025, 3, 2), date(2025, 3, 2)))
    # Due at 12:00 on the 3rd, still open when the 2nd ends: not yet overdue.
    assert _table(before, "per_community") == [("甲社区", A, 1, 0, 0, 0, 0, 0.0)]


def test_overdue_is_counted_now_while_the_period_runs(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(task_figures, "utcnow", lambda: local(3, 5, 12))
    session.add_all(
        [
            task(A, "grid_worker", local(3, 4, 9), local(3, 5, 10)),  # past due now
            task(A, "grid_worker", local(3, 4, 9), local(3, 5, 14)),  # due later today
            task(A, "grid_worker", local(3, 4, 9), local(3, 5, 10), status="done",
                 closed_at=local(3, 5, 11)),  # late, but done
        ]
    )  # fmt: skip
    session.commit()
    section = _compute(session)
    assert _table(section, "per_community") == [("甲社区", A, 3, 0, 1, 0, 1, 0.0)]


def test_equal_overdue_shares_put_the_more_escalated_community_first(session: Session) -> None:
    session.add_all(
        [
            # A: one of two overdue, none escalated.
            task(A, "grid_worker", local(3, 4, 9), local(3, 5, 9)),
            task(A, "grid_worker", local(3, 4, 9), local(3, 12, 9)),
            # B: one of two overdue, and that one escalated (its new deadline passed too).
            task(B, "grid_worker", local(3, 4, 9), local(3, 6, 9), escalation_level=1),
            task(B, "grid_worker", local(3, 4, 9), local(3, 8, 9), status="done",
                 closed_at=local(3, 5, 9)),
            # C: nothing overdue or escalated: not listed.
            task(C, "grid_worker", local(3, 4, 9), local(3, 8, 9), status="done",
                 closed_at=local(3, 5, 9)),
        ]
    )  # fmt: skip
    session.commit()
    assert _table(_compute(session), "attention") == [
        ("乙社区", B, 2, 1, 0.5, 1, 0.5),
        ("甲社区", A, 2, 1, 0.5, 0, 0.0),
    ]


def test_district_figures_show_the_tasks_last_and_task_counts_whole(db: Session) -> None:
    """Tasks are not people: counts of 1 and 2 stay numbers after suppression."""
    figures = district_figures(db, REGISTRY, district=DISTRICT, period=PERIOD)
    assert figures.sections[-1].key == "tasks"
    section = figures.sections[-1]
    assert _table(section, "per_community")[2] == ("未指定社区", None, 1, 1, 0, 0, 0, 1.0)
    assert dict(section.headline)["已升级 escalated"] == 2
    restricted = district_figures(db, REGISTRY, district=DISTRICT, period=PERIOD, communities=MINE)
    assert dict(restricted.sections[-1].headline)["新开工单 opened"] == 9


def test_an_empty_period_has_no_rows(db: Session) -> None:
    section = _compute(db, period=Period(date(2024, 3, 3), date(2024, 3, 9)))
    assert section.empty
    assert [t.rows for t in section.tables] == [[], [], []]
    assert dict(section.headline)["新开工单 opened"] == 0
    assert dict(section.headline)["按时完成率 on-time share"] == 0.0

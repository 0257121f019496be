"""The curtain appointment's section 窗帘之约 of a district report: elders watched, checks
reported on time, escalations to a call and a door check, emergencies; per community per day.

What counts (all of it written by the curtain's workflows, see ``workflows.py``):

* A *check* 查看: a task of process ``eldercare.curtain_check`` whose step key is ``check``
  (a check staff started on its own) or ``check.<elder>.<day>`` (one of a batch's bulk
  tasks). Each elder has one check a morning (the case ref ``<elder>.<YYYYMMDD>``), so the
  checks of one day and community are the *elders watched* 关注老人 that day (people).
  Elders with an "away" notice get no check that morning and are not watched.
* *On time* 按时反馈: the check closed ``done`` no later than its ``due_at`` (check tasks
  never escalate, so ``due_at`` is the report deadline the volunteer was given).
* *Call* 电话联系 and *door check* 上门查看: the check process's ``call`` and ``door`` tasks,
  opened once closed curtains or a missing report escalated the check.
* *Emergency* 紧急处置: the check process's ``curtain_emergency`` case record (family and
  district told; a green channel opened for a disabled elder when ``green_channel`` is set).
  Case records name no community: an emergency takes the community of its ``door`` task,
  which the check always opens first.
* *Away notices* 外出报备: rows of ``ec_curtain_away`` filed in the period (the elder's
  registry community decides whether a viewer's communities cover it).

Every event falls on the local day (Asia/Shanghai) of its own moment: a task's ``opened_at``,
a record's ``created_at``. Rows are counted in SQL (a district's year holds ~1.8 million
checks): grouped per local day and community, summed per community and for the district here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from careflow.db.tables import Area, CaseRecord, Person, Task
from careflow.figures import Chart, Column, FigureQuery, FigureSpec, Section, Table
from careflow.figures.sql import count_where, local_day_sql
from careflow.models import TaskStatus
from plugins.eldercare.curtain.models import AWAY_PROCESS, CHECK_PROCESS, ROUND_PROCESS
from plugins.eldercare.curtain.tables import CurtainAwayNotice

__all__ = ["FIGURES", "FIGURES_KEY", "NO_COMMUNITY_ZH", "compute"]

FIGURES_KEY = "eldercare.curtain"
NO_COMMUNITY_ZH = "未指定社区"
"""The row of records that name no community (seen by whole-district viewers only)."""

_EMERGENCY_KIND = "curtain_emergency"
# ``.<YYYYMMDD>`` closes every check's case ref: what is left is the elder's registry id.
_DAY_SUFFIX = len(".20260302")


@dataclass(slots=True)
class _Tally:
    """The counts of one day and community, one community, or the district."""

    watched: int = 0
    on_time: int = 0
    call: int = 0
    door: int = 0
    emergency: int = 0

    def add(self, other: _Tally) -> None:
        self.watched += other.watched
        self.on_time += other.on_time
        self.call += other.call
        self.door += other.door
        self.emergency += other.emergency

    def counts(self) -> tuple[int, int, int, int, int]:
        return (self.watched, self.on_time, self.call, self.door, self.emergency)

    def on_time_share(self) -> float:
        """On-time checks as a share of the checks, 0 to 1 (four decimals)."""
        return round(self.on_time / self.watched, 4) if self.watched else 0.0


def _is_check() -> ColumnElement[bool]:
    return or_(col(Task.step_key) == "check", col(Task.step_key).startswith("check."))


def _task_scope(query: FigureQuery) -> list[ColumnElement[bool]]:
    """The check process's tasks of the district (and covered communities) in the period."""
    where = [
        col(Task.process) == CHECK_PROCESS,
        col(Task.district) == query.district,
        col(Task.opened_at) >= query.period.since,
        col(Task.opened_at) < query.period.until,
    ]
    if query.communities is not None:
        where.append(col(Task.community).in_(sorted(query.communities)))
    return where


def _per_day(session: Session, query: FigureQuery) -> dict[tuple[date, str], _Tally]:
    """Checks, calls, door checks and emergencies per (local day, community): one grouped
    scan of the period's check-process tasks (checks and escalations together), and one of
    the emergency records."""
    tallies: dict[tuple[date, str], _Tally] = {}

    def tally(day: Any, community: str | None) -> _Tally:
        return tallies.setdefault((date.fromisoformat(str(day)), community or ""), _Tally())

    day = local_day_sql(session, col(Task.opened_at), query).label("day")
    is_check = _is_check()
    on_time = and_(
        is_check,
        col(Task.status) == TaskStatus.DONE.value,
        col(Task.closed_at) <= col(Task.due_at),
    )
    # One pass instead of one per kind of task: a year holds ~1.8 million checks.
    statement = (
        sa_select(
            day,
            col(Task.community),
            func.count(case((is_check, col(Task.case_ref))).distinct()).label("watched"),
            count_where(on_time).label("on_time"),
            count_where(col(Task.step_key) == "call").label("call"),
            count_where(col(Task.step_key) == "door").label("door"),
        )
        .where(*_task_scope(query), or_(is_check, col(Task.step_key).in_(("call", "door"))))
        .group_by(day, col(Task.community))
    )
    for when, community, watched, timely, calls, doors in session.execute(statement):
        t = tally(when, community)
        t.watched, t.on_time = int(watched), int(timely or 0)
        t.call, t.door = int(calls or 0), int(doors or 0)

    for when, community, emergencies in _emergencies(session, query):
        tally(when, community).emergency = emergencies
    return tallies


def _emergency_statement(query: FigureQuery) -> Any:
    """Emergency records of the period joined to their check's door task (its community)."""
    door = and_(
        col(Task.workflow_id) == col(CaseRecord.workflow_id),
        col(Task.step_key) == "door",
        col(Task.process) == CHECK_PROCESS,
    )
    where = [
        col(CaseRecord.process) == CHECK_PROCESS,
        col(CaseRecord.district) == query.district,
        col(CaseRecord.kind) == _EMERGENCY_KIND,
        col(CaseRecord.created_at) >= query.period.since,
        col(CaseRecord.created_at) < query.period.until,
    ]
    if query.communities is not None:
        where.append(col(Task.community).in_(sorted(query.communities)))
    return door, where


def _emergencies(session: Session, query: FigureQuery) -> list[tuple[Any, str | None, int]]:
    """Emergencies per (local day, community)."""
    door, where = _emergency_statement(query)
    day = local_day_sql(session, col(CaseRecord.created_at), query).label("day")
    statement = (
        select(day, col(Task.community), func.count().label("n"))
        .select_from(CaseRecord)
        .outerjoin(Task, door)
        .where(*where)
        .group_by(day, col(Task.community))
    )
    return [(when, community, int(n)) for when, community, n in session.exec(statement)]


def _green_channels(session: Session, query: FigureQuery) -> int:
    """How many of the period's emergencies opened a green channel (a disabled elder)."""
    door, where = _emergency_statement(query)
    opened = col(CaseRecord.data)["green_channel"].as_string().is_not(None)
    statement = (
        select(func.count()).select_from(CaseRecord).outerjoin(Task, door).where(*where, opened)
    )
    return int(session.exec(statement).one())


def _elders(session: Session, query: FigureQuery) -> tuple[dict[str, int], int]:
    """Distinct elders watched per community, and in all, over the whole period: one scan
    for the distinct (community, elder) pairs, a few thousand even for a year."""
    ref = col(Task.case_ref)
    elder = func.substr(ref, 1, func.length(ref) - _DAY_SUFFIX)
    pairs = select(col(Task.community), elder).where(*_task_scope(query), _is_check()).distinct()
    counts: dict[str, int] = {}
    everyone: set[str] = set()
    for community, who in session.exec(pairs):
        counts[community or ""] = counts.get(community or "", 0) + 1
        everyone.add(str(who))
    return counts, len(everyone)


def _away_notices(session: Session, query: FigureQuery) -> int:
    """Away notices filed in the period for elders of the covered communities."""
    statement = (
        select(func.count())
        .select_from(CurtainAwayNotice)
        .where(
            col(CurtainAwayNotice.district) == query.district,
            col(CurtainAwayNotice.created_at) >= query.period.since,
            col(CurtainAwayNotice.created_at) < query.period.until,
        )
    )
    if query.communities is not None:
        # Only the elder's community is read from the registry, nothing personal.
        statement = statement.join(Person, col(Person.id) == col(CurtainAwayNotice.elder_id)).where(
            col(Person.community_code).in_(sorted(query.communities))
        )
    return int(session.exec(statement).one())


def _community_names(session: Session, codes: Iterable[str]) -> dict[str, str]:
    named = sorted({c for c in codes if c})
    if not named:
        return {}
    rows = session.exec(select(Area.code, Area.name_zh).where(col(Area.code).in_(named))).all()
    return dict(rows)


_DAY_COLUMNS = (
    Column("watched", "关注老人", "Elders watched", kind="people"),
    Column("on_time", "按时反馈", "Reported on time"),
    Column("call", "电话联系", "Escalated to a call"),
    Column("door", "上门查看", "Door checks"),
    Column("emergency", "紧急处置", "Emergencies"),
)
_SERIES = ("watched", "on_time", "call", "door", "emergency")


def compute(session: Session, query: FigureQuery) -> Section:
    """The curtain appointment's section of ``query``'s district and period.

    Args:
        session: A session on the app database (read only).
        query: The district, period and the communities the viewer covers.

    Returns:
        The section: headline totals, a table per day (with its chart), one per day and
        community, and one per community over the period; empty tables when nothing of the
        curtain appointment happened in the period.
    """
    per_day = _per_day(session, query)
    elders, elders_total = _elders(session, query)
    names = _community_names(session, (c for _, c in per_day))

    def community_zh(code: str) -> str:
        return names.get(code, code) if code else NO_COMMUNITY_ZH

    days: dict[date, _Tally] = {}
    communities: dict[str, _Tally] = {}
    district = _Tally()
    for (day, community), t in per_day.items():
        days.setdefault(day, _Tally()).add(t)
        communities.setdefault(community, _Tally()).add(t)
        district.add(t)

    # Communities with a code sort by it; records naming none come last.
    def community_order(code: str) -> tuple[bool, str]:
        return (code == "", code)

    by_day = Table(
        key="per_day",
        title_zh="每日窗帘查看",
        title_en="Curtain checks per day",
        columns=(Column("day", "日期", "Day", kind="date"), *_DAY_COLUMNS),
        rows=[(day, *t.counts()) for day, t in sorted(days.items())],
        chart=Chart(kind="line", x="day", series=_SERIES),
        note_zh="关注老人：当日有查看工单的老人（报备外出的老人当日不查看）。",
    )
    by_day_community = Table(
        key="per_day_community",
        title_zh="各社区每日窗帘查看",
        title_en="Curtain checks per community per day",
        columns=(
            Column("day", "日期", "Day", kind="date"),
            Column("community_zh", "社区", "Community", kind="text"),
            Column("community", "社区代码", "Community code", kind="text"),
            *_DAY_COLUMNS,
        ),
        rows=[
            (day, community_zh(code), code or None, *t.counts())
            for (day, code), t in sorted(
                per_day.items(), key=lambda kv: (kv[0][0], community_order(kv[0][1]))
            )
        ],
        # No chart: several rows share a day; the per-day table above draws the totals.
    )
    by_community = Table(
        key="per_community",
        title_zh="各社区窗帘查看合计",
        title_en="Curtain checks per community, whole period",
        columns=(
            Column("community_zh", "社区", "Community", kind="text"),
            Column("community", "社区代码", "Community code", kind="text"),
            Column("elders", "关注老人", "Elders watched", kind="people"),
            Column("checks", "查看次数", "Checks"),
            Column("on_time", "按时反馈", "Reported on time"),
            Column("on_time_share", "按时反馈率", "On-time share", kind="percent"),
            Column("call", "电话联系", "Escalated to a call"),
            Column("door", "上门查看", "Door checks"),
            Column("emergency", "紧急处置", "Emergencies"),
        ),
        rows=[
            (
                community_zh(code),
                code or None,
                elders.get(code, 0),
                t.watched,
                t.on_time,
                t.on_time_share(),
                t.call,
                t.door,
                t.emergency,
            )
            for code, t in sorted(communities.items(), key=lambda kv: community_order(kv[0]))
        ],
        chart=Chart(kind="bar", x="community_zh", series=("checks", "on_time", "call", "door")),
        note_zh="关注老人为期间内有查看的不同老人数；查看次数为每日查看之和。",
    )
    return Section(
        key=FIGURES_KEY,
        title_zh="窗帘之约",
        title_en="Curtain appointment",
        headline=(
            ("关注老人人数 elders watched", elders_total),
            ("查看次数 checks", district.watched),
            ("按时反馈 on time", district.on_time),
            ("按时反馈率 on-time share", district.on_time_share()),
            ("电话联系 calls", district.call),
            ("上门查看 door checks", district.door),
            ("紧急处置 emergencies", district.emergency),
            ("其中开通急诊绿色通道 green channels opened", _green_channels(session, query)),
            ("外出报备 away notices", _away_notices(session, query)),
        ),
        tables=(by_day, by_day_community, by_community),
    )


FIGURES = FigureSpec(
    key=FIGURES_KEY,
    title_zh="窗帘之约",
    title_en="Curtain appointment",
    compute=compute,
    order=110,
    processes=(ROUND_PROCESS, CHECK_PROCESS, AWAY_PROCESS),
)
"""The curtain appointment's section, shown for districts that run it."""

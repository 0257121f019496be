"""The tasks section 工单 of every district report: opened, done on time, late, escalated,
overdue, per community and per role, and the communities that need attention first.

What counts (tasks of every process, the ``task`` table):

* The tasks *opened* in the period (``opened_at`` within its local days); everything else in
  the section is a share of those.
* *On time* 按时完成: closed ``done`` no later than ``due_at`` and never escalated. Escalation
  moves ``due_at`` to the next role's deadline (``careflow.db.crud.escalate_task``) and sets
  the ``overdue`` flag, so a task done within its escalated deadline missed its first one:
  it counts as *late* 逾期完成 (done after ``due_at``, or done once overdue).
* *Escalated* 已升级: ``escalation_level > 0``.
* *Overdue* 逾期未完成: not closed at the period's end (or now, for a period still running)
  while past ``due_at`` or flagged ``overdue``, the inbox's rule (``overdue or due_at < now``)
  applied at that moment. The flag carries no time, so a past period counts a task escalated
  after the period's end as overdue at it: the flag is set only once a deadline passed, and
  the row keeps nothing more precise.
* *Per role*: the role holding the task now (an escalated task belongs to the role it was
  escalated to), titled with :func:`careflow.roles.role_title`.

A year of a district holds about 1.8 million tasks, so the rows are counted in SQL: one
``GROUP BY community, role`` over the period's tasks, whose few hundred groups are then summed
per community and per role here. That scan is by ``district`` and ``opened_at``: the core's
``ix_task_figures_district`` leads with those and holds every column the query reads, so a
period is counted from the index alone (``bench/dashboard.py`` times it on a year of data).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, false, func, or_, true
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from careflow.db.tables import Area, Task
from careflow.db.types import utcnow
from careflow.figures import Chart, Column, FigureQuery, FigureSpec, Section, Table
from careflow.models import TaskStatus
from careflow.roles import role_title

__all__ = ["ATTENTION_LIMIT", "FIGURES", "FIGURES_KEY", "NO_COMMUNITY_ZH", "compute"]

FIGURES_KEY = "tasks"
"""The section's key."""
ATTENTION_LIMIT = 10
"""How many communities the attention table lists at most."""
NO_COMMUNITY_ZH = "未指定社区"
"""The row of tasks that name no community (seen by whole-district viewers only)."""

_COUNTS = ("opened", "on_time", "late", "escalated", "overdue")


@dataclass(slots=True)
class _Tally:
    """The counts of one community, one role or the district."""

    opened: int = 0
    on_time: int = 0
    late: int = 0
    escalated: int = 0
    overdue: int = 0

    def add(self, row: dict[str, int]) -> None:
        for name in _COUNTS:
            setattr(self, name, getattr(self, name) + int(row[name] or 0))

    def counts(self) -> tuple[int, ...]:
        return tuple(getattr(self, name) for name in _COUNTS)

    def share(self, name: str) -> float:
        """``name`` as a share of the tasks opened, 0 to 1 (four decimals)."""
        return round(getattr(self, name) / self.opened, 4) if self.opened else 0.0


@dataclass(slots=True)
class _Totals:
    district: _Tally = field(default_factory=_Tally)
    communities: dict[str, _Tally] = field(default_factory=dict)
    roles: dict[str, _Tally] = field(default_factory=dict)


def _count(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _tally(session: Session, query: FigureQuery, at: datetime) -> _Totals:
    """One grouped query over the period's tasks of the district (and covered communities)."""
    done = col(Task.status) == TaskStatus.DONE.value
    on_time = and_(done, col(Task.closed_at) <= col(Task.due_at), col(Task.overdue).is_(false()))
    late = and_(done, or_(col(Task.closed_at) > col(Task.due_at), col(Task.overdue).is_(true())))
    # Open at ``at``: never closed, or closed only afterwards (the row keeps the final status).
    open_at = or_(col(Task.closed_at).is_(None), col(Task.closed_at) >= at)
    overdue = and_(open_at, or_(col(Task.due_at) < at, col(Task.overdue).is_(true())))
    statement = (
        sa_select(
            col(Task.community).label("community"),
            col(Task.role).label("role"),
            func.count().label("opened"),
            _count(on_time).label("on_time"),
            _count(late).label("late"),
            _count(col(Task.escalation_level) > 0).label("escalated"),
            _count(overdue).label("overdue"),
        )
        .where(
            col(Task.district) == query.district,
            col(Task.opened_at) >= query.period.since,
            col(Task.opened_at) < query.period.until,
        )
        .group_by(col(Task.community), col(Task.role))
    )
    if query.communities is not None:
        statement = statement.where(col(Task.community).in_(sorted(query.communities)))
    totals = _Totals()
    for row in session.execute(statement).mappings():
        counts = dict(row)
        totals.district.add(counts)
        totals.communities.setdefault(row["community"] or "", _Tally()).add(counts)
        totals.roles.setdefault(row["role"], _Tally()).add(counts)
    return totals


def _community_names(session: Session, codes: list[str]) -> dict[str, str]:
    named = [c for c in codes if c]
    if not named:
        return {}
    rows = session.exec(select(Area.code, Area.name_zh).where(col(Area.code).in_(named))).all()
    return dict(rows)


_COUNT_COLUMNS = (
    Column("opened", "新开工单", "Opened"),
    Column("on_time", "按时完成", "Done on time"),
    Column("late", "逾期完成", "Done late"),
    Column("escalated", "已升级", "Escalated"),
    Column("overdue", "逾期未完成", "Overdue"),
    Column("on_time_share", "按时完成率", "On-time share", kind="percent"),
)
_CHART_SERIES = ("opened", "on_time", "escalated", "overdue")


def compute(session: Session, query: FigureQuery) -> Section:
    """The tasks section of ``query``'s district and period (see the module's definitions).

    Args:
        session: A session on the app database (read only).
        query: The district, period and the communities the viewer covers.

    Returns:
        The section: headline totals, tables per community and per role, and the communities
        that need attention first; empty tables when no task was opened in the period.
    """
    at = min(query.period.until, utcnow())
    totals = _tally(session, query, at)
    names = _community_names(session, list(totals.communities))

    def community_zh(code: str) -> str:
        return names.get(code, code) if code else NO_COMMUNITY_ZH

    # Most tasks first: the communities and roles that carry the load lead the tables.
    communities = sorted(totals.communities.items(), key=lambda kv: (-kv[1].opened, kv[0]))
    roles = sorted(totals.roles.items(), key=lambda kv: (-kv[1].opened, kv[0]))
    by_community = Table(
        key="per_community",
        title_zh="各社区工单",
        title_en="Tasks per community",
        columns=(
            Column("community_zh", "社区", "Community", kind="text"),
            Column("community", "社区代码", "Community code", kind="text"),
            *_COUNT_COLUMNS,
        ),
        rows=[
            (community_zh(code), code or None, *t.counts(), t.share("on_time"))
            for code, t in communities
        ],
        chart=Chart(kind="bar", x="community_zh", series=_CHART_SERIES),
    )
    by_role = Table(
        key="per_role",
        title_zh="各角色工单",
        title_en="Tasks per role",
        columns=(
            Column("role_zh", "角色", "Role", kind="text"),
            Column("role", "角色代码", "Role code", kind="text"),
            *_COUNT_COLUMNS,
        ),
        rows=[(role_title(role), role, *t.counts(), t.share("on_time")) for role, t in roles],
        chart=Chart(kind="bar", x="role_zh", series=_CHART_SERIES),
        note_zh="按工单当前所在角色统计：升级后的工单计入接手的角色。",
    )
    needing = sorted(
        ((code, t) for code, t in totals.communities.items() if t.overdue or t.escalated),
        key=lambda kv: (
            -kv[1].share("overdue"),
            -kv[1].share("escalated"),
            -kv[1].overdue,
            kv[0],
        ),
    )[:ATTENTION_LIMIT]
    attention = Table(
        key="attention",
        title_zh="需关注的社区",
        title_en="Communities that need attention first",
        columns=(
            Column("community_zh", "社区", "Community", kind="text"),
            Column("community", "社区代码", "Community code", kind="text"),
            Column("opened", "新开工单", "Opened"),
            Column("overdue", "逾期未完成", "Overdue"),
            Column("overdue_share", "逾期率", "Overdue share", kind="percent"),
            Column("escalated", "已升级", "Escalated"),
            Column("escalated_share", "升级率", "Escalated share", kind="percent"),
        ),
        rows=[
            (
                community_zh(code),
                code or None,
                t.opened,
                t.overdue,
                t.share("overdue"),
                t.escalated,
                t.share("escalated"),
            )
            for code, t in needing
        ],
        note_zh=(
            f"有逾期或升级工单的社区，按逾期率、再按升级率从高到低，最多 {ATTENTION_LIMIT} 个。"
        ),
    )
    district = totals.district
    return Section(
        key=FIGURES_KEY,
        title_zh="工单",
        title_en="Tasks",
        headline=(
            ("新开工单 opened", district.opened),
            ("按时完成 done on time", district.on_time),
            ("逾期完成 done late", district.late),
            ("已升级 escalated", district.escalated),
            ("逾期未完成 overdue", district.overdue),
            ("按时完成率 on-time share", district.share("on_time")),
        ),
        tables=(by_community, by_role, attention),
    )


FIGURES = FigureSpec(
    key=FIGURES_KEY,
    title_zh="工单",
    title_en="Tasks",
    compute=compute,
    # Last in the report: the work behind every process above it.
    order=900,
    processes=(),
)
"""The tasks section, shown for every district."""

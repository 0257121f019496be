"""The health stations' section 健康驿站 of a district report: readings, alerts by severity and
the doctor's reviews done within their due time; per day and per community.

What counts (all of it written by the stations' workflows, see ``workflows.py`` and
``activities.py``):

* A *reading* 测量: a row of ``ec_health_reading`` of the district measured in the period
  (its ``measured_at``, the station's moment of measurement). The distinct elders of those
  rows are the *elders measured* 测量老人 (people: suppressed below 3).
* An *alert* 预警: a row of ``ec_health_alert`` of the district raised in the period
  (``raised_at``), critical 危急 or warning 警示. A reading that joined an alert already open
  for the elder raised none and is only a reading.
* The *review* 医生复核 of an alert: the task of process ``eldercare.health_alert`` with step key
  ``review``, whose case ref is ``<elder>.A<alert id>`` (the alert process's case). It is
  counted with its alert, whenever it was done. *On time* 按时复核: done no later than its
  ``due_at`` and never escalated (escalation to the district admin moves ``due_at`` to the
  admin's deadline and marks the task overdue); *late* 逾期复核: done otherwise; *missed*
  超期未复核: expired (nobody reviewed it by the final deadline); *open* 待复核: not done yet,
  including an alert whose review task is not opened yet; *cancelled* 已取消: the process was
  terminated. The on-time rate is on time over the reviews that ended (done or missed).

Readings and alerts name no community: each takes its elder's registry community
(``person.community_code``, the only column read there), which also decides whether a
viewer's communities cover it; an elder no longer in the registry counts for whole-district
viewers only. Every event falls on the local day (Asia/Shanghai) of its own moment, and rows
are counted in SQL, grouped per local day and community.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, String, and_, cast, false, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from careflow.db.tables import Area, Person, Task
from careflow.figures import Chart, Column, FigureQuery, FigureSpec, Section, Table
from careflow.figures.sql import count_where, local_day_sql
from careflow.models import TaskStatus
from plugins.eldercare.health.models import HEALTH_ALERT_PROCESS, HEALTH_MONITOR_PROCESS
from plugins.eldercare.health.tables import HealthAlert, HealthReading

__all__ = ["FIGURES", "FIGURES_KEY", "NO_COMMUNITY_ZH", "compute"]

FIGURES_KEY = "eldercare.health"
NO_COMMUNITY_ZH = "未指定社区"
"""The row of elders the registry no longer places (seen by whole-district viewers only)."""

_REVIEW_STEP = "review"


@dataclass(slots=True)
class _Tally:
    """The counts of one day, one community, or the district."""

    readings: int = 0
    elders: int = 0
    critical: int = 0
    warning: int = 0
    on_time: int = 0
    late: int = 0
    missed: int = 0
    open: int = 0
    cancelled: int = 0

    @property
    def alerts(self) -> int:
        return self.critical + self.warning

    def add(self, other: _Tally) -> None:
        for name in _Tally.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def on_time_share(self) -> float:
        """On-time reviews as a share of the reviews that ended, 0 to 1 (four decimals)."""
        ended = self.on_time + self.late + self.missed
        return round(self.on_time / ended, 4) if ended else 0.0


def _covered(query: FigureQuery) -> list[ColumnElement[bool]]:
    """The viewer's communities, by the elder's registry community."""
    if query.communities is None:
        return []
    return [col(Person.community_code).in_(sorted(query.communities))]


def _readings(query: FigureQuery) -> list[ColumnElement[bool]]:
    return [
        col(HealthReading.district) == query.district,
        col(HealthReading.measured_at) >= query.period.since,
        col(HealthReading.measured_at) < query.period.until,
        *_covered(query),
    ]


def _alerts(query: FigureQuery) -> list[ColumnElement[bool]]:
    return [
        col(HealthAlert.district) == query.district,
        col(HealthAlert.raised_at) >= query.period.since,
        col(HealthAlert.raised_at) < query.period.until,
        *_covered(query),
    ]


def _reading_person() -> ColumnElement[bool]:
    return col(Person.id) == col(HealthReading.elder_ref)


def _alert_person() -> ColumnElement[bool]:
    return col(Person.id) == col(HealthAlert.elder_ref)


def _per_day(session: Session, query: FigureQuery) -> dict[tuple[date, str], _Tally]:
    """Readings, elders measured and alerts per (local day, community): two grouped queries."""
    tallies: dict[tuple[date, str], _Tally] = {}

    def tally(day: Any, community: str | None) -> _Tally:
        return tallies.setdefault((date.fromisoformat(str(day)), community or ""), _Tally())

    measured = local_day_sql(session, col(HealthReading.measured_at), query).label("day")
    readings = (
        select(
            measured,
            col(Person.community_code),
            func.count().label("readings"),
            func.count(col(HealthReading.elder_ref).distinct()).label("elders"),
        )
        .select_from(HealthReading)
        .outerjoin(Person, _reading_person())
        .where(*_readings(query))
        .group_by(measured, col(Person.community_code))
    )
    for day, community, n, elders in session.exec(readings):
        t = tally(day, community)
        t.readings, t.elders = int(n), int(elders)

    raised = local_day_sql(session, col(HealthAlert.raised_at), query).label("day")
    alerts = (
        select(
            raised,
            col(Person.community_code),
            count_where(col(HealthAlert.severity) == "critical").label("critical"),
            count_where(col(HealthAlert.severity) != "critical").label("warning"),
        )
        .select_from(HealthAlert)
        .outerjoin(Person, _alert_person())
        .where(*_alerts(query))
        .group_by(raised, col(Person.community_code))
    )
    for day, community, critical, warning in session.exec(alerts):
        t = tally(day, community)
        t.critical, t.warning = int(critical or 0), int(warning or 0)
    return tallies


def _reviews(session: Session, query: FigureQuery) -> dict[str, _Tally]:
    """The reviews of the period's alerts per community: on time, late, missed, open,
    cancelled (each alert once)."""
    # The alert process's case ref is ``<elder>.A<alert id>`` (see the monitor workflow).
    review = and_(
        col(Task.process) == HEALTH_ALERT_PROCESS,
        col(Task.district) == col(HealthAlert.district),
        col(Task.step_key) == _REVIEW_STEP,
        col(Task.case_ref) == col(HealthAlert.elder_ref) + ".A" + cast(col(HealthAlert.id), String),
    )
    done = col(Task.status) == TaskStatus.DONE.value
    in_time = and_(
        col(Task.closed_at) <= col(Task.due_at),
        col(Task.escalation_level) == 0,
        col(Task.overdue).is_(false()),
    )
    statement = (
        # Six columns: more than sqlmodel's typed select takes, so SQLAlchemy's own.
        sa_select(
            col(Person.community_code),
            count_where(and_(done, in_time)).label("on_time"),
            count_where(and_(done, ~in_time)).label("late"),
            count_where(col(Task.status) == TaskStatus.EXPIRED.value).label("missed"),
            count_where(
                or_(col(Task.task_id).is_(None), col(Task.status) == TaskStatus.OPEN.value)
            ).label("open"),
            count_where(col(Task.status) == TaskStatus.CANCELLED.value).label("cancelled"),
        )
        .select_from(HealthAlert)
        .outerjoin(Person, _alert_person())
        .outerjoin(Task, review)
        .where(*_alerts(query))
        .group_by(col(Person.community_code))
    )
    tallies: dict[str, _Tally] = {}
    for community, on_time, late, missed, still_open, cancelled in session.execute(statement):
        tallies[community or ""] = _Tally(
            on_time=int(on_time or 0),
            late=int(late or 0),
            missed=int(missed or 0),
            open=int(still_open or 0),
            cancelled=int(cancelled or 0),
        )
    return tallies


def _elders(session: Session, query: FigureQuery) -> tuple[dict[str, int], int]:
    """Distinct elders measured per community, and in all, over the whole period."""
    elder = col(HealthReading.elder_ref).distinct()
    per_community = (
        select(col(Person.community_code), func.count(elder))
        .select_from(HealthReading)
        .outerjoin(Person, _reading_person())
        .where(*_readings(query))
        .group_by(col(Person.community_code))
    )
    counts = {community or "": int(n) for community, n in session.exec(per_community)}
    total = (
        select(func.count(elder))
        .select_from(HealthReading)
        .outerjoin(Person, _reading_person())
        .where(*_readings(query))
    )
    return counts, int(session.exec(total).one())


def _community_names(session: Session, codes: Iterable[str]) -> dict[str, str]:
    named = sorted({c for c in codes if c})
    if not named:
        return {}
    rows = session.exec(select(Area.code, Area.name_zh).where(col(Area.code).in_(named))).all()
    return dict(rows)


def compute(session: Session, query: FigureQuery) -> Section:
    """The health stations' section of ``query``'s district and period.

    Args:
        session: A session on the app database (read only).
        query: The district, period and the communities the viewer covers.

    Returns:
        The section: headline totals, a table per day (with its chart) and one per community
        over the period; empty tables when no reading was measured and no alert raised in the
        period.
    """
    per_day = _per_day(session, query)
    reviews = _reviews(session, query)
    elders, elders_total = _elders(session, query)

    days: dict[date, _Tally] = {}
    communities: dict[str, _Tally] = {}
    district = _Tally()
    for (day, community), t in per_day.items():
        days.setdefault(day, _Tally()).add(t)
        communities.setdefault(community, _Tally()).add(t)
    for community, t in reviews.items():
        communities.setdefault(community, _Tally()).add(t)
    for t in communities.values():
        district.add(t)
    names = _community_names(session, communities)

    def community_zh(code: str) -> str:
        return names.get(code, code) if code else NO_COMMUNITY_ZH

    by_day = Table(
        key="per_day",
        title_zh="每日测量与预警",
        title_en="Readings and alerts per day",
        columns=(
            Column("day", "日期", "Day", kind="date"),
            Column("readings", "测量次数", "Readings"),
            Column("elders", "测量老人", "Elders measured", kind="people"),
            Column("alerts", "预警", "Alerts"),
            Column("critical", "危急预警", "Critical alerts"),
            Column("warning", "警示预警", "Warnings"),
        ),
        rows=[
            (day, t.readings, t.elders, t.alerts, t.critical, t.warning)
            for day, t in sorted(days.items())
        ],
        chart=Chart(kind="line", x="day", series=("readings", "critical", "warning")),
        note_zh="按测量时间和预警时间所在日期统计；并入已有未复核预警的测量不另计预警。",
    )
    by_community = Table(
        key="per_community",
        title_zh="各社区健康驿站合计",
        title_en="Health stations per community, whole period",
        columns=(
            Column("community_zh", "社区", "Community", kind="text"),
            Column("community", "社区代码", "Community code", kind="text"),
            Column("elders", "测量老人", "Elders measured", kind="people"),
            Column("readings", "测量次数", "Readings"),
            Column("alerts", "预警", "Alerts"),
            Column("critical", "危急预警", "Critical alerts"),
            Column("warning", "警示预警", "Warnings"),
            Column("on_time", "按时复核", "Reviewed on time"),
            Column("late", "逾期复核", "Reviewed late"),
            Column("missed", "超期未复核", "Never reviewed"),
            Column("open", "待复核", "Review open"),
            Column("cancelled", "已取消", "Cancelled"),
            Column("on_time_share", "按时复核率", "On-time review rate", kind="percent"),
        ),
        rows=[
            (
                community_zh(code),
                code or None,
                elders.get(code, 0),
                t.readings,
                t.alerts,
                t.critical,
                t.warning,
                t.on_time,
                t.late,
                t.missed,
                t.open,
                t.cancelled,
                t.on_time_share(),
            )
            # Communities with a code sort by it; elders the registry no longer places last.
            for code, t in sorted(communities.items(), key=lambda kv: (kv[0] == "", kv[0]))
        ],
        chart=Chart(
            kind="stacked_bar", x="community_zh", series=("on_time", "late", "missed", "open")
        ),
        note_zh=(
            "复核按预警统计（无论何时复核）；逾期复核含升级至区级后完成；"
            "按时复核率＝按时复核÷（按时复核＋逾期复核＋超期未复核）。"
        ),
    )
    return Section(
        key=FIGURES_KEY,
        title_zh="健康驿站",
        title_en="Health stations",
        headline=(
            ("测量老人人数 elders measured", elders_total),
            ("测量次数 readings", district.readings),
            ("预警 alerts", district.alerts),
            ("危急预警 critical", district.critical),
            ("警示预警 warnings", district.warning),
            ("按时复核 reviewed on time", district.on_time),
            ("按时复核率 on-time review rate", district.on_time_share()),
            ("逾期复核 reviewed late", district.late),
            ("超期未复核 never reviewed", district.missed),
            ("待复核 review open", district.open),
        ),
        tables=(by_day, by_community),
    )


FIGURES = FigureSpec(
    key=FIGURES_KEY,
    title_zh="健康驿站",
    title_en="Health stations",
    compute=compute,
    order=130,
    processes=(HEALTH_MONITOR_PROCESS, HEALTH_ALERT_PROCESS),
)
"""The health stations' section, shown for districts that run them."""

"""The three-colour tiers section 三色分级 of a district's report.

Elders per tier over the period (a stacked bar per day, or per week in a long period), the
tiers per community at the end of the period, and the home visits the care plans asked for:
made, door not opened, missed past the last deadline, still open.

Where the facts are:

* an elder's tier over time is the history of :class:`TierAssessment` (one row per grading,
  each valid until the elder's next grading) ended by the plan's ``plan_closed`` case record;
  the community is the one of the elder's care plan (:class:`TierCarePlan`, the registry's
  community when last graded), so an elder's whole history counts in their current community;
* a visit is the care plan's ``visit.<n>`` task (:class:`careflow.db.tables.Task`, opened at
  the cycle, with the community of its inbox): ``done`` with the form's ``visited`` true is
  a visit made, ``done`` otherwise a door nobody opened, ``expired`` a missed visit (the
  process records ``visit_missed`` and tells the district), ``open`` still to do.

Counts only: no elder's id leaves SQL; the interval rows grouped there carry a tier, a
community and local days.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, and_, case, cast, func, literal_column, or_
from sqlalchemy import select as sql_select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from careflow.db.tables import Area, CaseRecord, Task
from careflow.figures import Chart, Column, FigureQuery, FigureSpec, Period, Section, Table
from careflow.localtime import STAFF_TIMEZONE
from careflow.models import TaskStatus
from plugins.eldercare.tiers.models import TIERS_PROCESS
from plugins.eldercare.tiers.tables import TierAssessment, TierCarePlan

__all__ = ["DAILY_UP_TO", "FIGURES", "compute"]

DAILY_UP_TO = 62
"""Periods of up to this many days are shown per day; longer ones per week (Monday first)."""

_TIERS = ("red", "yellow", "green")
_TIER_COLUMNS = (
    Column("red", "红色", "Red", "people"),
    Column("yellow", "黄色", "Yellow", "people"),
    Column("green", "绿色", "Green", "people"),
    Column("total", "合计", "Total", "people"),
)
_NO_COMMUNITY = "未分社区"


# -- shared SQL helpers -----------------------------------------------------------------------


def _sqlite_offset() -> str:
    # China keeps UTC+8 all year (no daylight saving since 1991): one fixed offset is exact.
    offset = STAFF_TIMEZONE.utcoffset(datetime(2026, 1, 1)) or timedelta()
    return f"'{int(offset.total_seconds() // 60):+d} minutes'"


def _local_day(session: Session, moment: Any) -> ColumnElement[Any]:
    """SQL for the Asia/Shanghai day of a stored UTC moment.

    Literal SQL, not bound parameters: PostgreSQL matches a GROUP BY expression to its
    SELECT expression only when both are the same text.
    """
    if session.get_bind().dialect.name == "sqlite":
        # SQLite keeps UTC as naive text (careflow.db.types.UTCDateTime).
        return func.date(moment, literal_column(_sqlite_offset()))
    return cast(func.timezone(literal_column("'Asia/Shanghai'"), moment), Date)


def _as_date(value: Any) -> date | None:
    """A day as SQL returned it (a date on PostgreSQL, ``YYYY-MM-DD`` text on SQLite)."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _community_names(session: Session, codes: Iterable[str | None]) -> dict[str | None, str]:
    """Chinese names of communities (their code if the registry has none)."""
    wanted = {c for c in codes if c is not None}
    names: dict[str | None, str] = {code: code for code in wanted}
    if wanted:
        rows = session.exec(
            select(Area.code, Area.name_zh).where(col(Area.code).in_(sorted(wanted)))
        ).all()
        names.update({code: name for code, name in rows})
    names[None] = _NO_COMMUNITY
    return names


def _buckets(period: Period) -> list[tuple[date, date]]:
    """The period's days, or its weeks (Monday to Sunday, cut at the period's ends)."""
    if len(period.days) <= DAILY_UP_TO:
        return [(day, day) for day in period.days]
    buckets: list[tuple[date, date]] = []
    first = period.start
    while first <= period.end:
        last = min(first + timedelta(days=6 - first.weekday()), period.end)
        buckets.append((first, last))
        first = last + timedelta(days=1)
    return buckets


def _bucket_column(period: Period) -> Column:
    if len(period.days) <= DAILY_UP_TO:
        return Column("day", "日期", "Day", "date")
    return Column("week", "周（起始日）", "Week from", "date")


def _rate(part: int, whole: int) -> float:
    """A share as a fraction (0.875 is 87.5 %), like the micro-wish fill rate."""
    return round(part / whole, 4) if whole else 0.0


# -- elders per tier --------------------------------------------------------------------------


def _tier_spans(
    session: Session, query: FigureQuery
) -> list[tuple[str, str | None, date, date | None, int]]:
    """How many elders held each tier from which local day to which (exclusive, None: still).

    Each assessment is valid from its day until the elder's next assessment or the plan's
    closing, whichever comes first; spans that ended before the period are left out.
    """
    period = query.period
    a = TierAssessment
    closed = (
        select(func.min(CaseRecord.created_at))
        .where(
            CaseRecord.process == TIERS_PROCESS,
            CaseRecord.kind == "plan_closed",
            col(CaseRecord.case_ref) == col(a.elder_ref),
            col(CaseRecord.district) == col(a.district),
            col(CaseRecord.created_at) >= col(a.assessed_at),
        )
        .correlate(a)
        .scalar_subquery()
    )
    following = func.lead(col(a.assessed_at)).over(
        partition_by=col(a.elder_ref), order_by=(col(a.assessed_at), col(a.id))
    )
    spans = (
        sql_select(
            col(a.tier).label("tier"),
            col(TierCarePlan.community).label("community"),
            col(a.assessed_at).label("since"),
            following.label("next_at"),
            closed.label("closed_at"),
        )
        .select_from(a)
        .join(TierCarePlan, col(TierCarePlan.elder_ref) == col(a.elder_ref), isouter=True)
        .where(col(a.district) == query.district, col(a.assessed_at) < period.until)
    )
    if query.communities is not None:
        spans = spans.where(col(TierCarePlan.community).in_(sorted(query.communities)))
    s = spans.subquery()
    start_day = _local_day(session, s.c.since)
    next_day = _local_day(session, s.c.next_at)
    closed_day = _local_day(session, s.c.closed_at)
    # Wider than sqlmodel's typed ``select`` overloads: SQLAlchemy's own, through ``execute``.
    rows = session.execute(
        sql_select(s.c.tier, s.c.community, start_day, next_day, closed_day, func.count())
        .where(
            or_(s.c.next_at.is_(None), s.c.next_at >= period.since),
            or_(s.c.closed_at.is_(None), s.c.closed_at >= period.since),
        )
        .group_by(s.c.tier, s.c.community, start_day, next_day, closed_day)
    ).all()
    out: list[tuple[str, str | None, date, date | None, int]] = []
    for tier, community, since, next_at, closed_at, n in rows:
        first = _as_date(since)
        assert first is not None
        ends = [d for d in (_as_date(next_at), _as_date(closed_at)) if d is not None]
        out.append((str(tier), community, first, min(ends) if ends else None, int(n)))
    return out


def _daily_tiers(
    spans: Sequence[tuple[str, str | None, date, date | None, int]], period: Period
) -> dict[str, list[int]]:
    """Elders of each tier at the end of every day of the period (difference arrays)."""
    days = len(period.days)
    diff = {tier: [0] * (days + 1) for tier in _TIERS}
    for tier, _community, since, until, n in spans:
        if tier not in diff:
            continue
        first = max((since - period.start).days, 0)
        # ``until`` is the first day the elder no longer holds the tier at its end.
        last = days - 1 if until is None else min((until - period.start).days - 1, days - 1)
        if first > last:
            continue
        diff[tier][first] += n
        diff[tier][last + 1] -= n
    daily: dict[str, list[int]] = {}
    for tier, steps in diff.items():
        running, values = 0, []
        for step in steps[:days]:
            running += step
            values.append(running)
        daily[tier] = values
    return daily


def _tiers_on(
    spans: Sequence[tuple[str, str | None, date, date | None, int]], day: date
) -> dict[str | None, Counter[str]]:
    """Elders of each tier per community at the end of ``day``."""
    out: dict[str | None, Counter[str]] = defaultdict(Counter)
    for tier, community, since, until, n in spans:
        if tier in _TIERS and since <= day and (until is None or until > day):
            out[community][tier] += n
    return out


# -- visits -----------------------------------------------------------------------------------


def _visit_rows(
    session: Session, query: FigureQuery
) -> list[tuple[str | None, date, int, int, int, int, int]]:
    """Per community and local day of opening: visits due, done, made, missed, open.

    A visit is due when the care plan opens its task (the cycle's day); cancelled tasks (a
    plan closed while the visit was open) were not due after all and are left out.
    """
    period = query.period
    t = Task
    day = _local_day(session, col(t.opened_at))
    status = col(t.status)
    result: Any = col(t.result)
    visited = result["visited"].as_boolean()
    statement = (
        sql_select(
            col(t.community),
            day,
            func.count(),
            func.sum(case((status == TaskStatus.DONE.value, 1), else_=0)),
            func.sum(case((and_(status == TaskStatus.DONE.value, visited.is_(True)), 1), else_=0)),
            func.sum(case((status == TaskStatus.EXPIRED.value, 1), else_=0)),
            func.sum(case((status == TaskStatus.OPEN.value, 1), else_=0)),
        )
        .where(
            col(t.process) == TIERS_PROCESS,
            col(t.district) == query.district,
            # The care plan's own visits (``visit.3``), not a district step's tasks.
            col(t.step_key).like("visit.%"),
            col(t.step_key).not_like("visit.%.%"),
            status != TaskStatus.CANCELLED.value,
            col(t.opened_at) >= period.since,
            col(t.opened_at) < period.until,
        )
        .group_by(col(t.community), day)
    )
    if query.communities is not None:
        statement = statement.where(col(t.community).in_(sorted(query.communities)))
    out: list[tuple[str | None, date, int, int, int, int, int]] = []
    for community, opened, due, done, made, missed, still_open in session.execute(statement).all():
        local = _as_date(opened)
        assert local is not None
        out.append(
            (community, local, int(due), int(done), int(made or 0), int(missed), int(still_open))
        )
    return out


# -- the section ------------------------------------------------------------------------------


def _order(community: str | None) -> tuple[bool, str]:
    return (community is None, community or "")


def compute(session: Session, query: FigureQuery) -> Section:
    """The tiers section of ``query``'s district and communities over its period."""
    period = query.period
    spans = _tier_spans(session, query)
    daily = _daily_tiers(spans, period)
    at_end = _tiers_on(spans, period.end)
    visits = _visit_rows(session, query)
    names = _community_names(session, [*at_end, *(v[0] for v in visits)])
    buckets = _bucket_column(period)
    index = {day: n for n, day in enumerate(period.days)}

    over_time: list[tuple[Any, ...]] = []
    if any(any(values) for values in daily.values()):
        for first, last in _buckets(period):
            counts = [daily[tier][index[last]] for tier in _TIERS]
            over_time.append((first, *counts, sum(counts)))

    by_community: list[tuple[Any, ...]] = []
    for community in sorted(at_end, key=_order):
        counts = [at_end[community][tier] for tier in _TIERS]
        if sum(counts):
            by_community.append((names[community], *counts, sum(counts)))

    per_community: dict[str | None, Counter[str]] = defaultdict(Counter)
    per_day: dict[date, Counter[str]] = defaultdict(Counter)
    for community, opened, due, done, made, missed, still_open in visits:
        for into in (per_community[community], per_day[opened]):
            into.update(due=due, made=made, not_made=done - made, missed=missed, open=still_open)
    visit_rows = [
        (
            names[community],
            c["due"],
            c["made"],
            c["not_made"],
            c["missed"],
            c["open"],
            _rate(c["made"], c["due"]),
        )
        for community, c in sorted(
            per_community.items(), key=lambda item: (-item[1]["missed"], _order(item[0]))
        )
    ]
    visits_over_time: list[tuple[Any, ...]] = []
    if per_day:
        for first, last in _buckets(period):
            total: Counter[str] = Counter()
            for offset in range((last - first).days + 1):
                total.update(per_day.get(first + timedelta(days=offset), Counter()))
            visits_over_time.append((first, total["due"], total["made"], total["missed"]))

    totals: Counter[str] = Counter()
    for c in per_community.values():
        totals.update(c)
    end_counts = {tier: daily[tier][-1] for tier in _TIERS}
    return Section(
        key=FIGURES_KEY,
        title_zh=TITLE_ZH,
        title_en=TITLE_EN,
        headline=(
            # 人 marks the people counts suppression reads; visits are events (次).
            ("红色老人人数（期末）red-tier elders at the end", end_counts["red"]),
            ("黄色老人人数（期末）yellow-tier elders at the end", end_counts["yellow"]),
            ("绿色老人人数（期末）green-tier elders at the end", end_counts["green"]),
            ("应探访（次）visits due", totals["due"]),
            ("已探访（次）visits made", totals["made"]),
            ("逾期未探访（次）visits missed", totals["missed"]),
            ("探访完成率 visits made rate", _rate(totals["made"], totals["due"])),
        ),
        tables=(
            Table(
                key="tiers_over_time",
                title_zh="各级老人人数",
                title_en="Elders per tier",
                columns=(buckets, *_TIER_COLUMNS),
                rows=over_time,
                chart=Chart(kind="stacked_bar", x=buckets.key, series=_TIERS),
                note_zh="每日（或每周最后一天）结束时在册的分级老人人数。",
            ),
            Table(
                key="tiers_by_community",
                title_zh="各社区分级老人人数（期末）",
                title_en="Elders per tier and community at the end of the period",
                columns=(Column("community", "社区", "Community", "text"), *_TIER_COLUMNS),
                rows=by_community,
                chart=Chart(kind="stacked_bar", x="community", series=_TIERS),
                note_zh="按老人关爱计划当前所在社区统计。",
            ),
            Table(
                key="visits_by_community",
                title_zh="上门探访完成情况（按社区）",
                title_en="Home visits per community",
                columns=(
                    Column("community", "社区", "Community", "text"),
                    Column("due", "应探访", "Due", "count"),
                    Column("made", "已探访", "Made", "count"),
                    Column("not_made", "上门未见", "Not made", "count"),
                    Column("missed", "逾期未探访", "Missed", "count"),
                    Column("open", "待探访", "Open", "count"),
                    Column("made_rate", "完成率", "Made rate", "percent"),
                ),
                rows=visit_rows,
                chart=Chart(kind="bar", x="community", series=("due", "made", "missed")),
                note_zh="本期内开出的探访工单（红色、黄色老人），状态截至统计时；"
                "逾期未探访的社区排在前面。",
            ),
            Table(
                key="visits_over_time",
                title_zh="上门探访（按开单日）",
                title_en="Home visits by the day they fell due",
                columns=(
                    buckets,
                    Column("due", "应探访", "Due", "count"),
                    Column("made", "已探访", "Made", "count"),
                    Column("missed", "逾期未探访", "Missed", "count"),
                ),
                rows=visits_over_time,
                chart=Chart(kind="line", x=buckets.key, series=("due", "made", "missed")),
            ),
        ),
    )


FIGURES_KEY = "eldercare.tiers"
TITLE_ZH = "三色分级"
TITLE_EN = "Three-colour tiers"

FIGURES = FigureSpec(
    key=FIGURES_KEY,
    title_zh=TITLE_ZH,
    title_en=TITLE_EN,
    compute=compute,
    order=40,
    processes=(TIERS_PROCESS,),
)
"""The tiers section, shown for districts that run tiered care (``eldercare.tiers``)."""

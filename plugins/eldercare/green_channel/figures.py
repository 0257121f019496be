"""The green channel's section 急诊绿色通道 of a district report: cases, minutes from opening to
arrival at hospital, where elders were admitted, how cases ended, follow-ups done on time.

What counts (all of it written by the channel's workflow, see ``workflows.py``):

* The *cases* 病例 are the channels opened in the period: their ``green_channel_opened`` case
  record falls within its local days. Arrival, admission and outcome are those of these
  cases, whenever they came (a case opened late on the last day and arriving after midnight
  counts with its opening). A channel the registry check refused records
  ``green_channel_rejected`` instead and is counted apart (未受理).
* *Minutes to arrival* 开通至到院: ``minutes_to_arrival`` of the ``arrived`` record (opening to
  the arrival task's completion). The median is the middle value (the mean of the two middle
  ones for an even count), p90 the nearest-rank 90th percentile: the smallest value at least
  90 % of the cases do not exceed. Both are computed here from the cases' minutes (a district
  has ~500 cases a year); the bands are counted in SQL, each holding its upper bound.
* *Admitted* 接收: the hospital accepted at the first booking (``hospital_accepted`` at
  ``booking.1.response``, the partner hospital 合作医院), at the second (the fallback hospital
  备用医院), or the district admin arranged one (``hospital_arranged``); ``no_hospital`` when
  none did; *booking* 预约中 while none of these is recorded yet.
* *Outcome* 结案结果: the ``outcome`` of the ``green_channel_closed`` record, or in progress
  处理中 while the case is open.
* *Follow-ups* 随访: the ``follow_up.d<N>`` tasks opened in the period. On time 按时: done no
  later than ``due_at`` and never escalated (escalation moves ``due_at`` to the next role's
  deadline); late 逾期完成: done otherwise; missed 未完成: expired; open 待完成; cancelled
  已取消 (the process was terminated).

Case records name no community: a case takes the community of its tasks (every task of a
channel carries the process's community), so a case without a community (staff opened it
without one) counts for whole-district viewers only.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, case, false, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from careflow.db.tables import Area, CaseRecord, Task
from careflow.figures import Chart, Column, FigureQuery, FigureSpec, Section, Table
from careflow.figures.sql import count_where
from careflow.models import TaskStatus
from plugins.eldercare.green_channel.models import GREEN_CHANNEL_PROCESS, GreenChannelOutcome

__all__ = [
    "FIGURES",
    "FIGURES_KEY",
    "MINUTE_BANDS",
    "NO_COMMUNITY_ZH",
    "compute",
    "median",
    "p90",
]

FIGURES_KEY = "eldercare.green_channel"
NO_COMMUNITY_ZH = "未指定社区"
"""The row of cases that name no community (seen by whole-district viewers only)."""

MINUTE_BANDS: tuple[tuple[str, float | None], ...] = (
    ("≤30", 30),
    ("31–60", 60),
    ("61–90", 90),
    ("91–120", 120),
    (">120", None),
)
"""The bands of minutes to arrival: label and upper bound (included); the last is open."""

_ADMISSIONS: tuple[tuple[str, str, str], ...] = (
    ("partner_hospital", "合作医院接收", "Admitted at the partner hospital"),
    ("fallback_hospital", "备用医院接收", "Admitted at the fallback hospital"),
    ("hospital_arranged", "区民政协调医院接收", "Hospital arranged by the district"),
    (GreenChannelOutcome.NO_HOSPITAL.value, "未落实接收医院", "No hospital"),
    ("booking", "预约中", "Booking under way"),
)
_OUTCOMES: tuple[tuple[str, str, str], ...] = (
    (GreenChannelOutcome.COMPLETED.value, "出院结案", "Discharged, closed"),
    (GreenChannelOutcome.DISCHARGE_UNCONFIRMED.value, "出院未确认", "Discharge unconfirmed"),
    (GreenChannelOutcome.DECEASED.value, "离世", "Deceased"),
    (GreenChannelOutcome.NO_HOSPITAL.value, "未落实接收医院", "No hospital"),
    ("open", "处理中", "In progress"),
)
_FOLLOW_UP = "follow_up.d"


def median(values: Sequence[float]) -> float | None:
    """The middle value (mean of the two middle ones), one decimal; None without values."""
    return round(statistics.median(values), 1) if values else None


def p90(values: Sequence[float]) -> float | None:
    """The nearest-rank 90th percentile, one decimal; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[math.ceil(0.9 * len(ordered)) - 1], 1)


def _cases(query: FigureQuery) -> Any:
    """The cases opened in the period, one row each: workflow id and community."""
    community = (
        select(col(Task.workflow_id), func.min(col(Task.community)).label("community"))
        .where(col(Task.process) == GREEN_CHANNEL_PROCESS, col(Task.district) == query.district)
        .group_by(col(Task.workflow_id))
        .subquery("case_community")
    )
    statement = (
        select(col(CaseRecord.workflow_id), community.c.community)
        .outerjoin(community, community.c.workflow_id == col(CaseRecord.workflow_id))
        .where(
            col(CaseRecord.process) == GREEN_CHANNEL_PROCESS,
            col(CaseRecord.district) == query.district,
            col(CaseRecord.kind) == "green_channel_opened",
            col(CaseRecord.created_at) >= query.period.since,
            col(CaseRecord.created_at) < query.period.until,
        )
    )
    if query.communities is not None:
        statement = statement.where(community.c.community.in_(sorted(query.communities)))
    return statement.subquery("cases")


def _records_of(cases: Any, *kinds: str) -> Any:
    """``case_record`` rows of the cases, of ``kinds`` (a join condition and a filter)."""
    return and_(
        col(CaseRecord.workflow_id) == cases.c.workflow_id,
        col(CaseRecord.process) == GREEN_CHANNEL_PROCESS,
        col(CaseRecord.kind).in_(kinds),
    )


def _per_community(session: Session, cases: Any) -> dict[str, int]:
    statement = select(cases.c.community, func.count()).group_by(cases.c.community)
    return {community or "": int(n) for community, n in session.exec(statement)}


def _minutes(session: Session, cases: Any) -> list[tuple[str, float]]:
    """(community, minutes to arrival) of every case that arrived: at most a few hundred."""
    minutes = col(CaseRecord.data)["minutes_to_arrival"].as_float()
    statement = (
        select(cases.c.community, minutes)
        .select_from(cases)
        .join(CaseRecord, _records_of(cases, "arrived"))
    )
    return [(c or "", float(m)) for c, m in session.exec(statement) if m is not None]


def _bands(session: Session, cases: Any) -> list[int]:
    minutes = col(CaseRecord.data)["minutes_to_arrival"].as_float()
    columns = []
    lower: float | None = None
    for _, upper in MINUTE_BANDS:
        within = [minutes > lower] if lower is not None else []
        if upper is not None:
            within.append(minutes <= upper)
        columns.append(count_where(and_(*within)))
        lower = upper
    statement = select(*columns).select_from(cases).join(CaseRecord, _records_of(cases, "arrived"))
    row = session.exec(statement).one()
    return [int(n or 0) for n in row]


def _admissions(session: Session, cases: Any) -> dict[str, int]:
    """How many cases were admitted where (``booking`` is left for the caller)."""
    # The workflow books the partner hospital first and the fallback second (a district
    # without a partner books its one hospital first: it is then reported as the partner's).
    where = case(
        (col(CaseRecord.kind) == "hospital_arranged", "hospital_arranged"),
        (col(CaseRecord.step_key) == "booking.1.response", "partner_hospital"),
        else_="fallback_hospital",
    ).label("admission")
    admitted = (
        select(where, func.count(cases.c.workflow_id.distinct()))
        .select_from(cases)
        .join(CaseRecord, _records_of(cases, "hospital_accepted", "hospital_arranged"))
        .group_by(where)
    )
    counts = {str(code): int(n) for code, n in session.exec(admitted)}
    counts[GreenChannelOutcome.NO_HOSPITAL.value] = _outcomes(session, cases).get(
        GreenChannelOutcome.NO_HOSPITAL.value, 0
    )
    return counts


def _outcomes(session: Session, cases: Any) -> dict[str, int]:
    outcome = col(CaseRecord.data)["outcome"].as_string().label("outcome")
    statement = (
        select(outcome, func.count())
        .select_from(cases)
        .join(CaseRecord, _records_of(cases, "green_channel_closed"))
        .group_by(outcome)
    )
    return {str(code): int(n) for code, n in session.exec(statement)}


def _ambulances(session: Session, cases: Any) -> int:
    statement = (
        select(func.count(cases.c.workflow_id.distinct()))
        .select_from(cases)
        .join(CaseRecord, _records_of(cases, "ambulance_120_called"))
    )
    return int(session.exec(statement).one())


def _rejected(session: Session, query: FigureQuery) -> int:
    """Channels the registry check refused in the period (they open no task: no community,
    so only whole-district viewers count them)."""
    if query.communities is not None:
        return 0
    statement = select(func.count()).where(
        col(CaseRecord.process) == GREEN_CHANNEL_PROCESS,
        col(CaseRecord.district) == query.district,
        col(CaseRecord.kind) == "green_channel_rejected",
        col(CaseRecord.created_at) >= query.period.since,
        col(CaseRecord.created_at) < query.period.until,
    )
    return int(session.exec(statement).one())


def _follow_ups(session: Session, query: FigureQuery) -> list[tuple[int, tuple[int, ...]]]:
    """Per follow-up day: due, on time, late, missed, open, cancelled (tasks opened in the
    period), in day order."""
    done = col(Task.status) == TaskStatus.DONE.value
    on_time = and_(
        done,
        col(Task.closed_at) <= col(Task.due_at),
        col(Task.escalation_level) == 0,
        col(Task.overdue).is_(false()),
    )
    late = and_(
        done,
        or_(
            col(Task.closed_at) > col(Task.due_at),
            col(Task.escalation_level) > 0,
            col(Task.overdue).is_not(false()),
        ),
    )
    # Seven columns: more than sqlmodel's typed select takes, so SQLAlchemy's own.
    statement = (
        sa_select(
            col(Task.step_key).label("step_key"),
            func.count().label("due"),
            count_where(on_time).label("on_time"),
            count_where(late).label("late"),
            count_where(col(Task.status) == TaskStatus.EXPIRED.value).label("missed"),
            count_where(col(Task.status) == TaskStatus.OPEN.value).label("open"),
            count_where(col(Task.status) == TaskStatus.CANCELLED.value).label("cancelled"),
        )
        .where(
            col(Task.process) == GREEN_CHANNEL_PROCESS,
            col(Task.district) == query.district,
            col(Task.step_key).startswith(_FOLLOW_UP),
            col(Task.opened_at) >= query.period.since,
            col(Task.opened_at) < query.period.until,
        )
        .group_by(col(Task.step_key))
    )
    if query.communities is not None:
        statement = statement.where(col(Task.community).in_(sorted(query.communities)))
    rows = []
    for key, *counts in session.execute(statement):
        day = str(key).removeprefix(_FOLLOW_UP)
        if day.isdigit():
            rows.append((int(day), tuple(int(n or 0) for n in counts)))
    return sorted(rows)


def _community_names(session: Session, codes: Sequence[str]) -> dict[str, str]:
    named = sorted({c for c in codes if c})
    if not named:
        return {}
    rows = session.exec(select(Area.code, Area.name_zh).where(col(Area.code).in_(named))).all()
    return dict(rows)


def compute(session: Session, query: FigureQuery) -> Section:
    """The green channel's section of ``query``'s district and period.

    Args:
        session: A session on the app database (read only).
        query: The district, period and the communities the viewer covers.

    Returns:
        The section: headline totals with the median and p90 minutes to arrival, tables per
        community, of the minutes' bands, of admissions, of outcomes and of follow-ups;
        empty tables when no case was opened and no follow-up was due in the period.
    """
    cases = _cases(query)
    per_community = _per_community(session, cases)
    total = sum(per_community.values())
    minutes = _minutes(session, cases)
    follow_ups = _follow_ups(session, query)
    names = _community_names(session, list(per_community))

    def community_zh(code: str) -> str:
        return names.get(code, code) if code else NO_COMMUNITY_ZH

    communities = []
    for code in sorted(per_community, key=lambda c: (c == "", c)):
        theirs = [m for c, m in minutes if c == code]
        communities.append(
            (
                community_zh(code),
                code or None,
                per_community[code],
                len(theirs),
                median(theirs),
                p90(theirs),
            )
        )
    by_community = Table(
        key="per_community",
        title_zh="各社区急诊绿色通道",
        title_en="Green channel cases per community",
        columns=(
            Column("community_zh", "社区", "Community", kind="text"),
            Column("community", "社区代码", "Community code", kind="text"),
            Column("cases", "开通病例", "Cases opened", kind="people"),
            Column("arrived", "已到院", "Arrived at hospital", kind="people"),
            Column("median_minutes", "到院用时中位数", "Median minutes", kind="minutes"),
            Column("p90_minutes", "到院用时P90", "P90 minutes", kind="minutes"),
        ),
        rows=communities,
        chart=Chart(kind="bar", x="community_zh", series=("cases", "arrived")),
    )

    # No arrival: no rows (the dashboard says "no data"), not five bands of zeros.
    bands = _bands(session, cases) if minutes else []
    distribution = Table(
        key="arrival_minutes",
        title_zh="开通至到院用时分布",
        title_en="Minutes from opening to arrival at hospital",
        columns=(
            Column("band", "用时（分钟）", "Minutes", kind="text"),
            Column("cases", "病例数", "Cases"),
        ),
        rows=[(label, n) for (label, _), n in zip(MINUTE_BANDS, bands, strict=False)],
        chart=Chart(kind="bar", x="band", series=("cases",)),
        note_zh="各区间含上限：30.5 分钟计入 31–60。",
    )

    admissions: list[tuple[str, str, int]] = []
    outcomes: list[tuple[str, str, int]] = []
    if total:
        admitted = _admissions(session, cases)
        admitted["booking"] = total - sum(admitted.values())
        admissions = [(zh, code, admitted.get(code, 0)) for code, zh, _ in _ADMISSIONS]
        closed = _outcomes(session, cases)
        closed["open"] = total - sum(closed.values())
        known = {code for code, _, _ in _OUTCOMES}
        outcomes = [(zh, code, closed.get(code, 0)) for code, zh, _ in _OUTCOMES]
        # A code this module has no label for yet is still shown, by its code.
        outcomes += [(code, code, n) for code, n in sorted(closed.items()) if code not in known]
    code_columns = (
        Column("label_zh", "结果", "Result", kind="text"),
        Column("code", "代码", "Code", kind="text"),
        Column("cases", "病例数", "Cases"),
    )
    admission_table = Table(
        key="admissions",
        title_zh="接收医院",
        title_en="Where the elders were admitted",
        columns=code_columns,
        rows=admissions,
        chart=Chart(kind="bar", x="label_zh", series=("cases",)),
    )
    outcome_table = Table(
        key="outcomes",
        title_zh="结案结果",
        title_en="Outcomes",
        columns=code_columns,
        rows=outcomes,
        chart=Chart(kind="bar", x="label_zh", series=("cases",)),
    )
    follow_up_table = Table(
        key="follow_ups",
        title_zh="出院后随访",
        title_en="Follow-up visits after discharge",
        columns=(
            Column("day_zh", "随访", "Follow-up", kind="text"),
            Column("due", "应随访", "Due"),
            Column("on_time", "按时完成", "Done on time"),
            Column("late", "逾期完成", "Done late"),
            Column("missed", "未完成", "Missed"),
            Column("open", "待完成", "Open"),
            Column("cancelled", "已取消", "Cancelled"),
        ),
        rows=[(f"出院后第{day}天", *counts) for day, counts in follow_ups],
        chart=Chart(kind="stacked_bar", x="day_zh", series=("on_time", "late", "missed", "open")),
        note_zh="按随访工单开出的日期统计；逾期完成含升级后完成。",
    )
    all_minutes = [m for _, m in minutes]
    return Section(
        key=FIGURES_KEY,
        title_zh="急诊绿色通道",
        title_en="Emergency green channel",
        headline=(
            ("开通病例人次 cases opened", total),
            ("已到院人次 arrived", len(all_minutes)),
            ("到院用时中位数（分钟）median minutes", median(all_minutes)),
            ("到院用时P90（分钟）p90 minutes", p90(all_minutes)),
            ("呼叫120 ambulance called", _ambulances(session, cases) if total else 0),
            ("不符合条件未受理 rejected", _rejected(session, query)),
            ("随访按时完成 follow-ups on time", sum(c[1] for _, c in follow_ups)),
            ("应随访 follow-ups due", sum(c[0] for _, c in follow_ups)),
        ),
        tables=(by_community, distribution, admission_table, outcome_table, follow_up_table),
    )


FIGURES = FigureSpec(
    key=FIGURES_KEY,
    title_zh="急诊绿色通道",
    title_en="Emergency green channel",
    compute=compute,
    order=120,
    processes=(GREEN_CHANNEL_PROCESS,),
)
"""The green channel's section, shown for districts that run it."""

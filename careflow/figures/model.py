"""What a figure section is: a period, a query, tables of counts with an optional chart.

Plain data, no SQL and no I/O. Plugins declare :class:`FigureSpec` s (``CarePlugin.figures``);
each computes one :class:`Section` of a district's report from the app database. The
dashboard, the exports and the weekly report process all read the same sections, so a figure
is computed one way only.

Only counts leave a section, never a person: a table's rows are per district, street,
community, day, role or category. A column whose values count *people* (elders watched,
children with a wish) is of kind ``people``; its values from 1 to 2 are shown as ``"<3"``
(:func:`careflow.figures.suppress`), so that nobody is singled out in a small community.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Literal

from careflow.errors import InputError
from careflow.localtime import STAFF_TIMEZONE

if TYPE_CHECKING:
    from sqlmodel import Session

__all__ = [
    "FIRST_YEAR",
    "LAST_YEAR",
    "MAX_PERIOD_DAYS",
    "SMALL_CELL",
    "Chart",
    "ChartKind",
    "Column",
    "ColumnKind",
    "FigureQuery",
    "FigureSpec",
    "Period",
    "Section",
    "Table",
]

MAX_PERIOD_DAYS = 400
"""Longest period one report covers (a year and a bit: a year-on-year comparison)."""
SMALL_CELL = 3
"""People counts below this (and above 0) are shown as ``"<3"``."""
FIRST_YEAR, LAST_YEAR = 2000, 2999
"""Years a report's days may fall in: a far year holds no record of careflow's, and the
calendar's last day has no day after it to bound the period with."""

ColumnKind = Literal["text", "date", "count", "people", "number", "minutes", "percent"]
"""``count``: events (tasks, readings); ``people``: persons (suppressed below 3);
``number``: any other quantity; ``minutes`` and ``percent`` format as such."""
ChartKind = Literal["bar", "stacked_bar", "line"]


@dataclass(frozen=True, slots=True)
class Period:
    """Whole local days (Asia/Shanghai), ``start`` to ``end`` inclusive."""

    start: date
    end: date

    def __post_init__(self) -> None:
        for name, day in (("from", self.start), ("to", self.end)):
            if not FIRST_YEAR <= day.year <= LAST_YEAR:
                raise InputError(
                    name, f"a day from {FIRST_YEAR} to {LAST_YEAR}, got {day} · 日期超出范围"
                )
        if self.end < self.start:
            raise InputError(
                "to", f"ends before it starts ({self.end} < {self.start}) · 结束早于开始"
            )
        if (self.end - self.start).days + 1 > MAX_PERIOD_DAYS:
            raise InputError("to", f"at most {MAX_PERIOD_DAYS} days in one report · 期间过长")

    @classmethod
    def parse(cls, start: str | date, end: str | date) -> Period:
        """A period from ``YYYY-MM-DD`` strings (or dates).

        Raises:
            InputError: ``from`` or ``to`` is not a date, or the period is empty or too long.
        """
        return cls(_day(start, "from"), _day(end, "to"))

    @classmethod
    def week_before(cls, day: date) -> Period:
        """The Monday-to-Sunday week before the one ``day`` is in (the weekly report's)."""
        monday = day - timedelta(days=day.weekday())
        return cls(monday - timedelta(days=7), monday - timedelta(days=1))

    @property
    def days(self) -> list[date]:
        """Every day of the period, in order."""
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    @property
    def since(self) -> datetime:
        """The period's first moment, in UTC (local midnight of ``start``)."""
        return datetime.combine(self.start, time(), STAFF_TIMEZONE).astimezone(UTC)

    @property
    def until(self) -> datetime:
        """The moment after the period, in UTC (local midnight after ``end``): exclusive."""
        return datetime.combine(self.end + timedelta(days=1), time(), STAFF_TIMEZONE).astimezone(
            UTC
        )

    def local_day(self, moment: datetime) -> date:
        """The local day of a stored moment (naive values are UTC, as careflow stores them)."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(STAFF_TIMEZONE).date()

    def __str__(self) -> str:
        return f"{self.start.isoformat()} – {self.end.isoformat()}"


def _day(value: str | date, name: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise InputError(
            name, f"expected a date YYYY-MM-DD, got {value!r} · 日期格式有误"
        ) from None


@dataclass(frozen=True, slots=True, kw_only=True)
class FigureQuery:
    """What one section is computed for.

    Attributes:
        district: The district code.
        period: The local days covered.
        communities: The communities the viewer's grants cover, or None for the whole
            district; a section counts only records of these communities.
    """

    district: str
    period: Period
    communities: frozenset[str] | None = None

    def covers(self, community: str | None) -> bool:
        """Whether a record of ``community`` counts (a record without one counts only for a
        whole-district viewer)."""
        if self.communities is None:
            return True
        return community is not None and community in self.communities


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a table: its key, its Chinese (and English) header and its kind."""

    key: str
    title_zh: str
    title_en: str = ""
    kind: ColumnKind = "count"


@dataclass(frozen=True, slots=True, kw_only=True)
class Chart:
    """How a table is drawn: ``x`` is a column key, ``series`` the value columns drawn."""

    kind: ChartKind
    x: str
    series: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Table:
    """Rows of counts with their headers; a chart, where one helps, draws the same numbers."""

    key: str
    title_zh: str
    title_en: str = ""
    columns: tuple[Column, ...]
    rows: Sequence[tuple[Any, ...]] = ()
    chart: Chart | None = None
    note_zh: str | None = None

    def column(self, key: str) -> Column:
        """The column named ``key``."""
        for column in self.columns:
            if column.key == key:
                return column
        raise KeyError(key)

    def values(self, key: str) -> list[Any]:
        """The values of one column, row by row."""
        index = [c.key for c in self.columns].index(key)
        return [row[index] for row in self.rows]


@dataclass(frozen=True, slots=True, kw_only=True)
class Section:
    """One area of the report (a process or the tasks): headline figures and tables.

    Attributes:
        headline: ``(label_zh, value)`` pairs shown above the tables (totals, median).
    """

    key: str
    title_zh: str
    title_en: str = ""
    headline: tuple[tuple[str, Any], ...] = ()
    tables: tuple[Table, ...] = ()

    @property
    def empty(self) -> bool:
        """No row in any table: the dashboard says "no data" (暂无数据)."""
        return not any(t.rows for t in self.tables)


@dataclass(frozen=True, kw_only=True)
class FigureSpec:
    """A section a plugin contributes to every district report.

    Attributes:
        key: Unique among all plugins' figures (``eldercare.curtain``).
        title_zh: The section's Chinese title.
        title_en: Its English title.
        order: Sections are shown in (order, key) order.
        compute: ``compute(session, query)`` reads the app database and returns the section;
            read-only, and it counts only what ``query`` covers.
        processes: The processes it reports on: shown for a district running any of them
            (every district when empty).
    """

    key: str
    title_zh: str
    title_en: str
    compute: Callable[[Session, FigureQuery], Section]
    order: int = 100
    processes: tuple[str, ...] = field(default=())

"""SQL pieces every figures section needs, the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, case, func, literal_column

from careflow.figures.model import FigureQuery
from careflow.localtime import STAFF_TIMEZONE

if TYPE_CHECKING:
    from sqlmodel import Session

__all__ = ["count_where", "local_day_sql"]


def local_day_sql(session: Session, moment: Any, query: FigureQuery) -> ColumnElement[str]:
    """The local day (Asia/Shanghai) of a stored UTC moment, as ``YYYY-MM-DD`` text, in SQL.

    China keeps UTC+8 without daylight saving, so one fixed offset (the zone's at the
    period's start) is exact. It is written into the SQL as a literal, not a bind parameter:
    PostgreSQL only accepts a grouped expression whose text repeats the selected one exactly.
    """
    offset = query.period.since.astimezone(STAFF_TIMEZONE).utcoffset() or timedelta(0)
    seconds = int(offset.total_seconds())
    if session.get_bind().dialect.name == "sqlite":
        # Stored as naive UTC text; date() applies the modifier and keeps the day.
        return func.date(moment, literal_column(f"'{seconds:+d} seconds'"))
    return func.to_char(
        func.timezone(literal_column(f"interval '{seconds} seconds'"), moment),
        literal_column("'YYYY-MM-DD'"),
    )


def count_where(condition: ColumnElement[bool]) -> Any:
    """SQL counting the grouped rows for which ``condition`` holds."""
    return func.sum(case((condition, 1), else_=0))

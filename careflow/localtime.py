"""Times as staff read them: Asia/Shanghai (北京时间), to the minute.

Everything careflow stores or exchanges keeps UTC (the database, Temporal, ``--json``); only
what a person reads goes through :func:`local_minute`. Pure module: it never reads the clock
or the environment, so workflows import it through the sandbox passthrough (the UI's current
details) and the same value always formats the same way, which keeps replay deterministic.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["STAFF_TIMEZONE", "local_minute"]


def _staff_timezone() -> tzinfo:
    try:
        return ZoneInfo("Asia/Shanghai")
    except ZoneInfoNotFoundError:
        # No tz database on the host (e.g. a slim container without ``tzdata``): China has kept
        # UTC+8 without daylight saving since 1991, so the fixed offset gives the same times.
        return timezone(timedelta(hours=8), "CST")


STAFF_TIMEZONE: tzinfo = _staff_timezone()
"""The time zone staff work in (Asia/Shanghai)."""


def local_minute(value: datetime | str | None, *, missing: str = "-") -> str:
    """Format a moment for people: ``2026-03-01 16:05`` in Asia/Shanghai.

    Args:
        value: An aware datetime, an ISO 8601 string (as ``--json`` and queries carry them),
            or None. A naive value is taken as UTC, which is how careflow stores times.
        missing: What to show for None or an empty string.

    Returns:
        ``YYYY-MM-DD HH:MM`` local time; seconds and microseconds are dropped (truncated, so a
        due time is never shown later than it is).

    Raises:
        ValueError: ``value`` is a string that is not an ISO 8601 date-time.
    """
    if value is None or value == "":
        return missing
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(STAFF_TIMEZONE).strftime("%Y-%m-%d %H:%M")

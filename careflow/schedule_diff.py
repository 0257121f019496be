"""Whether a Temporal schedule already is what the plugins want, so sync can leave it alone.

Temporal does not hand back a schedule as it was written: cron expressions come back as
calendars and the action's arguments as payloads. These helpers compare meaning, not form;
anything they cannot compare counts as changed, so the worst case is a needless update.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.client import (
    ScheduleAction,
    ScheduleActionStartWorkflow,
    ScheduleCalendarSpec,
    ScheduleRange,
    ScheduleSpec,
)
from temporalio.converter import DataConverter

__all__ = ["same_action", "same_spec"]

# Each calendar field as its sorted values (empty: any year); seconds and years have no cron
# field. Sorted tuples, unlike sets, order totally, so lists of calendars can be compared.
_Calendar = tuple[tuple[int, ...], ...]
_CRON_FIELDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))


def _cron_field(text: str, low: int, high: int) -> tuple[int, ...]:
    """The values one cron field matches; ``ValueError`` for what it does not understand."""
    values: set[int] = set()
    for part in text.split(","):
        span, slash, step_text = part.partition("/")
        step = int(step_text) if slash else 1
        if span == "*":
            start, end = low, high
        elif "-" in span:
            first, last = span.split("-", 1)
            start, end = int(first), int(last)
        else:
            start = int(span)
            end = high if slash else start
        if step < 1 or start < low:
            raise ValueError(part)
        values.update(range(start, end + 1, step))
    if high == 6:  # day of week: cron's 7 is Sunday too
        values = {0 if v == 7 else v for v in values}
    return tuple(sorted(values))


def _cron_calendar(cron: str) -> _Calendar:
    fields = cron.split()
    if len(fields) != len(_CRON_FIELDS):
        raise ValueError(cron)
    matched = [
        _cron_field(f, low, high) for f, (low, high) in zip(fields, _CRON_FIELDS, strict=True)
    ]
    minute, hour, day, month, weekday = matched
    return ((0,), minute, hour, day, month, (), weekday)


def _ranges(ranges: Sequence[ScheduleRange]) -> tuple[int, ...]:
    values = {v for r in ranges for v in range(r.start, max(r.end, r.start) + 1, r.step or 1)}
    return tuple(sorted(values))


def _calendar(spec: ScheduleCalendarSpec) -> _Calendar:
    fields = (spec.second, spec.minute, spec.hour, spec.day_of_month, spec.month, spec.year)
    return (*(_ranges(f) for f in fields), _ranges(spec.day_of_week))


def same_spec(existing: ScheduleSpec, wanted: ScheduleSpec) -> bool:
    """Whether ``existing`` (as described by Temporal) fires when ``wanted`` (crons) would."""
    if (
        existing.time_zone_name != wanted.time_zone_name
        or existing.intervals
        or existing.skip
        or existing.start_at
        or existing.end_at
        or existing.jitter
        or list(existing.cron_expressions) != []
    ):
        return False
    try:
        want = sorted(_cron_calendar(c) for c in wanted.cron_expressions)
    except ValueError:
        return False
    have = sorted(_calendar(c) for c in existing.calendars)
    return have == want


async def same_action(
    converter: DataConverter, existing: ScheduleAction, wanted: ScheduleActionStartWorkflow
) -> bool:
    """Whether ``existing`` starts the same workflow with the same input as ``wanted``."""
    if not isinstance(existing, ScheduleActionStartWorkflow):
        return False
    for attr in ("workflow", "id", "task_queue", "execution_timeout", "run_timeout"):
        if getattr(existing, attr) != getattr(wanted, attr):
            return False
    if existing.task_timeout != wanted.task_timeout or existing.retry_policy != wanted.retry_policy:
        return False
    # Described args are raw payloads; both sides become plain JSON values (codec applied).
    have_args: list[Any] = list(existing.args)
    if have_args and isinstance(have_args[0], Payload):
        have_args = await converter.decode(have_args)
    want_args = await converter.decode(await converter.encode(list(wanted.args)))
    if have_args != want_args:
        return False
    summary: Any = existing.static_summary
    if isinstance(summary, Payload):
        (summary,) = await converter.decode([summary])
    return (summary or None) == (wanted.static_summary or None)

"""The module's schedule: every morning, each district's overdue loans are counted."""

from __future__ import annotations

from careflow.contract import ScheduleSpec
from careflow_aids_loan.models import OVERDUE_REPORT_PROCESS, OVERDUE_SCHEDULE

__all__ = ["OVERDUE_SWEEP"]

OVERDUE_SWEEP = ScheduleSpec(
    id=OVERDUE_SCHEDULE,
    process=OVERDUE_REPORT_PROCESS,
    title_zh="每天8点统计逾期未还辅具",
    crons=("0 8 * * *",),  # 08:00 in the spec's time zone, Asia/Shanghai
)
"""One Temporal Schedule per district where the report is enabled (every district)."""

"""Models of the weekly report process: its request, params, activity input and results.

Pure (no I/O, no clock): the workflow imports them through the sandbox passthrough. Nothing
here carries personal data: a run passes a district code, dates, a file id and counts.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from careflow.inputs import ExternalModel

__all__ = [
    "FILES_PATH",
    "REPORT_TEMPLATE",
    "WEEKLY_PROCESS",
    "ActivityNames",
    "BuildInput",
    "BuildResult",
    "WeeklyParams",
    "WeeklyRequest",
    "WeeklyResult",
    "file_link",
]

WEEKLY_PROCESS = "reports.weekly"
REPORT_TEMPLATE = "weekly_report"
"""The notification template the district admins are told with."""
FILES_PATH = "/api/v1/reports/files"
"""Where the staff service serves a stored workbook (``<FILES_PATH>/<id>``)."""


def file_link(file_id: int) -> str:
    """The staff service's link to a stored report file."""
    return f"{FILES_PATH}/{file_id}"


class ActivityNames:
    """Names of this plugin's activities, called by name from the workflow."""

    BUILD_WEEKLY = "reports.build_weekly"


class WeeklyRequest(ExternalModel):
    """What starts a weekly report (the Monday schedule passes an empty request)."""

    as_of: date | None = Field(
        default=None,
        title="日期 As of",
        description="报告此日所在周的上一周（周一至周日）；默认今天。 "
        "Report the Monday-Sunday week before this day's week; default: today (Asia/Shanghai).",
    )


class WeeklyParams(BaseModel):
    """What a district may set: when its weekly report is made."""

    run_time: str = Field(
        default="07:30",
        pattern=r"^(?:[01]\d|2[0-3]):[0-5]\d$",
        description="Local time (Asia/Shanghai) of the Monday run; sets the schedule's cron.",
    )


class BuildInput(BaseModel):
    """Build and store one district's workbook for one week (idempotent on the week)."""

    workflow_id: str
    district: str
    start: date
    end: date


class BuildResult(BaseModel):
    """The stored workbook: its id and what it holds (counts, never a person)."""

    file_id: int
    size: int
    sha256: str
    created_at: datetime
    stored_by: str = Field(description="The workflow id of the run that stored the file.")
    stored_here: bool = Field(
        description="Whether the asking run stored it (a retry of that run included): decided "
        "by the activity, so a replay reads it from the history."
    )


class WeeklyResult(BaseModel):
    """What a weekly report run did."""

    district: str
    start: date
    end: date
    file_id: int
    link: str
    stored: bool = Field(description="False when an earlier run had stored this week already.")

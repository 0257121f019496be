"""Pure models of the curtain appointment 窗帘之约: requests, params, results, events and
activity payloads. Workflows import this module: data shapes and names only."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from careflow.contract import CareEvent
from careflow.inputs import ExternalModel, Ref, RegistryRef
from careflow.models import ChildStart, process_workflow_id
from careflow.params import PositiveDuration

__all__ = [
    "AWAY_PROCESS",
    "BATCH_WORKFLOW",
    "CHECK_PROCESS",
    "ROUND_PROCESS",
    "AwayFileInput",
    "AwayNoticeEvent",
    "AwayParams",
    "AwayQuery",
    "AwayRequest",
    "AwayResult",
    "CurtainActivity",
    "CurtainBatchInput",
    "CurtainBatchResult",
    "CurtainCheckParams",
    "CurtainCheckRequest",
    "CurtainCheckResult",
    "CurtainOutcome",
    "CurtainReportEvent",
    "CurtainRoundParams",
    "CurtainRoundRequest",
    "CurtainRoundResult",
    "ElderContacts",
    "VolunteerNoticeInput",
    "WatchEntry",
    "WatchPage",
    "WatchPageInput",
    "batch_case_ref",
    "check_case_ref",
    "report_workflow_id",
]

ROUND_PROCESS = "eldercare.curtain_round"
CHECK_PROCESS = "eldercare.curtain_check"
AWAY_PROCESS = "eldercare.curtain_away"
#: The batch workflow type, also the first part of its id (it is not a process of its own).
BATCH_WORKFLOW = "eldercare.curtain_batch"


def check_case_ref(elder_ref: str, day: date) -> str:
    """The case ref of one elder's check on one day; reporters address events to it."""
    # Not ``f"{day:%Y%m%d}"``: strftime imports ``time`` on every call, which in the workflow
    # sandbox goes through its import hook (a fifth of a batch's workflow time at 500 checks).
    return f"{elder_ref}.{day.year}{day.month:02d}{day.day:02d}"


def batch_case_ref(day: date, number: int) -> str:
    """The case ref of a round's batch ``number`` (from 1) on ``day``, e.g. ``20260302.b3``.

    It depends on the day only, so a round re-run on the same day finds its batches running.
    """
    return f"{day:%Y%m%d}.b{number}"


def report_workflow_id(event: CurtainReportEvent) -> str:
    """Where a curtain report goes: the batch that holds the check, else the check itself.

    The volunteer's notice names the batch (``batch_ref``); a report without it goes to the
    elder's check process (started by staff, or an escalation the batch started), found by
    its case key. A batch's ref is a day and a number, no person's: its id holds it as it is.

    Called by the service only (it keys the case); never from workflow code.
    """
    if event.batch_ref is not None:
        return process_workflow_id(BATCH_WORKFLOW, event.district, event.batch_ref)
    from careflow.privacy.pseudonyms import case_workflow_id  # service side: holds the key

    return case_workflow_id(CHECK_PROCESS, event.district, event.case_ref)


ElderRef = Annotated[Ref, Field(max_length=16), RegistryRef("person", person_kind="elder")]
"""An elder of the registry, in the district of the request or event."""


class CurtainActivity(StrEnum):
    """Names of the curtain appointment's activities."""

    LIST_WATCHED = "eldercare.curtain.list_watched"
    NOTIFY_VOLUNTEERS = "eldercare.curtain.notify_volunteers"
    IS_AWAY = "eldercare.curtain.is_away"
    ELDER_CONTACTS = "eldercare.curtain.elder_contacts"
    FILE_AWAY = "eldercare.curtain.file_away"


class CurtainRoundRequest(ExternalModel):
    """What starts a morning round; the schedule sends nothing and the round uses today."""

    day: date | None = Field(
        default=None,
        title="日期 Day",
        description="查看的日期（本地日期），默认今天。 The local day; today by default.",
    )


class CurtainRoundParams(BaseModel):
    """What a district may set for its morning round."""

    round_time: str = Field(
        default="09:30",
        pattern=r"^(?:[01]\d|2[0-3]):[0-5]\d$",
        description="Local time (Asia/Shanghai) of the morning round; sets the schedule's cron.",
    )
    report_within: PositiveDuration = timedelta(minutes=90)
    batch_size: int = Field(default=500, ge=1, le=1000)
    utc_offset_hours: int = Field(
        default=8, ge=-12, le=14, description="Asia/Shanghai, which has no DST."
    )


class CurtainCheckParams(BaseModel):
    """What a district may set for each elder's check."""

    report_within: PositiveDuration = timedelta(minutes=90)
    call_due: PositiveDuration = timedelta(minutes=30)
    call_escalation_due: PositiveDuration = timedelta(minutes=30)
    door_due: PositiveDuration = timedelta(hours=1)
    door_escalation_due: PositiveDuration = timedelta(minutes=30)


class CurtainCheckRequest(ExternalModel):
    """One elder's check on one morning. Registry ids only.

    A batch starts the check only to escalate: ``report`` then says what the batch saw
    (closed curtains, or no report by the deadline) and the check starts at the phone call.
    """

    elder_ref: ElderRef = Field(
        title="老人编号 Elder", description="老人的登记编号（P…）。 Registry id of the elder (P…)."
    )
    volunteer_ref: Annotated[Ref, Field(max_length=16), RegistryRef("volunteer")] | None = Field(
        default=None,
        title="结对志愿者编号 Volunteer",
        description="负责查看窗帘的志愿者登记编号。 Registry id of the paired volunteer.",
    )
    day: date = Field(title="日期 Day", description="查看的日期。 The morning of the check.")
    due_by: datetime | None = Field(
        default=None,
        title="查看截止时间 Due by",
        description="志愿者须在此之前报告，须带时区。 The volunteer reports by then.",
    )
    report: Literal["closed", "none"] | None = Field(
        default=None,
        title="批次所见 Batch report",
        description="由批次填写：closed 窗帘未拉开；none 截止前无人报告。 "
        "Set by a batch: closed curtains, or no report by the deadline.",
    )
    reported_by: str | None = Field(default=None, max_length=64, title="报告人 Reported by")


class CurtainOutcome(StrEnum):
    """How a morning check ended."""

    OPEN = "open"
    AWAY = "away"
    REACHED_BY_PHONE = "reached_by_phone"
    FINE_AT_DOOR = "fine_at_door"
    EMERGENCY = "emergency"


class CurtainCheckResult(BaseModel):
    """What a check reports."""

    outcome: CurtainOutcome
    green_channel_workflow_id: str | None = None


class WatchEntry(BaseModel):
    """A watched elder and the paired volunteer.

    ``case_key`` is the key of the elder's check case (``<elder>.<day>``), made by the listing
    activity; entries listed before case keys have none.
    """

    elder_ref: str
    volunteer_ref: str
    community: str
    case_key: str | None = None


class WatchPageInput(BaseModel):
    """One page of the watched elders of a district, by elder id."""

    district: str
    day: date
    after: str | None = None
    limit: int


class WatchPage(BaseModel):
    """Watched elders to check, and how many were skipped for an away notice."""

    entries: list[WatchEntry]
    suppressed: int
    last: str | None
    done: bool


class CurtainBatchInput(BaseModel):
    """One batch of checks a round fans out."""

    round_workflow_id: str
    batch_ref: str
    district: str
    day: date
    due_by: datetime
    check: ChildStart
    entries: list[WatchEntry]


class CurtainBatchResult(BaseModel):
    """How one batch's checks ended: open curtains, or an escalation check started."""

    opened: int
    curtains_open: int
    escalated: int


class CurtainRoundResult(BaseModel):
    """What a morning round did."""

    day: date
    watched: int
    suppressed: int
    checks_started: int
    batches: int


class VolunteerNoticeInput(BaseModel):
    """Tell each paired volunteer of a batch that a check waits (one outbox row each)."""

    workflow_id: str
    district: str
    day: date
    due_by: datetime
    entries: list[WatchEntry]
    batch_ref: str | None = None


class AwayQuery(BaseModel):
    """Is the elder away on ``day``?"""

    elder_ref: str
    day: date


class ElderContacts(BaseModel):
    """Who to tell in an emergency, and whether a green channel applies."""

    disability_level: int
    community: str | None
    family_refs: list[str]


class AwayRequest(ExternalModel):
    """An "away until" notice 外出报备 filed by the elder, the family or staff."""

    elder_ref: ElderRef = Field(
        title="老人编号 Elder", description="老人的登记编号（P…）。 Registry id of the elder (P…)."
    )
    away_from: date = Field(title="外出开始日期 Away from")
    away_until: date = Field(
        title="外出结束日期 Away until", description="含当天，期间不查看窗帘。 Inclusive."
    )
    filed_by: Literal["elder", "family", "staff"] = Field(
        default="family",
        title="报备人 Filed by",
        description="elder 老人本人；family 家属；staff 社区工作人员",
    )

    @model_validator(mode="after")
    def _ordered(self) -> AwayRequest:
        if self.away_until < self.away_from:
            raise ValueError("away_until is before away_from")
        return self


class AwayParams(BaseModel):
    """Nothing for a district to set: an away notice is stored as filed."""


class AwayResult(BaseModel):
    """The stored notice."""

    notice_id: int


class AwayFileInput(BaseModel):
    """Store an away notice once per (workflow id, step key)."""

    workflow_id: str
    step_key: str
    district: str
    notice: AwayRequest


class CurtainReportEvent(CareEvent):
    """A volunteer reports the curtains (``careflow event eldercare.curtain_report``).

    ``case_ref`` is ``<elder id>.<YYYYMMDD>``, the check of that elder on that day;
    ``batch_ref`` (from the volunteer's notice) names the round's batch that holds the check.
    """

    curtains: Literal["open", "closed"]
    reporter_ref: Annotated[Ref, Field(max_length=16), RegistryRef("volunteer")] = Field(
        description="Volunteer id."
    )
    batch_ref: str | None = Field(
        default=None, max_length=24, description="The batch of the round, e.g. 20260302.b3."
    )


class AwayNoticeEvent(CareEvent):
    """An elder or family files an away notice (``careflow event eldercare.curtain_away``)."""

    elder_ref: ElderRef
    away_from: date
    away_until: date
    filed_by: Literal["elder", "family", "staff"] = "family"

    def to_request(self) -> AwayRequest:
        """The process request this event starts."""
        return AwayRequest(
            elder_ref=self.elder_ref,
            away_from=self.away_from,
            away_until=self.away_until,
            filed_by=self.filed_by,
        )

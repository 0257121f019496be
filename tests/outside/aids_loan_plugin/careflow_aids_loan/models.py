"""Data shapes of the disability aids loan 辅具租借: ids, requests, params, events, results.

Pure models (pydantic and careflow's pure core only): the workflows import them inside the
sandbox, where this package is imported afresh for each run (it is not one of the worker's
passthrough modules), so nothing here may do I/O or import a library that does.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from careflow.contract import CareEvent
from careflow.inputs import ExternalModel, Ref, RegistryRef
from careflow.models import ProcessContext

__all__ = [
    "AID_TITLES",
    "ASSESSMENT_POINT",
    "ASSESSMENT_STEP",
    "LOAN_POINTS",
    "LOAN_PROCESS",
    "OPEN_STATUSES",
    "OVERDUE_REPORT_PROCESS",
    "OVERDUE_SCHEDULE",
    "REHAB_OFFICER",
    "RETURNED_EVENT",
    "RETURNED_SIGNAL",
    "ActivityNames",
    "AidKind",
    "AidReturnedEvent",
    "AssessmentVerdict",
    "CountOverdueInput",
    "LoanOutcome",
    "LoanParams",
    "LoanRequest",
    "LoanResult",
    "LoanStatus",
    "OpenLoanInput",
    "OverdueCount",
    "OverdueReportParams",
    "OverdueReportRequest",
    "OverdueReportResult",
    "SettleLoanInput",
]

LOAN_PROCESS = "aids_loan.loan"
"""The loan process id (and its workflow's registered name)."""
OVERDUE_REPORT_PROCESS = "aids_loan.overdue_report"
"""The daily overdue report's process id (and its workflow's registered name)."""
OVERDUE_SCHEDULE = "aids_loan.overdue_sweep"
"""The schedule id; Temporal's schedules are ``careflow.aids_loan.overdue_sweep.<district>``."""
REHAB_OFFICER = "rehab_officer"
"""The role this module declares: 康复专员, who assesses loans and chases returns."""

ASSESSMENT_POINT = "assessment"
"""Where the loan's assessment runs: this module's own task, and any district's steps."""
ASSESSMENT_STEP = "aids_loan.assessment"
"""The key of this module's assessment task at :data:`ASSESSMENT_POINT`."""
LOAN_POINTS = (ASSESSMENT_POINT, "after_return")

RETURNED_EVENT = "aids.returned"
"""The event a community desk or a partner sends when the aid comes back."""
RETURNED_SIGNAL = "aid_returned"
"""The loan workflow's signal the event is routed to."""


class AidKind(StrEnum):
    """The aids the city lends."""

    WHEELCHAIR = "wheelchair"
    WALKER = "walker"
    COMMODE = "commode"
    HOSPITAL_BED = "hospital_bed"


AID_TITLES: dict[AidKind, str] = {
    AidKind.WHEELCHAIR: "轮椅",
    AidKind.WALKER: "助行器",
    AidKind.COMMODE: "坐便椅",
    AidKind.HOSPITAL_BED: "护理床",
}
"""What staff and elders read for each aid."""

_AID_DESCRIPTION = "wheelchair 轮椅；walker 助行器；commode 坐便椅；hospital_bed 护理床"

LoanStatus = Literal["on_loan", "overdue", "returned"]
"""A loan row's status in ``al_loan``."""
OPEN_STATUSES: tuple[LoanStatus, ...] = ("on_loan", "overdue")
"""Statuses of a loan whose aid has not come back."""

LoanOutcome = Literal["returned", "declined", "assessment_expired", "not_delivered"]
"""How a loan process ended."""


class ActivityNames:
    """Names of this module's activities, called by name from the workflows."""

    OPEN_LOAN = "aids_loan.open_loan"
    SETTLE_LOAN = "aids_loan.settle_loan"
    COUNT_OVERDUE = "aids_loan.count_overdue"


class LoanRequest(ExternalModel):
    """What starts a loan: the elder (a registry id, never a name), the aid, the term."""

    elder_ref: Annotated[Ref, Field(max_length=16), RegistryRef("person", person_kind="elder")] = (
        Field(
            title="老人编号 Elder",
            description="借用辅具的老人的登记编号（P…）。 Registry id of the elder (P…).",
        )
    )
    aid: AidKind = Field(title="辅具 Aid", description=_AID_DESCRIPTION)
    loan_days: int | None = Field(
        default=None,
        ge=1,
        le=730,
        title="借用天数 Loan days",
        description="留空为本区默认（90天）。 Empty: the district's default (90 days).",
    )


class LoanParams(BaseModel):
    """What a district may set for loans."""

    loan_days: int = Field(default=90, ge=1, le=730, description="Default loan term in days.")
    reminder_before_days: int = Field(
        default=7, ge=0, le=60, description="Days before the due date the elder is reminded."
    )

    @model_validator(mode="after")
    def _reminder_within_term(self) -> LoanParams:
        if self.reminder_before_days >= self.loan_days:
            raise ValueError("reminder_before_days must be shorter than loan_days")
        return self


class AssessmentVerdict(BaseModel):
    """What any step at :data:`ASSESSMENT_POINT` may answer: a refusal stops the loan.

    This module's own task answers with :class:`careflow_aids_loan.forms.AssessmentForm`; a
    district's extra step (a co-sign) counts when its output has ``approved``.
    """

    model_config = ConfigDict(extra="ignore")

    approved: bool


class AidReturnedEvent(CareEvent):
    """The aid came back (``aids.returned``): the case ref names the loan's case."""

    condition: Literal["good", "needs_repair", "damaged"] = Field(
        default="good",
        title="归还状况 Condition",
        description="good 完好；needs_repair 需维修；damaged 损坏",
    )


class OverdueReportRequest(ExternalModel):
    """The daily overdue report takes nothing: the schedule passes an empty request."""


class OverdueReportParams(BaseModel):
    """Nothing for a district to set yet: overdue means past the due date."""


class OpenLoanInput(BaseModel):
    """Write the loan row once the aid is handed over (idempotent on workflow id + step key)."""

    workflow_id: str
    step_key: str
    context: ProcessContext
    aid: AidKind
    due_at: datetime


class SettleLoanInput(BaseModel):
    """Move the loan row of (workflow id, step key) to ``overdue`` or ``returned``."""

    workflow_id: str
    step_key: str
    status: Literal["overdue", "returned"]
    at: datetime
    condition: str | None = None


class CountOverdueInput(BaseModel):
    """Count a district's loans past their due date and not returned, as of a moment."""

    district: str
    as_of: datetime


class OverdueCount(BaseModel):
    """How many loans of the district are overdue."""

    overdue: int


class LoanResult(BaseModel):
    """How one loan ended; ids and dates only."""

    outcome: LoanOutcome
    aid: AidKind
    due_at: str | None = None
    returned_at: str | None = None
    reminded: bool = False
    overdue: bool = False


class OverdueReportResult(BaseModel):
    """What one day's overdue report found."""

    overdue: int

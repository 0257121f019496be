"""Requests, params, events, activity payloads and results of the five-thirty classroom."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from careflow.contract import CareEvent
from careflow.inputs import CaseRef, ExternalModel, Ref, RegistryRef
from careflow.params import NonNegativeDuration, PositiveDuration

__all__ = [
    "CLASSROOM_POINTS",
    "ChildPickup",
    "ClassroomDayParams",
    "ClassroomDayRequest",
    "ClassroomDayResult",
    "ClassroomEnrolEvent",
    "ClassroomParams",
    "ClassroomRequest",
    "ClassroomResult",
    "ClassroomUnenrolEvent",
    "CommunitiesInput",
    "EnrolmentChange",
    "EnrolmentChangeEvent",
    "EnrolmentRequest",
    "EnrolmentResult",
    "Handover",
    "HandoverEvent",
    "HandoverRequest",
    "Roster",
    "RosterInput",
    "SessionOutcome",
    "SetEnrolmentInput",
]

CLASSROOM_POINTS = ("after_check_in", "after_handover", "before_close")

PERSON_REF = r"^P\d{3,}$"

ChildRef = Annotated[Ref, Field(pattern=PERSON_REF), RegistryRef("person", person_kind="child")]
"""A child of the registry, in the district of the request or event."""
GuardianRef = Annotated[Ref, Field(pattern=PERSON_REF), RegistryRef("person", in_district=False)]
"""A person of the registry (a guardian may live in another district)."""


class ClassroomRequest(ExternalModel):
    """One session of one community (the community comes from the process context)."""

    ends_at: datetime | None = Field(
        default=None,
        title="下课时间 Ends at",
        description="课堂结束时间，须带时区；默认为开始时间加课堂时长。 "
        "When the session ends; by default start + session_length.",
    )

    @field_validator("ends_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("ends_at needs a UTC offset, e.g. 2026-12-07T18:30:00+08:00")
        return value


class ClassroomDayRequest(ExternalModel):
    """The scheduled day of a district: one session per community with enrolled children."""


class ClassroomDayParams(BaseModel):
    """The school day has nothing to set; sessions take the classroom's params."""


class ClassroomParams(BaseModel):
    """What a district may set for the classroom."""

    session_length: PositiveDuration = timedelta(hours=2, minutes=30)
    check_in_due: PositiveDuration = timedelta(hours=1)
    check_in_escalation_due: PositiveDuration = timedelta(hours=1)
    late_after: NonNegativeDuration = Field(
        default=timedelta(minutes=30), description="Uncollected this long after the end: call."
    )
    call_due: PositiveDuration = timedelta(minutes=20)
    call_escalation_due: PositiveDuration = timedelta(minutes=30)
    final_wait: PositiveDuration = Field(
        default=timedelta(hours=4), description="After the end, the session closes regardless."
    )

    @model_validator(mode="after")
    def _final_after_late(self) -> ClassroomParams:
        # The late calls open at late_after; closing the session before then skips them.
        if self.final_wait <= self.late_after:
            raise ValueError(f"final_wait must be longer than late_after ({self.late_after})")
        return self


class RosterInput(BaseModel):
    """Whose session: a community code, on which day (consent is checked for it)."""

    community: str
    on: date | None = Field(default=None, description="The session's day; today if unset.")


class ChildPickup(BaseModel):
    """A child on the roster and, by registry id only, who may collect them."""

    child_ref: str
    guardians: list[str] = Field(default_factory=list)
    authorised: list[str] = Field(default_factory=list)


class Roster(BaseModel):
    """The children enrolled in a community's classroom with the guardian's consent on record,
    and the enrolled ones left out for want of it (registry ids)."""

    children: list[ChildPickup] = Field(default_factory=list)
    without_consent: list[str] = Field(default_factory=list)


class CommunitiesInput(BaseModel):
    """Which district's communities run a classroom."""

    district: str


class HandoverRequest(ExternalModel):
    """Argument of the ``hand_over`` Update: who collected which child, who handed over."""

    child_ref: ChildRef
    guardian_ref: GuardianRef
    actor: Ref = Field(description="Staff or volunteer id handing the child over.")


class HandoverEvent(CareEvent):
    """A hand-over entered at the classroom desk (``careflow event``)."""

    child_ref: ChildRef
    guardian_ref: GuardianRef
    actor: Ref


class Handover(BaseModel):
    """A recorded hand-over."""

    child_ref: str
    guardian_ref: str
    actor: str
    at: datetime
    minutes_after_end: float


class SessionOutcome(StrEnum):
    """How a session ended."""

    ALL_COLLECTED = "all_collected"
    NOT_ALL_COLLECTED = "not_all_collected"
    NO_CHILDREN = "no_children"


class ClassroomResult(BaseModel):
    """The session report."""

    outcome: SessionOutcome
    enrolled: int = 0
    present: int = 0
    check_in_missing: bool = False
    handovers: list[Handover] = Field(default_factory=list)
    late: list[str] = Field(default_factory=list, description="Children collected after a call.")
    not_collected: list[str] = Field(default_factory=list)
    refused_pickups: int = 0


class ClassroomDayResult(BaseModel):
    """The sessions a scheduled day started."""

    sessions: list[str] = Field(default_factory=list)


# -- enrolment: staff enrol or withdraw a child through ``careflow event``


class EnrolmentChangeEvent(CareEvent):
    """A change of a child's classroom enrolment entered by community staff.

    The case is the child: ``case_ref`` is the child's registry id and defaults to
    ``child_ref``, so every change of one child goes to the same enrolment process.
    """

    case_ref: Annotated[CaseRef, Field(pattern=PERSON_REF)] = Field(
        description="The child's registry id (P…)."
    )
    child_ref: ChildRef
    actor: Ref = Field(description="Staff id making the change.")
    active: bool = True

    @model_validator(mode="before")
    @classmethod
    def _case_is_child(cls, data: Any) -> Any:
        if isinstance(data, dict) and "child_ref" in data and "case_ref" not in data:
            return {**data, "case_ref": data["child_ref"]}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> EnrolmentChangeEvent:
        if self.case_ref != self.child_ref:
            raise ValueError("case_ref must be the child's registry id (child_ref)")
        if self.community is not None and not self.community.startswith(f"{self.district}."):
            raise ValueError(f"community {self.community!r} is not in {self.district!r}")
        return self


class ClassroomEnrolEvent(EnrolmentChangeEvent):
    """``childcare.classroom_enrol``: enrol a child in their community's classroom."""

    active: Literal[True] = True

    @model_validator(mode="after")
    def _needs_community(self) -> ClassroomEnrolEvent:
        if self.community is None:
            raise ValueError("community is required: the classroom the child joins")
        return self


class ClassroomUnenrolEvent(EnrolmentChangeEvent):
    """``childcare.classroom_unenrol``: the child no longer attends."""

    active: Literal[False] = False


class EnrolmentRequest(ExternalModel):
    """The enrolment process of one child; the changes arrive as ``enrolment_change`` signals."""

    child_ref: ChildRef = Field(
        title="儿童编号 Child", description="儿童的登记编号（P…）。 Registry id of the child (P…)."
    )


class SetEnrolmentInput(BaseModel):
    """Write one enrolment change after checking it against the registry."""

    workflow_id: str
    child_ref: str
    district: str
    community: str | None = None
    active: bool
    on: date


class EnrolmentChange(BaseModel):
    """What one change did: refused (with the reason), applied, or already so."""

    accepted: bool
    reason: str = ""
    reason_zh: str = Field(default="", description="The refusal as staff read it.")
    changed: bool = False
    active: bool
    community: str | None = None


class EnrolmentResult(BaseModel):
    """Every change the enrolment process applied, in order."""

    child_ref: str
    changes: list[EnrolmentChange] = Field(default_factory=list)

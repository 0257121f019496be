"""What travels in and out of a community event: request, params, Updates, events, report.

Pure models (pydantic and the core's input types only): the workflow imports them inside the
sandbox, and clients build the ``register`` / ``cancel`` Updates' arguments from them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator

from careflow.contract import CareEvent
from careflow.inputs import ExternalModel, Ref, RegistryRef
from careflow.params import NonNegativeDuration, PositiveDuration

__all__ = [
    "COMMUNITY_EVENT_POINTS",
    "COMMUNITY_EVENT_PROCESS",
    "PERSON_REF",
    "CancelRequest",
    "CancellationEvent",
    "CommunityEventParams",
    "CommunityEventRequest",
    "CommunityEventResult",
    "EventOutcome",
    "PersonRef",
    "RegisterRequest",
    "RegistrationEvent",
    "RegistrationStatus",
    "RegistrationView",
]

COMMUNITY_EVENT_PROCESS = "community_event"
"""The process id (and the workflow's registered name)."""
COMMUNITY_EVENT_POINTS = (
    "after_registration_closed",
    "after_reminders",
    "after_attendance",
    "before_report",
)

PERSON_REF = r"^P\d{3,}$"
"""Registrants are registry ids, so a typo'd name or a phone number cannot slip in."""

PersonRef = Annotated[Ref, Field(pattern=PERSON_REF), RegistryRef("person")]
"""A registrant: a person of the registry, in the event's district."""


class CommunityEventRequest(ExternalModel):
    """What starts an event. The title is the event's, never a person's."""

    kind: Literal["film_screening", "safety_workshop", "culture_class", "other"] = Field(
        title="活动类型 Kind",
        description=(
            "film_screening 公益观影；safety_workshop 安全教育（安全“童”行）；"
            "culture_class 文化课堂；other 其他"
        ),
    )
    title_zh: str = Field(
        min_length=1,
        max_length=64,
        title="活动名称 Title",
        description="如：公益观影《长津湖》 e.g. 公益观影《长津湖》",
    )
    capacity: int = Field(ge=1, le=2000, title="名额 Capacity", description="人 places")
    starts_at: datetime = Field(
        title="开始时间 Starts at",
        description="开始时间，须带时区（北京时间 +08:00）。 Start time, with a UTC offset.",
    )
    duration: timedelta = Field(
        default=timedelta(hours=2),
        gt=timedelta(0),
        title="时长 Duration",
        description="ISO 8601 时长，如 PT2H 为两小时。 ISO 8601 duration, e.g. PT2H.",
    )
    max_seats_per_registration: int = Field(
        default=4,
        ge=1,
        le=10,
        title="每次报名最多座位 Seats per registration",
        description="家长可为同来的孩子一并报名。 A parent may register children with them.",
    )

    @field_validator("starts_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("starts_at needs a UTC offset, e.g. 2026-12-05T14:00:00+08:00")
        return value


class CommunityEventParams(BaseModel):
    """What a district may set for community events."""

    reminder_lead: NonNegativeDuration = timedelta(days=1)
    attendance_due: PositiveDuration = timedelta(days=1)
    attendance_escalation_due: PositiveDuration = timedelta(days=2)


class RegisterRequest(ExternalModel):
    """Argument of the ``register`` Update."""

    person_ref: PersonRef
    seats: int = Field(default=1, ge=1, le=10)


class CancelRequest(ExternalModel):
    """Argument of the ``cancel`` Update."""

    person_ref: PersonRef


class RegistrationEvent(CareEvent):
    """A registration entered at the community desk (``careflow event``)."""

    person_ref: PersonRef
    seats: int = Field(default=1, ge=1, le=10)


class CancellationEvent(CareEvent):
    """A cancellation entered at the community desk (``careflow event``)."""

    person_ref: PersonRef


class RegistrationStatus(StrEnum):
    """Where a registrant stands."""

    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


class RegistrationView(BaseModel):
    """What ``register`` and ``cancel`` answer."""

    person_ref: str
    status: RegistrationStatus
    seats: int
    waitlist_position: int | None = None
    seats_left: int


class EventOutcome(StrEnum):
    """How an event ended."""

    HELD = "held"
    ATTENDANCE_MISSING = "attendance_missing"


class CommunityEventResult(BaseModel):
    """The event report: what ``careflow status`` and a parent process see."""

    outcome: EventOutcome
    kind: str
    capacity: int
    confirmed: int = Field(description="Registrations holding a place when the event started.")
    seats_confirmed: int
    waitlisted_at_start: int
    cancellations: int
    promoted: int
    reminders_sent: int
    attended: int = 0
    no_shows: int = 0
    walk_ins: int = 0
    attendance_rate: float | None = None

"""Pure models of the green channel: request, params, result, events and activity payloads.

Workflows import this module, so it holds data shapes and names only: no I/O, no clocks. The
process id and the request are shared with the units that start a channel
(:mod:`plugins.eldercare.contracts`) and re-exported here.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from careflow.contract import CareEvent
from careflow.inputs import Ref
from careflow.params import DayList, PositiveDuration
from plugins.eldercare.contracts import GREEN_CHANNEL_PROCESS, ElderRef, GreenChannelRequest

__all__ = [
    "GREEN_CHANNEL_POINTS",
    "GREEN_CHANNEL_PROCESS",
    "BookingInput",
    "BookingReceipt",
    "BookingStatus",
    "BookingUpdateInput",
    "ElderCheck",
    "ElderCheckInput",
    "ElderRef",
    "GreenChannelActivity",
    "GreenChannelOutcome",
    "GreenChannelParams",
    "GreenChannelRequest",
    "GreenChannelResult",
    "HospitalArrivalEvent",
    "HospitalDischargeEvent",
    "HospitalResponseEvent",
    "TriageLevel",
]

GREEN_CHANNEL_POINTS = (
    "before_triage",
    "after_triage",
    "before_booking",
    "after_arrival",
    "after_discharge",
    "before_close",
)


class GreenChannelActivity(StrEnum):
    """Names of the green channel's activities."""

    CHECK_ELDER = "eldercare.green_channel.check_elder"
    BOOK_HOSPITAL = "eldercare.green_channel.book_hospital"
    UPDATE_BOOKING = "eldercare.green_channel.update_booking"


class TriageLevel(StrEnum):
    """The doctor's triage 分诊 level."""

    CRITICAL = "critical"
    URGENT = "urgent"
    ROUTINE = "routine"


class GreenChannelParams(BaseModel):
    """What a district may set for its green channel."""

    min_disability_level: int = Field(default=1, ge=1, le=4)
    triage_due: PositiveDuration = timedelta(minutes=10)
    triage_escalation_due: PositiveDuration = timedelta(minutes=10)
    response_due: PositiveDuration = timedelta(minutes=15)
    response_staff_due: PositiveDuration = timedelta(minutes=10)
    arrange_due: PositiveDuration = timedelta(minutes=30)
    transport_role: Literal["grid_worker", "volunteer"] = "grid_worker"
    transport_due: PositiveDuration = timedelta(minutes=20)
    transport_escalation_due: PositiveDuration = timedelta(minutes=20)
    arrival_due: PositiveDuration = timedelta(hours=2)
    arrival_escalation_due: PositiveDuration = timedelta(hours=1)
    discharge_due: PositiveDuration = timedelta(days=30)
    discharge_escalation_due: PositiveDuration = timedelta(days=14)
    follow_up_days: DayList = Field(
        default_factory=lambda: [1, 7, 30],
        description="Days after discharge of the follow-up visits, increasing.",
    )
    follow_up_due: PositiveDuration = timedelta(days=1)
    follow_up_escalation_due: PositiveDuration = timedelta(days=1)


class GreenChannelOutcome(StrEnum):
    """How a green channel case ended."""

    COMPLETED = "completed"
    REJECTED = "rejected"
    NO_HOSPITAL = "no_hospital"
    DISCHARGE_UNCONFIRMED = "discharge_unconfirmed"
    DECEASED = "deceased"


class GreenChannelResult(BaseModel):
    """What a green channel reports to its parent, ``careflow status`` and the case record."""

    outcome: GreenChannelOutcome
    reason: str | None = None
    triage_level: TriageLevel | None = None
    ambulance_120_called: bool = False
    hospital_ref: str | None = None
    booking_ref: str | None = None
    minutes_to_arrival: float | None = Field(
        default=None, description="Minutes from opening the channel to arrival at hospital."
    )
    discharged_at: str | None = None
    follow_ups: dict[str, str] = Field(default_factory=dict, description="Day → visited/missed.")
    summary_zh: str = ""


class HospitalResponseEvent(CareEvent):
    """The hospital accepts or refuses a booking (event ``eldercare.hospital_response``)."""

    booking_ref: Ref
    accepted: bool
    reason_code: str = Field(default="", max_length=64, description="e.g. no_beds, no_icu")

    @model_validator(mode="after")
    def _refusal_has_reason(self) -> HospitalResponseEvent:
        if not self.accepted and not self.reason_code:
            raise ValueError("a refusal needs a reason_code")
        return self


class HospitalArrivalEvent(CareEvent):
    """The hospital confirms the elder arrived (``eldercare.hospital_arrival``)."""

    booking_ref: Ref


class HospitalDischargeEvent(CareEvent):
    """The hospital reports the discharge (``eldercare.hospital_discharge``)."""

    booking_ref: Ref
    disposition: Literal["home", "transferred", "deceased"] = "home"


class ElderCheckInput(BaseModel):
    """Look up the elder in the registry."""

    elder_ref: str
    district: str
    min_disability_level: int


class ElderCheck(BaseModel):
    """What the registry says about the elder: eligibility, hospitals, family refs."""

    eligible: bool
    reason: str = ""
    disability_level: int = 0
    community: str | None = None
    partner_hospital: str | None = None
    fallback_hospital: str | None = None
    family_refs: list[str] = Field(default_factory=list)


class BookingInput(BaseModel):
    """Ask one hospital's emergency department for a booking (idempotent on the step key)."""

    workflow_id: str
    step_key: str
    district: str
    case_ref: str
    hospital_ref: str
    elder_ref: str
    triage_level: TriageLevel


class BookingReceipt(BaseModel):
    """The hospital's reference for a booking request."""

    booking_ref: str
    hospital_ref: str
    adapter: str


BookingStatus = Literal["accepted", "refused", "no_answer", "arrived", "discharged"]


class BookingUpdateInput(BaseModel):
    """A change of a booking's status (an answer, arrival, discharge)."""

    booking_ref: str
    status: BookingStatus
    reason_code: str | None = None

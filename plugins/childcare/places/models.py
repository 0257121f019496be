"""Requests, params, activity payloads and results of childcare places."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from careflow.contract import CareEvent
from careflow.inputs import ExternalModel, Ref, RegistryRef
from careflow.params import PositiveDuration

__all__ = [
    "OPERATOR_KINDS",
    "PLACES_POINTS",
    "ApplicationRef",
    "Eligibility",
    "EligibilityInput",
    "EnrolmentVerdict",
    "MatchInput",
    "MatchResult",
    "PlaceOffer",
    "PlacesApplicationEvent",
    "PlacesOutcome",
    "PlacesParams",
    "PlacesRequest",
    "PlacesResult",
    "ReleaseInput",
    "ReleaseResult",
]

PLACES_POINTS = ("after_eligibility", "before_enrolment", "before_close")
OPERATOR_KINDS = ("public_centre", "community", "employer", "kindergarten")
OperatorKind = Literal["public_centre", "community", "employer", "kindergarten"]


ChildRef = Annotated[Ref, Field(pattern=r"^P\d{3,}$"), RegistryRef("person", person_kind="child")]
"""A child of the registry, in the district of the application."""
ProviderRef = Annotated[Ref, RegistryRef("provider")]
"""A childcare provider of the district."""


class PlacesRequest(ExternalModel):
    """A family applies for a place for a child (registry id) with their preferences."""

    child_ref: ChildRef = Field(
        title="儿童编号 Child", description="儿童的登记编号（P…）。 Registry id of the child (P…)."
    )
    preferred_kinds: list[OperatorKind] = Field(
        default_factory=list,
        max_length=10,
        title="意向托位类型 Preferred kinds",
        description="public_centre 公办示范中心；community 社区；employer 用人单位；"
        "kindergarten 幼儿园",
    )
    preferred_providers: list[ProviderRef] = Field(
        default_factory=list,
        max_length=20,
        title="意向托育机构 Preferred providers",
        description="托育机构的登记编号，每行一个。 Registry ids of providers.",
    )


class PlacesApplicationEvent(CareEvent):
    """``childcare.places_apply``: a family's application, from the desk or a partner system.

    ``case_ref`` is the application number on the form (opaque, one per application): it
    names the process, so a number already used by a finished application is refused.
    """

    child_ref: ChildRef
    preferred_kinds: list[OperatorKind] = Field(default_factory=list, max_length=10)
    preferred_providers: list[ProviderRef] = Field(default_factory=list, max_length=20)

    def to_request(self) -> PlacesRequest:
        """The request of the application process this event starts."""
        return PlacesRequest(
            child_ref=self.child_ref,
            preferred_kinds=list(self.preferred_kinds),
            preferred_providers=list(self.preferred_providers),
        )


class PlacesParams(BaseModel):
    """What a district may set for childcare places."""

    max_age_years: int = Field(default=3, ge=1, le=6, description="托育 is for children under 3.")
    offer_acceptance: PositiveDuration = timedelta(days=3)
    waiting_list_expiry: PositiveDuration = timedelta(days=180)
    consent_follow_up: PositiveDuration = Field(
        default=timedelta(days=7),
        description="How long community staff have to record a missing guardian's consent.",
    )
    answer_required_before_enrolment: bool = Field(
        default=False,
        description=(
            "A district step before enrolment that expires unanswered stops the enrolment "
            "(a required health check); otherwise only an explicit refusal does."
        ),
    )


class EligibilityInput(BaseModel):
    """Check a child against the registry."""

    workflow_id: str
    child_ref: str
    district: str
    max_age_years: int
    on: datetime


class Eligibility(BaseModel):
    """Whether the child may apply, and where they live (a community code)."""

    eligible: bool
    reason: str = ""
    community: str | None = None


class MatchInput(BaseModel):
    """Reserve the best free seat for an application, or queue it."""

    workflow_id: str
    child_ref: str
    district: str
    community: str
    preferred_kinds: list[str] = Field(default_factory=list)
    preferred_providers: list[str] = Field(default_factory=list)
    at: datetime


class MatchResult(BaseModel):
    """The provider whose seat is now held, or None: the application waits."""

    provider_ref: str | None = None
    waiting_position: int | None = None


class ApplicationRef(BaseModel):
    """An application by its process."""

    workflow_id: str
    at: datetime


class ReleaseInput(BaseModel):
    """Give up an offered seat (declined or lapsed); it passes to the next waiting family."""

    workflow_id: str
    status: Literal["declined", "lapsed", "waiting", "refused", "withdrawn"]
    at: datetime


class ReleaseResult(BaseModel):
    """Who got the seat: the process to tell, or None when the seat went back to the pool."""

    passed_to: str | None = None
    provider_ref: str | None = None


class PlaceOffer(BaseModel):
    """Signal to a waiting application: a seat is held for it."""

    provider_ref: str


class PlacesOutcome(StrEnum):
    """How an application ended."""

    ENROLLED = "enrolled"
    INELIGIBLE = "ineligible"
    DECLINED = "declined"
    OFFER_EXPIRED = "offer_expired"
    WAITING_LIST_EXPIRED = "waiting_list_expired"
    ENROLMENT_REFUSED = "enrolment_refused"
    CONSENT_MISSING = "consent_missing"
    """No guardian's consent for childcare places on record, and none recorded in time."""
    CONSENT_WITHDRAWN = "consent_withdrawn"
    """The guardian withdrew consent while the application ran: seat released, ended."""


class EnrolmentVerdict(BaseModel):
    """What a step at ``before_enrolment`` may answer; other keys of its output are kept.

    ``enrol: false`` (a child not fit for care) stops the enrolment and frees the seat.
    """

    enrol: bool = True
    expired: bool = False


class PlacesResult(BaseModel):
    """The application report."""

    outcome: PlacesOutcome
    reason: str = ""
    provider_ref: str | None = None
    offers: list[str] = Field(default_factory=list)
    waited: bool = False

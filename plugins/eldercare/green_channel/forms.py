"""Task forms of the green channel: what each role fills in."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from careflow.inputs import ExternalModel
from plugins.eldercare.green_channel.models import TriageLevel

__all__ = [
    "ArrangeHospitalForm",
    "ArrivalForm",
    "DischargeForm",
    "FollowUpForm",
    "HospitalResponseForm",
    "TransportForm",
    "TriageForm",
]


class TriageForm(ExternalModel):
    """The health centre doctor's triage 分诊."""

    level: TriageLevel
    ambulance_120_called: bool = Field(
        default=False, description="An ambulance (120) was called; required when critical."
    )
    note: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _critical_calls_120(self) -> TriageForm:
        if self.level is TriageLevel.CRITICAL and not self.ambulance_120_called:
            raise ValueError("a critical triage needs the ambulance (120) called first")
        return self


class HospitalResponseForm(ExternalModel):
    """The hospital's answer to a booking, from its event or entered by staff after a call."""

    accepted: bool
    reason_code: str = Field(default="", max_length=64)


class ArrangeHospitalForm(ExternalModel):
    """The district admin 区民政 arranges a hospital when both hospitals declined."""

    arranged: bool
    hospital_ref: str | None = Field(default=None, max_length=32, description="Provider id.")
    note: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _arranged_names_hospital(self) -> ArrangeHospitalForm:
        if self.arranged and not self.hospital_ref:
            raise ValueError("an arranged hospital needs its hospital_ref")
        return self


class TransportForm(ExternalModel):
    """The escort 陪同转运 records who accompanies the elder and how."""

    escort_ref: str = Field(min_length=1, max_length=16, description="Staff or volunteer id.")
    mode: Literal["ambulance_120", "community_vehicle", "taxi", "family_car"]
    departed: bool = True


class ArrivalForm(ExternalModel):
    """The hospital (or staff on its behalf) confirms arrival."""

    arrived: bool = True


class DischargeForm(ExternalModel):
    """The hospital (or staff on its behalf) records the discharge."""

    disposition: Literal["home", "transferred", "deceased"] = "home"


class FollowUpForm(ExternalModel):
    """The family doctor's follow-up home visit 随访."""

    visited: bool
    condition: Literal["stable", "improving", "worse", "readmitted"] | None = None
    note: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _visit_has_condition(self) -> FollowUpForm:
        if self.visited and self.condition is None:
            raise ValueError("a visit needs the elder's condition")
        return self

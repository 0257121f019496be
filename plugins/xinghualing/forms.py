"""Forms of the Xinghualing 杏花岭区 steps (pure pydantic models)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, computed_field, model_validator

from careflow.inputs import ExternalModel

__all__ = ["FamilyDoctorTriageForm", "HomeSickbedForm", "PreEnrolmentHealthCheckForm"]


class FamilyDoctorTriageForm(ExternalModel):
    """The contracted family doctor joins the green-channel triage 家庭医生参与分诊."""

    joined: bool = Field(description="The family doctor joined the triage (phone or on site).")
    suggested_level: Literal["critical", "urgent", "routine"] | None = None
    history_shared: bool = Field(
        default=False, description="The elder's health record was shared with the triage doctor."
    )
    note: str = Field(default="", max_length=300)


class HomeSickbedForm(ExternalModel):
    """The community health centre assesses a home sickbed after discharge 家庭病床评估."""

    eligible: bool
    plan: str = Field(default="", max_length=500, description="Care plan when eligible.")
    visits_per_week: int | None = Field(default=None, ge=1, le=14)

    @model_validator(mode="after")
    def _plan_when_eligible(self) -> HomeSickbedForm:
        if self.eligible and not self.plan.strip():
            raise ValueError("an eligible home sickbed needs a plan")
        return self


class PreEnrolmentHealthCheckForm(ExternalModel):
    """The partner medical institution's health check before enrolment 入托前体检 (医育融合)."""

    fit_for_care: bool
    institution_ref: str = Field(min_length=1, max_length=64)
    vaccinations_complete: bool = True
    follow_up_needed: bool = False
    note: str = Field(default="", max_length=300)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def enrol(self) -> bool:
        """The places ``before_enrolment`` answer: a child not fit for care is not enrolled."""
        return self.fit_for_care

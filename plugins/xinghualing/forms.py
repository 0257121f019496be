"""Forms of the Xinghualing 杏花岭区 steps (pure pydantic models)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, computed_field, model_validator

from careflow.inputs import ExternalModel

__all__ = ["FamilyDoctorTriageForm", "HomeSickbedForm", "PreEnrolmentHealthCheckForm"]


class FamilyDoctorTriageForm(ExternalModel):
    """The contracted family doctor joins the green-channel triage 家庭医生参与分诊."""

    joined: bool = Field(
        title="家庭医生已参与分诊 Joined",
        description="家庭医生通过电话或到场参与了分诊。 "
        "The family doctor joined the triage (phone or on site).",
    )
    suggested_level: Literal["critical", "urgent", "routine"] | None = Field(
        default=None,
        title="建议分诊等级 Suggested level",
        description="critical 危重；urgent 紧急；routine 一般",
    )
    history_shared: bool = Field(
        default=False,
        title="已共享健康档案 History shared",
        description="老人的健康档案已提供给分诊医生。 "
        "The elder's health record was shared with the triage doctor.",
    )
    note: str = Field(default="", max_length=300, title="备注 Note")


class HomeSickbedForm(ExternalModel):
    """The community health centre assesses a home sickbed after discharge 家庭病床评估."""

    eligible: bool = Field(title="符合家庭病床条件 Eligible")
    plan: str = Field(
        default="",
        max_length=500,
        title="照护计划 Care plan",
        description="符合条件时必填。 Care plan when eligible.",
    )
    visits_per_week: int | None = Field(
        default=None,
        ge=1,
        le=14,
        title="每周上门次数 Visits per week",
        description="单位：次/周。 Visits a week.",
    )

    @model_validator(mode="after")
    def _plan_when_eligible(self) -> HomeSickbedForm:
        if self.eligible and not self.plan.strip():
            raise ValueError("an eligible home sickbed needs a plan")
        return self


class PreEnrolmentHealthCheckForm(ExternalModel):
    """The partner medical institution's health check before enrolment 入托前体检 (医育融合)."""

    fit_for_care: bool = Field(title="适合入托 Fit for care")
    institution_ref: str = Field(
        min_length=1,
        max_length=64,
        title="体检机构编号 Institution",
        description="做体检的医疗机构编号。 The medical institution's id.",
    )
    vaccinations_complete: bool = Field(default=True, title="疫苗接种齐全 Vaccinations complete")
    follow_up_needed: bool = Field(default=False, title="需要随访 Follow-up needed")
    note: str = Field(default="", max_length=300, title="备注 Note")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def enrol(self) -> bool:
        """The places ``before_enrolment`` answer: a child not fit for care is not enrolled."""
        return self.fit_for_care

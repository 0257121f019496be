"""Forms of tiered care: the assessment 评估 and the home visit 上门探访."""

from __future__ import annotations

from pydantic import Field, model_validator

from careflow.inputs import ExternalModel

__all__ = ["AssessmentForm", "VisitForm"]


class AssessmentForm(ExternalModel):
    """What community staff find at the assessment; age comes from the registry."""

    disability_level: int = Field(
        ge=0,
        le=4,
        title="失能等级 Disability level",
        description="0 无 … 4 最重。 0 none … 4 most severe (失能等级).",
    )
    lives_alone: bool = Field(title="独居 Lives alone", description="Lives alone (独居).")
    health_events: int = Field(
        default=0,
        ge=0,
        le=100,
        title="近半年跌倒或住院次数 Health events",
        description="近六个月跌倒或住院的次数。 Falls or hospital stays in the last six months.",
    )
    note: str = Field(default="", max_length=500, title="备注 Note")


class VisitForm(ExternalModel):
    """The visitor records the home visit."""

    visited: bool = Field(title="已探访 Visited")
    elder_well: bool = Field(default=True, title="老人状况良好 Elder is well")
    needs_reassessment: bool = Field(
        default=False,
        title="需要重新评估 Needs reassessment",
        description="探访发现变化，需要重新分级。 "
        "The visitor saw a change that calls for a new grade.",
    )
    reason: str | None = Field(
        default=None,
        max_length=500,
        title="未探访原因 Reason",
        description="未探访时必填。 Why no visit.",
    )
    note: str = Field(default="", max_length=500, title="备注 Note")

    @model_validator(mode="after")
    def _explained(self) -> VisitForm:
        if not self.visited and not self.reason:
            raise ValueError("a visit that did not happen needs a reason")
        return self

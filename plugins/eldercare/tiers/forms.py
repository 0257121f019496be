"""Forms of tiered care: the assessment 评估 and the home visit 上门探访."""

from __future__ import annotations

from pydantic import Field, model_validator

from careflow.inputs import ExternalModel

__all__ = ["AssessmentForm", "VisitForm"]


class AssessmentForm(ExternalModel):
    """What community staff find at the assessment; age comes from the registry."""

    disability_level: int = Field(ge=0, le=4, description="0 none … 4 most severe (失能等级).")
    lives_alone: bool = Field(description="Lives alone (独居).")
    health_events: int = Field(
        default=0, ge=0, le=100, description="Falls or hospital stays in the last six months."
    )
    note: str = Field(default="", max_length=500)


class VisitForm(ExternalModel):
    """The visitor records the home visit."""

    visited: bool
    elder_well: bool = True
    needs_reassessment: bool = Field(
        default=False, description="The visitor saw a change that calls for a new grade."
    )
    reason: str | None = Field(default=None, max_length=500, description="Why no visit.")
    note: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _explained(self) -> VisitForm:
        if not self.visited and not self.reason:
            raise ValueError("a visit that did not happen needs a reason")
        return self

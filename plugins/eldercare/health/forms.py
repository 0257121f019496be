"""Forms of a health alert: the doctor's review and the home visit 上门随访."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from careflow.inputs import ExternalModel

__all__ = ["HomeVisitForm", "ReviewForm"]


class ReviewForm(ExternalModel):
    """The family doctor 家庭医生 reviews an alert and decides what happens next."""

    outcome: Literal["advice", "home_visit", "referral"] = Field(
        title="处理结果 Outcome",
        description="advice 给出健康建议；home_visit 入户随访；referral 转诊（急诊绿色通道）",
    )
    advice_zh: str | None = Field(
        default=None,
        max_length=500,
        title="给老人的建议 Advice",
        description="选择“给出健康建议”时必填，用中文写。 Advice for the elder (advice outcome).",
    )
    note: str = Field(default="", max_length=500, title="备注 Note")

    @model_validator(mode="after")
    def _advice_given(self) -> ReviewForm:
        if self.outcome == "advice" and not self.advice_zh:
            raise ValueError("the advice outcome needs the advice text (advice_zh)")
        return self


class HomeVisitForm(ExternalModel):
    """The doctor records the home visit."""

    visited: bool = Field(title="已入户随访 Visited")
    reason: str | None = Field(
        default=None,
        max_length=500,
        title="未随访原因 Reason",
        description="未随访时必填。 Why no visit.",
    )
    note: str = Field(default="", max_length=500, title="备注 Note")

    @model_validator(mode="after")
    def _explained(self) -> HomeVisitForm:
        if not self.visited and not self.reason:
            raise ValueError("a visit that did not happen needs a reason")
        return self

"""The form of the loan's assessment 评估, filled in by the rehabilitation officer 康复专员."""

from __future__ import annotations

from pydantic import Field

from careflow.inputs import ExternalModel, ShortText
from careflow_aids_loan.models import AidKind

__all__ = ["AssessmentForm"]


class AssessmentForm(ExternalModel):
    """Whether the elder needs the aid, and which one."""

    approved: bool = Field(title="同意借用 Approved")
    aid_confirmed: AidKind | None = Field(
        default=None,
        title="确认辅具 Aid confirmed",
        description="留空为申请的辅具；可改为更合适的一种。 "
        "Empty: the aid asked for; or the one that fits better.",
    )
    # ShortText: at most 200 characters on one line, and no text that cannot be stored.
    note: ShortText = Field(default="", title="评估意见 Note")

"""The form of the offer task: the family's answer, recorded by community staff."""

from __future__ import annotations

from pydantic import Field

from careflow.inputs import ExternalModel, ShortText

__all__ = ["ConsentFollowUpForm", "OfferAnswerForm"]


class OfferAnswerForm(ExternalModel):
    """The family accepts the offered place or declines it 托位答复."""

    accept: bool = Field(title="接受托位 Accept the place")
    keep_waiting: bool = Field(
        default=False,
        title="继续排队 Keep waiting",
        description="谢绝此托位，但留在候补名单等其他托位。 "
        "Declined, but stay on the waiting list for another place.",
    )
    note: str = Field(default="", max_length=500, title="备注 Note")


class ConsentFollowUpForm(ExternalModel):
    """Community staff obtain the guardian's consent before the application is looked at
    补登监护人同意书. The process checks the consent register again when the task is done."""

    recorded: bool = Field(
        title="已登记监护人同意 Consent recorded",
        description="监护人签署的同意书已在「同意登记」中登记（用途：托育服务）。 "
        "The guardian's signed consent is recorded in the consent register "
        "(purpose: childcare place).",
    )
    note: ShortText = Field(default="", title="备注 Note")

"""The form of the offer task: the family's answer, recorded by community staff."""

from __future__ import annotations

from pydantic import Field

from careflow.inputs import ExternalModel

__all__ = ["OfferAnswerForm"]


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

"""The forms of a Delivery's human tasks: the drop-off and the hand-over.

Task rows and histories from before the process moved here name these forms by their old
references (``workflows.delivery:DropoffForm``); the task types in ``__init__`` keep those as
aliases, so such rows still resolve.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from careflow.inputs import ExternalModel

__all__ = ["FORM_ALIASES", "DropoffForm", "HandoverForm"]


class DropoffForm(ExternalModel):
    """Community staff (or the station scanner) record whether the goods arrived."""

    received: bool = Field(
        default=True,
        title="物资已送达社区 Received",
        description="未收到则配送结束，不再派入户交接。 "
        "False ends the delivery as not received: no hand-over.",
    )
    items_match: bool = Field(
        title="物资是否与清单一致 Items match the list",
        description="物资与配送清单相符。 Goods match the items of the delivery.",
    )
    storage_ref: str = Field(
        default="",
        max_length=64,
        title="存放位置 Storage",
        description="货架或储物柜编号。 Shelf or locker code.",
    )
    note: str = Field(default="", max_length=500, title="备注 Note")


class HandoverForm(ExternalModel):
    """The person delivering records the hand-over and the signed receipt."""

    handed_over: bool = Field(title="已交到受助人手中 Handed over")
    receipt_ref: str | None = Field(
        default=None,
        max_length=64,
        title="签收单编号 Receipt",
        description="已扫描的签收单编号；交付时必填。 Reference of the scanned signed receipt.",
    )
    reason: str | None = Field(
        default=None,
        max_length=500,
        title="未交付原因 Reason",
        description="未交付时必填。 Why not handed over.",
    )

    @model_validator(mode="after")
    def _signed_or_explained(self) -> HandoverForm:
        if self.handed_over and not self.receipt_ref:
            raise ValueError("a hand-over needs the signed receipt (receipt_ref)")
        if not self.handed_over and not self.reason:
            raise ValueError("a failed hand-over needs a reason")
        return self


FORM_ALIASES: dict[type[ExternalModel], tuple[str, ...]] = {
    DropoffForm: ("workflows.delivery:DropoffForm",),
    HandoverForm: ("workflows.delivery:HandoverForm",),
}
"""The references each form had before it moved from ``workflows/delivery.py``."""

"""Task forms of the micro-wish campaign: household visit, review, list revision, procurement.

Forms are pure pydantic models referenced by import path from the frozen plan; they check the
shape of what staff submit, strictly (unknown fields refused, bounded text and lists). Campaign
rules that need numbers from params or the database
(value cap, one wish per child) are applied by the workflow and its activities.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from careflow.inputs import MAX_ITEMS, Code, ExternalModel, Note, Ref, ShortText
from plugins.childcare.microwish.models import SIZED_CATEGORIES, WishCategory

__all__ = ["ListRevisionForm", "ProcurementForm", "ReviewForm", "VisitForm"]


class VisitForm(ExternalModel):
    """The grid worker's household visit 入户走访: one wish and the guardian's consent."""

    declined: bool = Field(
        default=False,
        title="监护人谢绝 Declined",
        description="监护人不提心愿。 The guardian declines a wish.",
    )
    decline_reason: ShortText | None = Field(default=None, title="谢绝原因 Decline reason")
    category: WishCategory | None = Field(
        default=None,
        title="心愿类别 Category",
        description="不谢绝时必填。 Required unless declined.",
    )
    description_zh: ShortText = Field(
        default="",
        title="心愿描述 Wish",
        description="孩子想要什么，用中文写。 The wish, in Chinese.",
    )
    size: Code | None = Field(
        default=None,
        max_length=16,
        title="尺码 Size",
        description="衣物或鞋的尺码；冬衣、鞋必填。 Clothes or shoe size.",
    )
    estimated_value_yuan: int | None = Field(
        default=None,
        ge=0,
        le=100_000,
        title="估计价值 Estimated value",
        description="单位：元。 In yuan.",
    )
    guardian_consent: bool = Field(
        default=False,
        title="监护人同意匿名发布 Guardian consent",
        description="监护人同意心愿匿名发布。 "
        "The guardian agrees to the wish being published anonymised.",
    )

    @model_validator(mode="after")
    def _wish_or_declined(self) -> VisitForm:
        if self.declined:
            return self
        if self.category is None or self.estimated_value_yuan is None:
            raise ValueError("a wish needs category and estimated_value_yuan (or declined)")
        if self.category in SIZED_CATEGORIES and not self.size:
            raise ValueError(f"a {self.category.value} wish needs a size")
        return self


class ReviewForm(ExternalModel):
    """Community staff review a wish 心愿审核: approve with a priority, or send it back."""

    approve: bool = Field(title="审核通过 Approve", description="否则退回。 Otherwise sent back.")
    priority: int = Field(
        default=1,
        ge=1,
        le=3,
        title="优先级 Priority",
        description="1 一般 … 3 最紧急。 1 normal … 3 most urgent.",
    )
    reason: ShortText | None = Field(
        default=None, title="退回原因 Reason", description="退回时必填。 Why sent back."
    )

    @model_validator(mode="after")
    def _reason_when_sent_back(self) -> ReviewForm:
        if not self.approve and not self.reason:
            raise ValueError("sending a wish back needs a reason")
        return self


class ProcurementForm(ExternalModel):
    """The charity officer buys an unmatched wish from the charity fund 慈善采购, or declines."""

    purchased: bool = Field(title="已采购 Purchased")
    cost_yuan: int = Field(
        default=0,
        ge=0,
        le=100_000,
        title="采购费用 Cost",
        description="单位：元；采购时至少 1 元。 In yuan; at least 1 for a purchase.",
    )
    supplier_ref: Ref | None = Field(default=None, title="供应商编号 Supplier")
    reason: ShortText | None = Field(
        default=None,
        title="未采购原因 Reason",
        description="未采购时必填，记入案件记录；心愿和报告只记代码 not_bought。 "
        "Why not bought, in the officer's words: kept in the case record; the "
        "wish and the report carry the code not_bought.",
    )

    @model_validator(mode="after")
    def _cost_or_reason(self) -> ProcurementForm:
        if self.purchased and self.cost_yuan < 1:
            raise ValueError("a purchase needs cost_yuan ≥ 1")
        if not self.purchased and not self.reason:
            raise ValueError("declining a purchase needs a reason")
        return self


class ListRevisionForm(ExternalModel):
    """The district revises a wish list that was not signed 修订心愿清单.

    Withhold the wishes the signatory objected to and send the list for signing again, or
    close the campaign without publication (a reason is then required).
    """

    resubmit: bool = Field(
        title="重新提交签字 Resubmit",
        description="修订后的清单重新送签；否则结束活动、不发布。 "
        "Send the revised list for signing again.",
    )
    withheld_wish_ids: list[int] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        title="暂缓发布的心愿编号 Withheld wishes",
        description="不进入心愿池的心愿（清单文件中的编号），每行一个。 "
        "Wishes kept out of the pool (ids from the list file).",
    )
    note: Note = Field(
        default="",
        max_length=300,
        title="备注 Note",
        description="不重新送签时必填。 Required when not resubmitting.",
    )

    @model_validator(mode="after")
    def _note_when_closing(self) -> ListRevisionForm:
        if not self.resubmit and not self.note.strip():
            raise ValueError("closing the campaign without publication needs a note")
        return self

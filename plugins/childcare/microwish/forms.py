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

    declined: bool = Field(default=False, description="The guardian declines a wish.")
    decline_reason: ShortText | None = None
    category: WishCategory | None = None
    description_zh: ShortText = ""
    size: Code | None = Field(default=None, max_length=16, description="Clothes or shoe size.")
    estimated_value_yuan: int | None = Field(default=None, ge=0, le=100_000)
    guardian_consent: bool = Field(
        default=False, description="The guardian agrees to the wish being published anonymised."
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

    approve: bool
    priority: int = Field(default=1, ge=1, le=3, description="1 normal … 3 most urgent.")
    reason: ShortText | None = Field(default=None, description="Why sent back.")

    @model_validator(mode="after")
    def _reason_when_sent_back(self) -> ReviewForm:
        if not self.approve and not self.reason:
            raise ValueError("sending a wish back needs a reason")
        return self


class ProcurementForm(ExternalModel):
    """The charity officer buys an unmatched wish from the charity fund 慈善采购, or declines."""

    purchased: bool
    cost_yuan: int = Field(default=0, ge=0, le=100_000)
    supplier_ref: Ref | None = None
    reason: ShortText | None = Field(
        default=None,
        description="Why not bought, in the officer's words: kept in the case record; the "
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

    resubmit: bool = Field(description="Send the revised list for signing again.")
    withheld_wish_ids: list[int] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description="Wishes kept out of the pool (ids from the list file).",
    )
    note: Note = Field(default="", max_length=300)

    @model_validator(mode="after")
    def _note_when_closing(self) -> ListRevisionForm:
        if not self.resubmit and not self.note.strip():
            raise ValueError("closing the campaign without publication needs a note")
        return self

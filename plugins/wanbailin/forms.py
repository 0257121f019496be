"""Forms of the Wanbailin 万柏林区 steps (pure pydantic models)."""

from __future__ import annotations

from pydantic import Field, computed_field, model_validator

from careflow.inputs import MAX_ITEMS, ExternalModel

__all__ = ["CharityCoSignForm"]


class CharityCoSignForm(ExternalModel):
    """The district charity association co-signs the micro-wish list 区慈善会联签."""

    cosigned: bool
    signatory_ref: str = Field(min_length=1, max_length=64, description="Officer's staff id.")
    withheld_wish_ids: list[int] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description="Wishes the association does not co-sign.",
    )
    reason: str = Field(default="", max_length=300)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def publish(self) -> bool:
        """The micro-wish ``before_publication`` answer: publish only a co-signed list."""
        return self.cosigned

    @model_validator(mode="after")
    def _reason_when_refused(self) -> CharityCoSignForm:
        if (not self.cosigned or self.withheld_wish_ids) and not self.reason.strip():
            raise ValueError("a refusal or a withheld wish needs a reason")
        return self

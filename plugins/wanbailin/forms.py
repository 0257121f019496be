"""Forms of the Wanbailin 万柏林区 steps (pure pydantic models)."""

from __future__ import annotations

from pydantic import Field, computed_field, model_validator

from careflow.inputs import MAX_ITEMS, ExternalModel

__all__ = ["CharityCoSignForm"]


class CharityCoSignForm(ExternalModel):
    """The district charity association co-signs the micro-wish list 区慈善会联签."""

    cosigned: bool = Field(title="区慈善会已联签 Co-signed")
    signatory_ref: str = Field(
        min_length=1,
        max_length=64,
        title="签字人编号 Signatory",
        description="签字的慈善会工作人员编号。 Officer's staff id.",
    )
    withheld_wish_ids: list[int] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        title="不联签的心愿编号 Withheld wishes",
        description="慈善会不联签的心愿编号，每行一个。 Wishes the association does not co-sign.",
    )
    reason: str = Field(
        default="",
        max_length=300,
        title="原因 Reason",
        description="不联签或暂缓任何心愿时必填。 Required when refusing or withholding.",
    )

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

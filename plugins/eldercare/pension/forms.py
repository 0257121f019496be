"""The form of a certification visit 上门认证."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from careflow.inputs import ExternalModel

__all__ = ["CertificationVisitForm"]


class CertificationVisitForm(ExternalModel):
    """The grid worker records what they found at the elder's home."""

    found: Literal["at_home", "deceased", "not_reached"] = Field(
        title="上门情况 Found",
        description="at_home 老人在家；deceased 老人已故；not_reached 未见到老人",
    )
    identity_confirmed: bool = Field(default=False, title="已确认身份 Identity confirmed")
    identity_method: Literal["id_card", "face", "fingerprint"] | None = Field(
        default=None,
        title="身份确认方式 Identity method",
        description="确认身份时必填：id_card 身份证；face 人脸识别；fingerprint 指纹",
    )
    reason: str | None = Field(
        default=None,
        max_length=500,
        title="未确认原因 Reason",
        description="老人在家但未能确认身份时必填。 Why the identity could not be confirmed.",
    )
    note: str = Field(default="", max_length=500, title="备注 Note")

    @model_validator(mode="after")
    def _consistent(self) -> CertificationVisitForm:
        if self.identity_confirmed and self.found != "at_home":
            raise ValueError("identity can only be confirmed when the elder is at home")
        if self.identity_confirmed and self.identity_method is None:
            raise ValueError("a confirmed identity needs the method (identity_method)")
        if self.found == "at_home" and not self.identity_confirmed and not self.reason:
            raise ValueError("say why the identity could not be confirmed (reason)")
        return self

"""The form of a certification visit 上门认证."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from careflow.inputs import ExternalModel

__all__ = ["CertificationVisitForm"]


class CertificationVisitForm(ExternalModel):
    """The grid worker records what they found at the elder's home."""

    found: Literal["at_home", "deceased", "not_reached"]
    identity_confirmed: bool = False
    identity_method: Literal["id_card", "face", "fingerprint"] | None = None
    reason: str | None = Field(default=None, max_length=500)
    note: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _consistent(self) -> CertificationVisitForm:
        if self.identity_confirmed and self.found != "at_home":
            raise ValueError("identity can only be confirmed when the elder is at home")
        if self.identity_confirmed and self.identity_method is None:
            raise ValueError("a confirmed identity needs the method (identity_method)")
        if self.found == "at_home" and not self.identity_confirmed and not self.reason:
            raise ValueError("say why the identity could not be confirmed (reason)")
        return self

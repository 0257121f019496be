"""Forms of Xiaodian's human tasks."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from careflow.inputs import ExternalModel, ShortText

__all__ = ["AntiFraudTalkForm", "ChildSafetyLawForm", "CoupletSessionForm"]


class AntiFraudTalkForm(ExternalModel):
    """The lawyer's anti-fraud talk 防诈骗普法 at the elder's home."""

    held: bool
    topics: list[ShortText] = Field(
        default_factory=list, max_length=10, description="e.g. 保健品, 冒充公检法, 养老投资."
    )
    suspected_fraud: bool = Field(default=False, description="Signs the elder is being targeted.")
    note: str = Field(default="", max_length=200)


class ChildSafetyLawForm(ExternalModel):
    """The lawyer's child-safety law session 儿童安全普法 with the family before enrolment."""

    held: bool
    guardians_attended: int = Field(default=0, ge=0, le=10)
    topics: list[ShortText] = Field(default_factory=list, max_length=10)
    note: str = Field(default="", max_length=200)


class CoupletSessionForm(ExternalModel):
    """The joint couplet-writing session 老少同写春联 before delivery."""

    held_on: date
    elders: int = Field(ge=0, le=1000, description="Elders who wrote.")
    children: int = Field(ge=0, le=1000, description="Children who wrote.")
    couplets: int = Field(ge=0, le=5000, description="Pairs of couplets written.")
    note: str = Field(default="", max_length=200)

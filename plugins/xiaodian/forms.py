"""Forms of Xiaodian's human tasks."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from careflow.inputs import ExternalModel, ShortText

__all__ = ["AntiFraudTalkForm", "ChildSafetyLawForm", "CoupletSessionForm"]


class AntiFraudTalkForm(ExternalModel):
    """The lawyer's anti-fraud talk 防诈骗普法 at the elder's home."""

    held: bool = Field(title="已开展普法 Held")
    topics: list[ShortText] = Field(
        default_factory=list,
        max_length=10,
        title="宣讲主题 Topics",
        description="每行一个，如：保健品、冒充公检法、养老投资。 "
        "e.g. 保健品, 冒充公检法, 养老投资.",
    )
    suspected_fraud: bool = Field(
        default=False,
        title="疑似被诈骗 Suspected fraud",
        description="有迹象表明老人正被诈骗分子盯上。 Signs the elder is being targeted.",
    )
    note: str = Field(default="", max_length=200, title="备注 Note")


class ChildSafetyLawForm(ExternalModel):
    """The lawyer's child-safety law session 儿童安全普法 with the family before enrolment."""

    held: bool = Field(title="已开展普法 Held")
    guardians_attended: int = Field(
        default=0, ge=0, le=10, title="到场家长人数 Guardians attended", description="人 people"
    )
    topics: list[ShortText] = Field(
        default_factory=list,
        max_length=10,
        title="宣讲主题 Topics",
        description="每行一个。 One per line.",
    )
    note: str = Field(default="", max_length=200, title="备注 Note")


class CoupletSessionForm(ExternalModel):
    """The joint couplet-writing session 老少同写春联 before delivery."""

    held_on: date = Field(title="举办日期 Held on")
    elders: int = Field(
        ge=0,
        le=1000,
        title="参与老人人数 Elders",
        description="写春联的老人人数。 Elders who wrote.",
    )
    children: int = Field(
        ge=0,
        le=1000,
        title="参与儿童人数 Children",
        description="写春联的儿童人数。 Children who wrote.",
    )
    couplets: int = Field(
        ge=0,
        le=5000,
        title="春联副数 Couplets written",
        description="单位：副。 Pairs of couplets written.",
    )
    note: str = Field(default="", max_length=200, title="备注 Note")

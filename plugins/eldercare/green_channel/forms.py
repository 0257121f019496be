"""Task forms of the green channel: what each role fills in."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from careflow.inputs import ExternalModel
from plugins.eldercare.green_channel.models import TriageLevel

__all__ = [
    "ArrangeHospitalForm",
    "ArrivalForm",
    "DischargeForm",
    "FollowUpForm",
    "HospitalResponseForm",
    "TransportForm",
    "TriageForm",
]


class TriageForm(ExternalModel):
    """The health centre doctor's triage 分诊."""

    level: TriageLevel = Field(
        title="分诊等级 Triage level",
        description="critical 危重；urgent 紧急；routine 一般",
    )
    ambulance_120_called: bool = Field(
        default=False,
        title="已呼叫120急救 Ambulance called",
        description="危重时必须先呼叫 120。 An ambulance (120) was called; required when critical.",
    )
    note: str = Field(default="", max_length=500, title="备注 Note")

    @model_validator(mode="after")
    def _critical_calls_120(self) -> TriageForm:
        if self.level is TriageLevel.CRITICAL and not self.ambulance_120_called:
            raise ValueError("a critical triage needs the ambulance (120) called first")
        return self


class HospitalResponseForm(ExternalModel):
    """The hospital's answer to a booking, from its event or entered by staff after a call."""

    accepted: bool = Field(title="医院接收 Accepted")
    reason_code: str = Field(
        default="",
        max_length=64,
        title="拒收原因代码 Reason code",
        description="医院不接收时的原因代码。 Why the hospital declined, as a code.",
    )


class ArrangeHospitalForm(ExternalModel):
    """The district admin 区民政 arranges a hospital when both hospitals declined."""

    arranged: bool = Field(title="已安排医院 Arranged")
    hospital_ref: str | None = Field(
        default=None,
        max_length=32,
        title="医院编号 Hospital",
        description="医院的机构编号；已安排时必填。 Provider id.",
    )
    note: str = Field(default="", max_length=500, title="备注 Note")

    @model_validator(mode="after")
    def _arranged_names_hospital(self) -> ArrangeHospitalForm:
        if self.arranged and not self.hospital_ref:
            raise ValueError("an arranged hospital needs its hospital_ref")
        return self


class TransportForm(ExternalModel):
    """The escort 陪同转运 records who accompanies the elder and how."""

    escort_ref: str = Field(
        min_length=1,
        max_length=16,
        title="陪同人员编号 Escort",
        description="陪同的工作人员或志愿者编号。 Staff or volunteer id.",
    )
    mode: Literal["ambulance_120", "community_vehicle", "taxi", "family_car"] = Field(
        title="转运方式 Mode",
        description="ambulance_120 120急救车；community_vehicle 社区车辆；taxi 出租车；"
        "family_car 家庭用车",
    )
    departed: bool = Field(default=True, title="已出发 Departed")


class ArrivalForm(ExternalModel):
    """The hospital (or staff on its behalf) confirms arrival."""

    arrived: bool = Field(default=True, title="已到院 Arrived")


class DischargeForm(ExternalModel):
    """The hospital (or staff on its behalf) records the discharge."""

    disposition: Literal["home", "transferred", "deceased"] = Field(
        default="home",
        title="出院去向 Disposition",
        description="home 回家；transferred 转院或转入机构；deceased 死亡",
    )


class FollowUpForm(ExternalModel):
    """The family doctor's follow-up home visit 随访."""

    visited: bool = Field(title="已随访 Visited")
    condition: Literal["stable", "improving", "worse", "readmitted"] | None = Field(
        default=None,
        title="老人情况 Condition",
        description="随访时必填：stable 稳定；improving 好转；worse 加重；readmitted 再次入院",
    )
    note: str = Field(default="", max_length=500, title="备注 Note")

    @model_validator(mode="after")
    def _visit_has_condition(self) -> FollowUpForm:
        if self.visited and self.condition is None:
            raise ValueError("a visit needs the elder's condition")
        return self

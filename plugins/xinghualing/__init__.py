"""Xinghualing 杏花岭区: medical and elderly care combined 医养结合.

* Green channel: the elder's contracted family doctor is notified and joins triage; after
  discharge the community health centre assesses a home sickbed 家庭病床.
* Enables the curtain appointment 窗帘之约.
* Childcare places "1+N+X": a health check by the partner medical institution before
  enrolment 医育融合; a child found not fit, or a check not entered in time, is not enrolled
  and the seat passes on.
"""

from __future__ import annotations

from datetime import timedelta

from careflow.contract import (
    ActivitySet,
    ActivityStep,
    CarePlugin,
    DistrictProgramme,
    HumanTaskStep,
)
from careflow.plan import EscalationLevel
from plugins.engine.roles import Role
from plugins.xinghualing.activities import NOTIFY_FAMILY_DOCTOR, XinghualingActivities
from plugins.xinghualing.forms import (
    FamilyDoctorTriageForm,
    HomeSickbedForm,
    PreEnrolmentHealthCheckForm,
)
from plugins.xinghualing.views import TASK_TYPES

__all__ = ["DISTRICT", "plugin"]

DISTRICT = "xinghualing"
_HERE = frozenset({DISTRICT})

GREEN_CHANNEL = "eldercare.green_channel"
PLACES = "childcare.places"
CURTAIN = ("eldercare.curtain_round", "eldercare.curtain_check", "eldercare.curtain_away")

plugin = CarePlugin(
    name="xinghualing",
    version="1.1.0",
    title_zh="杏花岭区 医养结合",
    title_en="Xinghualing: medical and elderly care combined",
    order=50,
    task_types=TASK_TYPES,
    steps=(
        ActivityStep(
            key="xinghualing.family_doctor_notice",
            process=GREEN_CHANNEL,
            point="before_triage",
            districts=_HERE,
            summary_zh="通知签约家庭医生参与分诊",
            activity=NOTIFY_FAMILY_DOCTOR,
        ),
        HumanTaskStep(
            key="xinghualing.family_doctor_triage",
            process=GREEN_CHANNEL,
            point="before_triage",
            districts=_HERE,
            summary_zh="签约家庭医生参与分诊",
            role=Role.DOCTOR,
            title_zh="签约家庭医生参与急诊分诊",
            title_en="Contracted family doctor joins the triage",
            form=FamilyDoctorTriageForm,
            due=timedelta(minutes=15),
            escalation=(EscalationLevel(role=Role.DISTRICT_ADMIN, due=timedelta(minutes=15)),),
        ),
        HumanTaskStep(
            key="xinghualing.home_sickbed",
            process=GREEN_CHANNEL,
            point="after_discharge",
            districts=_HERE,
            summary_zh="社区卫生服务中心评估家庭病床",
            role=Role.DOCTOR,
            title_zh="出院后家庭病床评估",
            title_en="Home sickbed assessment after discharge",
            form=HomeSickbedForm,
            due=timedelta(days=3),
            escalation=(EscalationLevel(role=Role.DISTRICT_ADMIN, due=timedelta(days=2)),),
        ),
        HumanTaskStep(
            key="xinghualing.pre_enrolment_health_check",
            process=PLACES,
            point="before_enrolment",
            districts=_HERE,
            summary_zh="合作医疗机构入托前体检（医育融合）",
            role=Role.DOCTOR,
            title_zh="入托前健康检查",
            title_en="Health check before enrolment",
            form=PreEnrolmentHealthCheckForm,
            due=timedelta(days=5),
            escalation=(EscalationLevel(role=Role.COMMUNITY_STAFF, due=timedelta(days=2)),),
        ),
    ),
    programmes=(
        DistrictProgramme(
            district=DISTRICT,
            enable=frozenset(CURTAIN),
            # The health check is required: no answer in time means no enrolment.
            params={PLACES: {"answer_required_before_enrolment": True}},
        ),
    ),
    activities=(
        ActivitySet(
            cls=XinghualingActivities,
            build=lambda deps: XinghualingActivities(deps.engine, deps.notifications),
        ),
    ),
)

"""Yingze 迎泽区 district plugin: services brought to the door 服务上门.

- Enables door-to-door pension certification, and invites each elder certified at home to the
  health station's free clinic 义诊 (activity after every certification visit).
- Enables small-dining-table supervision 小饭桌 for school pupils.
- Festival care: returning university-student volunteers 返乡大学生志愿者 take the delivery
  hand-overs (festival ``handover_role="volunteer"``) and community staff record the roster.
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
from plugins.yingze.activities import INVITE_FREE_CLINIC, YingzeActivities
from plugins.yingze.forms import StudentVolunteerRoster
from plugins.yingze.views import TASK_TYPES

__all__ = ["DISTRICT", "plugin"]

DISTRICT = "yingze"
_HERE = frozenset({DISTRICT})

plugin = CarePlugin(
    name="yingze",
    version="1.0.0",
    title_zh="迎泽区 服务上门",
    title_en="Yingze: services brought to the door",
    order=50,
    task_types=TASK_TYPES,
    steps=(
        ActivityStep(
            key="yingze.free_clinic",
            process="eldercare.pension_visit",
            point="after_certification_visit",
            districts=_HERE,
            summary_zh="邀请老人参加卫生服务站义诊",
            activity=INVITE_FREE_CLINIC,
        ),
        HumanTaskStep(
            key="yingze.student_volunteers",
            process="eldercare.festival",
            point="after_listing",
            districts=_HERE,
            summary_zh="登记返乡大学生志愿者承接送温暖配送",
            role="community_staff",
            title_zh="登记返乡大学生志愿者",
            title_en="Register returning university-student volunteers",
            form=StudentVolunteerRoster,
            due=timedelta(days=3),
            escalation=(EscalationLevel(role="district_admin", due=timedelta(days=1)),),
        ),
    ),
    programmes=(
        DistrictProgramme(
            district=DISTRICT,
            enable=frozenset(
                {
                    "eldercare.pension",
                    "eldercare.pension_visit",
                    "childcare.dining_round",
                    "childcare.dining_inspection",
                    "childcare.dining_enrolment",
                }
            ),
            params={"eldercare.festival": {"handover_role": "volunteer"}},
        ),
    ),
    activities=(
        ActivitySet(
            cls=YingzeActivities,
            build=lambda deps: YingzeActivities(deps.engine, notifications=deps.notifications),
        ),
    ),
)

"""Xiaodian 小店区 district plugin: guarantees in key areas 重点领域保障.

- Green channel: a medical-insurance benefit check 医保待遇保障 before the hospital booking.
- Enables three-colour tiered care 三色分级, and a lawyer's anti-fraud talk 防诈骗普法 after
  each home visit it makes.
- A lawyer's child-safety law session 儿童安全普法 before childcare enrolment.
- Festival care: couplets written by old and young together 老少同写春联, with 福 characters,
  are the items of every festival delivery to solitary elders; community staff record the
  writing session.
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
from plugins.xiaodian.activities import CHECK_INSURANCE, XiaodianActivities
from plugins.xiaodian.adapters import EmbeddedMedicalInsurance
from plugins.xiaodian.forms import AntiFraudTalkForm, ChildSafetyLawForm, CoupletSessionForm
from plugins.xiaodian.views import TASK_TYPES

__all__ = ["DISTRICT", "plugin"]

DISTRICT = "xiaodian"
_HERE = frozenset({DISTRICT})
_ADMIN_ESCALATION = (EscalationLevel(role="district_admin", due=timedelta(days=2)),)

plugin = CarePlugin(
    name="xiaodian",
    version="1.1.0",
    title_zh="小店区 重点领域保障",
    title_en="Xiaodian: guarantees in key areas",
    order=50,
    task_types=TASK_TYPES,
    steps=(
        ActivityStep(
            key="xiaodian.insurance_check",
            process="eldercare.green_channel",
            point="before_booking",
            districts=_HERE,
            summary_zh="医保待遇保障核查",
            activity=CHECK_INSURANCE,
        ),
        HumanTaskStep(
            key="xiaodian.anti_fraud_talk",
            process="eldercare.tiers",
            point="after_visit",
            districts=_HERE,
            summary_zh="律师入户防诈骗普法",
            role="lawyer",
            title_zh="入户防诈骗普法",
            title_en="Anti-fraud talk at the elder's home",
            form=AntiFraudTalkForm,
            due=timedelta(days=14),
            escalation=_ADMIN_ESCALATION,
        ),
        HumanTaskStep(
            key="xiaodian.child_safety_law",
            process="childcare.places",
            point="before_enrolment",
            districts=_HERE,
            summary_zh="入托前儿童安全普法",
            role="lawyer",
            title_zh="儿童安全普法讲座",
            title_en="Child-safety law session before enrolment",
            form=ChildSafetyLawForm,
            due=timedelta(days=3),
            escalation=_ADMIN_ESCALATION,
        ),
        HumanTaskStep(
            key="xiaodian.couplet_session",
            process="eldercare.festival",
            point="after_listing",
            districts=_HERE,
            summary_zh="组织老少同写春联",
            role="community_staff",
            title_zh="老少同写春联活动登记",
            title_en="Record the old-and-young couplet writing",
            form=CoupletSessionForm,
            due=timedelta(days=5),
            escalation=_ADMIN_ESCALATION,
        ),
    ),
    programmes=(
        DistrictProgramme(
            district=DISTRICT,
            # Tiered care brings the home visits the lawyer's anti-fraud talk follows.
            enable=frozenset({"eldercare.tiers"}),
            params={
                "eldercare.festival": {
                    "include_lives_alone": True,
                    # Every festival delivery carries what old and young wrote together.
                    "items": [
                        {"category": "couplets", "description_zh": "春联（老少同写）"},
                        {"category": "fu_character", "description_zh": "福字"},
                    ],
                }
            },
        ),
    ),
    activities=(
        ActivitySet(
            cls=XiaodianActivities,
            build=lambda deps: XiaodianActivities(
                deps.engine,
                EmbeddedMedicalInsurance(deps.engine),
                notifications=deps.notifications,
            ),
        ),
    ),
)

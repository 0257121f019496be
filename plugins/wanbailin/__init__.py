"""Wanbailin 万柏林区: precise grading and smart services 精准分级 智慧服务.

* Enables three-colour tiers 三色分级 with its own cadences, and the smart health stations.
* Green channel: the latest health-station readings are attached to triage (ids only), and a
  tier reassessment follows discharge (the elder's tier plan gets the ``reassess`` signal).
* Micro-wish campaigns: the district charity association co-signs the wish list before it is
  published; it may withhold wishes or refuse the list.
* Enables the five-thirty classroom 五点半课堂.
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
from careflow.privacy.pseudonyms import load_pseudonyms
from plugins.engine.roles import Role
from plugins.wanbailin.activities import (
    ATTACH_READINGS,
    REQUEST_TIER_REASSESSMENT,
    WanbailinActivities,
)
from plugins.wanbailin.forms import CharityCoSignForm
from plugins.wanbailin.views import TASK_TYPES

__all__ = ["DISTRICT", "plugin"]

DISTRICT = "wanbailin"
_HERE = frozenset({DISTRICT})

GREEN_CHANNEL = "eldercare.green_channel"
MICROWISH = "childcare.microwish"
TIERS = "eldercare.tiers"
HEALTH = ("eldercare.health_monitor", "eldercare.health_alert")
CLASSROOM = ("childcare.classroom", "childcare.classroom_day", "childcare.classroom_enrolment")

plugin = CarePlugin(
    name="wanbailin",
    version="1.1.0",
    title_zh="万柏林区 精准分级与智慧服务",
    title_en="Wanbailin: precise grading and smart services",
    order=50,
    task_types=TASK_TYPES,
    steps=(
        ActivityStep(
            key="wanbailin.triage_readings",
            process=GREEN_CHANNEL,
            point="before_triage",
            districts=_HERE,
            summary_zh="附上健康小屋最近检测记录",
            activity=ATTACH_READINGS,
        ),
        ActivityStep(
            key="wanbailin.tier_reassessment",
            process=GREEN_CHANNEL,
            point="after_discharge",
            districts=_HERE,
            summary_zh="出院后重新分级评估",
            activity=REQUEST_TIER_REASSESSMENT,
        ),
        HumanTaskStep(
            key="wanbailin.charity_cosign",
            process=MICROWISH,
            # Before publication: withheld wishes never reach the pool, and a refused list
            # goes back to the district (micro-wish ``before_publication`` contract).
            point="before_publication",
            districts=_HERE,
            summary_zh="区慈善会联签心愿清单",
            role=Role.CHARITY_OFFICER,
            title_zh="区慈善会联签微心愿清单",
            title_en="Charity association co-signs the wish list",
            form=CharityCoSignForm,
            due=timedelta(days=2),
            escalation=(EscalationLevel(role=Role.DISTRICT_ADMIN, due=timedelta(days=1)),),
        ),
    ),
    programmes=(
        DistrictProgramme(
            district=DISTRICT,
            enable=frozenset({TIERS, *HEALTH, *CLASSROOM}),
            params={
                TIERS: {
                    "reassess_every": timedelta(days=90),
                    "green_invite_every": timedelta(days=21),
                    "yellow_visit_every": timedelta(days=10),
                    "red_visit_every": timedelta(days=5),
                    "red_visit_due": timedelta(days=1),
                },
                "eldercare.health_alert": {
                    "review_due_critical": timedelta(minutes=30),
                    "review_due": timedelta(hours=12),
                },
                "eldercare.health_monitor": {"idle_close": timedelta(days=60)},
            },
        ),
    ),
    activities=(
        ActivitySet(
            cls=WanbailinActivities,
            build=lambda deps: WanbailinActivities(
                deps.engine, pseudonyms=load_pseudonyms(deps.settings)
            ),
        ),
    ),
)

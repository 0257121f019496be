"""Purposes of processing 处理目的 and how long a closed case's personal data is kept for each.

A purpose groups the processes that use personal data for one end (a micro-wish campaign, a
curtain check): PIPL art. 19 asks that data be kept no longer than that end needs, so each
purpose has a retention period, counted from the day its case closed. The codes are those the
consent table uses (``careflow.privacy.consent``: ``microwish``, ``classroom`` …).

Pure: the workflow reads these through the sandbox passthrough.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

__all__ = ["CONSENT_PURPOSES", "PURPOSES", "PURPOSE_CODES", "Purpose", "purpose_of"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Purpose:
    """One purpose of processing and its default retention.

    Attributes:
        code: The param name and the consent table's purpose code.
        title_zh: What staff call it.
        title_en: The same in English.
        processes: The process ids whose cases serve it.
        default: How long after a case closed its personal data is kept.
        why: Why that default, for the README and ``careflow retention periods``.
    """

    code: str
    title_zh: str
    title_en: str
    processes: tuple[str, ...]
    default: timedelta
    why: str


_YEAR = timedelta(days=365)

PURPOSES: tuple[Purpose, ...] = (
    Purpose(
        code="microwish",
        title_zh="微心愿",
        title_en="Micro-wish campaigns",
        processes=("childcare.microwish",),
        default=3 * _YEAR,
        why="a campaign's donors and the charity association may query it for three years",
    ),
    Purpose(
        code="delivery",
        title_zh="物资配送",
        title_en="Deliveries of goods",
        processes=("delivery",),
        default=3 * _YEAR,
        why="as long as the campaigns it delivers for (micro-wish, festival gifts)",
    ),
    Purpose(
        code="classroom",
        title_zh="五点半课堂",
        title_en="Five-thirty classroom attendance",
        processes=(
            "childcare.classroom",
            "childcare.classroom_day",
            "childcare.classroom_enrolment",
        ),
        default=_YEAR,
        why="attendance and hand-overs matter for the school year and a complaint after it",
    ),
    Purpose(
        code="dining",
        title_zh="小饭桌监管",
        title_en="Small dining table supervision",
        processes=(
            "childcare.dining_inspection",
            "childcare.dining_round",
            "childcare.dining_enrolment",
        ),
        default=2 * _YEAR,
        why="food-safety inspection records are kept two years",
    ),
    Purpose(
        code="places",
        title_zh="托育服务",
        title_en="Childcare place applications",
        processes=("childcare.places",),
        default=2 * _YEAR,
        why="a waiting-list decision can be contested while the child is of nursery age",
    ),
    Purpose(
        code="health",
        title_zh="智慧健康驿站",
        title_en="Health station readings and alerts",
        processes=("eldercare.health_monitor", "eldercare.health_alert"),
        default=2 * _YEAR,
        why="a doctor compares readings over two years; older ones are not used",
    ),
    Purpose(
        code="curtain",
        title_zh="窗帘之约",
        title_en="Curtain appointment checks",
        processes=(
            "eldercare.curtain_round",
            "eldercare.curtain_check",
            "eldercare.curtain_away",
        ),
        default=timedelta(days=180),
        why="a daily check is reviewed within weeks; half a year covers any follow-up",
    ),
    Purpose(
        code="green_channel",
        title_zh="急诊绿色通道",
        title_en="Emergency green channel referrals",
        processes=("eldercare.green_channel",),
        default=5 * _YEAR,
        why="a referral may be reviewed with the hospital's medical records for five years",
    ),
    Purpose(
        code="tiers",
        title_zh="三色分级",
        title_en="Three-colour care tiers",
        processes=("eldercare.tiers",),
        default=3 * _YEAR,
        why="a closed care plan informs a reassessment if the elder returns",
    ),
    Purpose(
        code="pension",
        title_zh="上门养老认证",
        title_en="Door-to-door pension certification",
        processes=("eldercare.pension", "eldercare.pension_visit"),
        default=5 * _YEAR,
        why="social insurance audits pension payments for five years",
    ),
    Purpose(
        code="festival",
        title_zh="节日慰问",
        title_en="Festival gifts",
        processes=("eldercare.festival",),
        default=_YEAR,
        why="next year's list is made afresh",
    ),
    Purpose(
        code="community_event",
        title_zh="社区活动",
        title_en="Community events",
        processes=("community_event",),
        default=_YEAR,
        why="registrations matter until the next year's event",
    ),
)
"""Every purpose, in the order reports list them."""

PURPOSE_CODES: tuple[str, ...] = tuple(p.code for p in PURPOSES)

CONSENT_PURPOSES: dict[str, tuple[str, ...]] = {
    "microwish": ("microwish",),
    "classroom": ("classroom",),
    "childcare_place": ("places",),
    "health_monitoring": ("health",),
}
"""Consent purpose (``careflow.privacy.consent.PURPOSES``) → the retention purposes whose
closed cases lose that subject's data once the consent is withdrawn."""

_BY_PROCESS = {process: p.code for p in PURPOSES for process in p.processes}


def purpose_of(process: str) -> str | None:
    """The purpose a process's cases serve, or None for a process no purpose names (left alone)."""
    return _BY_PROCESS.get(process)

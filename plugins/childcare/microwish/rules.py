"""Review rules of the micro-wish campaign, pure so that workflows and tests share them."""

from __future__ import annotations

from plugins.childcare.microwish.forms import VisitForm

__all__ = ["REASONS_ZH", "age_band", "reason_code", "visit_verdict"]

REASONS_ZH: dict[str, str] = {
    "declined_by_guardian": "监护人谢绝",
    "no_consent": "未获监护人同意",
    "no_consent_record": "未登记监护人同意（微心愿走访）",
    "consent_withdrawn": "监护人已撤回同意",
    "over_value_cap": "超出价值上限",
    "duplicate": "同一儿童本次活动已有心愿",
    "sent_back_too_often": "多次退回未通过",
    "review_expired": "审核超时",
    "visit_expired": "走访超时",
    "over_budget": "超出采购预算",
    "final_deadline": "超过最终期限",
    "not_bought": "慈善采购未购买",
    "withheld_at_sign_off": "联签时暂缓发布",
    "withheld_at_revision": "修订时暂缓发布",
    "list_not_signed": "心愿清单未获签署",
}
"""Staff words for every reason a wish ends unfilled: the only reason codes a wish row holds."""


def reason_code(text: str | None) -> str:
    """A reason as a code: a known code stays, free text (``缺货 out of stock``) is
    ``not_bought``; the text itself belongs in the case record, not in reports."""
    return text if text in REASONS_ZH else "not_bought"


def visit_verdict(form: VisitForm, *, value_cap_yuan: int) -> tuple[str, str | None]:
    """What a visit form means before any human review.

    Returns:
        ``(status, reason)``: ``declined_by_guardian``, ``rejected`` with ``no_consent`` or
        ``over_value_cap``, or ``in_review``.
    """
    if form.declined:
        return "declined_by_guardian", "declined_by_guardian"
    if not form.guardian_consent:
        return "rejected", "no_consent"  # no consent means no wish, whatever staff think
    if (form.estimated_value_yuan or 0) > value_cap_yuan:
        return "rejected", "over_value_cap"
    return "in_review", None


def age_band(age: int) -> str:
    """The age band the anonymised pool shows instead of a birth date."""
    for low, high in ((0, 2), (3, 5), (6, 8), (9, 11), (12, 14), (15, 17)):
        if low <= age <= high:
            return f"{low}-{high}"
    return "18+"

"""Context views of the micro-wish tasks: what the visitor, reviewer and buyer need to see."""

from __future__ import annotations

from sqlmodel import Session, col, select

from careflow.contract import TaskType
from careflow.db.tables import Guardian, Household, Person, Task
from careflow.task_context import ContextItem, area_name
from plugins.childcare.microwish.forms import (
    ListRevisionForm,
    ProcurementForm,
    ReviewForm,
    VisitForm,
)
from plugins.childcare.microwish.tables import CwCampaign, CwWish

__all__ = [
    "TASK_TYPES",
    "procurement_context",
    "review_context",
    "visit_context",
    "wish_list_context",
]


def _wish(session: Session, task: Task) -> CwWish:
    # Step keys are visit.<wish id>[.r<round>], review.<wish id>[…], procure.<wish id>.
    wish = session.get(CwWish, int(task.step_key.split(".")[1]))
    if wish is None or wish.campaign_id != task.workflow_id:
        raise LookupError("wish not in this campaign")
    return wish


def _child(session: Session, wish: CwWish) -> list[ContextItem]:
    child = session.get(Person, wish.child_ref)
    return [
        ContextItem(
            label_zh="儿童",
            label_en="child",
            value=child.name if child else wish.child_ref,
            personal="name",
        ),
        ContextItem(label_zh="年龄", label_en="age", value=wish.age),
        ContextItem(
            label_zh="社区", label_en="community", value=area_name(session, wish.community)
        ),
    ]


def _wish_items(wish: CwWish) -> list[ContextItem]:
    wanted = " ".join(x for x in (wish.category, wish.size, wish.description_zh) if x)
    return [
        ContextItem(label_zh="心愿", label_en="wish", value=wanted or None),
        ContextItem(
            label_zh="估价（元）",
            label_en="estimated value (yuan)",
            value=wish.estimated_value_yuan,
        ),
    ]


def _low_income(session: Session, wish: CwWish) -> ContextItem:
    household = session.get(Household, wish.household_ref) if wish.household_ref else None
    value = None if household is None else ("是 yes" if household.low_income else "否 no")
    return ContextItem(label_zh="低保家庭", label_en="low-income household", value=value)


def visit_context(session: Session, task: Task) -> list[ContextItem]:
    """The child to visit, the guardians to ask (names and phones personal), a sent-back wish."""
    wish = _wish(session, task)
    guardians = session.exec(
        select(Person)
        .join(Guardian, col(Guardian.guardian_id) == col(Person.id))
        .where(Guardian.child_id == wish.child_ref)
        .order_by(col(Person.id))
    ).all()
    items = [
        *_child(session, wish),
        ContextItem(
            label_zh="监护人",
            label_en="guardians",
            value=[g.name for g in guardians],
            personal="name",
        ),
        ContextItem(
            label_zh="监护人电话",
            label_en="guardian phones",
            value=[g.phone for g in guardians if g.phone],
            personal="phone",
        ),
    ]
    if wish.category:  # a revisit: the wish as first recorded
        items += _wish_items(wish)
    return items


def review_context(session: Session, task: Task) -> list[ContextItem]:
    """The wish to decide: what the child wishes, age, low-income flag, consent, visitor."""
    wish = _wish(session, task)
    return [
        *_child(session, wish),
        *_wish_items(wish),
        _low_income(session, wish),
        ContextItem(
            label_zh="监护人同意",
            label_en="guardian consent",
            value=None
            if wish.guardian_consent is None
            else ("是 yes" if wish.guardian_consent else "否 no"),
        ),
        ContextItem(label_zh="走访人", label_en="visited by", value=wish.visited_by),
    ]


def procurement_context(session: Session, task: Task) -> list[ContextItem]:
    """The unmatched wish to buy and what is left of the campaign's budget."""
    wish = _wish(session, task)
    campaign = session.get(CwCampaign, task.workflow_id)
    left = (
        None
        if campaign is None
        else campaign.budget_yuan + campaign.money_pledged_yuan - campaign.spent_yuan
    )
    return [
        ContextItem(label_zh="心愿编号", label_en="wish", value=f"W{wish.id}"),
        ContextItem(label_zh="年龄", label_en="child's age", value=wish.age),
        ContextItem(
            label_zh="社区", label_en="community", value=area_name(session, wish.community)
        ),
        *_wish_items(wish),
        ContextItem(label_zh="剩余预算（元）", label_en="budget left (yuan)", value=left),
    ]


def wish_list_context(session: Session, task: Task) -> list[ContextItem]:
    """The campaign's approved wish list, as signed or revised (no names)."""
    wishes = session.exec(
        select(CwWish)
        .where(
            CwWish.campaign_id == task.workflow_id,
            col(CwWish.status).in_(("approved", "withheld")),
        )
        .order_by(col(CwWish.seq))
    ).all()
    approved = [w for w in wishes if w.status == "approved"]
    return [
        ContextItem(label_zh="已审核心愿数", label_en="approved wishes", value=len(approved)),
        ContextItem(
            label_zh="心愿清单",
            label_en="wish list",
            value=[
                " ".join(x for x in (f"W{w.id}", w.category, w.size, w.status) if x) for w in wishes
            ],
        ),
        ContextItem(
            label_zh="估价合计（元）",
            label_en="estimated total (yuan)",
            value=sum(w.estimated_value_yuan or 0 for w in approved),
        ),
    ]


TASK_TYPES = (
    TaskType(
        form=VisitForm, context=visit_context, title_zh="入户走访", title_en="Household visit"
    ),
    TaskType(form=ReviewForm, context=review_context, title_zh="心愿审核", title_en="Wish review"),
    TaskType(
        form=ListRevisionForm,
        context=wish_list_context,
        title_zh="修订心愿清单",
        title_en="Wish list revision",
    ),
    TaskType(
        form=ProcurementForm,
        context=procurement_context,
        title_zh="慈善采购",
        title_en="Charity procurement",
    ),
)
"""The micro-wish's task types with their views."""

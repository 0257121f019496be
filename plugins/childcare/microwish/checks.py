"""What the micro-wish tables refuse: the state checks of the start and of the pledge events.

The service runs these before anything is started or sent (``ProcessSpec.check`` and
``EventRoute.check``), so a sender learns at once that an event was refused and why: exit 2
at the CLI, one line naming the field. Registry ids (donor, drop-off, communities, added
children) are checked by the service from their ``RegistryRef`` markers; this module covers
what only the campaign's own tables know.

The campaign applies the same rules when it stores a pledge signal
(:func:`pledge_refusal`, :func:`withdrawal_refusal`), for whatever reaches it without these
checks (a signal sent straight to Temporal, or a race with publication or matching), and
records every refusal in its case record.

Rules (the README's micro-wish section states them):

* Pledges are taken from publication until matching. Before the wish list is published a
  pledge is refused (``not_published``): donors pledge against the published list, never
  ahead of it. After matching it is refused (``after_matching``). Between the end of the
  pledge window and matching the campaign stores it as ``late`` and never matches it.
* A ``pledge_ref`` names one pledge: sending the very same pledge again is a harmless
  resend (nothing changes); reusing the ref for a different pledge is refused.
* A goods pledge offers at most ``MAX_UNITS_PER_PLEDGE`` units, and no more than the
  campaign's open published wishes its item can fill (same category; same size for sized
  items). Other donors' pledges do not lower that bound: pledges compete in the matching, and
  one may be withdrawn.
* A withdrawal names an active pledge of the campaign and comes before matching (the
  campaign honours it only while the pledge window is open).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, func, or_, select

from careflow.errors import InputError
from careflow.privacy.pseudonyms import case_workflow_ids
from plugins.childcare.microwish.models import (
    PROCESS_ID,
    MicroWishRequest,
    PledgeEvent,
    PledgeWithdrawnEvent,
)
from plugins.childcare.microwish.tables import CwCampaign, CwPledge, CwPool

__all__ = [
    "Refusal",
    "check_pledge",
    "check_request",
    "check_withdrawal",
    "open_wishes_for",
    "pledge_refusal",
    "withdrawal_refusal",
]


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a pledge event is refused: the field to name, a code, a message for the sender."""

    field: str
    code: str
    message: str

    def error(self) -> InputError:
        """The refusal as the service raises it."""
        return InputError(self.field, self.message)


def _campaign(session: Session, district: str, case_ref: str) -> CwCampaign | None:
    # Campaigns are stored by workflow id: the keyed one, else one from before case keys.
    for workflow_id in case_workflow_ids(PROCESS_ID, district, case_ref):
        campaign = session.get(CwCampaign, workflow_id)
        if campaign is not None:
            return campaign
    return None


def open_wishes_for(session: Session, campaign_id: str, category: str, size: str | None) -> int:
    """Published wishes of the campaign still open that a unit of this item can fill."""
    query = select(func.count()).where(
        CwPool.campaign_id == campaign_id,
        CwPool.status == "open",
        CwPool.category == category,
        or_(col(CwPool.size).is_(None), CwPool.size == size),
    )
    return int(session.exec(query).one())


def _same_pledge(row: CwPledge, event: PledgeEvent) -> bool:
    category = event.category.value if event.category else None
    return (
        row.donor_ref == event.donor_ref
        and row.kind == event.kind
        and row.category == category
        and row.size == event.size
        and row.quantity == (event.quantity if event.kind == "goods" else 0)
        and row.amount_yuan == (event.amount_yuan if event.kind == "money" else 0)
        and row.dropoff == event.dropoff
    )


def _not_taking_pledges(campaign: CwCampaign | None) -> Refusal | None:
    if campaign is None:
        return Refusal(
            "case_ref",
            "unknown_campaign",
            "no micro-wish campaign with this case_ref · 无此微心愿活动",
        )
    if campaign.published_at is None:
        return Refusal(
            "case_ref",
            "not_published",
            "the wish list is not published yet; pledges open at publication "
            "· 心愿尚未发布，发布后方可认捐",
        )
    if campaign.matched_at is not None:
        return Refusal(
            "case_ref",
            "after_matching",
            "matching is done; the campaign takes no more pledges · 已完成匹配，不再接受认捐",
        )
    return None


def pledge_refusal(
    session: Session, campaign: CwCampaign | None, event: PledgeEvent
) -> Refusal | None:
    """Why the campaign refuses this pledge, or None (an identical resend is not refused).

    Args:
        session: An open session.
        campaign: The campaign row, None when there is none.
        event: The validated pledge.
    """
    refused = _not_taking_pledges(campaign)
    if refused is not None or campaign is None:
        return refused
    row = session.exec(
        select(CwPledge).where(
            CwPledge.campaign_id == campaign.campaign_id, CwPledge.pledge_ref == event.pledge_ref
        )
    ).first()
    if row is not None:
        if _same_pledge(row, event):
            return None
        return Refusal(
            "pledge_ref",
            "duplicate_ref",
            f"pledge_ref {event.pledge_ref!r} is already used for a different pledge "
            "· 认捐编号已用于另一项认捐",
        )
    if event.kind == "goods" and event.category is not None:
        room = open_wishes_for(session, campaign.campaign_id, event.category.value, event.size)
        if event.quantity > room:
            item = event.category.value + (f" size {event.size}" if event.size else "")
            return Refusal(
                "quantity",
                "over_open_wishes",
                f"at most {room}: the campaign has {room} open wish(es) for {item} "
                f"· 超出该物品待认领心愿数（{room}）",
            )
    return None


def withdrawal_refusal(
    session: Session, campaign: CwCampaign | None, pledge_ref: str
) -> Refusal | None:
    """Why the campaign refuses this withdrawal, or None."""
    if campaign is None:
        return _not_taking_pledges(campaign)
    row = session.exec(
        select(CwPledge).where(
            CwPledge.campaign_id == campaign.campaign_id, CwPledge.pledge_ref == pledge_ref
        )
    ).first()
    if row is None:
        return Refusal(
            "pledge_ref",
            "unknown_pledge",
            f"no pledge {pledge_ref!r} in this campaign · 本活动无此认捐",
        )
    if campaign.matched_at is not None:
        return Refusal(
            "pledge_ref",
            "after_matching",
            "matching is done; a pledge can no longer be withdrawn · 已完成匹配，不能撤回",
        )
    if row.status != "active":
        return Refusal(
            "pledge_ref",
            f"pledge_{row.status}",
            f"pledge {pledge_ref!r} is {row.status}, not active · 该认捐不在有效状态",
        )
    return None


# --- the checks the service runs (``check(session, district, payload)``) ------------------------


def check_request(session: Session, district: str, payload: Any) -> None:
    """Refuse a campaign request naming a community or an added child twice."""
    del session, district  # registry ids are checked by the service from their markers
    request: MicroWishRequest = payload
    for name in ("communities", "extra_children"):
        seen: set[str] = set()
        for index, value in enumerate(getattr(request, name)):
            if value in seen:
                raise InputError(f"{name}.{index}", f"{value!r} is listed twice · 重复")
            seen.add(value)


def check_pledge(session: Session, district: str, payload: Any) -> None:
    """Refuse a pledge the campaign would refuse (see the module docstring)."""
    event: PledgeEvent = payload
    refused = pledge_refusal(session, _campaign(session, district, event.case_ref), event)
    if refused is not None:
        raise refused.error()


def check_withdrawal(session: Session, district: str, payload: Any) -> None:
    """Refuse a withdrawal of an unknown, inactive or already matched pledge."""
    event: PledgeWithdrawnEvent = payload
    refused = withdrawal_refusal(
        session, _campaign(session, district, event.case_ref), event.pledge_ref
    )
    if refused is not None:
        raise refused.error()

"""Activities of the micro-wish campaign: every read and write of the ``cw_`` tables.

Each activity is idempotent: repeating one after a lost reply finds the rows it wrote and
changes nothing more. Writes that share the campaign's budget or its one-wish-per-child rule
lock the campaign row, so concurrent tasks of one campaign are applied one at a time.
"""

from __future__ import annotations

from datetime import date

import structlog
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from careflow.db import crud
from careflow.db.engine import session_scope
from careflow.db.tables import Household, HouseholdMember, Person
from careflow.privacy.consent import consenting
from careflow.settings import Settings
from plugins.childcare.microwish import tables
from plugins.childcare.microwish.anonymise import published_cells
from plugins.childcare.microwish.checks import pledge_refusal, withdrawal_refusal
from plugins.childcare.microwish.matching import PledgeOffer, WishNeed, area_distance, solve
from plugins.childcare.microwish.models import (
    CampaignOpened,
    CampaignReport,
    ConsentGate,
    ConsentGateInput,
    DecideWishInput,
    DeliveryOrder,
    MatchInput,
    MatchSummary,
    MicroWishActivity,
    OpenCampaignInput,
    PageInput,
    PledgeOp,
    PledgeOpsInput,
    PledgeRefusal,
    PledgeTally,
    ProcurementInput,
    ProcurementPlan,
    ProcurementVerdict,
    PublishSummary,
    RecordDeliveriesInput,
    RecordVisitInput,
    ReportInput,
    VisitRef,
    WishList,
    WishListInput,
    WishVerdict,
    WithdrawChildInput,
    WithdrawnWishes,
    WithholdInput,
    WithholdSummary,
)
from plugins.childcare.microwish.report import traits, write_report, write_wish_list
from plugins.childcare.microwish.rules import reason_code
from plugins.childcare.microwish.tables import CwCampaign, CwMatch, CwPledge, CwPool, CwWish

__all__ = ["MicroWishActivities"]

_log = structlog.get_logger("childcare.microwish.activities")

# Importing the tables registers them on SQLModel.metadata wherever the plugin is loaded.
assert tables.CwReport.__tablename__ == "cw_report"

#: Statuses of a wish that an approval of another wish of the same child collides with.
_TAKEN = ("approved", "matched", "procuring", "procured", "delivered", "not_delivered")
#: The consent purpose of the visits (``careflow.privacy.consent``).
CONSENT_PURPOSE = "microwish"
#: A wish of a child whose guardian withdrew consent; nothing more is done with it.
WITHDRAWN = "withdrawn"
#: Statuses of a wish still being worked on: a withdrawal ends these. The others (rejected,
#: declined, expired, delivered …) already ended and keep their outcome for the report.
_ACTIVE = (
    "pending_visit",
    "in_review",
    "approved",
    "withheld",
    "matched",
    "procuring",
    "procured",
)


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _campaign(session: Session, campaign_id: str, *, lock: bool = False) -> CwCampaign:
    row = session.get(CwCampaign, campaign_id, with_for_update=lock)
    if row is None:
        raise ApplicationError(
            f"no micro-wish campaign {campaign_id!r}", type="UnknownCampaign", non_retryable=True
        )
    return row


def _wish(session: Session, wish_id: int) -> CwWish:
    row = session.get(CwWish, wish_id)
    if row is None:
        raise ApplicationError(f"no wish {wish_id}", type="UnknownWish", non_retryable=True)
    return row


class MicroWishActivities:
    """The campaign's database work.

    Args:
        engine: Engine of the app database.
        settings: Where reports are written (``data_dir/reports``).
    """

    def __init__(self, engine: Engine, settings: Settings) -> None:
        """Keep the dependencies."""
        self._engine = engine
        self._settings = settings

    # -- selection and visits

    @activity.defn(name=MicroWishActivity.OPEN)
    def open_campaign(self, input: OpenCampaignInput) -> CampaignOpened:
        """Create the campaign and one wish row per eligible child (once).

        Eligible: a child of a low-income household 低保户 in the campaign's communities,
        aged ``min_age``–``max_age`` on the opening day; plus the children staff added.
        """
        with session_scope(self._engine) as session:
            existing = session.get(CwCampaign, input.campaign_id)
            if existing is None:
                self._select(session, input)
            rows = session.exec(
                select(CwWish.community).where(CwWish.campaign_id == input.campaign_id)
            ).all()
        _log.info("microwish.opened", campaign_id=input.campaign_id, wishes=len(rows))
        return CampaignOpened(wishes=len(rows), communities=len(set(rows)))

    def _select(self, session: Session, input: OpenCampaignInput) -> None:
        communities = input.communities or [
            a.code for a in crud.communities_of(session, district=input.district)
        ]
        session.add(
            CwCampaign(
                campaign_id=input.campaign_id,
                district=input.district,
                case_ref=input.case_ref,
                communities=communities,
                budget_yuan=input.budget_yuan,
                opened_at=input.opened_at,
            )
        )
        today = input.eligibility_date or input.opened_at.date()
        statement = (
            select(Person, Household.id)
            .join(HouseholdMember, col(HouseholdMember.person_id) == col(Person.id))
            .join(Household, col(Household.id) == col(HouseholdMember.household_id))
            .where(
                Person.kind == "child",
                col(Household.low_income).is_(True),
                col(Person.community_code).in_(communities),
            )
            .order_by(col(Person.id))
        )
        chosen: list[tuple[Person, str | None]] = []
        seen: set[str] = set()
        for person, household_id in session.exec(statement).all():
            if person.id in seen:
                continue  # a child in two low-income households still gets one visit
            if input.min_age <= _age(person.birth_date, today) <= input.max_age:
                seen.add(person.id)
                chosen.append((person, household_id))
        for ref in input.extra_children:
            extra = session.get(Person, ref)
            if extra is None or extra.kind != "child":
                _log.warning("microwish.extra_child_unknown", campaign_id=input.campaign_id)
                continue
            # Added by hand even if already selected: the review's one-wish rule decides.
            chosen.append((extra, None))
        for seq, (child, household) in enumerate(chosen, start=1):
            session.add(
                CwWish(
                    campaign_id=input.campaign_id,
                    seq=seq,
                    child_ref=child.id,
                    household_ref=household,
                    community=child.community_code,
                    gender=child.gender,
                    age=_age(child.birth_date, today),
                )
            )

    @activity.defn(name=MicroWishActivity.VISITS)
    def visit_page(self, input: PageInput) -> list[VisitRef]:
        """The next wishes waiting for a visit, by id."""
        with Session(self._engine) as session:
            rows = session.exec(
                select(CwWish)
                .where(
                    CwWish.campaign_id == input.campaign_id,
                    CwWish.status == "pending_visit",
                    col(CwWish.id) > input.after_id,
                )
                .order_by(col(CwWish.id))
                .limit(input.limit)
            ).all()
            return [
                VisitRef(wish_id=r.id or 0, child_ref=r.child_ref, community=r.community)
                for r in rows
            ]

    @activity.defn(name=MicroWishActivity.CONSENT_GATE)
    def consent_gate(self, input: ConsentGateInput) -> ConsentGate:
        """Reject the waiting visits of children without the guardian's consent on record
        (``no_consent_record``), so that no visit task shows their data; idempotent."""
        with session_scope(self._engine) as session:
            wishes = session.exec(
                select(CwWish).where(
                    CwWish.campaign_id == input.campaign_id, col(CwWish.id).in_(input.wish_ids)
                )
            ).all()
            waiting = [w for w in wishes if w.status == "pending_visit"]
            allowed = consenting(
                session,
                subject_ids=[w.child_ref for w in waiting],
                purpose=CONSENT_PURPOSE,
                on=input.on,
            )
            refused = []
            for wish in wishes:
                if wish.status == "pending_visit" and wish.child_ref not in allowed:
                    wish.status, wish.reason = "rejected", "no_consent_record"
                    session.add(wish)
                elif not (wish.status == "rejected" and wish.reason == "no_consent_record"):
                    continue  # a retry answers what the first attempt refused
                refused.append(
                    VisitRef(
                        wish_id=wish.id or 0, child_ref=wish.child_ref, community=wish.community
                    )
                )
        _log.info("microwish.consent_gate", campaign_id=input.campaign_id, refused=len(refused))
        return ConsentGate(refused=sorted(refused, key=lambda r: r.wish_id))

    @activity.defn(name=MicroWishActivity.CONSENT_WITHDRAWN)
    def consent_withdrawn(self, input: WithdrawChildInput) -> WithdrawnWishes:
        """End every wish of the child in the campaign (status ``withdrawn``, reason
        ``consent_withdrawn``) and take it out of the pool; idempotent, and empty for a child
        the campaign does not hold."""
        with session_scope(self._engine) as session:
            _campaign(session, input.campaign_id, lock=True)  # no decision meanwhile
            wishes = session.exec(
                select(CwWish)
                .where(CwWish.campaign_id == input.campaign_id, CwWish.child_ref == input.child_ref)
                .order_by(col(CwWish.id))
            ).all()
            ended = []
            for wish in wishes:
                if wish.status not in _ACTIVE and not (
                    wish.status == WITHDRAWN and wish.reason == "consent_withdrawn"
                ):
                    continue
                wish.status, wish.reason = WITHDRAWN, "consent_withdrawn"
                session.add(wish)
                for row in session.exec(select(CwPool).where(CwPool.wish_id == wish.id)).all():
                    row.status = WITHDRAWN
                    session.add(row)
                ended.append(
                    VisitRef(
                        wish_id=wish.id or 0, child_ref=wish.child_ref, community=wish.community
                    )
                )
        _log.info("microwish.consent_withdrawn", campaign_id=input.campaign_id, wishes=len(ended))
        return WithdrawnWishes(wishes=ended)

    @activity.defn(name=MicroWishActivity.RECORD_VISIT)
    def record_visit(self, input: RecordVisitInput) -> None:
        """Store the visit form and the rules' verdict on the wish (not on a withdrawn one)."""
        data = input.data
        with session_scope(self._engine) as session:
            wish = _wish(session, input.wish_id)
            if wish.status == WITHDRAWN:
                return  # the guardian withdrew consent: the form is not kept
            wish.status = input.status
            wish.reason = input.reason
            if input.status != "visit_expired":
                wish.visited_by = input.actor
                wish.visited_at = input.at
                category = data.get("category")
                wish.category = str(category) if category else None
                size = data.get("size")
                wish.size = str(size) if size else None
                wish.description_zh = str(data.get("description_zh") or "")[:200]
                value = data.get("estimated_value_yuan")
                wish.estimated_value_yuan = int(str(value)) if value is not None else None
                wish.guardian_consent = bool(data.get("guardian_consent"))
            session.add(wish)

    @activity.defn(name=MicroWishActivity.DECIDE)
    def decide_wish(self, input: DecideWishInput) -> WishVerdict:
        """Approve a wish unless the child already has one in the campaign; or reject it."""
        with session_scope(self._engine) as session:
            wish = _wish(session, input.wish_id)
            _campaign(session, wish.campaign_id, lock=True)  # one decision at a time
            if wish.status != "in_review":
                return WishVerdict(wish_id=input.wish_id, status=wish.status, reason=wish.reason)
            wish.reviewed_by = input.actor
            if input.approve:
                other = session.exec(
                    select(CwWish.id).where(
                        CwWish.campaign_id == wish.campaign_id,
                        CwWish.child_ref == wish.child_ref,
                        CwWish.id != wish.id,
                        col(CwWish.status).in_(_TAKEN),
                    )
                ).first()
                if other is not None:
                    wish.status, wish.reason = "rejected", "duplicate"
                else:
                    wish.status, wish.reason = "approved", None
                    wish.priority = input.priority
                    wish.approved_at = input.at
            else:
                wish.status, wish.reason = "rejected", input.reason
            session.add(wish)
            return WishVerdict(wish_id=input.wish_id, status=wish.status, reason=wish.reason)

    # -- publication and pledges

    @activity.defn(name=MicroWishActivity.PREPARE_LIST)
    def prepare_list(self, input: WishListInput) -> WishList:
        """Write the anonymised list of approved wishes that a district signs before publication."""
        with session_scope(self._engine) as session:
            _campaign(session, input.campaign_id)
            listed = write_wish_list(
                session,
                campaign_id=input.campaign_id,
                round_=input.round,
                reports_dir=self._settings.data_dir / "reports",
            )
        _log.info(
            "microwish.list_prepared",
            campaign_id=input.campaign_id,
            round=input.round,
            approved=listed.approved,
        )
        return listed

    @activity.defn(name=MicroWishActivity.WITHHOLD)
    def withhold(self, input: WithholdInput) -> WithholdSummary:
        """Keep approved wishes out of the pool (status ``withheld``); idempotent on retry.

        Ids that are not approved wishes of this campaign (a typo, another campaign's wish, a
        rejected wish) are returned as ignored rather than failing the sign-off. A wish already
        withheld counts as withheld, so a retried activity answers the same.
        """
        with session_scope(self._engine) as session:
            _campaign(session, input.campaign_id, lock=True)
            statuses = ("approved",) if input.all_approved else ("approved", "withheld")
            query = select(CwWish).where(
                CwWish.campaign_id == input.campaign_id, col(CwWish.status).in_(statuses)
            )
            if not input.all_approved:
                query = query.where(col(CwWish.id).in_(input.wish_ids))
            rows = session.exec(query).all()
            for wish in rows:
                if wish.status == "approved":
                    wish.status, wish.reason = "withheld", input.reason
                    session.add(wish)
            found = {w.id for w in rows}
            ignored = sorted(i for i in set(input.wish_ids) if i not in found)
        return WithholdSummary(withheld=len(rows), ignored=ignored)

    @activity.defn(name=MicroWishActivity.PUBLISH)
    def publish(self, input: ReportInput) -> PublishSummary:
        """Copy approved wishes to the charity pool, anonymised: never a name or a registry id,
        and community, age band and gender coarsened so that no row stands for fewer than
        three wishes (:mod:`plugins.childcare.microwish.anonymise`)."""
        with session_scope(self._engine) as session:
            campaign = _campaign(session, input.campaign_id, lock=True)
            published = {
                wid
                for wid in session.exec(
                    select(CwPool.wish_id).where(CwPool.campaign_id == input.campaign_id)
                ).all()
            }
            approved = session.exec(
                select(CwWish).where(
                    CwWish.campaign_id == input.campaign_id, CwWish.status == "approved"
                )
            ).all()
            cells = published_cells([traits(w) for w in approved])
            for wish in approved:
                if wish.id in published:
                    continue
                cell = cells[wish.id or 0]
                session.add(
                    CwPool(
                        campaign_id=input.campaign_id,
                        wish_id=wish.id or 0,
                        district=campaign.district,
                        community=cell.community,
                        age_band=cell.age_band,
                        gender=cell.gender,
                        category=wish.category or "",
                        size=wish.size,
                        published_at=input.at,
                    )
                )
                published.add(wish.id or 0)
            campaign.published_at = campaign.published_at or input.at
            session.add(campaign)
            return PublishSummary(published=len(published))

    @activity.defn(name=MicroWishActivity.PLEDGES)
    def apply_pledges(self, input: PledgeOpsInput) -> PledgeTally:
        """Store pledges and withdrawals in arrival order, refusing what the rules refuse.

        The rules are :mod:`plugins.childcare.microwish.checks`'s, which the service also runs
        before sending: a pledge before publication or after matching, a ``pledge_ref`` reused
        for a different pledge, more units than the campaign has open wishes for; a withdrawal
        of an unknown or inactive pledge. Refused pledges are not stored (the ref stays free);
        after the window a pledge is stored as ``late`` and never matched, and a withdrawal is
        refused. Every refusal is returned (ids and a code) for the case record.
        """
        tally = PledgeTally()
        with session_scope(self._engine) as session:
            campaign = _campaign(session, input.campaign_id, lock=True)
            for op in input.ops:
                if op.op == "pledge" and op.pledge is not None:
                    self._pledge(session, campaign, op, input.window_open, tally)
                else:
                    self._withdraw(session, campaign, op, input.window_open, tally)
            session.add(campaign)
        tally.refused = len(tally.refusals)
        return tally

    def _refuse(self, tally: PledgeTally, op: PledgeOp, reason: str) -> None:
        tally.refusals.append(PledgeRefusal(op=op.op, pledge_ref=op.pledge_ref, reason=reason))

    def _pledge(
        self,
        session: Session,
        campaign: CwCampaign,
        op: PledgeOp,
        window_open: bool,
        tally: PledgeTally,
    ) -> None:
        event = op.pledge
        assert event is not None
        if campaign.published_at is not None and op.at < campaign.published_at:
            # Sent before publication, stored after it: still a pledge ahead of the list.
            self._refuse(tally, op, "not_published")
            return
        refused = pledge_refusal(session, campaign, event)
        if refused is not None:
            self._refuse(tally, op, refused.code)
            return
        known = session.exec(
            select(CwPledge.id).where(
                CwPledge.campaign_id == campaign.campaign_id,
                CwPledge.pledge_ref == op.pledge_ref,
            )
        ).first()
        if known is not None:
            tally.duplicate += 1  # the very same pledge sent again: nothing changes
            return
        status = "active" if window_open else "late"
        session.add(
            CwPledge(
                campaign_id=campaign.campaign_id,
                pledge_ref=event.pledge_ref,
                donor_ref=event.donor_ref,
                kind=event.kind,
                category=event.category.value if event.category else None,
                size=event.size,
                quantity=event.quantity if event.kind == "goods" else 0,
                amount_yuan=event.amount_yuan if event.kind == "money" else 0,
                dropoff=event.dropoff,
                status=status,
                received_at=op.at,
            )
        )
        session.flush()
        if status == "late":
            tally.late += 1
            self._refuse(tally, op, "late")  # kept as a record, never matched
            return
        tally.accepted += 1
        if event.kind == "money":
            campaign.money_pledged_yuan += event.amount_yuan

    def _withdraw(
        self,
        session: Session,
        campaign: CwCampaign,
        op: PledgeOp,
        window_open: bool,
        tally: PledgeTally,
    ) -> None:
        refused = withdrawal_refusal(session, campaign, op.pledge_ref)
        if refused is None and not window_open:
            refused_code: str | None = "window_closed"
        else:
            refused_code = refused.code if refused is not None else None
        if refused_code is not None:
            tally.withdrawal_refused += 1
            self._refuse(tally, op, refused_code)
            return
        row = session.exec(
            select(CwPledge).where(
                CwPledge.campaign_id == campaign.campaign_id,
                CwPledge.pledge_ref == op.pledge_ref,
            )
        ).one()
        row.status, row.withdrawn_at = "withdrawn", op.at
        if row.kind == "money":
            campaign.money_pledged_yuan -= row.amount_yuan
        session.add(row)
        tally.withdrawn += 1

    # -- matching and procurement

    @activity.defn(name=MicroWishActivity.MATCH)
    def match(self, input: MatchInput) -> MatchSummary:
        """Match active goods pledges to approved wishes with the exact optimiser (once)."""
        with session_scope(self._engine) as session:
            campaign = _campaign(session, input.campaign_id, lock=True)
            wishes = session.exec(
                select(CwWish).where(
                    CwWish.campaign_id == input.campaign_id,
                    col(CwWish.status).in_(("approved", "matched")),
                )
            ).all()
            pledges = session.exec(
                select(CwPledge).where(
                    CwPledge.campaign_id == input.campaign_id,
                    CwPledge.status == "active",
                    CwPledge.kind == "goods",
                )
            ).all()
            units = sum(p.quantity for p in pledges)
            if campaign.matched_at is not None:
                done = session.exec(
                    select(CwMatch).where(
                        CwMatch.campaign_id == input.campaign_id, CwMatch.source == "pledge"
                    )
                ).all()
                return MatchSummary(
                    wishes=len(wishes),
                    pledged_units=units,
                    matched=len(done),
                    unmatched=len(wishes) - len(done),
                    weight=0,
                    distance_m=sum(m.distance_m for m in done),
                    fairness_floor=0.0,
                    solve_seconds=0.0,
                )
            result = solve(
                [
                    WishNeed(w.id or 0, w.community, w.category or "", w.size, w.priority)
                    for w in wishes
                ],
                [
                    PledgeOffer(p.id or 0, p.dropoff or "", p.category or "", p.size, p.quantity)
                    for p in pledges
                ],
                distance=area_distance,
                fairness_slack=input.fairness_slack,
            )
            by_id = {w.id: w for w in wishes}
            pool = {
                p.wish_id: p
                for p in session.exec(
                    select(CwPool).where(CwPool.campaign_id == input.campaign_id)
                ).all()
            }
            for wish_id, pledge_id, distance in result.pairs:
                session.add(
                    CwMatch(
                        campaign_id=input.campaign_id,
                        wish_id=wish_id,
                        pledge_id=pledge_id,
                        source="pledge",
                        distance_m=distance,
                        created_at=input.at,
                    )
                )
                by_id[wish_id].status = "matched"
                session.add(by_id[wish_id])
                if wish_id in pool:
                    pool[wish_id].status = "matched"
                    session.add(pool[wish_id])
            campaign.matched_at = input.at
            session.add(campaign)
        _log.info(
            "microwish.matched",
            campaign_id=input.campaign_id,
            matched=len(result.pairs),
            seconds=round(result.seconds, 3),
        )
        return MatchSummary(
            wishes=len(wishes),
            pledged_units=units,
            matched=len(result.pairs),
            unmatched=len(wishes) - len(result.pairs),
            weight=result.weight,
            distance_m=result.distance_m,
            fairness_floor=round(result.floor_rate, 4),
            solve_seconds=round(result.seconds, 3),
        )

    @activity.defn(name=MicroWishActivity.PROCUREMENT)
    def plan_procurement(self, input: ProcurementInput) -> ProcurementPlan:
        """Reserve the budget (fund plus money pledged) for unmatched wishes, most urgent first;
        decline what it cannot cover."""
        with session_scope(self._engine) as session:
            campaign = _campaign(session, input.campaign_id, lock=True)
            left = campaign.budget_yuan + campaign.money_pledged_yuan - campaign.spent_yuan
            reserved = session.exec(
                select(CwWish).where(
                    CwWish.campaign_id == input.campaign_id, CwWish.status == "procuring"
                )
            ).all()
            left -= sum(w.estimated_value_yuan or 0 for w in reserved)
            unmatched = session.exec(
                select(CwWish)
                .where(CwWish.campaign_id == input.campaign_id, CwWish.status == "approved")
                .order_by(col(CwWish.priority).desc(), col(CwWish.id))
            ).all()
            declined = 0
            for wish in unmatched:
                value = wish.estimated_value_yuan or 0
                if value <= left:
                    wish.status = "procuring"
                    left -= value
                else:
                    wish.status, wish.reason = "declined", "over_budget"
                    declined += 1
                session.add(wish)
            session.flush()
            to_buy = session.exec(
                select(CwWish)
                .where(CwWish.campaign_id == input.campaign_id, CwWish.status == "procuring")
                .order_by(col(CwWish.id))
            ).all()
            return ProcurementPlan(
                to_buy=[
                    VisitRef(wish_id=w.id or 0, child_ref=w.child_ref, community=w.community)
                    for w in to_buy
                ],
                declined_over_budget=declined,
                budget_left_yuan=left,
            )

    @activity.defn(name=MicroWishActivity.PROCURED)
    def record_procurement(self, input: ProcurementVerdict) -> ProcurementVerdict:
        """Book a purchase against the budget, or decline the wish with a reason."""
        with session_scope(self._engine) as session:
            wish = _wish(session, input.wish_id)
            campaign = _campaign(session, wish.campaign_id, lock=True)
            if wish.status != "procuring":
                match = session.exec(select(CwMatch).where(CwMatch.wish_id == wish.id)).first()
                return input.model_copy(
                    update={
                        "purchased": wish.status == "procured",
                        "cost_yuan": match.cost_yuan if match else 0,
                        "reason": wish.reason,
                    }
                )
            budget = campaign.budget_yuan + campaign.money_pledged_yuan
            if input.purchased and campaign.spent_yuan + input.cost_yuan <= budget:
                campaign.spent_yuan += input.cost_yuan
                wish.status, wish.reason = "procured", None
                session.add(
                    CwMatch(
                        campaign_id=wish.campaign_id,
                        wish_id=input.wish_id,
                        source="procured",
                        cost_yuan=input.cost_yuan,
                        created_at=input.at,
                    )
                )
                verdict = input
            else:
                # Reasons on a wish are codes (reports count them); the officer's own words
                # stay in the task result and the case record.
                reason = "over_budget" if input.purchased else reason_code(input.reason)
                wish.status, wish.reason = "declined", reason
                verdict = input.model_copy(
                    update={"purchased": False, "cost_yuan": 0, "reason": wish.reason}
                )
            session.add(wish)
            session.add(campaign)
            return verdict

    # -- delivery and report

    @activity.defn(name=MicroWishActivity.DELIVERIES)
    def delivery_page(self, input: PageInput) -> list[DeliveryOrder]:
        """The next filled wishes to deliver, by id, with the donor of the matched pledge."""
        with Session(self._engine) as session:
            rows = session.exec(
                select(CwWish, CwMatch)
                .join(CwMatch, col(CwMatch.wish_id) == col(CwWish.id))
                .where(
                    CwWish.campaign_id == input.campaign_id,
                    col(CwWish.status).in_(("matched", "procured")),
                    col(CwWish.id) > input.after_id,
                )
                .order_by(col(CwWish.id))
                .limit(input.limit)
            ).all()
            donors = {
                p.id: p.donor_ref
                for p in session.exec(
                    select(CwPledge).where(
                        col(CwPledge.id).in_([m.pledge_id for _, m in rows if m.pledge_id])
                    )
                ).all()
            }
            return [
                DeliveryOrder(
                    wish_id=w.id or 0,
                    recipient_ref=w.child_ref,
                    donor_ref=donors.get(m.pledge_id) if m.pledge_id else None,
                    community=w.community,
                    category=w.category or "",
                    size=w.size,
                )
                for w, m in rows
            ]

    @activity.defn(name=MicroWishActivity.DELIVERED)
    def record_deliveries(self, input: RecordDeliveriesInput) -> None:
        """Store how each delivery of a wave ended."""
        with session_scope(self._engine) as session:
            for row in input.rows:
                wish = _wish(session, row.wish_id)
                if wish.status == WITHDRAWN:
                    continue  # consent withdrawn during the delivery: the wish stays ended
                wish.delivery_outcome = row.outcome
                wish.delivered_at = row.delivered_at
                wish.status = "delivered" if row.outcome == "delivered" else "not_delivered"
                session.add(wish)

    @activity.defn(name=MicroWishActivity.REPORT)
    def write_report(self, input: ReportInput) -> CampaignReport:
        """Store the report (JSON and CSV) in the app database; return it with its id."""
        with session_scope(self._engine) as session:
            report = write_report(session, campaign_id=input.campaign_id, at=input.at)
        _log.info("microwish.reported", campaign_id=input.campaign_id, report_id=report.report_id)
        return report

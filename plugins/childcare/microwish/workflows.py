"""The micro-wish campaign 微心愿 as one durable process per district campaign.

visits (one task per eligible child, grid worker → community staff) → review (community
staff: approve or send back; value cap, one wish per child, no consent → no wish) →
district sign-off when the plan has steps at ``before_publication`` (a step may withhold
wishes or refuse the list; a refused list goes to the district for revision and another
round, or the campaign closes unpublished) → publication to the charity pool, anonymised →
pledge window (signals) → exact matching → procurement of unmatched wishes by the charity
officer within the budget, or decline after the final deadline → one shared Delivery child
per filled wish → report.

The workflow holds ids and counts only; wishes, pledges and matches live in the ``cw_``
tables. Visits and deliveries run in waves, and the campaign continues as new between waves
once its history is long, carrying its phase and cursor (:class:`MicroWishCarry`).

Consent (patch ``consent-checks``): before a wave of visits opens, the children without the
guardian's consent for ``microwish`` on record are left out (wish ``rejected``,
``no_consent_record``; a ``consent_missing`` record and a notice to each community's staff,
who record the consent and add the child to a later campaign). A withdrawal heard by the
``consent_withdrawn`` signal ends the child's wishes (``withdrawn``), cancels their open tasks,
takes them out of the pool and tells staff; a delivery already under way is named in the
notice so that staff stop the hand-over.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ChildWorkflowError

from careflow.forms import form_ref
from careflow.models import ProcessInput
from careflow.plan import EscalationLevel, TaskTemplate
from careflow.privacy.withdrawal import CONSENT_WITHDRAWN_SIGNAL, ConsentWithdrawn
from careflow.search_attributes import CARE_OVERDUE
from plugins.childcare.consent import CONSENT_PATCH, ConsentAware
from plugins.childcare.microwish.forms import (
    ListRevisionForm,
    ProcurementForm,
    ReviewForm,
    VisitForm,
)
from plugins.childcare.microwish.models import (
    PROCESS_ID,
    CampaignOpened,
    CampaignReport,
    ConsentGate,
    ConsentGateInput,
    DecideWishInput,
    DeliveryOrder,
    DeliveryOutcomeRow,
    MatchInput,
    MatchSummary,
    MicroWishActivity,
    MicroWishCarry,
    MicroWishParams,
    MicroWishPhase,
    MicroWishRequest,
    OpenCampaignInput,
    PageInput,
    PledgeEvent,
    PledgeOp,
    PledgeOpsInput,
    PledgeTally,
    PledgeWithdrawnEvent,
    ProcurementInput,
    ProcurementPlan,
    ProcurementVerdict,
    PublicationVerdict,
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
from plugins.childcare.microwish.rules import visit_verdict
from plugins.engine.delivery.models import DeliveryResult
from plugins.engine.roles import Role
from workflows.runtime import TaskExpired, event_signal

__all__ = ["MICROWISH_POINTS", "MicroWishWorkflow"]

MICROWISH_POINTS = ("before_publication", "after_publication", "after_matching", "before_report")

_SHORT = timedelta(minutes=1)
_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=30))
_PLEDGE_BATCH = 500
# Refused pledges and withdrawals, and the free text of a declined purchase, go to the case
# record: new record commands, so histories from before them replay without.
RECORD_REFUSALS_PATCH = "microwish-record-pledge-refusals"
RECORD_DECLINE_PATCH = "microwish-record-procurement-decline"
CONSENT_PURPOSE = "microwish"
_WISH_TASKS = ("visit", "review", "procure")


def _wish_of(step_key: str) -> int | None:
    """The wish a task's step key is about (``visit.12``, ``review.12.r2``, ``procure.12``)."""
    kind, _, rest = step_key.partition(".")
    number = rest.split(".", 1)[0]
    return int(number) if kind in _WISH_TASKS and number.isdigit() else None


def _visit_task(params: MicroWishParams, ref: VisitRef, round_: int) -> TaskTemplate:
    again = "（退回重访 revisit）" if round_ > 1 else ""
    return TaskTemplate(
        role=Role.GRID_WORKER,
        # The wish number, not the child: titles are read in Temporal's summaries and details,
        # where no registry id may be; the task's page names the child (masked).
        title_zh=f"微心愿入户走访{again} · 心愿 W{ref.wish_id}",
        title_en=f"Micro-wish household visit · wish W{ref.wish_id} · {ref.community}",
        form_ref=form_ref(VisitForm),
        due=params.visit_due,
        escalation=[EscalationLevel(role=Role.COMMUNITY_STAFF, due=params.visit_escalation_due)],
    )


def _review_task(params: MicroWishParams, ref: VisitRef) -> TaskTemplate:
    return TaskTemplate(
        role=Role.COMMUNITY_STAFF,
        title_zh=f"微心愿审核 · 心愿 W{ref.wish_id}",
        title_en=f"Review micro-wish W{ref.wish_id} · {ref.community}",
        form_ref=form_ref(ReviewForm),
        due=params.review_due,
        escalation=[EscalationLevel(role=Role.DISTRICT_ADMIN, due=params.review_escalation_due)],
    )


def _revision_task(params: MicroWishParams, round_: int) -> TaskTemplate:
    return TaskTemplate(
        role=Role.DISTRICT_ADMIN,
        title_zh=f"心愿清单未获签署，请修订后重新报签（第{round_}轮）",
        title_en=f"Wish list not signed (round {round_}): revise and resubmit, or close",
        form_ref=form_ref(ListRevisionForm),
        due=params.publication_revision_due,
    )


def _procurement_task(params: MicroWishParams, ref: VisitRef) -> TaskTemplate:
    return TaskTemplate(
        role=Role.CHARITY_OFFICER,
        title_zh=f"微心愿慈善采购 · 心愿 W{ref.wish_id}",
        title_en=f"Buy micro-wish W{ref.wish_id} from the charity fund · {ref.community}",
        form_ref=form_ref(ProcurementForm),
        due=params.procurement_due,
        escalation=[EscalationLevel(role=Role.DISTRICT_ADMIN, due=params.final_deadline_grace)],
    )


@workflow.defn(name=PROCESS_ID)
class MicroWishWorkflow(ConsentAware):
    """One micro-wish campaign of a district, from visits to the report."""

    def __init__(self) -> None:
        super().__init__()
        self._ops: list[PledgeOp] = []
        self._window_open = True
        self._tally = PledgeTally()
        # Children whose guardian withdrew consent during this run: their steps stop.
        self._withdrawn: set[str] = set()
        self._delivering: set[int] = set()

    # -- activities

    async def _act(
        self,
        name: MicroWishActivity,
        arg: BaseModel,
        result: Any,
        *,
        summary: str,
        timeout: timedelta = _SHORT,
    ) -> Any:
        return await workflow.execute_activity(
            name,
            arg,
            result_type=result,
            start_to_close_timeout=timeout,
            retry_policy=_RETRY,
            summary=summary,
        )

    @property
    def _campaign_id(self) -> str:
        return workflow.info().workflow_id

    # -- run

    @workflow.run
    async def run(self, input: ProcessInput[MicroWishRequest]) -> CampaignReport:
        self.begin(input)
        request = MicroWishRequest.model_validate(input.request)
        params = MicroWishParams.model_validate(self.params)
        carry = MicroWishCarry.model_validate(input.carry)
        self._tally = carry.tally
        self._window_open = carry.window_open
        self._ops = list(carry.ops)
        phase = carry.phase

        if phase is MicroWishPhase.OPEN:
            self.stage("visiting", "入户走访 household visits")
            opened: CampaignOpened = await self._act(
                MicroWishActivity.OPEN,
                OpenCampaignInput(
                    campaign_id=self._campaign_id,
                    district=self.context.district,
                    case_ref=self.context.case_ref,
                    communities=request.communities
                    or ([self.context.community] if self.context.community else []),
                    extra_children=request.extra_children,
                    min_age=params.min_age,
                    max_age=params.max_age,
                    eligibility_date=params.eligibility_date,
                    budget_yuan=params.procurement_budget_yuan,
                    opened_at=workflow.now(),
                ),
                CampaignOpened,
                summary="选取低保家庭儿童 select eligible children",
            )
            await self.record("opened", "campaign_opened", opened.model_dump())
            phase, carry.after_id = MicroWishPhase.VISIT, 0

        if phase is MicroWishPhase.VISIT:
            self.stage("visiting", "入户走访与审核 visits and review")
            while True:
                page: list[VisitRef] = await self._act(
                    MicroWishActivity.VISITS,
                    PageInput(
                        campaign_id=self._campaign_id,
                        after_id=carry.after_id,
                        limit=params.visit_wave,
                    ),
                    list[VisitRef],
                    summary="下一批走访 next visits",
                )
                if not page:
                    break
                visits = page
                if workflow.patched(CONSENT_PATCH):
                    visits = await self._consent_gate(page)
                await asyncio.gather(*(self._visit_and_review(ref, params) for ref in visits))
                carry.after_id = page[-1].wish_id
                await self._maybe_continue(params, carry, MicroWishPhase.VISIT)
            phase = MicroWishPhase.PUBLISH

        if phase is MicroWishPhase.PUBLISH and self.plan.at("before_publication"):
            # Only a plan with sign-off steps pays for the list: other campaigns (and every
            # history recorded before this point existed) run the same commands as before.
            if not await self._sign_off(params):
                phase = MicroWishPhase.REPORT

        if phase is MicroWishPhase.PUBLISH:
            self.stage("published", "匿名发布心愿 wishes published")
            published: PublishSummary = await self._act(
                MicroWishActivity.PUBLISH,
                ReportInput(campaign_id=self._campaign_id, at=workflow.now()),
                PublishSummary,
                summary="匿名发布到慈善池 publish to the charity pool",
            )
            await self.record("published", "wishes_published", published.model_dump())
            await self.notify(
                "published",
                recipient_ref=f"role:{Role.CHARITY_OFFICER.value}",
                template="microwish_published",
                body_zh=f"微心愿已匿名发布 {published.published} 个，认捐窗口开启。",
                params={"published": published.published},
            )
            await self.extension_point("after_publication", published.model_dump())
            carry.closes = workflow.now() + params.pledge_window
            phase = MicroWishPhase.PLEDGE

        if phase is MicroWishPhase.PLEDGE:
            await self._pledge_window(params, carry)
            phase = MicroWishPhase.MATCH

        if phase is MicroWishPhase.MATCH:
            self.stage("matching", "匹配认捐 matching pledges")
            matched: MatchSummary = await self._act(
                MicroWishActivity.MATCH,
                MatchInput(
                    campaign_id=self._campaign_id,
                    fairness_slack=params.fairness_slack,
                    at=workflow.now(),
                ),
                MatchSummary,
                summary="精确匹配 exact matching (OR-Tools)",
                timeout=timedelta(minutes=10),
            )
            await self.record("matched", "wishes_matched", matched.model_dump())
            await self.extension_point("after_matching", matched.model_dump())
            phase = MicroWishPhase.PROCURE

        if phase is MicroWishPhase.PROCURE:
            await self._procure(params)
            phase, carry.after_id = MicroWishPhase.DELIVER, 0
            await self._maybe_continue(params, carry, MicroWishPhase.DELIVER)

        if phase is MicroWishPhase.DELIVER:
            await self._deliver(params, carry)

        self.stage("reporting", "活动报告 campaign report")
        await self._flush()
        await self.extension_point("before_report")
        report: CampaignReport = await self._act(
            MicroWishActivity.REPORT,
            ReportInput(campaign_id=self._campaign_id, at=workflow.now()),
            CampaignReport,
            summary="生成活动报告 write the report (JSON, CSV)",
        )
        await self.record("report", "campaign_reported", {"fill_rate": report.fill_rate})
        self.stage("closed", "已结束 closed")
        return report

    # -- visits and review

    async def _visit_and_review(self, ref: VisitRef, params: MicroWishParams) -> None:
        """One child's visit and review, with send-backs up to ``max_review_rounds``."""
        for round_ in range(1, params.max_review_rounds + 1):
            suffix = "" if round_ == 1 else f".r{round_}"
            if ref.child_ref in self._withdrawn:
                return
            try:
                visit = await self.human_task(
                    f"visit.{ref.wish_id}{suffix}",
                    _visit_task(params, ref, round_),
                    community=ref.community,
                )
            except TaskExpired:
                await self._record_visit(ref, "", {}, "visit_expired", "visit_expired")
                return
            if ref.child_ref in self._withdrawn:
                return  # the task was cancelled: consent withdrawn
            form = VisitForm.model_validate(visit.data)
            status, reason = visit_verdict(form, value_cap_yuan=params.value_cap_yuan)
            await self._record_visit(ref, visit.actor, visit.data, status, reason)
            if status != "in_review":
                return
            try:
                review = await self.human_task(
                    f"review.{ref.wish_id}{suffix}",
                    _review_task(params, ref),
                    community=ref.community,
                )
            except TaskExpired:
                await self._decide(ref, None, approve=False, reason="review_expired")
                return
            if ref.child_ref in self._withdrawn:
                return
            decision = ReviewForm.model_validate(review.data)
            if decision.approve:
                await self._decide(ref, review.actor, approve=True, priority=decision.priority)
                return
            if round_ == params.max_review_rounds:
                await self._decide(ref, review.actor, approve=False, reason="sent_back_too_often")
                return

    # -- consent

    async def _consent_gate(self, page: list[VisitRef]) -> list[VisitRef]:
        """The visits of ``page`` whose child's guardian consented; the others are refused
        (recorded, and each community's staff told) before any task shows the child."""
        gate: ConsentGate = await self._act(
            MicroWishActivity.CONSENT_GATE,
            ConsentGateInput(
                campaign_id=self._campaign_id,
                wish_ids=[r.wish_id for r in page],
                on=self.local_today(),
            ),
            ConsentGate,
            summary="核对监护人同意（微心愿走访） check the guardians' consent",
        )
        refused = {r.wish_id for r in gate.refused}
        if refused:
            key = f"consent_missing.{page[0].wish_id}"
            await self.record(
                key,
                "consent_missing",
                {
                    "purpose": CONSENT_PURPOSE,
                    "wish_ids": sorted(refused),
                    "reason_zh": "未登记监护人同意（微心愿走访），不安排走访",
                },
            )
            by_community: dict[str, int] = {}
            for r in gate.refused:
                by_community[r.community] = by_community.get(r.community, 0) + 1
            for community, count in sorted(by_community.items()):
                await self.notify(
                    f"{key}.{community}",
                    recipient_ref=f"role:{Role.COMMUNITY_STAFF.value}",
                    template="consent_missing",
                    body_zh=f"微心愿：{count} 名儿童未登记监护人同意书（微心愿走访），本次不安排"
                    "走访；请登记同意后在下次活动中补录。",
                    params={"community": community, "children": count},
                )
        return [r for r in page if r.wish_id not in refused]

    @workflow.signal(name=CONSENT_WITHDRAWN_SIGNAL)
    async def consent_withdrawn(self, signal: ConsentWithdrawn) -> None:
        """A guardian withdrew the micro-wish consent: end that child's wishes here."""
        child = signal.subject_ref
        if signal.purpose != CONSENT_PURPOSE or child in self._withdrawn:
            return
        self._withdrawn.add(child)
        ended: WithdrawnWishes = await self._act(
            MicroWishActivity.CONSENT_WITHDRAWN,
            WithdrawChildInput(campaign_id=self._campaign_id, child_ref=child, at=workflow.now()),
            WithdrawnWishes,
            summary="撤回同意：结束该儿童的心愿 consent withdrawn: end the child's wishes",
        )
        if not ended.wishes:
            return  # not a child of this campaign, or nothing left to stop
        ids = {w.wish_id for w in ended.wishes}
        cancelled = await self.cancel_tasks(lambda key: _wish_of(key) in ids)
        in_delivery = sorted(ids & self._delivering)
        await self.record(
            f"consent_withdrawn.{signal.consent_id}",
            "consent_withdrawn",
            {
                "purpose": CONSENT_PURPOSE,
                "child_ref": child,
                "wish_ids": sorted(ids),
                "cancelled_tasks": cancelled,
                "in_delivery": in_delivery,
                "consent_id": signal.consent_id,
                "request_id": signal.request_id,
                "reason_zh": "监护人已撤回同意（微心愿走访），停止处理该儿童的心愿",
            },
        )
        for community in sorted({w.community for w in ended.wishes}):
            stop = "；配送已在进行，请停止交接" if in_delivery else ""
            await self.notify(
                f"consent_withdrawn.{signal.consent_id}.{community}",
                recipient_ref=f"role:{Role.COMMUNITY_STAFF.value}",
                template="consent_withdrawn",
                body_zh=f"微心愿：监护人已撤回同意，该儿童的心愿已停止处理{stop}。",
                params={"community": community, "in_delivery": bool(in_delivery)},
            )

    async def _record_visit(
        self, ref: VisitRef, actor: str, data: dict[str, Any], status: str, reason: str | None
    ) -> None:
        await self._act(
            MicroWishActivity.RECORD_VISIT,
            RecordVisitInput(
                wish_id=ref.wish_id,
                actor=actor,
                data=data,
                status=status,
                reason=reason,
                at=workflow.now(),
            ),
            None,
            summary=f"登记走访 record visit W{ref.wish_id}: {status}",
        )

    async def _decide(
        self,
        ref: VisitRef,
        actor: str | None,
        *,
        approve: bool,
        priority: int = 1,
        reason: str | None = None,
    ) -> WishVerdict:
        verdict: WishVerdict = await self._act(
            MicroWishActivity.DECIDE,
            DecideWishInput(
                wish_id=ref.wish_id,
                actor=actor,
                approve=approve,
                priority=priority,
                reason=reason,
                at=workflow.now(),
            ),
            WishVerdict,
            summary=f"审核结果 decide W{ref.wish_id}",
        )
        return verdict

    # -- sign-off before publication

    async def _sign_off(self, params: MicroWishParams) -> bool:
        """Run the district's steps at ``before_publication``; whether the list is published.

        Each round writes the anonymised list file and runs the steps with its path. A step's
        ``withheld_wish_ids`` are kept out of the pool; a refusal (``publish`` false, or an
        expired sign-off task) sends the list to the district admin, who withholds wishes and
        resubmits for another round, or closes the campaign without publication.
        """
        for round_ in range(1, params.publication_rounds + 1):
            self.stage("signing", f"发布前联签 sign-off before publication, round {round_}")
            listed: WishList = await self._act(
                MicroWishActivity.PREPARE_LIST,
                WishListInput(campaign_id=self._campaign_id, round=round_, at=workflow.now()),
                WishList,
                summary=f"生成待签心愿清单（匿名） prepare the anonymised list, round {round_}",
            )
            produced = await self.extension_point(
                "before_publication",
                {"round": round_, "approved": listed.approved, "list_path": listed.path},
                round_suffix="" if round_ == 1 else f".r{round_}",
            )
            verdicts = {
                key: PublicationVerdict.model_validate(out)
                for key, out in produced.items()
                if isinstance(out, dict)
            }
            await self._withhold(
                f"withheld.r{round_}",
                [i for v in verdicts.values() for i in v.withheld_wish_ids],
                reason="withheld_at_sign_off",
            )
            refused = [key for key, v in verdicts.items() if v.refused]
            if not refused:
                await self.record(f"sign_off.r{round_}", "wish_list_signed", {"round": round_})
                return True
            await self.record(
                f"sign_off.r{round_}", "wish_list_refused", {"round": round_, "steps": refused}
            )
            if round_ == params.publication_rounds:
                break
            try:
                task = await self.human_task(
                    f"revise_list.r{round_}", _revision_task(params, round_)
                )
            except TaskExpired:
                break
            revision = ListRevisionForm.model_validate(task.data)
            await self._withhold(
                f"revision_withheld.r{round_}",
                revision.withheld_wish_ids,
                reason="withheld_at_revision",
            )
            if not revision.resubmit:
                break
        await self._withhold("withheld.unsigned", [], reason="list_not_signed", all_approved=True)
        await self.record("not_published", "campaign_not_published", {})
        await self.notify(
            "not_published",
            recipient_ref=f"role:{Role.DISTRICT_ADMIN.value}",
            template="microwish_not_published",
            body_zh="微心愿清单未获签署，本次活动未发布，已结束。",
            params={},
        )
        return False

    async def _withhold(
        self, key: str, wish_ids: list[int], *, reason: str, all_approved: bool = False
    ) -> None:
        if not wish_ids and not all_approved:
            return
        summary: WithholdSummary = await self._act(
            MicroWishActivity.WITHHOLD,
            WithholdInput(
                campaign_id=self._campaign_id,
                wish_ids=sorted(set(wish_ids)),
                all_approved=all_approved,
                reason=reason,
                at=workflow.now(),
            ),
            WithholdSummary,
            summary=f"暂缓发布心愿 withhold wishes ({reason})",
        )
        await self.record(key, "wishes_withheld", {"reason": reason, **summary.model_dump()})

    # -- pledges

    async def _pledge_window(self, params: MicroWishParams, carry: MicroWishCarry) -> None:
        """Store pledges as they come until the window closes, then refuse withdrawals."""
        closes = carry.closes
        if closes is None:  # set at publication, before this phase; a carry without it is a bug
            raise ValueError("micro-wish carry: phase pledge without closes")
        self.stage("pledging", "认捐中 pledge window open")
        while True:
            await self._flush()
            remaining = closes - workflow.now()
            if remaining <= timedelta(0):
                break
            try:
                await workflow.wait_condition(
                    lambda: bool(self._ops),
                    timeout=remaining,
                    timeout_summary="认捐窗口关闭 pledge window closes",
                )
            except TimeoutError:
                pass
            await self._maybe_continue(params, carry, MicroWishPhase.PLEDGE)
        self._window_open = False
        await self.record("window_closed", "pledge_window_closed", self._tally.model_dump())

    async def _flush(self) -> None:
        """Store buffered pledge signals in batches (the only I/O a signal causes)."""
        while self._ops:
            batch, self._ops = self._ops[:_PLEDGE_BATCH], self._ops[_PLEDGE_BATCH:]
            tally: PledgeTally = await self._act(
                MicroWishActivity.PLEDGES,
                PledgeOpsInput(
                    campaign_id=self._campaign_id, ops=batch, window_open=self._window_open
                ),
                PledgeTally,
                summary=f"登记认捐 store {len(batch)} pledge events",
            )
            first = self._tally.refused
            for field, info in PledgeTally.model_fields.items():
                if info.annotation is int:
                    setattr(self._tally, field, getattr(self._tally, field) + getattr(tally, field))
            if tally.refusals and workflow.patched(RECORD_REFUSALS_PATCH):
                for n, refusal in enumerate(tally.refusals, start=first + 1):
                    await self.record(f"pledge_refused.{n}", "pledge_refused", refusal.model_dump())

    @event_signal(name="pledge")
    def pledge(self, event: PledgeEvent) -> None:
        """A donor's pledge (event ``childcare.pledge`` or a staff entry)."""
        self._ops.append(
            PledgeOp(op="pledge", pledge=event, pledge_ref=event.pledge_ref, at=workflow.now())
        )

    @event_signal(name="pledge_withdrawn")
    def pledge_withdrawn(self, event: PledgeWithdrawnEvent) -> None:
        """A donor withdraws a pledge (event ``childcare.pledge_withdrawn``)."""
        self._ops.append(PledgeOp(op="withdraw", pledge_ref=event.pledge_ref, at=workflow.now()))

    # -- procurement

    async def _procure(self, params: MicroWishParams) -> None:
        self.stage("procurement", "慈善采购 procurement")
        plan: ProcurementPlan = await self._act(
            MicroWishActivity.PROCUREMENT,
            ProcurementInput(campaign_id=self._campaign_id, at=workflow.now()),
            ProcurementPlan,
            summary="未匹配心愿采购计划 plan procurement within the budget",
        )
        await self.record(
            "procurement",
            "procurement_planned",
            {"to_buy": len(plan.to_buy), "declined_over_budget": plan.declined_over_budget},
        )
        await asyncio.gather(*(self._buy(ref, params) for ref in plan.to_buy))

    async def _buy(self, ref: VisitRef, params: MicroWishParams) -> None:
        try:
            task = await self.human_task(
                f"procure.{ref.wish_id}", _procurement_task(params, ref), community=ref.community
            )
            if ref.child_ref in self._withdrawn:
                return
            form = ProcurementForm.model_validate(task.data)
            verdict = ProcurementVerdict(
                wish_id=ref.wish_id,
                purchased=form.purchased,
                cost_yuan=form.cost_yuan,
                reason=form.reason,
                actor=task.actor,
                at=workflow.now(),
            )
        except TaskExpired:
            verdict = ProcurementVerdict(
                wish_id=ref.wish_id, purchased=False, reason="final_deadline", at=workflow.now()
            )
        stored: ProcurementVerdict = await self._act(
            MicroWishActivity.PROCURED,
            verdict,
            ProcurementVerdict,
            summary=f"登记采购 record procurement W{ref.wish_id}",
        )
        if verdict.actor and not verdict.purchased and workflow.patched(RECORD_DECLINE_PATCH):
            # The report counts the code; the officer's words are kept here.
            await self.record(
                f"procure.{ref.wish_id}.declined",
                "procurement_declined",
                {"wish_id": ref.wish_id, "reason": stored.reason, "note": verdict.reason or ""},
            )

    # -- delivery

    async def _deliver(self, params: MicroWishParams, carry: MicroWishCarry) -> None:
        """Run the shared Delivery process for every filled wish, a wave at a time."""
        wave = carry.wave
        while True:
            self.stage("delivering", "物资配送 deliveries")
            orders: list[DeliveryOrder] = await self._act(
                MicroWishActivity.DELIVERIES,
                PageInput(
                    campaign_id=self._campaign_id,
                    after_id=carry.after_id,
                    limit=params.delivery_wave,
                ),
                list[DeliveryOrder],
                summary="下一批配送 next deliveries",
            )
            if not orders:
                return
            wave += 1
            rows = await self._delivery_wave(orders, params, wave)
            await self._act(
                MicroWishActivity.DELIVERED,
                RecordDeliveriesInput(campaign_id=self._campaign_id, rows=rows),
                None,
                summary=f"登记配送结果 record {len(rows)} deliveries",
            )
            carry.after_id, carry.wave = orders[-1].wish_id, wave
            await self._maybe_continue(params, carry, MicroWishPhase.DELIVER)

    async def _delivery_wave(
        self, orders: list[DeliveryOrder], params: MicroWishParams, wave: int
    ) -> list[DeliveryOutcomeRow]:
        # One plan for the whole wave: the district's Delivery plan is the same for every wish.
        self._delivering = {o.wish_id for o in orders}
        resolved = await self.resolve_child("delivery")
        handles = await asyncio.gather(
            *(
                self.start_child(
                    "delivery",
                    resolved=resolved,
                    request={
                        "recipient_ref": o.recipient_ref,
                        "donor_ref": o.donor_ref,
                        "items": [{"category": o.category, "size": o.size, "quantity": 1}],
                        "purpose": "micro_wish",
                    },
                    case_ref=f"{self.context.case_ref}.W{o.wish_id}",
                    community=o.community,
                )
                for o in orders
            )
        )
        done: dict[int, DeliveryOutcomeRow] = {}

        async def watch(order: DeliveryOrder, handle: Any) -> None:
            try:
                result = DeliveryResult.model_validate(await handle)
                at = datetime.fromisoformat(result.delivered_at) if result.delivered_at else None
                done[order.wish_id] = DeliveryOutcomeRow(
                    wish_id=order.wish_id, outcome=result.outcome.value, delivered_at=at
                )
            except ChildWorkflowError:
                done[order.wish_id] = DeliveryOutcomeRow(wish_id=order.wish_id, outcome="failed")

        watchers = [
            asyncio.ensure_future(watch(o, h)) for o, h in zip(orders, handles, strict=True)
        ]
        try:
            await workflow.wait_condition(
                lambda: len(done) == len(orders),
                timeout=params.delivery_due,
                timeout_summary="配送期限 deliveries due",
            )
        except TimeoutError:
            await self._escalate_late(orders, done, wave)
            await workflow.wait_condition(lambda: len(done) == len(orders))
        await asyncio.gather(*watchers)
        workflow.upsert_search_attributes([CARE_OVERDUE.value_set(False)])
        return [done[o.wish_id] for o in orders]

    async def _escalate_late(
        self, orders: list[DeliveryOrder], done: dict[int, DeliveryOutcomeRow], wave: int
    ) -> None:
        """Late deliveries: tell each community's staff and the district, mark overdue."""
        late: dict[str, int] = {}
        for o in orders:
            if o.wish_id not in done:
                late[o.community] = late.get(o.community, 0) + 1
        self.stage("delivery_late", "配送逾期 deliveries late")
        workflow.upsert_search_attributes([CARE_OVERDUE.value_set(True)])
        await self.record(f"delivery_late.{wave}", "deliveries_late", {"late": late})
        for community, count in sorted(late.items()):
            await self.notify(
                f"delivery_late.{wave}.{community}",
                recipient_ref=f"role:{Role.COMMUNITY_STAFF.value}",
                template="microwish_delivery_late",
                body_zh=f"微心愿配送逾期 {count} 件（{community}），请督促交接。",
                params={"community": community, "late": count},
            )
        await self.notify(
            f"delivery_late.{wave}",
            recipient_ref=f"role:{Role.DISTRICT_ADMIN.value}",
            template="microwish_delivery_late",
            body_zh=f"微心愿配送逾期 {sum(late.values())} 件，请跟进。",
            params={"late": sum(late.values())},
        )

    # -- long life

    async def _maybe_continue(
        self, params: MicroWishParams, carry: MicroWishCarry, phase: MicroWishPhase
    ) -> None:
        """Continue as new at a wave boundary once the history is long."""
        if not self.should_continue_as_new(max_history=params.max_history):
            return
        await self._flush()
        carry = carry.model_copy(
            update={
                # Signals that arrived after the flush travel in the carry, not lost.
                "ops": list(self._ops),
                "phase": phase,
                "tally": self._tally,
                "window_open": self._window_open,
            }
        )
        await self.continue_as_new(carry.model_dump(mode="json"))

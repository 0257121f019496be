"""The care plan of three-colour tiered care 三色分级: one long-lived process per elder.

assessment (form, or registry facts if nobody assesses in time) → a tier by the rules in params:
green gets invitations to community events, yellow gets home visits by the grid worker at a
cadence, red gets a paired volunteer, weekly visits and curtain checks. A missed visit
escalates and is reported. Every six months, and on the ``reassess`` signal (a health alert,
referral or discharge), the elder is assessed again and the tier may change. The plan runs
for years: it continues as new past ``max_history`` events, with counters in every step key.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from careflow.forms import form_ref
from careflow.models import ProcessInput
from careflow.plan import EscalationLevel, TaskTemplate
from plugins.eldercare.tiers.forms import AssessmentForm, VisitForm
from plugins.eldercare.tiers.models import (
    CLOSE_PLAN_SIGNAL,
    REASSESS_SIGNAL,
    TIER_ZH,
    ActivityNames,
    AssessmentInput,
    AssessmentResult,
    ClosePlanInput,
    ClosePlanSignal,
    ElderFacts,
    FactsInput,
    ReassessSignal,
    Tier,
    TiersCarry,
    TiersParams,
    TiersRequest,
    TiersResult,
)
from plugins.eldercare.tiers.rules import GradeFacts, grade
from plugins.engine.roles import Role
from workflows.runtime import TEMPORAL_DEFAULT_RETRY, CareProcess, TaskExpired, run_activity

__all__ = ["TIERS_POINTS", "TiersWorkflow"]

TIERS_POINTS = ("after_assessment", "after_visit", "before_close")

_AFTER_VISIT_MADE = "tiers-after-visit-only-when-made"

#: Reasons that count as health events for grading (a visit's concern does not).
_HEALTH_REASONS = frozenset({"health_alert", "referral", "discharge"})


def _assessment_task(params: TiersParams) -> TaskTemplate:
    return TaskTemplate(
        role=Role.COMMUNITY_STAFF,
        title_zh="老人三色分级评估",
        title_en="Assess the elder's care tier",
        form_ref=form_ref(AssessmentForm),
        due=params.assessment_due,
        escalation=[
            EscalationLevel(role=Role.DISTRICT_ADMIN, due=params.assessment_escalation_due)
        ],
    )


def _visit_task(params: TiersParams, tier: Tier) -> TaskTemplate:
    if tier is Tier.RED:
        # Red: the paired volunteer visits weekly; the grid worker, then staff, take over.
        return TaskTemplate(
            role=Role.VOLUNTEER,
            title_zh="红色老人结对探访",
            title_en="Weekly visit to a red-tier elder",
            form_ref=form_ref(VisitForm),
            due=params.red_visit_due,
            escalation=[
                EscalationLevel(role=Role.GRID_WORKER, due=params.visit_escalation_due),
                EscalationLevel(role=Role.COMMUNITY_STAFF, due=params.visit_escalation_due),
            ],
        )
    return TaskTemplate(
        role=Role.GRID_WORKER,
        title_zh="黄色老人定期上门探访",
        title_en="Regular home visit to a yellow-tier elder",
        form_ref=form_ref(VisitForm),
        due=params.yellow_visit_due,
        escalation=[EscalationLevel(role=Role.COMMUNITY_STAFF, due=params.visit_escalation_due)],
    )


def _every(params: TiersParams, tier: Tier) -> timedelta:
    return {
        Tier.GREEN: params.green_invite_every,
        Tier.YELLOW: params.yellow_visit_every,
        Tier.RED: params.red_visit_every,
    }[tier]


@workflow.defn(name="eldercare.tiers")
class TiersWorkflow(CareProcess):
    """One elder's tiered care plan, for as long as the elder is in the programme."""

    def __init__(self) -> None:
        super().__init__()
        # Filled by signals, possibly before run() starts (signal-with-start).
        self._reasons: list[str] = []
        self._health_events = 0
        self._closing: ClosePlanSignal | None = None

    @workflow.run
    async def run(self, input: ProcessInput[TiersRequest]) -> TiersResult:
        self.begin(input)
        params = TiersParams.model_validate(self.params)
        carry = TiersCarry.model_validate(input.carry)
        carry.runs += 1
        self._reasons = [*carry.pending_reasons, *self._reasons]
        self._health_events += carry.health_events
        if carry.tier is not None:
            self._results["tier"] = carry.tier.value
        if carry.tier is None:
            await self._assess(carry, params)
        while self._closing is None:
            assert carry.next_cycle_at is not None and carry.next_reassess_at is not None
            assert carry.tier is not None
            if not self._reasons:
                wake = min(carry.next_cycle_at, carry.next_reassess_at)
                self.stage(carry.tier.value, f"{TIER_ZH[carry.tier]}关爱 {carry.tier.value} tier")
                try:
                    await workflow.wait_condition(
                        lambda: bool(self._reasons) or self._closing is not None,
                        timeout=max(wake - workflow.now(), timedelta(seconds=1)),
                        timeout_summary=f"等待下次关爱 next care step ({carry.tier.value})",
                    )
                except TimeoutError:
                    pass
            if self._closing is not None:
                break
            now = workflow.now()
            if self._reasons or now >= carry.next_reassess_at:
                await self._assess(carry, params)
            elif now >= carry.next_cycle_at:
                await self._cycle(carry, params)
            if self._closing is None and self.should_continue_as_new(
                max_history=params.max_history
            ):
                # Built here, in the same activation as the call: no signal can slip between.
                carry.pending_reasons = list(self._reasons)
                carry.health_events = self._health_events
                await self.continue_as_new(carry.model_dump(mode="json"))
        return await self._close(carry, self._closing)

    # -- signals

    @workflow.signal(name=REASSESS_SIGNAL)
    def reassess(self, signal: ReassessSignal) -> None:
        """A health alert, referral, discharge or staff ask for a new assessment."""
        self._reasons.append(signal.reason)
        if signal.reason in _HEALTH_REASONS:
            self._health_events += 1

    @workflow.signal(name=CLOSE_PLAN_SIGNAL)
    def close_plan(self, signal: ClosePlanSignal) -> None:
        """The elder left the programme; the plan closes after the current step."""
        if self._closing is None:
            self._closing = signal

    # -- assessment

    async def _facts(self) -> ElderFacts:
        facts: ElderFacts = await run_activity(
            ActivityNames.ELDER_FACTS,
            FactsInput(elder_ref=self.context.case_ref, as_of=workflow.now().date()),
            result_type=ElderFacts,
            retry=TEMPORAL_DEFAULT_RETRY,
            summary="读取登记信息 registry facts",
        )
        return facts

    async def _assess(self, carry: TiersCarry, params: TiersParams) -> None:
        k = carry.assessments
        key = f"assess.{k}"
        self.stage("assessing", "分级评估 assessing")
        facts = await self._facts()
        if not facts.known:
            await self.record(key, "elder_not_registered", {})
            await self.notify(
                key,
                recipient_ref=f"role:{Role.COMMUNITY_STAFF.value}",
                template="tiers_elder_not_registered",
                body_zh="分级关爱计划的案件编号不是登记在册的老人，计划已关闭，请核对。",
            )
            self._closing = ClosePlanSignal(reason="not_registered")
            return
        try:
            outcome = await self.human_task(key, _assessment_task(params))
        except TaskExpired:
            outcome = None
        # Alerts that arrive while the assessment is open are part of it, not a new one.
        reasons, self._reasons = self._reasons, []
        signalled = self._health_events
        if outcome is not None:
            form = AssessmentForm.model_validate(outcome.data)
            graded = GradeFacts(
                age=facts.age,
                disability_level=form.disability_level,
                lives_alone=form.lives_alone,
                # The assessor may already count what alerts told us: take the larger.
                health_events=max(form.health_events, signalled),
            )
            source = "form"
        else:
            graded = GradeFacts(
                age=facts.age,
                disability_level=facts.disability_level,
                lives_alone=facts.lives_alone,
                health_events=signalled,
            )
            source = "registry"
        result = grade(graded, params.rules)
        previous = carry.tier
        applied: AssessmentResult = await run_activity(
            ActivityNames.RECORD_ASSESSMENT,
            AssessmentInput(
                workflow_id=workflow.info().workflow_id,
                step_key=key,
                context=self.context,
                tier=result.tier,
                previous=previous,
                reasons=[*result.reasons, *(f"asked:{r}" for r in reasons)],
                source=source,
                assessed_at=workflow.now(),
            ),
            result_type=AssessmentResult,
            retry=TEMPORAL_DEFAULT_RETRY,
            summary=f"记录分级 record tier: {result.tier.value}",
        )
        now = workflow.now()
        self._health_events -= signalled
        carry.tier = result.tier
        carry.assessments = k + 1
        carry.volunteer_ref = applied.volunteer_ref
        carry.next_reassess_at = now + params.reassess_every
        if previous is not result.tier:
            # A new tier starts its care at once: a red elder should not wait a week.
            carry.next_cycle_at = now
            await self.notify(
                f"{key}.tier",
                recipient_ref=f"role:{Role.COMMUNITY_STAFF.value}",
                template="tiers_tier_changed",
                body_zh=f"老人分级调整为{TIER_ZH[result.tier]}。",
                params={
                    "tier": result.tier.value,
                    "previous": previous.value if previous else None,
                },
            )
        elif carry.next_cycle_at is None:
            carry.next_cycle_at = now
        if result.tier is Tier.RED and applied.volunteer_ref is None:
            await self.notify(
                f"{key}.unpaired",
                recipient_ref=f"role:{Role.COMMUNITY_STAFF.value}",
                template="tiers_no_volunteer",
                body_zh="红色老人所在社区暂无可结对志愿者，请尽快安排一对一结对。",
            )
        self._results["tier"] = result.tier.value
        self._results["watched"] = applied.watched
        await self._point(
            "after_assessment",
            k,
            {"tier": result.tier.value, "previous": previous.value if previous else None},
        )

    # -- care cycles

    async def _cycle(self, carry: TiersCarry, params: TiersParams) -> None:
        assert carry.tier is not None
        n = carry.cycles
        tier = carry.tier
        if tier is Tier.GREEN:
            # The generic community-event process does not exist yet: invitations only.
            await self.notify(
                f"invite.{n}",
                recipient_ref=self.context.case_ref,
                template="tiers_event_invitation",
                body_zh="社区近期举办银龄风采舞蹈班、书法班等活动，欢迎您参加！",
                params={"cycle": n},
            )
        made = False
        if tier is not Tier.GREEN:
            key = f"visit.{n}"
            self.stage("visit", f"{TIER_ZH[tier]}探访 visit {n}")
            try:
                outcome = await self.human_task(key, _visit_task(params, tier))
            except TaskExpired:
                carry.missed_visits += 1
                await self.record(f"{key}.missed", "visit_missed", {"tier": tier.value})
                await self.notify(
                    f"{key}.missed",
                    recipient_ref=f"role:{Role.DISTRICT_ADMIN.value}",
                    template="tiers_visit_missed",
                    body_zh=f"{TIER_ZH[tier]}老人的上门探访超过最终期限未完成，请跟进。",
                    params={"tier": tier.value, "cycle": n},
                )
            else:
                form = VisitForm.model_validate(outcome.data)
                await self.record(
                    key,
                    "home_visit" if form.visited else "visit_not_made",
                    {
                        "tier": tier.value,
                        "by": outcome.actor,
                        "role": outcome.role,
                        "elder_well": form.elder_well,
                    },
                )
                made = form.visited
                if form.needs_reassessment or not form.elder_well:
                    self._reasons.append("visit")
        # Steps after a visit (a lawyer's talk at the elder's home) need a visit that was made:
        # not a green cycle's invitation, an expired visit or a door nobody opened. Plans that
        # ran the point after every cycle before this rule keep doing so until they continue.
        if made or (self.plan.at("after_visit") and not workflow.patched(_AFTER_VISIT_MADE)):
            # One plan per elder: the case ref is the elder's registry id.
            elder = self.context.case_ref
            await self._point(
                "after_visit", n, {"tier": tier.value, "cycle": n, "elder_ref": elder}
            )
        carry.cycles = n + 1
        carry.next_cycle_at = workflow.now() + _every(params, tier)

    async def _point(self, point: str, n: int, data: dict[str, object]) -> None:
        """Run an extension point once per cycle: the counter keeps each step's key unique."""
        for step in self.plan.at(point):
            keyed = step.model_copy(update={"key": f"{step.key}.{n}"})
            self._results[keyed.key] = await self._run_step(keyed, dict(data))

    # -- close

    async def _close(self, carry: TiersCarry, closing: ClosePlanSignal) -> TiersResult:
        self.stage("closing", "关闭计划 closing")
        await self._point("before_close", carry.assessments, {"reason": closing.reason})
        await run_activity(
            ActivityNames.CLOSE_PLAN,
            ClosePlanInput(
                workflow_id=workflow.info().workflow_id,
                context=self.context,
                reason=closing.reason,
            ),
            retry=TEMPORAL_DEFAULT_RETRY,
            summary=f"结束结对 end pairings: {closing.reason}",
        )
        await self.record(f"closed.{carry.runs}", "plan_closed", {"reason": closing.reason})
        self.stage("closed", "已关闭 closed")
        return TiersResult(
            tier=carry.tier,
            closed_reason=closing.reason,
            assessments=carry.assessments,
            cycles=carry.cycles,
            missed_visits=carry.missed_visits,
            runs=carry.runs,
        )

"""Smart health station 智慧健康驿站 processes: a monitor per elder, a review per alert.

``careflow event eldercare.reading`` signals the elder's monitor, starting it if it is not
running (signal-with-start). The monitor stores each reading, applies the rules and starts an
alert review for each new alert, so readings keep flowing while a doctor reviews. The review
asks the elder's tier care plan to reassess, waits for the doctor (1 hour when critical, 24
hours otherwise, with escalation) and carries out the outcome: advice, a home visit, or a
green-channel referral.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

from careflow.forms import form_ref
from careflow.models import ProcessInput
from careflow.plan import EscalationLevel, TaskTemplate
from careflow.privacy.withdrawal import CONSENT_WITHDRAWN_SIGNAL, ConsentWithdrawn
from plugins.eldercare.contracts import (
    GREEN_CHANNEL_PROCESS,
    REASSESS_SIGNAL,
    GreenChannelRequest,
    ReassessSignal,
    tiers_workflow_id,
)
from plugins.eldercare.health.forms import HomeVisitForm, ReviewForm
from plugins.eldercare.health.models import (
    HEALTH_ALERT_PROCESS,
    HEALTH_CONSENT_PURPOSE,
    ActivityNames,
    AlertDecision,
    AlertOutcome,
    AlertParams,
    AlertRequest,
    AlertResult,
    CloseAlertInput,
    EvaluateInput,
    MonitorCarry,
    MonitorParams,
    MonitorRequest,
    MonitorResult,
    ReadingEvent,
    ReassessRequestInput,
    StoreReadingInput,
)
from plugins.engine.roles import Role
from workflows.runtime import (
    TEMPORAL_DEFAULT_RETRY,
    CareProcess,
    TaskExpired,
    event_signal,
    run_activity,
)

__all__ = ["ALERT_POINTS", "HealthAlertWorkflow", "HealthMonitorWorkflow"]

ALERT_POINTS = ("after_alert", "after_review")


@workflow.defn(name="eldercare.health_monitor")
class HealthMonitorWorkflow(CareProcess):
    """One elder's readings, one at a time: store, apply the rules, start a review per alert."""

    def __init__(self) -> None:
        super().__init__()
        # Filled by the ``reading`` signal, possibly before run() starts (signal-with-start).
        self._queue: list[ReadingEvent] = []
        self._withdrawn: ConsentWithdrawn | None = None

    @workflow.signal(name=CONSENT_WITHDRAWN_SIGNAL)
    def consent_withdrawn(self, signal: ConsentWithdrawn) -> None:
        """The elder withdrew consent to health monitoring: no further reading is used.

        Readings are refused at the door without consent; this ends a monitor that holds
        readings already. Histories from before this signal never received it, so they
        replay unchanged.
        """
        if signal.purpose == HEALTH_CONSENT_PURPOSE and signal.subject_ref == self.context.case_ref:
            self._withdrawn = signal

    @event_signal(name="reading")
    def reading(self, event: ReadingEvent) -> None:
        """A health station sent a reading (routed from ``careflow event eldercare.reading``)."""
        self._queue.append(event)

    @workflow.run
    async def run(self, input: ProcessInput[MonitorRequest]) -> MonitorResult:
        self.begin(input)
        params = MonitorParams.model_validate(self.params)
        carry = MonitorCarry.model_validate(input.carry)
        carry.runs += 1
        self.stage("monitoring", "健康监测中 monitoring")
        while True:
            try:
                await workflow.wait_condition(
                    lambda: bool(self._queue) or self._withdrawn is not None,
                    timeout=params.idle_close,
                    timeout_summary="等待体检数据 waiting for readings",
                )
            except TimeoutError:
                if not self._queue:
                    break  # idle: the next reading starts the monitor again
            while self._queue and self._withdrawn is None:
                await self._handle(self._queue.pop(0), carry, params)
            if self._withdrawn is not None:
                return await self._end_for_withdrawal(self._withdrawn, carry)
            if self.should_continue_as_new(max_history=params.max_history):
                # The queue is empty and no await separates this check from the call.
                await self.continue_as_new(carry.model_dump(mode="json"))
        self.stage("idle", "已休眠 idle")
        return MonitorResult(readings=carry.readings, alerts=carry.alerts, runs=carry.runs)

    async def _end_for_withdrawal(
        self, signal: ConsentWithdrawn, carry: MonitorCarry
    ) -> MonitorResult:
        """A recorded, graceful end: readings not yet handled are dropped, never stored."""
        dropped = len(self._queue)
        self._queue.clear()
        await self.record(
            "consent",
            "consent_withdrawn",
            {"purpose": signal.purpose, "consent_id": signal.consent_id, "dropped": dropped},
        )
        self.stage("closed", "同意已撤回，停止监测 consent withdrawn, monitoring ended")
        return MonitorResult(
            readings=carry.readings,
            alerts=carry.alerts,
            runs=carry.runs,
            ended="consent_withdrawn",
        )

    async def _handle(
        self, event: ReadingEvent, carry: MonitorCarry, params: MonitorParams
    ) -> None:
        key = f"reading.{carry.readings}"
        wf_id = workflow.info().workflow_id
        reading_id: int = await run_activity(
            ActivityNames.STORE_READING,
            StoreReadingInput(workflow_id=wf_id, step_key=key, context=self.context, reading=event),
            result_type=int,
            retry=TEMPORAL_DEFAULT_RETRY,
            summary="保存体检数据 store reading",
        )
        decision: AlertDecision = await run_activity(
            ActivityNames.EVALUATE,
            EvaluateInput(
                workflow_id=wf_id,
                step_key=key,
                context=self.context,
                reading_id=reading_id,
                rules=params.rules,
            ),
            result_type=AlertDecision,
            retry=TEMPORAL_DEFAULT_RETRY,
            summary="风险评估 apply alert rules",
        )
        carry.readings += 1
        if decision.alert_id is None or decision.severity is None:
            return
        carry.alerts += 1
        request = AlertRequest(
            elder_ref=self.context.case_ref,
            alert_id=decision.alert_id,
            severity=decision.severity,
            rules=decision.rules,
        )
        await self.start_child(
            HEALTH_ALERT_PROCESS,
            request=request.model_dump(mode="json"),
            case_ref=f"{self.context.case_ref}.A{decision.alert_id}",
        )


def _review_task(params: AlertParams, critical: bool) -> TaskTemplate:
    return TaskTemplate(
        role=Role.DOCTOR,
        title_zh="健康预警审核" + ("（危急）" if critical else ""),
        title_en="Review a health alert" + (" (critical)" if critical else ""),
        form_ref=form_ref(ReviewForm),
        due=params.review_due_critical if critical else params.review_due,
        escalation=[
            EscalationLevel(
                role=Role.DISTRICT_ADMIN,
                due=(
                    params.review_escalation_due_critical
                    if critical
                    else params.review_escalation_due
                ),
            )
        ],
    )


def _visit_task(params: AlertParams) -> TaskTemplate:
    return TaskTemplate(
        role=Role.DOCTOR,
        title_zh="家庭医生上门随访",
        title_en="Family doctor home visit after a health alert",
        form_ref=form_ref(HomeVisitForm),
        due=params.visit_due,
        escalation=[EscalationLevel(role=Role.COMMUNITY_STAFF, due=params.visit_escalation_due)],
    )


@workflow.defn(name="eldercare.health_alert")
class HealthAlertWorkflow(CareProcess):
    """The doctor's review of one alert and what follows from it."""

    @workflow.run
    async def run(self, input: ProcessInput[AlertRequest]) -> AlertResult:
        self.begin(input)
        params = AlertParams.model_validate(self.params)
        request = input.request
        critical = request.severity == "critical"
        raised = workflow.now()
        self.stage("alert", "健康预警 alert raised")
        reassessing = await self._ask_tiers_to_reassess(request)
        await self.extension_point(
            "after_alert", {"alert_id": request.alert_id, "severity": request.severity}
        )

        self.stage("review", "医生审核 doctor review")
        try:
            review = await self.human_task("review", _review_task(params, critical))
        except TaskExpired:
            await self.record("review.expired", "review_expired", {"severity": request.severity})
            await self.notify(
                "review.expired",
                recipient_ref=f"role:{Role.DISTRICT_ADMIN.value}",
                template="health_review_expired",
                body_zh="健康预警超过最终期限无人审核，请立即联系老人并跟进。",
                params={"alert_id": request.alert_id, "severity": request.severity},
            )
            return await self._finish(request, "review_expired", None, None, reassessing)
        form = ReviewForm.model_validate(review.data)
        minutes = round((review.completed_at - raised).total_seconds() / 60, 1)
        await self.record(
            "review",
            "alert_reviewed",
            {"outcome": form.outcome, "by": review.actor, "minutes_to_review": minutes},
        )
        outcome: AlertOutcome
        green_channel: str | None = None
        if form.outcome == "advice":
            self.stage("advice", "健康建议 advice")
            await self.notify(
                "advice",
                recipient_ref=request.elder_ref,
                template="health_advice",
                body_zh="家庭医生已查看您的健康监测结果并给出建议，请留意社区医生的电话。",
                params={"alert_id": request.alert_id},
            )
            outcome = "advice"
        elif form.outcome == "home_visit":
            outcome = await self._home_visit(params, request)
        else:
            green_channel = await self._refer(request)
            outcome = "referral" if green_channel else "referral_recorded"
        await self.extension_point(
            "after_review", {"alert_id": request.alert_id, "outcome": outcome}
        )
        result = await self._finish(request, outcome, review.actor, form.advice_zh, reassessing)
        result.green_channel_workflow_id = green_channel
        result.minutes_to_review = minutes
        return result

    async def _ask_tiers_to_reassess(self, request: AlertRequest) -> bool:
        """Signal the elder's tier care plan; an elder without one is fine.

        Under case keys an activity signals the plan: its id holds the elder's case key,
        which the workflow cannot make, or a registry id (a plan from before keys), which a
        signal from here would write into this history in clear.
        """
        if self.keyed:
            reached: bool = await run_activity(
                ActivityNames.REQUEST_REASSESSMENT,
                ReassessRequestInput(
                    district=self.context.district,
                    elder_ref=request.elder_ref,
                    alert_id=request.alert_id,
                ),
                result_type=bool,
                retry=TEMPORAL_DEFAULT_RETRY,
                summary="请三色分级重新评估 ask the care plan to reassess",
            )
            if not reached:
                await self.record("tiers", "tiers_not_running", {})
            return reached
        target = tiers_workflow_id(self.context.district, request.elder_ref)
        try:
            await workflow.get_external_workflow_handle(target).signal(
                REASSESS_SIGNAL,
                ReassessSignal(reason="health_alert", source_ref=f"A{request.alert_id}"),
            )
        except FailureError:
            await self.record("tiers", "tiers_not_running", {})
            return False
        return True

    async def _home_visit(self, params: AlertParams, request: AlertRequest) -> AlertOutcome:
        self.stage("home_visit", "上门随访 home visit")
        try:
            visit = await self.human_task("home_visit", _visit_task(params))
        except TaskExpired:
            await self.record("home_visit.missed", "home_visit_missed", {})
            await self.notify(
                "home_visit.missed",
                recipient_ref=f"role:{Role.DISTRICT_ADMIN.value}",
                template="health_visit_missed",
                body_zh="健康预警后的上门随访超过最终期限未完成，请跟进。",
                params={"alert_id": request.alert_id},
            )
            return "home_visit_missed"
        form = HomeVisitForm.model_validate(visit.data)
        await self.record(
            "home_visit",
            "home_visit" if form.visited else "home_visit_not_made",
            {"by": visit.actor, "role": visit.role},
        )
        return "home_visit"

    async def _refer(self, request: AlertRequest) -> str | None:
        """Start a green channel if this worker knows the process, else record the referral."""
        self.stage("referral", "绿色通道转诊 referral")
        green = GreenChannelRequest(
            elder_ref=request.elder_ref, source="health_alert", source_ref=f"A{request.alert_id}"
        )
        try:
            handle = await self.start_child(
                GREEN_CHANNEL_PROCESS,
                request=green.model_dump(mode="json"),
                case_ref=f"{self.context.case_ref}.gc",
            )
        except ActivityError as err:
            cause = err.cause
            if not (isinstance(cause, ApplicationError) and cause.type == "PlanNotResolved"):
                raise
            # Not installed or not enabled in this district: the referral is made by hand.
            await self.record("referral", "referral_recorded", {"green_channel": False})
            await self.notify(
                "referral",
                recipient_ref=f"role:{Role.DISTRICT_ADMIN.value}",
                template="health_referral",
                body_zh="家庭医生建议转诊急诊绿色通道（本区未启用该流程），请人工安排。",
                params={"alert_id": request.alert_id},
            )
            return None
        await self.record("referral", "referral_started", {"workflow_id": handle.id})
        return handle.id

    async def _finish(
        self,
        request: AlertRequest,
        outcome: AlertOutcome,
        reviewer: str | None,
        advice: str | None,
        reassessing: bool,
    ) -> AlertResult:
        await run_activity(
            ActivityNames.CLOSE_ALERT,
            CloseAlertInput(
                alert_id=request.alert_id,
                outcome=outcome,
                reviewed_by=reviewer,
                advice_zh=advice,
                closed_at=workflow.now(),
            ),
            retry=TEMPORAL_DEFAULT_RETRY,
            summary=f"关闭预警 close alert: {outcome}",
        )
        self.stage("closed", "已完成 closed")
        return AlertResult(
            alert_id=request.alert_id,
            severity=request.severity,
            outcome=outcome,
            tier_reassessment=reassessing,
        )

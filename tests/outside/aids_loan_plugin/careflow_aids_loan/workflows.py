"""The aids loan 辅具租借 and its daily overdue report.

A loan: the rehabilitation officer 康复专员 assesses the request (a task at the
``assessment`` point, escalating to the district admin); on approval the aid goes to the elder
through the engine's shared Delivery 物资配送; from the hand-over a durable timer waits until
``reminder_before_days`` before the due date and the elder is reminded through the outbox;
then the process waits for the ``aids.returned`` event or the due date. Past the due date the
loan is overdue (table, ``CareOverdue``, the officer told) and the process keeps waiting for
the aid. The loan row in ``al_loan`` says where each loan stands.

The overdue report counts a district's overdue loans and tells its officers.

Deterministic and free of I/O: every read and write is an activity called by name.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from careflow.localtime import local_minute
from careflow.models import ProcessInput
from careflow.search_attributes import CARE_OVERDUE
from careflow_aids_loan.forms import AssessmentForm
from careflow_aids_loan.models import (
    AID_TITLES,
    ASSESSMENT_POINT,
    ASSESSMENT_STEP,
    LOAN_PROCESS,
    OVERDUE_REPORT_PROCESS,
    REHAB_OFFICER,
    RETURNED_SIGNAL,
    ActivityNames,
    AidKind,
    AidReturnedEvent,
    AssessmentVerdict,
    CountOverdueInput,
    LoanOutcome,
    LoanParams,
    LoanRequest,
    LoanResult,
    OpenLoanInput,
    OverdueCount,
    OverdueReportRequest,
    OverdueReportResult,
    SettleLoanInput,
)
from plugins.engine.delivery.models import (
    DELIVERY_PROCESS,
    DeliveryItem,
    DeliveryOutcome,
    DeliveryRequest,
    DeliveryResult,
)
from plugins.engine.roles import Role
from workflows.runtime import CareProcess, run_activity

__all__ = ["AidLoanWorkflow", "OverdueReportWorkflow"]

_OFFICER = f"role:{REHAB_OFFICER}"
_ADMIN = f"role:{Role.DISTRICT_ADMIN.value}"
#: The loan's key in the process: its row in ``al_loan`` is (workflow id, this key).
_LOAN_KEY = "loan"


@workflow.defn(name=LOAN_PROCESS)
class AidLoanWorkflow(CareProcess):
    """One elder's loan of one aid: assessment, delivery, reminder, return."""

    def __init__(self) -> None:
        super().__init__()
        self._on_loan = False
        self._returned: AidReturnedEvent | None = None
        self._returned_at: datetime | None = None

    @workflow.run
    async def run(self, input: ProcessInput[LoanRequest]) -> LoanResult:
        self.begin(input)
        params = LoanParams.model_validate(self.params)
        request = input.request
        days = request.loan_days or params.loan_days
        await self.record(
            "requested", "aid_loan_requested", {"aid": request.aid.value, "days": days}
        )

        self.stage("assessment", "康复评估 assessment")
        aid = await self._assess(request, days)
        if aid is None:
            return await self._close_unlent(request.aid, "declined")

        self.stage("delivery", f"辅具配送 delivering: {AID_TITLES[aid]}")
        delivered = await self._deliver(request, aid)
        if delivered.outcome is not DeliveryOutcome.DELIVERED:
            await self.notify(
                "not_delivered",
                recipient_ref=_OFFICER,
                template="aids_loan_not_delivered",
                body_zh=f"辅具（{AID_TITLES[aid]}）未能送到老人手中，请跟进。",
                params={"aid": aid.value, "delivery": delivered.outcome.value},
            )
            return await self._close_unlent(aid, "not_delivered")

        # The term runs from the hand-over, not from the request.
        due_at = workflow.now() + timedelta(days=days)
        await run_activity(
            ActivityNames.OPEN_LOAN,
            OpenLoanInput(
                workflow_id=workflow.info().workflow_id,
                step_key=_LOAN_KEY,
                context=self.context,
                aid=aid,
                due_at=due_at,
            ),
            summary=f"登记借出 record the loan: {AID_TITLES[aid]}",
        )
        self._on_loan = True
        due_day = local_minute(due_at)[:10]
        self.stage("on_loan", f"借用中 on loan until {due_day}")

        remind_at = due_at - timedelta(days=min(params.reminder_before_days, days))
        reminded = overdue = False
        if not await self._returned_by(remind_at, f"归还提醒前 until the reminder ({due_day})"):
            reminded = True
            await self.notify(
                "reminder",
                recipient_ref=request.elder_ref,
                template="aids_loan_return_reminder",
                body_zh=f"您借用的{AID_TITLES[aid]}将于{due_day}到期，请按时归还；续借请联系康复专员。",
                params={"aid": aid.value, "due_on": due_day},
            )
            if not await self._returned_by(due_at, f"等待归还 until the due date ({due_day})"):
                overdue = True
                await self._mark_overdue(aid, due_day)
                await workflow.wait_condition(lambda: self._returned is not None)

        returned = self._returned
        assert returned is not None and self._returned_at is not None
        await run_activity(
            ActivityNames.SETTLE_LOAN,
            SettleLoanInput(
                workflow_id=workflow.info().workflow_id,
                step_key=_LOAN_KEY,
                status="returned",
                at=self._returned_at,
                condition=returned.condition,
            ),
            summary="登记归还 record the return",
        )
        if overdue:
            workflow.upsert_search_attributes([CARE_OVERDUE.value_set(False)])
        await self.record(
            "returned", "aid_returned", {"condition": returned.condition, "overdue": overdue}
        )
        await self.extension_point("after_return", {"aid": aid.value, "overdue": overdue})
        self.stage("closed", "已归还 returned")
        return LoanResult(
            outcome="returned",
            aid=aid,
            due_at=due_at.isoformat(),
            returned_at=self._returned_at.isoformat(),
            reminded=reminded,
            overdue=overdue,
        )

    @workflow.signal(name=RETURNED_SIGNAL)
    def aid_returned(self, event: AidReturnedEvent) -> None:
        """The aid came back (routed from ``aids.returned``); the first return counts."""
        if not self._on_loan or self._returned is not None:
            # The route's check refuses these at the boundary; one racing it is dropped.
            workflow.logger.warning("aids_loan.return_ignored", extra={"on_loan": self._on_loan})
            return
        self._returned = event
        self._returned_at = workflow.now()

    async def _assess(self, request: LoanRequest, days: int) -> AidKind | None:
        """The aid to lend (the one confirmed), or None when the loan is not approved."""
        produced = await self.extension_point(
            ASSESSMENT_POINT, {"aid": request.aid.value, "loan_days": days}
        )
        own = produced.get(ASSESSMENT_STEP)
        if own is None:
            raise ApplicationError(
                f"the plan has no {ASSESSMENT_STEP} step", type="PlanIncomplete", non_retryable=True
            )
        if own.get("expired"):
            await self.notify(
                "assessment_expired",
                recipient_ref=_ADMIN,
                template="aids_loan_assessment_expired",
                body_zh="辅具租借评估超期未处理，申请已关闭，请联系老人重新申请。",
                params={"aid": request.aid.value},
            )
            return None
        form = AssessmentForm.model_validate(own)
        # A district's step at the point may refuse too (a co-sign): every answer must agree.
        approved = all(
            AssessmentVerdict.model_validate(out).approved
            for out in produced.values()
            if isinstance(out, dict) and "approved" in out
        )
        aid = form.aid_confirmed or request.aid
        await self.record("assessment", "aid_assessed", {"approved": approved, "aid": aid.value})
        return aid if approved else None

    async def _deliver(self, request: LoanRequest, aid: AidKind) -> DeliveryResult:
        delivery = DeliveryRequest(
            recipient_ref=request.elder_ref,
            items=[DeliveryItem(category=aid.value, description_zh=AID_TITLES[aid])],
            purpose="community_goods",
        )
        handle = await self.start_child(
            DELIVERY_PROCESS,
            request=delivery.model_dump(mode="json"),
            # One delivery per loan, whichever run starts it.
            case_ref=f"{self.context.case_ref}.D",
        )
        return DeliveryResult.model_validate(await handle)

    async def _returned_by(self, moment: datetime, summary: str) -> bool:
        """Wait until the aid is returned or ``moment`` passes; whether it was returned."""
        left = moment - workflow.now()
        if self._returned is not None or left <= timedelta(0):
            return self._returned is not None
        try:
            await workflow.wait_condition(
                lambda: self._returned is not None, timeout=left, timeout_summary=summary
            )
        except TimeoutError:
            return False
        return True

    async def _mark_overdue(self, aid: AidKind, due_day: str) -> None:
        await run_activity(
            ActivityNames.SETTLE_LOAN,
            SettleLoanInput(
                workflow_id=workflow.info().workflow_id,
                step_key=_LOAN_KEY,
                status="overdue",
                at=workflow.now(),
            ),
            summary="登记逾期 record the loan overdue",
        )
        workflow.upsert_search_attributes([CARE_OVERDUE.value_set(True)])
        self.stage("overdue", f"逾期未还 overdue since {due_day}")
        await self.notify(
            "overdue",
            recipient_ref=_OFFICER,
            template="aids_loan_overdue",
            body_zh=f"借出的{AID_TITLES[aid]}已于{due_day}到期未归还，请联系老人或家属。",
            params={"aid": aid.value, "due_on": due_day},
        )

    async def _close_unlent(self, aid: AidKind, outcome: LoanOutcome) -> LoanResult:
        await self.record("closed", "aid_loan_closed", {"outcome": outcome})
        self.stage("closed", f"已结束 closed: {outcome}")
        return LoanResult(outcome=outcome, aid=aid)


@workflow.defn(name=OVERDUE_REPORT_PROCESS)
class OverdueReportWorkflow(CareProcess):
    """One district's daily count of overdue loans, told to its officers."""

    @workflow.run
    async def run(self, input: ProcessInput[OverdueReportRequest]) -> OverdueReportResult:
        self.begin(input)
        self.stage("counting", "统计逾期 counting overdue loans")
        counted = await run_activity(
            ActivityNames.COUNT_OVERDUE,
            CountOverdueInput(district=self.context.district, as_of=workflow.now()),
            result_type=OverdueCount,
            summary="统计逾期未还辅具 count overdue loans",
        )
        await self.record("report", "aid_loans_overdue", {"overdue": counted.overdue})
        if counted.overdue:
            await self.notify(
                "report",
                recipient_ref=_OFFICER,
                template="aids_loan_overdue_report",
                body_zh=f"本区有{counted.overdue}件辅具逾期未归还，请逐一联系。",
                params={"overdue": counted.overdue},
            )
        self.stage("closed", "已完成 closed")
        return OverdueReportResult(overdue=counted.overdue)

"""Small dining table supervision 小饭桌 (Yingze): inspection, rectification, re-check 回头看.

inspection task with the checklist (community staff, escalating to the district admin) → all
items pass: done → failed items: rectification notice to the provider with a deadline → at the
deadline a re-check with the same checklist → passes: rectified; fails again (``max_rechecks``
times): the table is suspended and the families of the children who eat there are told.

A scheduled ``childcare.dining_round`` per district starts one inspection per active table.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from careflow.forms import form_ref
from careflow.models import ProcessInput
from careflow.plan import EscalationLevel, TaskTemplate
from plugins.childcare.dining.forms import CHECKLIST_ITEMS, InspectionForm
from plugins.childcare.dining.models import (
    DiningInspectionRequest,
    DiningParams,
    DiningResult,
    DiningRoundRequest,
    DiningRoundResult,
    InspectionOutcome,
    ProvidersInput,
    SuspendInput,
    SuspendResult,
)
from plugins.engine.roles import Role
from workflows.runtime import TEMPORAL_DEFAULT_RETRY, CareProcess, TaskExpired, run_activity

__all__ = ["DiningInspectionWorkflow", "DiningRoundWorkflow"]


def _checklist_task(
    title_zh: str, title_en: str, due: timedelta, escalation_due: timedelta
) -> TaskTemplate:
    return TaskTemplate(
        role=Role.COMMUNITY_STAFF,
        title_zh=title_zh,
        title_en=title_en,
        form_ref=form_ref(InspectionForm),
        due=due,
        escalation=[EscalationLevel(role=Role.DISTRICT_ADMIN, due=escalation_due)],
    )


@workflow.defn(name="childcare.dining_inspection")
class DiningInspectionWorkflow(CareProcess):
    """One table's inspection with rectification, re-checks and, at worst, suspension."""

    @workflow.run
    async def run(self, input: ProcessInput[DiningInspectionRequest]) -> DiningResult:
        self.begin(input)
        params = DiningParams.model_validate(self.params)
        provider = input.request.provider_ref
        result = DiningResult(outcome=InspectionOutcome.PASSED, provider_ref=provider)

        self.stage("inspection", "检查 inspection")
        try:
            outcome = await self.human_task(
                "inspection",
                _checklist_task(
                    "小饭桌食品安全检查 dining table inspection",
                    "Inspect the small dining table with the checklist",
                    params.inspection_due,
                    params.inspection_escalation_due,
                ),
            )
        except TaskExpired:
            return await self._missed(result, InspectionOutcome.INSPECTION_MISSED, "检查")
        form = InspectionForm.model_validate(outcome.data)
        failed = form.failed_items()
        await self.record(
            "inspection",
            "dining_inspected",
            {"provider_ref": provider, "failed_items": failed, "by": outcome.actor},
        )
        await self.extension_point("after_inspection", {"failed_items": failed})

        while failed:
            result.failed_items = failed
            if result.rechecks >= params.max_rechecks:
                return await self._suspend(result)
            round_no = result.rechecks + 1
            self.stage("rectification", f"限期整改 rectification ({round_no})")
            deadline = workflow.now() + params.rectification_period
            await self.notify(
                f"rectification.{round_no}",
                recipient_ref=provider,
                template="dining_rectification_notice",
                body_zh=(
                    "整改通知：小饭桌检查发现以下问题："
                    + "、".join(CHECKLIST_ITEMS[item] for item in failed)
                    + f"。请于 {deadline:%Y-%m-%d} 前整改完毕，届时将回头看复查。"
                ),
                params={"failed_items": failed, "deadline": deadline.isoformat()},
            )
            await workflow.sleep(
                params.rectification_period, summary="整改期限 rectification period"
            )
            await self.extension_point("before_recheck", {"failed_items": failed})

            self.stage("recheck", f"回头看 re-check ({round_no})")
            try:
                outcome = await self.human_task(
                    f"recheck.{round_no}",
                    _checklist_task(
                        "小饭桌整改复查（回头看） re-check",
                        "Re-check the small dining table after rectification",
                        params.recheck_due,
                        params.recheck_escalation_due,
                    ),
                )
            except TaskExpired:
                return await self._missed(result, InspectionOutcome.RECHECK_MISSED, "回头看复查")
            result.rechecks = round_no
            failed = InspectionForm.model_validate(outcome.data).failed_items()
            await self.record(
                f"recheck.{round_no}",
                "dining_rechecked",
                {"provider_ref": provider, "failed_items": failed, "by": outcome.actor},
            )
            if not failed:
                result.outcome = InspectionOutcome.RECTIFIED
        return await self._close(result)

    async def _suspend(self, result: DiningResult) -> DiningResult:
        """Repeated failure: suspend the table and tell every family that eats there."""
        self.stage("suspension", "停业整顿 suspension")
        suspended: SuspendResult = await run_activity(
            "childcare.dining.suspend",
            SuspendInput(
                workflow_id=workflow.info().workflow_id,
                provider_ref=result.provider_ref,
                failed_items=result.failed_items,
                at=workflow.now(),
            ),
            result_type=SuspendResult,
            retry=TEMPORAL_DEFAULT_RETRY,
            summary="暂停小饭桌 suspend the table",
        )
        await self.record(
            "suspension",
            "dining_suspended",
            {"provider_ref": result.provider_ref, "failed_items": result.failed_items},
        )
        for guardian in suspended.guardians:
            await self.notify(
                f"suspended.{guardian}",
                recipient_ref=guardian,
                template="dining_suspended_family",
                body_zh="您孩子就餐的小饭桌复查仍不合格，已暂停服务，请另行安排孩子午/晚餐。",
                params={"provider_ref": result.provider_ref},
            )
        await self.notify(
            "suspended.district",
            recipient_ref=f"role:{Role.DISTRICT_ADMIN.value}",
            template="dining_suspended",
            body_zh="小饭桌复查仍不合格，已暂停服务。",
            params={"provider_ref": result.provider_ref, "families": len(suspended.guardians)},
        )
        result.outcome = InspectionOutcome.SUSPENDED
        result.families_notified = len(suspended.guardians)
        await self.extension_point("after_suspension", {"guardians": suspended.guardians})
        return await self._close(result)

    async def _missed(
        self, result: DiningResult, outcome: InspectionOutcome, what_zh: str
    ) -> DiningResult:
        await self.notify(
            "missed",
            recipient_ref=f"role:{Role.DISTRICT_ADMIN.value}",
            template="dining_inspection_missed",
            body_zh=f"小饭桌{what_zh}超过最终期限未完成，请跟进。",
            params={"provider_ref": result.provider_ref},
        )
        result.outcome = outcome
        return await self._close(result)

    async def _close(self, result: DiningResult) -> DiningResult:
        self.stage("closed", "已结束 closed")
        await self.extension_point("before_close", {"outcome": result.outcome.value})
        await self.record("report", "dining_report", result.model_dump(mode="json"))
        return result


@workflow.defn(name="childcare.dining_round")
class DiningRoundWorkflow(CareProcess):
    """A district's inspection round: one inspection per active small dining table."""

    @workflow.run
    async def run(self, input: ProcessInput[DiningRoundRequest]) -> DiningRoundResult:
        self.begin(input)
        self.stage("starting", "启动检查 starting inspections")
        providers: list[str] = await run_activity(
            "childcare.dining.providers",
            ProvidersInput(district=self.context.district),
            result_type=list[str],
            retry=TEMPORAL_DEFAULT_RETRY,
            summary="在营小饭桌 active dining tables",
        )
        started = []
        for provider in providers:
            handle = await self.start_child(
                "childcare.dining_inspection",
                request={"provider_ref": provider},
                case_ref=f"{self.context.case_ref}.{provider}",
            )
            started.append(handle.id)
        await self.extension_point("after_inspections_started", {"inspections": started})
        self.stage("started", "检查已派发 inspections started")
        return DiningRoundResult(inspections=started)

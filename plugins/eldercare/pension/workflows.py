"""Door-to-door pension certification 上门养老认证: a yearly campaign, one visit per elder.

The campaign lists the district's home-bound pensioners and starts a visit process for each
(in batches), waits for all and reports. A visit: the grid worker 网格员 visits and confirms the
elder's identity; the certification goes to social insurance through the adapter and the
confirmation is recorded. Nobody at home: another visit, up to ``attempts``. A visit not made
escalates to community staff, then the district, before the deadline. An elder found deceased
is reported to the district instead of certified.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from temporalio import workflow

from careflow.forms import form_ref
from careflow.models import ProcessInput
from careflow.plan import EscalationLevel, TaskTemplate
from plugins.eldercare.pension.forms import CertificationVisitForm
from plugins.eldercare.pension.models import (
    PENSION_VISIT_PROCESS,
    ActivityNames,
    CampaignParams,
    CampaignRequest,
    CampaignResult,
    ListPensionersInput,
    Pensioner,
    SubmitInput,
    SubmitResult,
    VisitOutcome,
    VisitParams,
    VisitRequest,
    VisitResult,
)
from plugins.engine.roles import Role
from workflows.runtime import TEMPORAL_DEFAULT_RETRY, CareProcess, TaskExpired, run_activity

__all__ = [
    "CAMPAIGN_POINTS",
    "VISIT_POINTS",
    "PensionCampaignWorkflow",
    "PensionVisitWorkflow",
]

CAMPAIGN_POINTS = ("before_report",)
VISIT_POINTS = ("after_certification_visit",)

_ADMIN = f"role:{Role.DISTRICT_ADMIN.value}"


def _visit_task(params: VisitParams) -> TaskTemplate:
    return TaskTemplate(
        role=Role.GRID_WORKER,
        title_zh="上门养老认证",
        title_en="Door-to-door pension certification visit",
        form_ref=form_ref(CertificationVisitForm),
        due=params.visit_due,
        escalation=[
            EscalationLevel(role=Role.COMMUNITY_STAFF, due=params.staff_escalation_due),
            EscalationLevel(role=Role.DISTRICT_ADMIN, due=params.admin_escalation_due),
        ],
    )


@workflow.defn(name="eldercare.pension")
class PensionCampaignWorkflow(CareProcess):
    """A district's yearly certification campaign."""

    @workflow.run
    async def run(self, input: ProcessInput[CampaignRequest]) -> CampaignResult:
        self.begin(input)
        params = CampaignParams.model_validate(self.params)
        year = input.request.year or workflow.now().year
        self.stage("listing", "名单核对 listing pensioners")
        pensioners: list[Pensioner] = await run_activity(
            ActivityNames.LIST_PENSIONERS,
            ListPensionersInput(
                district=self.context.district, communities=input.request.communities
            ),
            result_type=list[Pensioner],
            retry=TEMPORAL_DEFAULT_RETRY,
            summary="列出居家领取养老金老人 list home-bound pensioners",
        )
        self.stage("visiting", f"上门认证中 visiting {len(pensioners)}")
        handles: list[Any] = []
        for start in range(0, len(pensioners), params.batch_size):
            batch = pensioners[start : start + params.batch_size]
            handles += await asyncio.gather(
                *(
                    self.start_child(
                        PENSION_VISIT_PROCESS,
                        request=VisitRequest(elder_ref=p.elder_ref, year=year).model_dump(),
                        # One visit per elder and year, whichever campaign run starts it.
                        case_ref=f"{p.elder_ref}.Y{year}",
                        community=p.community,
                    )
                    for p in batch
                )
            )
        results = [VisitResult.model_validate(r) for r in await asyncio.gather(*handles)]
        outcomes: dict[str, int] = dict(sorted(Counter(str(r.outcome) for r in results).items()))
        self.stage("report", "汇总报告 report")
        await self.extension_point("before_report", {"year": year, "outcomes": outcomes})
        await self.record("report", "pension_campaign_report", {"year": year, **outcomes})
        await self.notify(
            "report",
            recipient_ref=_ADMIN,
            template="pension_campaign_report",
            body_zh=f"{year}年上门养老认证完成：共{len(results)}位老人。",
            params={"year": year, "elders": len(results), **outcomes},
        )
        self.stage("closed", "已完成 closed")
        return CampaignResult(year=year, elders=len(results), outcomes=outcomes)


@workflow.defn(name="eldercare.pension_visit")
class PensionVisitWorkflow(CareProcess):
    """One elder's certification of one year."""

    @workflow.run
    async def run(self, input: ProcessInput[VisitRequest]) -> VisitResult:
        self.begin(input)
        params = VisitParams.model_validate(self.params)
        request = input.request
        outcome: VisitOutcome = "not_reached"
        confirmation: str | None = None
        attempt = 0
        while attempt < params.attempts:
            key = f"visit.{attempt}"
            attempt += 1
            self.stage("visit", f"上门认证 visit {attempt}")
            try:
                visit = await self.human_task(key, _visit_task(params))
            except TaskExpired:
                outcome = "missed"
                await self.record(f"{key}.missed", "certification_visit_missed", {})
                await self.notify(
                    f"{key}.missed",
                    recipient_ref=_ADMIN,
                    template="pension_visit_missed",
                    body_zh="上门养老认证走访超过最终期限未完成，老人养老金可能暂停，请立即安排。",
                    params={"year": request.year},
                )
                break
            form = CertificationVisitForm.model_validate(visit.data)
            await self.record(key, "certification_visit", {"found": form.found, "by": visit.actor})
            await self.extension_point(
                "after_certification_visit",
                {"elder_ref": request.elder_ref, "found": form.found, "attempt": attempt},
            )
            if form.found == "deceased":
                outcome = "deceased"
                await self._report_deceased(request)
            elif form.found == "not_reached":
                outcome = "not_reached"
                continue
            elif not form.identity_confirmed:
                outcome = "identity_not_confirmed"
                await self.notify(
                    f"{key}.identity",
                    recipient_ref=f"role:{Role.COMMUNITY_STAFF.value}",
                    template="pension_identity_not_confirmed",
                    body_zh="上门认证未能核实老人身份，请社区协助核实。",
                    params={"year": request.year},
                )
            else:
                assert form.identity_method is not None
                confirmation = await self._submit(key, request, form.identity_method, visit.actor)
                outcome = "certified"
            break
        if outcome == "not_reached":
            await self.notify(
                "not_reached",
                recipient_ref=f"role:{Role.COMMUNITY_STAFF.value}",
                template="pension_not_reached",
                body_zh="多次上门均未见到老人，请社区联系家属。",
                params={"year": request.year, "attempts": attempt},
            )
        self.stage("closed", f"已完成 {outcome}")
        return VisitResult(
            elder_ref=request.elder_ref,
            year=request.year,
            outcome=outcome,
            confirmation_ref=confirmation,
            attempts=attempt,
        )

    async def _submit(self, key: str, request: VisitRequest, method: str, actor: str) -> str:
        self.stage("submit", "提交社保认证 submitting")
        result: SubmitResult = await run_activity(
            ActivityNames.SUBMIT,
            SubmitInput(
                workflow_id=workflow.info().workflow_id,
                step_key=key,
                context=self.context,
                elder_ref=request.elder_ref,
                year=request.year,
                identity_method=method,
                visited_by=actor,
            ),
            result_type=SubmitResult,
            retry=TEMPORAL_DEFAULT_RETRY,
            summary="提交社保生存认证 submit to social insurance",
        )
        await self.record(
            "confirmed",
            "certification_confirmed",
            {"confirmation_ref": result.confirmation_ref, "year": request.year},
        )
        return result.confirmation_ref

    async def _report_deceased(self, request: VisitRequest) -> None:
        await self.record("deceased", "elder_deceased", {"year": request.year})
        await self.notify(
            "deceased",
            recipient_ref=_ADMIN,
            template="pension_elder_deceased",
            body_zh="上门认证时发现老人已去世，请按规定报告社保并停发养老金。",
            params={"year": request.year},
        )

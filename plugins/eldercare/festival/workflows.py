"""Festival care 春节送温暖: couplets and gifts for solitary and very old elders.

Before Spring Festival the district lists its solitary 独居 and very old 高龄 elders and runs
one shared Delivery 物资配送 per elder, a batch at a time so that a community's staff are not
handed every drop-off at once; it waits for every delivery and reports how each ended.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from temporalio import workflow

from careflow.models import ProcessInput
from plugins.eldercare.festival.models import (
    ActivityNames,
    FestivalParams,
    FestivalRequest,
    FestivalResult,
    ListRecipientsInput,
    Recipient,
    festival_items,
)
from plugins.engine.delivery.models import DeliveryRequest, DeliveryResult
from plugins.engine.roles import Role
from workflows.runtime import TEMPORAL_DEFAULT_RETRY, CareProcess, run_activity

__all__ = ["FESTIVAL_POINTS", "FestivalWorkflow"]

FESTIVAL_POINTS = ("after_listing", "before_report")


@workflow.defn(name="eldercare.festival")
class FestivalWorkflow(CareProcess):
    """One district's festival round: list, deliver in batches, report."""

    @workflow.run
    async def run(self, input: ProcessInput[FestivalRequest]) -> FestivalResult:
        self.begin(input)
        params = FestivalParams.model_validate(self.params)
        request = input.request
        year = request.year or workflow.now().year
        self.stage("listing", "名单核对 listing elders")
        recipients: list[Recipient] = await run_activity(
            ActivityNames.LIST_RECIPIENTS,
            ListRecipientsInput(
                district=self.context.district,
                communities=request.communities,
                as_of=workflow.now().date(),
                min_age=params.min_age,
                include_lives_alone=params.include_lives_alone,
            ),
            result_type=list[Recipient],
            retry=TEMPORAL_DEFAULT_RETRY,
            summary="列出独居、高龄老人 list solitary and very old elders",
        )
        await self.extension_point("after_listing", {"year": year, "recipients": len(recipients)})
        results: list[DeliveryResult] = []
        batches = range(0, len(recipients), params.batch_size)
        for number, start in enumerate(batches, 1):
            batch = recipients[start : start + params.batch_size]
            self.stage("delivering", f"送春联年货 batch {number}/{len(batches)}")
            handles = await asyncio.gather(
                *(self._deliver(r, request, params, year) for r in batch)
            )
            results += [DeliveryResult.model_validate(r) for r in await asyncio.gather(*handles)]
        outcomes = dict(sorted(Counter(r.outcome.value for r in results).items()))
        self.stage("report", "汇总报告 report")
        await self.extension_point("before_report", {"year": year, "outcomes": outcomes})
        await self.record("report", "festival_report", {"year": year, **outcomes})
        await self.notify(
            "report",
            recipient_ref=f"role:{Role.DISTRICT_ADMIN.value}",
            template="festival_report",
            body_zh=f"{year}年春节送温暖完成：共{len(results)}位独居、高龄老人。",
            params={"year": year, "recipients": len(results), **outcomes},
        )
        self.stage("closed", "已完成 closed")
        return FestivalResult(year=year, recipients=len(results), outcomes=outcomes)

    async def _deliver(
        self, recipient: Recipient, request: FestivalRequest, params: FestivalParams, year: int
    ) -> workflow.ChildWorkflowHandle[object, object]:
        delivery = DeliveryRequest(
            recipient_ref=recipient.elder_ref,
            items=festival_items(request, params),
            purpose="festival_gift",
            handover_role=params.handover_role,
        )
        return await self.start_child(
            "delivery",
            request=delivery.model_dump(mode="json"),
            # One festival delivery per elder and year, whichever run starts it.
            case_ref=f"F{year}.{recipient.elder_ref}",
            community=recipient.community,
        )

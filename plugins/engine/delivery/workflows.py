"""The Delivery workflow: drop-off, hand-over with a signed receipt, confirmation, thanks.

Registered as ``delivery``, the name it had in ``workflows/delivery.py``, so running
deliveries and recorded histories carry on under this module.
"""

from __future__ import annotations

from temporalio import workflow

from careflow.forms import form_ref
from careflow.models import ProcessInput
from careflow.plan import EscalationLevel, TaskTemplate
from plugins.engine.delivery.forms import DropoffForm, HandoverForm
from plugins.engine.delivery.models import (
    DELIVERY_PROCESS,
    REQUEST_RECORD_KIND,
    DeliveryOutcome,
    DeliveryParams,
    DeliveryRequest,
    DeliveryResult,
    DropoffEvent,
)
from plugins.engine.roles import Role
from workflows.runtime import CareProcess, TaskExpired, event_signal

__all__ = ["DeliveryWorkflow"]

_NOT_RECEIVED_PATCH = "delivery-dropoff-not-received-ends"
"""A drop-off recorded as not received ends the delivery (before: the hand-over opened)."""
_REQUEST_RECORDED_PATCH = "delivery-request-recorded"
"""The request's non-personal facts are recorded as a case record at the start, so the task
context views can list the items and the donor (before: they lived only in the input)."""


def _dropoff_task(params: DeliveryParams) -> TaskTemplate:
    return TaskTemplate(
        role=Role.COMMUNITY_STAFF,
        title_zh="登记物资送达",
        title_en="Record goods dropped off",
        form_ref=form_ref(DropoffForm),
        due=params.dropoff_due,
        escalation=[EscalationLevel(role=Role.DISTRICT_ADMIN, due=params.dropoff_escalation_due)],
    )


def _handover_task(params: DeliveryParams, role: str) -> TaskTemplate:
    return TaskTemplate(
        role=role,
        title_zh="入户交接物资并签收",
        title_en="Hand over goods and collect the signed receipt",
        form_ref=form_ref(HandoverForm),
        due=params.handover_due,
        escalation=[
            EscalationLevel(role=Role.COMMUNITY_STAFF, due=params.staff_escalation_due),
            EscalationLevel(role=Role.DISTRICT_ADMIN, due=params.admin_escalation_due),
        ],
    )


def _request_facts(request: DeliveryRequest) -> dict[str, object]:
    """What the context views need of the request: ids and counts, never names or free text."""
    return {
        "recipient_ref": request.recipient_ref,
        "donor_ref": request.donor_ref,
        "purpose": request.purpose,
        "items": [
            {"category": item.category, "size": item.size, "quantity": item.quantity}
            for item in request.items
        ],
    }


@workflow.defn(name=DELIVERY_PROCESS)
class DeliveryWorkflow(CareProcess):
    """Drop-off, hand-over with a signed receipt, confirmation, thanks."""

    @workflow.run
    async def run(self, input: ProcessInput[DeliveryRequest]) -> DeliveryResult:
        self.begin(input)
        request = input.request
        params = DeliveryParams.model_validate(self.params)
        started = workflow.now()

        self.stage("dropoff", "待物资送达 awaiting drop-off")
        if workflow.patched(_REQUEST_RECORDED_PATCH):
            await self.record("request", REQUEST_RECORD_KIND, _request_facts(request))
        try:
            dropoff = await self.human_task("dropoff", _dropoff_task(params))
        except TaskExpired:
            return await self._fail(DeliveryOutcome.NEVER_DROPPED_OFF, "物资未送达")
        await self.record("dropoff", "goods_dropped_off", {"by": dropoff.actor, **dropoff.data})
        if not DropoffForm.model_validate(dropoff.data).received and workflow.patched(
            _NOT_RECEIVED_PATCH
        ):
            return await self._not_received(request)
        await self.extension_point("after_dropoff", {"dropoff": dropoff.data})

        self.stage("handover", "入户交接 hand-over")
        try:
            handover = await self.human_task(
                "handover", _handover_task(params, request.handover_role)
            )
        except TaskExpired:
            return await self._fail(DeliveryOutcome.HANDOVER_EXPIRED, "交接超过最终期限")
        form = HandoverForm.model_validate(handover.data)
        if not form.handed_over:
            await self.record("handover", "handover_failed", {"reason": form.reason})
            return await self._fail(DeliveryOutcome.NOT_HANDED_OVER, "未能交接")

        self.stage("confirmed", "已签收 confirmed")
        delivered = workflow.now()
        await self.record(
            "confirmed",
            "goods_received",
            {"receipt_ref": form.receipt_ref, "by": handover.actor, "role": handover.role},
        )
        await self.extension_point("after_handover", {"handover": handover.data})

        thanked = False
        if request.donor_ref:
            self.stage("thanks", "致谢捐赠方 thanking the donor")
            await self.notify(
                "thanks",
                recipient_ref=request.donor_ref,
                template="delivery_thanks",
                body_zh="感谢您的爱心捐赠！您捐赠的物资已送到受助人手中。",
                params={"items": len(request.items), "purpose": request.purpose},
            )
            thanked = True
        await self.extension_point("before_close")
        self.stage("closed", "已完成 closed")
        return DeliveryResult(
            outcome=DeliveryOutcome.DELIVERED,
            delivered_at=delivered.isoformat(),
            handover_actor=handover.actor,
            thanked_donor=thanked,
            hours_to_deliver=round((delivered - started).total_seconds() / 3600, 2),
        )

    async def _not_received(self, request: DeliveryRequest) -> DeliveryResult:
        """The goods did not arrive: no hand-over; the donor and the district are told."""
        await self.record("not_received", "dropoff_not_received", {"items": len(request.items)})
        if request.donor_ref:
            await self.notify(
                "not_received",
                recipient_ref=request.donor_ref,
                template="delivery_not_received",
                body_zh="您捐赠的物资未在社区登记送达，工作人员将与您联系。"
                " Your donated goods were not recorded as received; staff will contact you.",
                params={"items": len(request.items), "purpose": request.purpose},
            )
        return await self._fail(DeliveryOutcome.NEVER_DROPPED_OFF, "物资登记为未收到")

    async def _fail(self, outcome: DeliveryOutcome, reason_zh: str) -> DeliveryResult:
        """Fallback: record the failure and tell the district, then close."""
        await self.record("failed", "delivery_failed", {"outcome": outcome.value})
        await self.notify(
            "failed",
            recipient_ref=f"role:{Role.DISTRICT_ADMIN.value}",
            template="delivery_failed",
            body_zh=f"物资配送未完成：{reason_zh}，请跟进。",
            params={"outcome": outcome.value},
        )
        self.stage("failed", f"未完成 failed: {reason_zh}")
        return DeliveryResult(outcome=outcome)

    @event_signal(name="dropoff_recorded")
    def dropoff_recorded(self, event: DropoffEvent) -> None:
        """A station scanner recorded the drop-off (routed from ``careflow event``)."""
        self.complete_from_event(
            "dropoff",
            actor=f"device:{event.device_id}",
            data={
                "received": True,
                "items_match": event.items_match,
                "storage_ref": event.storage_ref,
            },
        )

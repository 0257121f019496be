"""The shared Delivery process 物资配送: goods from a donor or the community to a recipient.

drop-off recorded at the community → hand-over task for a grid worker or volunteer, with a
signed receipt → confirmation recorded → thank-you to the donor. A late hand-over escalates to
community staff, then to the district admin; past the last deadline the fallback records the
failure and tells the district. Micro-wishes and festival gifts both run through it.

A drop-off recorded as not received ends the delivery as ``never_dropped_off``: no hand-over
task opens for goods that are not there; the case record says so and the donor and the
district admin are told.

Refusals 拒绝规则: the recipient and the donor must be in the registry (``RegistryRef``; a
donor may belong to any district, the recipient to the delivery's), so a delivery to an
unknown id is refused at the start with exit 2 and nothing is started.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator
from temporalio import workflow

from careflow.contract import CareEvent
from careflow.forms import form_ref
from careflow.inputs import Code, ExternalModel, Ref, RegistryRef, ShortText
from careflow.models import ProcessInput
from careflow.params import PositiveDuration
from careflow.plan import EscalationLevel, TaskTemplate
from careflow.roles import Role
from workflows.runtime import CareProcess, TaskExpired

__all__ = [
    "DELIVERY_POINTS",
    "MAX_DELIVERY_ITEMS",
    "REQUEST_RECORD_KIND",
    "DeliveryItem",
    "DeliveryOutcome",
    "DeliveryParams",
    "DeliveryRequest",
    "DeliveryResult",
    "DeliveryWorkflow",
    "DropoffEvent",
    "DropoffForm",
    "HandoverForm",
]

DELIVERY_POINTS = ("after_dropoff", "after_handover", "before_close")
_NOT_RECEIVED_PATCH = "delivery-dropoff-not-received-ends"
"""A drop-off recorded as not received ends the delivery (before: the hand-over opened)."""
_REQUEST_RECORDED_PATCH = "delivery-request-recorded"
"""The request's non-personal facts are recorded as a case record at the start, so the task
context views can list the items and the donor (before: they lived only in the input)."""
REQUEST_RECORD_KIND = "delivery_requested"
"""Kind of the case record holding the request: registry ids, purpose, items (category, size,
quantity). No names, phones or free text."""


MAX_DELIVERY_ITEMS = 100
"""The most kinds of goods one delivery carries."""


class DeliveryItem(ExternalModel):
    """One kind of goods in a delivery."""

    category: Code = Field(
        title="物资类别 Category",
        description="类别代码，如书包、文具、冬衣。 e.g. school_bag, stationery, winter_coat",
    )
    description_zh: ShortText = Field(default="", title="物资说明 Description")
    size: Annotated[str, Field(max_length=32)] | None = Field(
        default=None, title="尺码 Size", description="衣物或鞋的尺码。 Clothes or shoe size."
    )
    quantity: int = Field(default=1, ge=1, le=1000, title="数量 Quantity", description="件 pieces")


class DeliveryRequest(ExternalModel):
    """What starts a delivery. References only: names and addresses stay in the registry."""

    recipient_ref: Annotated[Ref, RegistryRef("person")] = Field(
        title="受助人编号 Recipient",
        description="受助人的登记编号（P…）。 Registry id of the recipient (P…).",
    )
    # Donors may give across districts, so only their existence is checked.
    donor_ref: Annotated[Ref, RegistryRef("donor", in_district=False)] | None = Field(
        default=None,
        title="捐赠方编号 Donor",
        description="捐赠方的登记编号（D…），可为空。 Registry id of the donor (D…).",
    )
    items: list[DeliveryItem] = Field(
        min_length=1, max_length=MAX_DELIVERY_ITEMS, title="配送物资 Items"
    )
    purpose: Literal["micro_wish", "festival_gift", "couplets", "community_goods"] = Field(
        default="community_goods",
        title="配送用途 Purpose",
        description=(
            "micro_wish 微心愿；festival_gift 节日慰问品；couplets 春联；community_goods 社区物资"
        ),
    )
    handover_role: Literal["grid_worker", "volunteer"] = Field(
        default="grid_worker",
        title="入户交接人 Hand-over by",
        description="grid_worker 网格员；volunteer 志愿者",
    )


class DeliveryParams(BaseModel):
    """What a district may set for deliveries."""

    dropoff_due: PositiveDuration = timedelta(days=7)
    dropoff_escalation_due: PositiveDuration = timedelta(days=3)
    handover_due: PositiveDuration = timedelta(days=2)
    staff_escalation_due: PositiveDuration = timedelta(days=1)
    admin_escalation_due: PositiveDuration = timedelta(days=1)


class DropoffForm(ExternalModel):
    """Community staff (or the station scanner) record whether the goods arrived."""

    received: bool = Field(
        default=True,
        title="物资已送达社区 Received",
        description="未收到则配送结束，不再派入户交接。 "
        "False ends the delivery as not received: no hand-over.",
    )
    items_match: bool = Field(
        title="物资是否与清单一致 Items match the list",
        description="物资与配送清单相符。 Goods match the items of the delivery.",
    )
    storage_ref: str = Field(
        default="",
        max_length=64,
        title="存放位置 Storage",
        description="货架或储物柜编号。 Shelf or locker code.",
    )
    note: str = Field(default="", max_length=500, title="备注 Note")


class HandoverForm(ExternalModel):
    """The person delivering records the hand-over and the signed receipt."""

    handed_over: bool = Field(title="已交到受助人手中 Handed over")
    receipt_ref: str | None = Field(
        default=None,
        max_length=64,
        title="签收单编号 Receipt",
        description="已扫描的签收单编号；交付时必填。 Reference of the scanned signed receipt.",
    )
    reason: str | None = Field(
        default=None,
        max_length=500,
        title="未交付原因 Reason",
        description="未交付时必填。 Why not handed over.",
    )

    @model_validator(mode="after")
    def _signed_or_explained(self) -> HandoverForm:
        if self.handed_over and not self.receipt_ref:
            raise ValueError("a hand-over needs the signed receipt (receipt_ref)")
        if not self.handed_over and not self.reason:
            raise ValueError("a failed hand-over needs a reason")
        return self


class DropoffEvent(CareEvent):
    """A station scanner reports that goods for a delivery were dropped off."""

    device_id: Code
    items_match: bool = True
    storage_ref: str = Field(default="", max_length=64)


class DeliveryOutcome(StrEnum):
    """How a delivery ended."""

    DELIVERED = "delivered"
    NOT_HANDED_OVER = "not_handed_over"
    NEVER_DROPPED_OFF = "never_dropped_off"
    HANDOVER_EXPIRED = "handover_expired"


class DeliveryResult(BaseModel):
    """What a delivery reports to its parent and to ``careflow status``."""

    outcome: DeliveryOutcome
    delivered_at: str | None = None
    handover_actor: str | None = None
    thanked_donor: bool = False
    hours_to_deliver: float | None = None


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


@workflow.defn(name="delivery")
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

    @workflow.signal(name="dropoff_recorded")
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

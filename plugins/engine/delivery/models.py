"""What travels in and out of a Delivery: its request, params, events and result.

Pure models (pydantic and the core's input types only): the workflow imports them inside the
sandbox, and services that start a Delivery (micro-wishes, festival gifts) build its request.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from careflow.contract import CareEvent
from careflow.inputs import Code, ExternalModel, Ref, RegistryRef, ShortText
from careflow.params import PositiveDuration

__all__ = [
    "DELIVERY_POINTS",
    "DELIVERY_PROCESS",
    "MAX_DELIVERY_ITEMS",
    "REQUEST_RECORD_KIND",
    "DeliveryItem",
    "DeliveryOutcome",
    "DeliveryParams",
    "DeliveryRequest",
    "DeliveryResult",
    "DropoffEvent",
]

DELIVERY_PROCESS = "delivery"
"""The process id (and the workflow's registered name)."""
DELIVERY_POINTS = ("after_dropoff", "after_handover", "before_close")
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

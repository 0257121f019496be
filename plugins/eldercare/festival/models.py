"""Data shapes of festival care: couplets 春联 and gifts before Spring Festival."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from careflow.inputs import AreaCode, ExternalModel
from plugins.engine.delivery.models import MAX_DELIVERY_ITEMS, DeliveryItem

__all__ = [
    "FESTIVAL_PROCESS",
    "ActivityNames",
    "FestivalParams",
    "FestivalRequest",
    "FestivalResult",
    "ListRecipientsInput",
    "Recipient",
    "default_items",
    "festival_items",
]

FESTIVAL_PROCESS = "eldercare.festival"


class ActivityNames:
    """Names of this unit's activities, called by name from the workflow."""

    LIST_RECIPIENTS = "eldercare.festival.list_recipients"


def default_items() -> list[DeliveryItem]:
    """The city's festival goods, when neither the request nor the district names any."""
    return [
        DeliveryItem(category="couplets", description_zh="老少同写的春联"),
        DeliveryItem(category="festival_gift", description_zh="年货礼包"),
    ]


class FestivalRequest(ExternalModel):
    """What starts a district's festival round (the schedule passes an empty request)."""

    year: int | None = Field(
        default=None,
        ge=2020,
        le=2100,
        title="年份 Year",
        description="默认今年。 Default: this year.",
    )
    communities: list[AreaCode] = Field(
        default_factory=list,
        max_length=100,
        title="社区 Communities",
        description="只在区内这些社区开展，每行一个社区代码；留空为全部。 "
        "Limit to these communities of the district; empty means all.",
    )
    items: list[DeliveryItem] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_DELIVERY_ITEMS,
        title="慰问物资 Items",
        description="每位老人的慰问品；默认用本区的，否则用全市的。 "
        "Goods for every elder; default: the district's items, else the city's.",
    )


class FestivalParams(BaseModel):
    """Who receives festival care, and how deliveries are batched."""

    min_age: int = Field(default=80, ge=60, le=120, description="Very old elders 高龄.")
    include_lives_alone: bool = Field(default=True, description="Solitary elders 独居.")
    batch_size: int = Field(default=20, ge=1, le=500)
    handover_role: Literal["grid_worker", "volunteer"] = Field(
        default="grid_worker",
        description="Who hands the goods over: the grid worker, or volunteers where a district "
        "organises them (Yingze's returning university students).",
    )
    items: list[DeliveryItem] | None = Field(
        default=None,
        min_length=1,
        description="The district's festival goods; default: the city's couplets and gift.",
    )


def festival_items(request: FestivalRequest, params: FestivalParams) -> list[DeliveryItem]:
    """What each elder receives: the request's items, else the district's, else the city's."""
    if request.items is not None:
        return request.items
    if params.items is not None:
        return params.items
    return default_items()


class ListRecipientsInput(BaseModel):
    """Which elders to list, as of which day."""

    district: str
    communities: list[str] = Field(default_factory=list)
    as_of: date
    min_age: int
    include_lives_alone: bool


class Recipient(BaseModel):
    """An elder who receives festival care: registry id and community only."""

    elder_ref: str
    community: str


class FestivalResult(BaseModel):
    """The festival report: how many elders, and how each delivery ended."""

    year: int
    recipients: int
    outcomes: dict[str, int] = Field(default_factory=dict)

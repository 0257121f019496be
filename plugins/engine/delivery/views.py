"""Context views of a Delivery's tasks: what the drop-off and the hand-over show staff."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from careflow.db.tables import Donor, Task
from careflow.task_context import (
    ContextItem,
    area_name,
    case_records,
    person_items,
    subject_ref,
)
from plugins.engine.delivery.models import REQUEST_RECORD_KIND

__all__ = ["CATEGORY_TITLES", "dropoff_context", "handover_context"]

CATEGORY_TITLES: dict[str, str] = {
    "school_bag": "书包",
    "stationery": "文具",
    "books": "图书",
    "winter_coat": "冬衣",
    "shoes": "鞋",
    "sports": "体育用品",
    "desk_lamp": "台灯",
    "couplets": "春联",
    "fu_character": "福字",
    "festival_gift": "节日慰问品",
}
"""Chinese titles of the goods categories deliveries carry (micro-wish categories, festival
goods); an unknown category shows its code."""


def _community(session: Session, task: Task) -> ContextItem:
    return ContextItem(
        label_zh="社区", label_en="community", value=area_name(session, task.community)
    )


def _recipient(session: Session, task: Task, *, address: bool) -> list[ContextItem]:
    try:
        ref = subject_ref(session, task)
    except LookupError:
        return []
    return person_items(session, ref, who_zh="收件人", who_en="recipient", address=address)


def _item_line(item: dict[str, Any]) -> str:
    """``冬衣 尺码 130 × 2``: the category in Chinese, the size if any, the quantity."""
    category = str(item.get("category", ""))
    size = item.get("size")
    sized = f" 尺码 {size}" if size else ""
    return f"{CATEGORY_TITLES.get(category, category)}{sized} × {item.get('quantity', 1)}"


def _donor(session: Session, donor_ref: str) -> ContextItem:
    """The donor: an organisation by name; a person's name as personal data."""
    donor = session.get(Donor, donor_ref)
    if donor is None:
        return ContextItem(label_zh="捐赠方", label_en="donor", value=donor_ref)
    if donor.kind == "organisation":
        return ContextItem(label_zh="捐赠方", label_en="donor", value=donor.name)
    return ContextItem(label_zh="捐赠方", label_en="donor", value=donor.name, personal="name")


def _request(session: Session, task: Task) -> list[ContextItem]:
    """The goods and the donor, from the request recorded at the start (nothing for a
    delivery started before the request was recorded)."""
    items: list[ContextItem] = []
    for record in case_records(session, task, REQUEST_RECORD_KIND)[-1:]:
        data = record.data
        items.append(
            ContextItem(
                label_zh="配送物资",
                label_en="items",
                value=[_item_line(item) for item in data.get("items", [])],
            )
        )
        if data.get("donor_ref"):
            items.append(_donor(session, str(data["donor_ref"])))
    return items


def dropoff_context(session: Session, task: Task) -> list[ContextItem]:
    """Where the goods are expected, for whom (the recipient masked as personal data), which
    goods and from which donor."""
    return [
        _community(session, task),
        *_recipient(session, task, address=False),
        *_request(session, task),
    ]


def handover_context(session: Session, task: Task) -> list[ContextItem]:
    """Whom to hand the goods to, where, which goods from which donor, and what the drop-off
    recorded."""
    items = [
        _community(session, task),
        *_recipient(session, task, address=True),
        *_request(session, task),
    ]
    for record in case_records(session, task, "goods_dropped_off")[-1:]:
        data = record.data
        items += [
            ContextItem(
                label_zh="物资与清单相符",
                label_en="goods match the list",
                value="是 yes" if data.get("items_match") else "否 no",
            ),
            ContextItem(
                label_zh="存放位置", label_en="storage", value=data.get("storage_ref") or None
            ),
        ]
    return items

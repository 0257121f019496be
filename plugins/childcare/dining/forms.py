"""The inspection checklist 检查表 of a small dining table, used for inspection and re-check."""

from __future__ import annotations

from pydantic import Field

from careflow.inputs import ExternalModel

__all__ = ["CHECKLIST_ITEMS", "InspectionForm"]

CHECKLIST_ITEMS: dict[str, str] = {
    "licence_valid": "证照齐全有效",
    "staff_health_certificates": "从业人员健康证",
    "food_sourcing_records": "食材进货台账",
    "food_storage": "食品分类储存",
    "kitchen_hygiene": "厨房环境卫生",
    "tableware_disinfection": "餐具清洗消毒",
    "sample_retention": "食品留样",
    "fire_safety": "消防安全",
}
"""Item → what staff read on the form. Every item must be answered: no defaults."""


class InspectionForm(ExternalModel):
    """Each item passes (true) or fails (false); a failure needs the inspector's finding."""

    licence_valid: bool = Field(
        title="证照齐全有效 Licence valid", description=CHECKLIST_ITEMS["licence_valid"]
    )
    staff_health_certificates: bool = Field(
        title="从业人员健康证 Staff health certificates",
        description=CHECKLIST_ITEMS["staff_health_certificates"],
    )
    food_sourcing_records: bool = Field(
        title="食材进货台账 Food sourcing records",
        description=CHECKLIST_ITEMS["food_sourcing_records"],
    )
    food_storage: bool = Field(
        title="食品分类储存 Food storage", description=CHECKLIST_ITEMS["food_storage"]
    )
    kitchen_hygiene: bool = Field(
        title="厨房环境卫生 Kitchen hygiene", description=CHECKLIST_ITEMS["kitchen_hygiene"]
    )
    tableware_disinfection: bool = Field(
        title="餐具清洗消毒 Tableware disinfection",
        description=CHECKLIST_ITEMS["tableware_disinfection"],
    )
    sample_retention: bool = Field(
        title="食品留样 Sample retention", description=CHECKLIST_ITEMS["sample_retention"]
    )
    fire_safety: bool = Field(
        title="消防安全 Fire safety", description=CHECKLIST_ITEMS["fire_safety"]
    )
    findings: str = Field(
        default="",
        max_length=1000,
        title="问题与原因 Findings",
        description="不合格项及原因；有不合格项时填写。 What failed and why.",
    )

    def failed_items(self) -> list[str]:
        """The checklist items that failed, in checklist order."""
        return [item for item in CHECKLIST_ITEMS if not getattr(self, item)]

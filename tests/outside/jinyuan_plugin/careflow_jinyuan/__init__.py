"""Jinyuan 晋源区: the smallest real district plugin, distributed on its own.

After a Delivery's hand-over in Jinyuan, community staff make a follow-up call to the
recipient and record whether the goods were what was needed.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, Field

from careflow.contract import CarePlugin, HumanTaskStep
from careflow.plan import EscalationLevel

__all__ = ["FollowUpCallForm", "plugin"]


class FollowUpCallForm(BaseModel):
    """回访电话 · What the follow-up call found."""

    reached: bool
    goods_suitable: bool | None = Field(default=None, description="Were the goods what was needed?")
    note: str = Field(default="", max_length=200)


plugin = CarePlugin(
    name="jinyuan",
    version="1.0.0",
    title_zh="晋源区",
    title_en="Jinyuan district",
    order=50,
    steps=(
        HumanTaskStep(
            key="jinyuan.follow_up_call",
            process="delivery",
            point="after_handover",
            districts=frozenset({"jinyuan"}),
            summary_zh="晋源区：交接后电话回访",
            role="community_staff",
            title_zh="物资交接后电话回访",
            title_en="Follow-up call after the hand-over",
            form=FollowUpCallForm,
            due=timedelta(days=2),
            escalation=(EscalationLevel(role="district_admin", due=timedelta(days=1)),),
        ),
    ),
)

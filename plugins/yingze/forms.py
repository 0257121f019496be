"""Forms of Yingze's human tasks."""

from __future__ import annotations

from pydantic import Field

from careflow.inputs import ExternalModel, ShortText

__all__ = ["StudentVolunteerRoster"]


class StudentVolunteerRoster(ExternalModel):
    """Returning university students 返乡大学生 signed up to take festival delivery tasks."""

    volunteers: int = Field(
        ge=0,
        le=500,
        title="志愿者人数 Volunteers",
        description="登记为志愿者的返乡大学生人数。 Students registered as volunteers.",
    )
    universities: list[ShortText] = Field(
        default_factory=list,
        max_length=50,
        title="所在高校 Universities",
        description="每行一个。 One per line.",
    )
    briefing_held: bool = Field(
        title="已做安全与隐私说明 Briefing held",
        description="配送前已向志愿者讲解安全与隐私要求。 "
        "Safety and privacy briefing given before delivery.",
    )
    note: str = Field(default="", max_length=200, title="备注 Note")

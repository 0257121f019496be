"""Forms of Yingze's human tasks."""

from __future__ import annotations

from pydantic import Field

from careflow.inputs import ExternalModel, ShortText

__all__ = ["StudentVolunteerRoster"]


class StudentVolunteerRoster(ExternalModel):
    """Returning university students 返乡大学生 signed up to take festival delivery tasks."""

    volunteers: int = Field(ge=0, le=500, description="Students registered as volunteers.")
    universities: list[ShortText] = Field(default_factory=list, max_length=50)
    briefing_held: bool = Field(description="Safety and privacy briefing given before delivery.")
    note: str = Field(default="", max_length=200)

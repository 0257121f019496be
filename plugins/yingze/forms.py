"""Forms of Yingze's human tasks."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["StudentVolunteerRoster"]


class StudentVolunteerRoster(BaseModel):
    """Returning university students 返乡大学生 signed up to take festival delivery tasks."""

    volunteers: int = Field(ge=0, le=500, description="Students registered as volunteers.")
    universities: list[str] = Field(default_factory=list, max_length=50)
    briefing_held: bool = Field(description="Safety and privacy briefing given before delivery.")
    note: str = Field(default="", max_length=200)

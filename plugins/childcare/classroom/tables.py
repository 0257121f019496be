"""Tables of the five-thirty classroom: which children attend in which community."""

from __future__ import annotations

from datetime import date

from sqlmodel import Field, SQLModel

__all__ = ["ClassroomEnrolment"]


class ClassroomEnrolment(SQLModel, table=True):
    """A child enrolled in a community's five-thirty classroom 五点半课堂.

    The registry says who a child's guardians are; this says who attends, which the registry
    cannot know.
    """

    __tablename__ = "cc_classroom_enrolment"

    child_id: str = Field(foreign_key="person.id", primary_key=True)
    community_code: str = Field(foreign_key="area.code", index=True)
    active: bool = True
    enrolled_on: date

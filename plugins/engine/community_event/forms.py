"""The form of a community event's human task: attendance.

Task rows and histories from before the process moved here name it by its old reference
(``workflows.community_event:AttendanceForm``); the task type in ``__init__`` keeps that as an
alias, so such rows still resolve.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from careflow.inputs import MAX_ITEMS, ExternalModel, Ref

__all__ = ["ATTENDANCE_FORM_ALIASES", "AttendanceForm"]


class AttendanceForm(ExternalModel):
    """Community staff record who came, by registry id, and how many came without registering."""

    attended: list[Ref] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        title="到场人员 Attended",
        description="到场者的登记编号（P…），每行一个。 Registry ids (P…) present.",
    )
    walk_ins: int = Field(
        default=0,
        ge=0,
        le=2000,
        title="现场报名人数 Walk-ins",
        description="未报名而到场的人数。 People who came unregistered.",
    )
    note: str = Field(default="", max_length=500, title="备注 Note")

    @field_validator("attended")
    @classmethod
    def _ids(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a registrant is listed twice")
        bad = [v for v in value if not (v.startswith("P") and v[1:].isdigit())]
        if bad:
            raise ValueError(f"not registry ids: {', '.join(bad[:3])}")
        return value


ATTENDANCE_FORM_ALIASES = ("workflows.community_event:AttendanceForm",)
"""The reference the form had before it moved from ``workflows/community_event.py``."""

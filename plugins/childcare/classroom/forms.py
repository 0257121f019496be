"""Forms of the five-thirty classroom's tasks."""

from __future__ import annotations

from pydantic import Field, field_validator

from careflow.inputs import MAX_ITEMS, ExternalModel, Ref

__all__ = ["CallForm", "CheckInForm"]


class CheckInForm(ExternalModel):
    """Attendance check-in 点名签到: registry ids of the children present."""

    present: list[Ref] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        title="到场儿童 Children present",
        description="到场儿童的登记编号（P…），每行一个。 Registry ids (P…) present.",
    )
    note: str = Field(default="", max_length=500, title="备注 Note")

    @field_validator("present")
    @classmethod
    def _ids(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a child is listed twice")
        bad = [v for v in value if not (v.startswith("P") and v[1:].isdigit())]
        if bad:
            raise ValueError(f"not registry ids: {', '.join(bad[:3])}")
        return value


class CallForm(ExternalModel):
    """A call to the guardians of a child nobody has collected 致电监护人."""

    reached: bool = Field(title="已联系上监护人 Guardian reached")
    expected_minutes: int | None = Field(
        default=None,
        ge=0,
        le=600,
        title="预计多久到达 Expected in",
        description="监护人说几分钟后到，单位：分钟。 When the guardian says they will arrive.",
    )
    note: str = Field(default="", max_length=500, title="备注 Note")
    resolved_by_pickup: bool = Field(
        default=False,
        title="孩子已被接走 Collected meanwhile",
        description="由流程填写：通话期间孩子已被接走。 "
        "Set by the process when the child was collected meanwhile.",
    )

"""Task forms of the curtain appointment."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from careflow.inputs import ExternalModel

__all__ = ["CallForm", "CurtainCheckForm", "DoorCheckForm"]


class CurtainCheckForm(ExternalModel):
    """The paired volunteer looks at the elder's curtains this morning."""

    curtains: Literal["open", "closed"] = Field(
        title="窗帘是否拉开 Curtains",
        description="open 已拉开（老人安好迹象）；closed 仍拉着。 Open or still closed.",
    )
    note: str = Field(default="", max_length=300, title="备注 Note")


class CallForm(ExternalModel):
    """A phone call to the elder after closed curtains or no report."""

    reached: bool = Field(title="电话已接通 Reached")
    elder_ok: bool = Field(default=False, title="老人安好 Elder is fine")
    note: str = Field(default="", max_length=300, title="备注 Note")


class DoorCheckForm(ExternalModel):
    """The grid worker 网格员 knocks at the door."""

    finding: Literal["fine", "away", "needs_help", "no_response"] = Field(
        title="上门查看结果 Finding",
        description="fine 老人安好；away 外出不在家；needs_help 需要帮助；no_response 敲门无应答",
    )
    note: str = Field(default="", max_length=300, title="备注 Note")

"""Task forms of the curtain appointment."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from careflow.inputs import ExternalModel

__all__ = ["CallForm", "CurtainCheckForm", "DoorCheckForm"]


class CurtainCheckForm(ExternalModel):
    """The paired volunteer looks at the elder's curtains this morning."""

    curtains: Literal["open", "closed"]
    note: str = Field(default="", max_length=300)


class CallForm(ExternalModel):
    """A phone call to the elder after closed curtains or no report."""

    reached: bool
    elder_ok: bool = False
    note: str = Field(default="", max_length=300)


class DoorCheckForm(ExternalModel):
    """The grid worker 网格员 knocks at the door."""

    finding: Literal["fine", "away", "needs_help", "no_response"]
    note: str = Field(default="", max_length=300)

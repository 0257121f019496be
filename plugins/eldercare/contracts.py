"""What eldercare units ask of each other: open a green channel, ask a care plan to reassess.

A unit never imports a sibling unit (DESIGN.md), so the few shapes two eldercare units share
live here, at module level, and the unit that answers re-exports them as its public API:

* the green channel's process id and request (:mod:`plugins.eldercare.green_channel`), which a
  health alert and a curtain emergency start as a child;
* the care plan's process id, workflow id and ``reassess`` signal
  (:mod:`plugins.eldercare.tiers`), which a health alert sends.

Districts import those units' packages, never this file. Pure module (workflows import it):
names and shapes, no I/O.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from careflow.inputs import ExternalModel, Ref, RegistryRef
from careflow.models import process_workflow_id

__all__ = [
    "GREEN_CHANNEL_PROCESS",
    "REASSESS_SIGNAL",
    "TIERS_PROCESS",
    "ElderRef",
    "GreenChannelRequest",
    "ReassessReason",
    "ReassessSignal",
    "tiers_workflow_id",
]

# -- the green channel

GREEN_CHANNEL_PROCESS = "eldercare.green_channel"
"""The process id other processes start as a child (health alerts, curtain emergencies)."""

ElderRef = Annotated[Ref, Field(max_length=16), RegistryRef("person", person_kind="elder")]
"""An elder of the registry, in the request's district."""


class GreenChannelRequest(ExternalModel):
    """What opens a green channel. References only: the registry keeps the person's data."""

    elder_ref: ElderRef = Field(
        title="老人编号 Elder",
        description="老人的登记编号（P…）。 Registry id of the elder.",
    )
    source: Literal["staff", "family_call", "health_alert", "curtain_check"] = Field(
        default="staff",
        title="发起来源 Source",
        description="staff 社区工作人员；family_call 家属来电；health_alert 健康预警；"
        "curtain_check 窗帘之约查看",
    )
    source_ref: str | None = Field(
        default=None,
        max_length=255,
        title="来源编号 Source reference",
        description="触发的预警编号或流程编号；家属来电时为接听工作人员编号。 "
        "The alert id or workflow id that raised it; the staff id for a family call.",
    )


# -- the three-colour care plan

TIERS_PROCESS = "eldercare.tiers"
"""Process id of the care plan; other processes signal it by its deterministic workflow id:
``eldercare.tiers-<district>-<the elder's case key>``."""

REASSESS_SIGNAL = "reassess"
"""The care plan's signal asking for a new grade; its input is :class:`ReassessSignal`."""

ReassessReason = Literal["health_alert", "referral", "discharge", "staff"]


class ReassessSignal(ExternalModel):
    """Signal ``reassess``: a health alert, referral, discharge or staff asks for a new grade."""

    reason: ReassessReason
    source_ref: str | None = Field(
        default=None, max_length=128, description="Opaque ref of what caused it (alert, case)."
    )


def tiers_workflow_id(district: str, elder_ref: str) -> str:
    """The workflow id of an elder's care plan: one per elder and district.

    Pass the elder's case key (a plan started before case keys has the registry id in its
    id): outside a workflow, :func:`plugins.eldercare.care_plans.plan_workflow_ids` makes
    both.
    """
    return process_workflow_id(TIERS_PROCESS, district, elder_ref)

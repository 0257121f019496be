"""The workflow a Temporal Schedule runs: it resolves today's plan and starts the process.

A schedule's action has fixed arguments, but a plan must be resolved when a process starts so
that it carries the plugins of that day. The launcher does that in an activity and starts the
process as an abandoned child, so each scheduled run is one auditable pair in the UI.
"""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import workflow

from careflow.models import LaunchInput
from workflows.runtime import start_process

__all__ = ["LaunchInput", "LaunchResult", "ScheduledLaunchWorkflow"]


class LaunchResult(BaseModel):
    """The process the launcher started."""

    workflow_id: str


@workflow.defn(name="careflow.scheduled_launch")
class ScheduledLaunchWorkflow:
    """Resolve the plan and start one scheduled process."""

    @workflow.run
    async def run(self, input: LaunchInput) -> LaunchResult:
        case_ref = f"{input.schedule_id}.{workflow.now():%Y%m%dT%H%M}"
        handle = await start_process(
            input.process,
            district=input.district,
            community=None,
            case_ref=case_ref,
            request=input.request,
        )
        return LaunchResult(workflow_id=handle.id)

"""Extension points: running the steps the plan froze at a point, in order.

A step is an activity (bounded rounds, its own timeout), a human task, a child process or a
wait; what each produced is returned by step key and kept for the ``status`` query.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from careflow.models import StepInput, StepOutput
from careflow.plan import PlanStep, StepKind
from workflows.runtime.children import ChildProcesses
from workflows.runtime.state import TaskExpired
from workflows.runtime.tasks import HumanTasks

__all__ = ["ExtensionPoints"]


class ExtensionPoints(HumanTasks, ChildProcesses):
    """Run the plan's steps at an extension point."""

    async def extension_point(
        self, point: str, data: dict[str, Any] | None = None, *, round_suffix: str = ""
    ) -> dict[str, Any]:
        """Run the plan's steps at ``point`` in order.

        Args:
            point: The extension point's name.
            data: What the process knows there (ids and counts only), handed to each step.
            round_suffix: Appended to each step's task and record keys when the process runs
                the same point again (a second sign-off round); keys must stay unique.

        Returns:
            Step key → what the step produced (activity output data, task form data, child
            result), also kept for the ``status`` query. An expired task step is recorded
            as ``{"expired": True}`` and does not stop the process.
        """
        produced: dict[str, Any] = {}
        for step in self.plan.at(point):
            produced[step.key] = await self._run_step(step, data or {}, round_suffix)
        self._results.update(produced)
        return produced

    async def _run_step(self, step: PlanStep, data: dict[str, Any], suffix: str = "") -> Any:
        wf_id = workflow.info().workflow_id
        key = f"{step.key}{suffix}"
        if step.kind is StepKind.ACTIVITY and step.activity:
            out: StepOutput = await self._activity(
                step.activity,
                StepInput(
                    workflow_id=wf_id,
                    step_key=key,
                    context=self.context,
                    params=self.params,
                    data=data,
                ),
                key=key,
                result_type=StepOutput,
                timeout=step.timeout,
                summary=step.summary_zh,
                step=True,
            )
            return out.data
        if step.kind is StepKind.HUMAN_TASK and step.task:
            try:
                return (await self.human_task(key, step.task)).data
            except TaskExpired:
                await self.record(f"{key}.expired", "step_expired", {"step": step.key})
                return {"expired": True}
        if step.kind is StepKind.CHILD_PROCESS and step.child_process:
            return await self.run_child(
                step.child_process,
                request=step.child_request,
                case_ref=f"{self.context.case_ref}.{key}",
            )
        if step.kind is StepKind.WAIT and step.wait:
            await workflow.sleep(step.wait, summary=step.summary_zh)
            return {}
        raise ApplicationError(f"plan step {step.key!r} is incomplete", non_retryable=True)

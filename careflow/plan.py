"""The plan a process runs: resolved once when it starts, frozen into its input.

These models are pure and travel through Temporal payloads, so an upgraded or removed plugin
never changes a process that is already running and replay stays deterministic.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, model_validator

__all__ = ["EscalationLevel", "Plan", "PlanStep", "StepKind", "TaskTemplate"]


class StepKind(StrEnum):
    """What a plan step does when its extension point is reached."""

    ACTIVITY = "activity"
    HUMAN_TASK = "human_task"
    CHILD_PROCESS = "child_process"
    WAIT = "wait"


class EscalationLevel(BaseModel):
    """Where an overdue task goes next, and how long that role has."""

    role: str
    due: timedelta


class TaskTemplate(BaseModel):
    """A human task (工单) as a step or a process declares it."""

    role: str
    title_zh: str
    title_en: str
    form_ref: str = Field(description="Import path 'module:Name' of the pydantic form model.")
    due: timedelta
    escalation: list[EscalationLevel] = Field(default_factory=list)

    @property
    def roles(self) -> list[str]:
        """Every role that may hold this task, in escalation order."""
        return [self.role, *(level.role for level in self.escalation)]


class PlanStep(BaseModel):
    """One step a plugin adds at an extension point of a process."""

    key: str = Field(description="Unique within the plan; part of every idempotency key.")
    plugin: str
    plugin_version: str
    point: str
    kind: StepKind
    summary_zh: str
    activity: str | None = None
    timeout: timedelta = timedelta(minutes=1)
    task: TaskTemplate | None = None
    child_process: str | None = None
    child_request: dict[str, Any] = Field(default_factory=dict)
    wait: timedelta | None = None


class Plan(BaseModel):
    """Everything a process needs from the plugins, fixed when it starts."""

    process: str
    district: str
    resolved_at: datetime
    plugins: dict[str, str] = Field(description="Name → version of every contributing plugin.")
    params: dict[str, Any] = Field(default_factory=dict)
    steps: list[PlanStep] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_step_keys(self) -> Plan:
        # A step key is the idempotency key of what the step writes: a repeated key would make
        # the second task or record a silent no-op mid-process, so no such plan may start.
        keys = [step.key for step in self.steps]
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        if repeated:
            raise ValueError(f"step keys repeat in the plan of {self.process!r}: {repeated}")
        return self

    def at(self, point: str) -> list[PlanStep]:
        """The steps to run at one extension point, in plan order."""
        return [step for step in self.steps if step.point == point]

    def describe_zh(self) -> str:
        """Markdown shown as the workflow's static details in the Temporal UI."""
        lines = [f"**流程计划 Plan** `{self.process}` · {self.district}"]
        lines += [f"- 插件 plugins: {', '.join(f'{n} {v}' for n, v in self.plugins.items())}"]
        if not self.steps:
            lines.append("- (无扩展步骤 no extension steps)")
        for step in self.steps:
            lines.append(
                f"- [{step.point}] {step.summary_zh} ({step.kind.value}, "
                f"{step.plugin} {step.plugin_version})"
            )
        return "\n".join(lines)

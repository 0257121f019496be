"""Pure models shared by workflows, activities and clients.

Workflows import this module through the sandbox passthrough, so it holds data shapes and
activity names only: no I/O, no clocks.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from careflow.plan import Plan

__all__ = [
    "PSEUDONYM_PATCH",
    "ActivityName",
    "CaseKeysInput",
    "ChildStart",
    "CloseTaskInput",
    "CompleteTaskInput",
    "EscalateTaskInput",
    "LaunchInput",
    "NotifyInput",
    "OpenTaskInput",
    "OpenTasksInput",
    "ProcessContext",
    "ProcessInput",
    "RecordCaseInput",
    "ResolvePlanInput",
    "StepInput",
    "StepOutput",
    "TaskOutcome",
    "TaskStatus",
    "plan_memo",
    "process_summary",
    "process_workflow_id",
]

RequestT = TypeVar("RequestT", bound=BaseModel)

PSEUDONYM_PATCH = "pseudonymous-case-keys"
"""Patch id of case keys in workflows: a process that starts under it gives its children
keyed workflow ids, search attributes and summaries, and shows no registry id in its own
summaries. Histories recorded before it replay as they were (registry ids in child ids)."""


class ActivityName(StrEnum):
    """Names of the engine activities, called by name from workflows."""

    OPEN_TASK = "careflow.task.open"
    OPEN_TASKS = "careflow.task.open_many"
    ESCALATE_TASK = "careflow.task.escalate"
    CLOSE_TASK = "careflow.task.close"
    RECORD_CASE = "careflow.case.record"
    NOTIFY = "careflow.notify"
    RESOLVE_PLAN = "careflow.plan.resolve"
    CASE_KEYS = "careflow.case.keys"


class LaunchInput(BaseModel):
    """What a Temporal Schedule passes to its launcher workflow (``careflow.scheduled_launch``).

    In the core, not with the launcher, because the service builds schedules and must not
    import the engine layer above it.
    """

    schedule_id: str
    process: str
    district: str
    request: dict[str, Any] = Field(default_factory=dict)


class TaskStatus(StrEnum):
    """Life of a human task row."""

    OPEN = "open"
    DONE = "done"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class ProcessContext(BaseModel):
    """Who and where a process is for. Opaque references only, never names or numbers.

    ``case_ref`` may be a registry id: it travels in payloads (encrypted) and is what
    activities and plugins look the case up by. Everything that stays readable (workflow id,
    ``CareCaseRef``, summaries, log lines) uses :attr:`visible_ref`: the keyed pseudonym
    ``case_key`` of a process started since case keys exist, the case ref of one before.
    """

    process: str
    module: str
    district: str
    community: str | None = None
    case_ref: str = Field(description="Opaque case reference, e.g. a registry id.")
    started_by: str = Field(description="'staff:<id>', 'schedule:<id>', 'event:<type>' …")
    parent_workflow_id: str | None = None
    case_key: str | None = Field(
        default=None,
        description="Keyed pseudonym of case_ref (careflow.privacy.pseudonyms); None for "
        "processes started before case keys.",
    )

    @property
    def visible_ref(self) -> str:
        """What readable places show for the case: its key, else (older processes) its ref."""
        return self.case_key or self.case_ref


class ProcessInput(BaseModel, Generic[RequestT]):
    """The input of every process workflow: context, frozen plan and the typed request."""

    context: ProcessContext
    plan: Plan
    request: RequestT
    carry: dict[str, Any] = Field(
        default_factory=dict, description="State carried across continue-as-new."
    )
    applied_events: list[str] = Field(
        default_factory=list,
        description="Ids of the events the process applied lately, carried across "
        "continue-as-new so that a repeat is still ignored (workflows.runtime.events).",
    )


class StepInput(BaseModel):
    """Input of an activity that runs as a plan step."""

    workflow_id: str
    step_key: str
    context: ProcessContext
    params: dict[str, Any] = Field(default_factory=dict)
    data: dict[str, Any] = Field(default_factory=dict)


class StepOutput(BaseModel):
    """What a plan-step activity hands back to the process."""

    data: dict[str, Any] = Field(default_factory=dict)


class OpenTaskInput(BaseModel):
    """Open a task row for a role's inbox (idempotent on workflow id and step key)."""

    task_id: str
    workflow_id: str
    step_key: str
    context: ProcessContext
    role: str
    title_zh: str
    title_en: str
    form_ref: str
    due_at: datetime


class OpenTasksInput(BaseModel):
    """Open many task rows in one transaction (each idempotent on workflow id and step key).

    A campaign that opens hundreds of tasks at once (a curtain round's batch) pays one
    activity instead of one per task; the dev server's activity rate is the bottleneck.
    """

    tasks: list[OpenTaskInput]


class EscalateTaskInput(BaseModel):
    """Move an overdue task to the next role and notify it."""

    task_id: str
    workflow_id: str
    step_key: str
    role: str
    level: int
    due_at: datetime


class CloseTaskInput(BaseModel):
    """Close a task row with its outcome."""

    task_id: str
    status: TaskStatus
    actor: str | None = None
    role: str | None = None
    result: dict[str, Any] | None = None
    closed_at: datetime


class CompleteTaskInput(BaseModel):
    """Argument of the ``complete_task`` Update sent by staff clients."""

    task_id: str
    actor: str = Field(min_length=1, description="Staff id of the person completing the task.")
    role: str
    data: dict[str, Any] = Field(default_factory=dict)
    request_id: str | None = Field(
        default=None, description="The staff service's request id, joining history to audit."
    )


class TaskOutcome(BaseModel):
    """A completed task as the process sees it."""

    task_id: str
    actor: str
    role: str
    data: dict[str, Any]
    completed_at: datetime


class RecordCaseInput(BaseModel):
    """Append one event to a case's record (idempotent on workflow id and step key)."""

    workflow_id: str
    step_key: str
    context: ProcessContext
    kind: str
    data: dict[str, Any] = Field(default_factory=dict)


class NotifyInput(BaseModel):
    """Put one notification in the outbox and hand it to the delivery adapter."""

    workflow_id: str
    step_key: str
    context: ProcessContext
    recipient_ref: str = Field(description="A registry id or 'role:<role>'; never a phone.")
    template: str
    body_zh: str
    params: dict[str, Any] = Field(default_factory=dict)


class ResolvePlanInput(BaseModel):
    """Resolve the plan of a child process from the plugins the worker has loaded.

    With ``case_ref``, the activity also keys the child's case (``ChildStart.case_key``):
    workflows never hold the pseudonym key.
    """

    process: str
    district: str
    case_ref: str | None = None


class CaseKeysInput(BaseModel):
    """Key case refs a workflow made (``careflow.case.keys``); the result is one key each."""

    case_refs: list[str]


class ChildStart(BaseModel):
    """What a parent needs to start a child process: resolved by an activity, not in-workflow."""

    workflow_type: str
    module: str
    title_zh: str
    plan: Plan
    case_key: str | None = Field(
        default=None, description="The key of ResolvePlanInput.case_ref, when one was given."
    )


def process_workflow_id(process: str, district: str, case_ref: str) -> str:
    """The workflow id of a process: codes and an opaque reference, never personal data.

    Pass the case's visible ref (``ProcessContext.visible_ref``, a case key), never a registry
    id; ``careflow.privacy.pseudonyms.case_workflow_ids`` keys a case ref given by a person.
    """
    return f"{process}-{district}-{case_ref}"


def process_summary(title_zh: str, context: ProcessContext) -> str:
    """The Chinese static summary shown for a process in the Temporal UI (its case key)."""
    where = context.district + (f"/{context.community}" if context.community else "")
    return f"{title_zh} · {where} · 案件 {context.visible_ref}"


def plan_memo(plan: Plan) -> dict[str, Any]:
    """The memo a process starts with: which plugin versions and steps its plan froze."""
    return {"plan_plugins": plan.plugins, "plan_steps": [step.key for step in plan.steps]}

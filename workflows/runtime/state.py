"""What the runtime keeps and shows: task state, step problems, the ``status`` answer.

Plain data, shared by the runtime's modules; :class:`TaskState` and :class:`SharedDeadline`
are internal to the runtime (a unit that reaches into a task, like the consent withdrawal,
reads their fields, so they keep their names).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from careflow.models import TaskOutcome
from careflow.plan import TaskTemplate

__all__ = [
    "BulkTask",
    "OpenTaskView",
    "ProcessStatus",
    "SharedDeadline",
    "StepProblem",
    "TaskExpired",
    "TaskState",
]


class TaskExpired(Exception):
    """A human task passed its last deadline with nobody completing it."""

    def __init__(self, task_id: str, step_key: str) -> None:
        super().__init__(f"task {task_id} ({step_key}) expired")
        self.task_id = task_id
        self.step_key = step_key


class OpenTaskView(BaseModel):
    """An open task as ``status`` shows it."""

    task_id: str
    step_key: str
    title_zh: str
    role: str
    level: int
    due_at: str


class StepProblem(BaseModel):
    """A step whose activity keeps failing (``stalled``) or can never succeed (``failed``)."""

    step_key: str
    activity: str
    state: str
    error_type: str
    message: str
    rounds: int = 1


class ProcessStatus(BaseModel):
    """What the ``status`` query answers: stage, open tasks and a stalled or failed step."""

    process: str
    stage: str
    stage_zh: str
    open_tasks: list[OpenTaskView]
    results: dict[str, Any] = {}
    problem: StepProblem | None = None


@dataclass(frozen=True, kw_only=True)
class BulkTask:
    """One task of :meth:`CareProcess.open_tasks`.

    Attributes:
        key: Step key, unique within the workflow (its idempotency key).
        template: Role, form, due time and escalation of the task.
        community: The community whose inbox shows the task, when not the process's own.
        case_ref: The case the inbox shows for the task, when not the process's own (a batch
            holds one task per elder, each under the elder's case ref).
    """

    key: str
    template: TaskTemplate
    community: str | None = None
    case_ref: str | None = None


@dataclass
class SharedDeadline:
    """The first due time shared by tasks opened together: one timer instead of one each."""

    at: datetime
    passed: bool = False
    # Tasks still waiting on it; the timer is cancelled when none is left.
    waiting: int = 0
    timer: asyncio.Task[None] | None = None
    # Its tasks in the order they were answered (``HumanTasks.wait_tasks``): a batch's one
    # waiter wakes as this list grows instead of every task waiting on its own.
    answered: list[TaskState] = field(default_factory=list)


@dataclass
class TaskState:
    """A human task as the process holds it: the workflow is its source of truth."""

    task_id: str
    step_key: str
    template: TaskTemplate
    role: str
    level: int
    due_at: Any
    outcome: TaskOutcome | None = None
    # Set once the process has decided the task's fate (done or expired), before the row is
    # closed: from then on no completion is accepted.
    settled: bool = False
    closed: bool = False
    allowed: list[str] = field(default_factory=list)
    # Set for a task opened in bulk: its first due time is the shared deadline's.
    deadline: SharedDeadline | None = None

    def answer(self, outcome: TaskOutcome) -> None:
        """Settle the task's result; a task opened in bulk also wakes its deadline's waiter."""
        self.outcome = outcome
        if self.deadline is not None:
            self.deadline.answered.append(self)

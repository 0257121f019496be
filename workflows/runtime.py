"""The process runtime every careflow process workflow is built on.

A process workflow subclasses :class:`CareProcess` and calls :meth:`CareProcess.begin` first
in its run method. The base class gives it stages, extension points that run the frozen plan,
human tasks with escalation, notifications, case records, child processes and
continue-as-new, and it owns the ``complete_task`` Update that staff clients call.

Everything here is deterministic: time comes from ``workflow.now()``, ids from
``workflow.uuid4()``, and all I/O happens in activities called by name.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NoReturn

from pydantic import BaseModel, ValidationError
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as ActivityTimeout
from temporalio.workflow import ParentClosePolicy

from careflow.forms import known_form
from careflow.localtime import local_minute
from careflow.models import (
    ActivityName,
    ChildStart,
    CloseTaskInput,
    CompleteTaskInput,
    EscalateTaskInput,
    NotifyInput,
    OpenTaskInput,
    OpenTasksInput,
    ProcessContext,
    ProcessInput,
    RecordCaseInput,
    ResolvePlanInput,
    StepInput,
    StepOutput,
    TaskOutcome,
    TaskStatus,
    plan_memo,
    process_summary,
    process_workflow_id,
)
from careflow.plan import Plan, PlanStep, StepKind, TaskTemplate
from careflow.roles import ROLE_TITLES, Role
from careflow.search_attributes import CARE_OVERDUE, CARE_STAGE, start_attributes

__all__ = [
    "BOUNDED_RETRIES_PATCH",
    "BulkTask",
    "CareProcess",
    "OpenTaskView",
    "ProcessStatus",
    "StepProblem",
    "TaskExpired",
    "resolve_process",
    "start_process",
]

#: Engine activities are short database writes; retry transient faults, not business errors.
ENGINE_TIMEOUT = timedelta(seconds=30)
ENGINE_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=30))
#: Patch id of bounded retries: a step that keeps failing is shown as stalled and retried in
#: rounds; a step that can never succeed (non-retryable failure) fails the process visibly.
BOUNDED_RETRIES_PATCH = "careflow.runtime.bounded_retries"
#: One round of attempts of an engine activity (about four minutes of backoff).
ENGINE_ROUND = RetryPolicy(maximum_interval=timedelta(seconds=30), maximum_attempts=10)
#: One round of attempts of a plan step's activity.
STEP_ROUND = RetryPolicy(maximum_interval=timedelta(seconds=60), maximum_attempts=10)
#: Pause between rounds of a stalled step: long enough for an operator to restart a worker.
STALL_PAUSE = timedelta(minutes=10)
#: Stage codes of a process whose step keeps failing or failed for good.
STALLED_STAGE = ("stalled", "步骤停滞 stalled step")
FAILED_STAGE = ("failed", "步骤失败 failed step")
#: Open tasks listed in the UI's current details; more are counted.
_DETAIL_TASKS = 20


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
class _Deadline:
    """The first due time shared by tasks opened together: one timer instead of one each."""

    at: datetime
    passed: bool = False
    # Tasks still waiting on it; the timer is cancelled when none is left.
    waiting: int = 0
    timer: asyncio.Task[None] | None = None


@dataclass
class _Task:
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
    deadline: _Deadline | None = None


def _form(ref: str) -> type[BaseModel]:
    # The ref comes from the workflow's own code or its frozen plan, and is looked up among
    # the forms the worker's registry declares (``careflow.forms.known_form``): a dict read,
    # deterministic, and nothing is imported inside the sandbox.
    return known_form(ref)


def _role_zh(role: str) -> str:
    try:
        return ROLE_TITLES[Role(role)]
    except ValueError:
        return role


class CareProcess:
    """Base class of process workflows: the runtime and the ``complete_task`` Update."""

    def __init__(self) -> None:
        self._tasks: dict[str, _Task] = {}
        self._stage = "started"
        self._stage_zh = "已启动"
        self._input: ProcessInput[Any] | None = None
        self._results: dict[str, Any] = {}
        # Events that arrived before their task opened (signal-with-start, early scanners).
        self._early: dict[str, tuple[str, dict[str, Any]]] = {}
        # Last CareOverdue value upserted; bulk tasks upsert only on a change.
        self._overdue: bool | None = None
        # The step that is stalled now, or failed for good; shown by status and CareOverdue.
        self._problem: StepProblem | None = None
        self._before_stall = (self._stage, self._stage_zh)

    # -- start

    def begin(self, input: ProcessInput[Any]) -> None:
        """Bind the process input; call first in the run method."""
        self._input = input
        self._refresh_details()

    @property
    def context(self) -> ProcessContext:
        """Who and where this process is for."""
        return self._require_input().context

    @property
    def plan(self) -> Plan:
        """The plan frozen into this process's input."""
        return self._require_input().plan

    @property
    def params(self) -> dict[str, Any]:
        """The process params resolved into the plan."""
        return self.plan.params

    def _require_input(self) -> ProcessInput[Any]:
        if self._input is None:
            raise ApplicationError(
                "process not started: begin() was not called", non_retryable=True
            )
        return self._input

    # -- stages and details

    def stage(self, code: str, title_zh: str) -> None:
        """Enter a stage: upsert ``CareStage`` and show it in the UI's current details."""
        self._stage, self._stage_zh = code, title_zh
        workflow.upsert_search_attributes([CARE_STAGE.value_set(code)])
        workflow.logger.info("process.stage", extra={"stage": code})
        self._refresh_details()

    def _refresh_details(self) -> None:
        lines = [f"**阶段 Stage**: {self._stage_zh} (`{self._stage}`)"]
        if self._problem is not None:
            p = self._problem
            lines.append(
                f"**{'停滞步骤 Stalled' if p.state == 'stalled' else '失败步骤 Failed'}**: "
                f"`{p.step_key}` ({p.activity}) {p.error_type}: {p.message[:200]}"
            )
        open_tasks = [t for t in self._tasks.values() if not t.closed]
        if open_tasks:
            lines.append("**待办工单 Open tasks**:")
            # A batch holds hundreds of tasks: list a screenful, count the rest.
            for t in open_tasks[:_DETAIL_TASKS]:
                overdue = " ⚠️超时升级 escalated" if t.level else ""
                lines.append(
                    f"- `{t.task_id}` {t.template.title_zh} → {_role_zh(t.role)}"
                    f" (截止 due {local_minute(t.due_at)} 北京时间 UTC+8){overdue}"
                )
            if len(open_tasks) > _DETAIL_TASKS:
                lines.append(f"- … 另有 {len(open_tasks) - _DETAIL_TASKS} 项 more")
        workflow.set_current_details("\n".join(lines))

    def _refresh_overdue(self, *, if_changed: bool = False) -> None:
        overdue = self._problem is not None or any(
            t.level > 0 for t in self._tasks.values() if not t.closed
        )
        if if_changed and overdue == self._overdue:
            return
        self._overdue = overdue
        workflow.upsert_search_attributes([CARE_OVERDUE.value_set(overdue)])

    @workflow.query(name="status")
    def status(self) -> ProcessStatus:
        """Stage and open tasks, for ``careflow status``."""
        return ProcessStatus(
            process=self._input.context.process if self._input else "",
            stage=self._stage,
            stage_zh=self._stage_zh,
            open_tasks=[
                OpenTaskView(
                    task_id=t.task_id,
                    step_key=t.step_key,
                    title_zh=t.template.title_zh,
                    role=t.role,
                    level=t.level,
                    due_at=t.due_at.isoformat(),
                )
                for t in self._tasks.values()
                if not t.closed
            ],
            results=self._results,
            problem=self._problem,
        )

    # -- activities

    async def _engine(
        self, name: ActivityName, arg: BaseModel, *, summary: str, key: str = ""
    ) -> Any:
        return await self._activity(
            name, arg, key=key or str(name), summary=summary, timeout=ENGINE_TIMEOUT
        )

    async def _activity(
        self,
        name: str,
        arg: BaseModel,
        *,
        key: str,
        summary: str,
        timeout: timedelta,
        result_type: type | None = None,
        step: bool = False,
    ) -> Any:
        """Run an activity of the runtime or of a plan step; never retry it silently forever.

        Each round of attempts is bounded. When a round is used up the process shows the step
        as stalled (stage ``stalled``, ``CareOverdue``, a case record, the ``status`` query)
        and tries another round after :data:`STALL_PAUSE`, so a transient outage or a worker
        without the step's activity heals once fixed. A non-retryable failure (a value the
        database refuses, a business error) fails the process visibly instead.

        Args:
            name: Activity name.
            arg: Its input model.
            key: Step key of the call, named in the case record and ``status``.
            summary: Summary shown in the UI.
            timeout: Start-to-close timeout of one attempt.
            result_type: Type to convert the result to.
            step: Whether this is a plan step (its own, longer backoff).

        Raises:
            ApplicationError: ``StepFailed`` (non-retryable) when the activity failed for good.
        """
        if not workflow.patched(BOUNDED_RETRIES_PATCH):
            # Histories from before the patch: unbounded retries, as they were recorded.
            return await workflow.execute_activity(
                name,
                arg,
                start_to_close_timeout=timeout,
                retry_policy=None if step else ENGINE_RETRY,
                result_type=result_type,
                summary=summary,
            )
        rounds = 0
        while True:
            try:
                result = await workflow.execute_activity(
                    name,
                    arg,
                    start_to_close_timeout=timeout,
                    retry_policy=STEP_ROUND if step else ENGINE_ROUND,
                    result_type=result_type,
                    summary=summary,
                )
            except ActivityError as err:
                cause = err.cause
                if isinstance(cause, ApplicationError) and cause.non_retryable:
                    await self._fail_step(key, name, cause)
                if not isinstance(cause, ApplicationError | ActivityTimeout):
                    raise  # cancelled: not the step's fault
                rounds += 1
                await self._stall_step(key, name, cause, rounds)
                await workflow.sleep(STALL_PAUSE, summary=f"步骤停滞，稍后重试 retry stalled {key}")
                continue
            if rounds:
                self._recover_step()
            return result

    def _step_problem(
        self, key: str, name: str, cause: BaseException, *, state: str, rounds: int
    ) -> StepProblem:
        error_type = cause.type if isinstance(cause, ApplicationError) else None
        message = cause.message if isinstance(cause, ApplicationError | ActivityTimeout) else ""
        return StepProblem(
            step_key=key,
            activity=name,
            state=state,
            error_type=error_type or type(cause).__name__,
            message=message or str(cause),
            rounds=rounds,
        )

    async def _stall_step(self, key: str, name: str, cause: BaseException, rounds: int) -> None:
        """Show a step whose round of attempts failed; record it once per stall."""
        first = self._problem is None
        self._problem = self._step_problem(key, name, cause, state="stalled", rounds=rounds)
        if first:
            self._before_stall = (self._stage, self._stage_zh)
            self.stage(*STALLED_STAGE)
            self._refresh_overdue()
            await self._record_problem("step_stalled")
        else:
            self._refresh_details()

    def _recover_step(self) -> None:
        """The stalled step succeeded: back to the stage it stalled in."""
        self._problem = None
        self.stage(*self._before_stall)
        self._refresh_overdue()

    async def _fail_step(self, key: str, name: str, cause: ApplicationError) -> NoReturn:
        """End the process visibly: a step failed in a way no retry can fix."""
        self._problem = self._step_problem(key, name, cause, state="failed", rounds=1)
        self.stage(*FAILED_STAGE)
        self._refresh_overdue()
        await self._record_problem("step_failed")
        raise ApplicationError(
            f"步骤失败 step {key} failed ({name}): {self._problem.error_type}: "
            f"{self._problem.message}",
            self._problem.model_dump(mode="json"),
            type="StepFailed",
            non_retryable=True,
        )

    async def _record_problem(self, kind: str) -> None:
        """Write the problem to the case record, without stalling on the record itself."""
        problem = self._problem
        assert problem is not None
        try:
            await workflow.execute_activity(
                ActivityName.RECORD_CASE,
                RecordCaseInput(
                    workflow_id=workflow.info().workflow_id,
                    step_key=f"{problem.step_key}.{kind}.{workflow.uuid4().hex[:8]}",
                    context=self.context,
                    kind=kind,
                    data=problem.model_dump(mode="json"),
                ),
                start_to_close_timeout=ENGINE_TIMEOUT,
                retry_policy=ENGINE_ROUND,
                summary=f"记录 record: {kind}",
            )
        except ActivityError as err:
            # The database that refused the step may refuse the record too (the same case ref):
            # stage, CareOverdue and the workflow's failure still say what happened.
            workflow.logger.warning(
                "process.problem_not_recorded", extra={"kind": kind, "error": str(err.cause)}
            )

    async def record(self, key: str, kind: str, data: dict[str, Any] | None = None) -> None:
        """Append an event to the case record (idempotent on the step key)."""
        await self._engine(
            ActivityName.RECORD_CASE,
            RecordCaseInput(
                workflow_id=workflow.info().workflow_id,
                step_key=key,
                context=self.context,
                kind=kind,
                data=data or {},
            ),
            summary=f"记录 record: {kind}",
            key=key,
        )

    async def notify(
        self,
        key: str,
        *,
        recipient_ref: str,
        template: str,
        body_zh: str,
        params: dict[str, Any] | None = None,
    ) -> None:
        """Send a notification through the outbox (idempotent on the step key)."""
        await self._engine(
            ActivityName.NOTIFY,
            NotifyInput(
                workflow_id=workflow.info().workflow_id,
                step_key=key,
                context=self.context,
                recipient_ref=recipient_ref,
                template=template,
                body_zh=body_zh,
                params=params or {},
            ),
            summary=f"通知 notify: {template} → {recipient_ref}",
            key=key,
        )

    # -- human tasks

    async def human_task(
        self, key: str, template: TaskTemplate, *, community: str | None = None
    ) -> TaskOutcome:
        """Open a task, wait for staff, escalate past each due time.

        The task goes to ``template.role`` first and to each escalation role in turn when the
        current one lets it pass its due time; each escalation notifies the new role and marks
        the process ``CareOverdue``. Every role the task has been with may still complete it.

        Args:
            key: Step key, unique within the workflow (its idempotency key).
            template: Role, form, due time and escalation of the task.
            community: The community whose inbox shows the task, when it is not the process's
                own (a district-wide campaign opens tasks in many communities).

        Raises:
            TaskExpired: The last escalation level passed its due time too. The caller applies
                the process's fallback.
        """
        task = _Task(
            task_id=f"T{workflow.uuid4().hex[:12]}",
            step_key=key,
            template=template,
            role=template.role,
            level=0,
            due_at=workflow.now() + template.due,
            allowed=[template.role],
        )
        self._tasks[task.task_id] = task
        wf_id = workflow.info().workflow_id
        context = self.context
        if community is not None:
            context = context.model_copy(update={"community": community})
        await self._engine(
            ActivityName.OPEN_TASK,
            OpenTaskInput(
                task_id=task.task_id,
                workflow_id=wf_id,
                step_key=key,
                context=context,
                role=task.role,
                title_zh=template.title_zh,
                title_en=template.title_en,
                form_ref=template.form_ref,
                due_at=task.due_at,
            ),
            summary=f"开工单 open task: {template.title_zh} → {_role_zh(task.role)}",
            key=key,
        )
        self._refresh_details()
        if key in self._early:
            actor, data = self._early.pop(key)
            self.complete_from_event(key, actor=actor, data=data)
        return await self._wait_and_close(task)

    async def open_tasks(self, items: Sequence[BulkTask]) -> list[str]:
        """Open many tasks with one activity; wait for each with :meth:`wait_task`.

        Each task behaves like one of :meth:`human_task` (inbox row, ``complete_task``
        Update, :meth:`complete_from_event`, escalation, ``CareOverdue``), but the rows are
        written in one transaction and tasks with the same first due time share one timer.
        Escalation past the first due time runs per task, for the few that go overdue.

        Args:
            items: The tasks; step keys must be new to this workflow and distinct.

        Returns:
            The task ids, in the order of ``items``.

        Raises:
            ApplicationError: A step key repeats (non-retryable: a bug in the process).
        """
        keys = [item.key for item in items]
        known = {t.step_key for t in self._tasks.values()}
        if len(set(keys)) != len(keys) or known.intersection(keys):
            raise ApplicationError("open_tasks: step keys repeat", non_retryable=True)
        if not items:
            return []
        wf_id = workflow.info().workflow_id
        now = workflow.now()
        deadlines: dict[datetime, _Deadline] = {}
        tasks: list[_Task] = []
        rows: list[OpenTaskInput] = []
        for item in items:
            template = item.template
            due_at = now + template.due
            deadline = deadlines.setdefault(due_at, _Deadline(at=due_at))
            deadline.waiting += 1
            task = _Task(
                task_id=f"T{workflow.uuid4().hex[:12]}",
                step_key=item.key,
                template=template,
                role=template.role,
                level=0,
                due_at=due_at,
                allowed=[template.role],
                deadline=deadline,
            )
            tasks.append(task)
            self._tasks[task.task_id] = task
            update: dict[str, Any] = {}
            if item.community is not None:
                update["community"] = item.community
            if item.case_ref is not None:
                update["case_ref"] = item.case_ref
            rows.append(
                OpenTaskInput(
                    task_id=task.task_id,
                    workflow_id=wf_id,
                    step_key=item.key,
                    context=self.context.model_copy(update=update),
                    role=task.role,
                    title_zh=template.title_zh,
                    title_en=template.title_en,
                    form_ref=template.form_ref,
                    due_at=due_at,
                )
            )
        await self._engine(
            ActivityName.OPEN_TASKS,
            OpenTasksInput(tasks=rows),
            summary=f"批量开工单 open {len(rows)} tasks: {items[0].template.title_zh}",
            key=items[0].key,
        )
        for deadline in deadlines.values():
            deadline.timer = asyncio.create_task(self._deadline_timer(deadline, len(rows)))
        self._refresh_details()
        for task in tasks:
            if task.step_key in self._early:
                actor, data = self._early.pop(task.step_key)
                self.complete_from_event(task.step_key, actor=actor, data=data)
        return [task.task_id for task in tasks]

    async def wait_task(self, task_id: str) -> TaskOutcome:
        """Wait for a task from :meth:`open_tasks`, escalate it past each due time, close it.

        Raises:
            TaskExpired: As for :meth:`human_task`.
        """
        return await self._wait_and_close(self._tasks[task_id])

    async def human_tasks(self, items: Sequence[BulkTask]) -> list[TaskOutcome | None]:
        """Open tasks in bulk and wait for all of them; ``None`` for a task that expired."""

        async def outcome(task_id: str) -> TaskOutcome | None:
            try:
                return await self.wait_task(task_id)
            except TaskExpired:
                return None

        ids = await self.open_tasks(items)
        return list(await asyncio.gather(*(outcome(task_id) for task_id in ids)))

    async def _deadline_timer(self, deadline: _Deadline, count: int) -> None:
        await workflow.sleep(
            max(deadline.at - workflow.now(), timedelta(seconds=1)),
            summary=f"等待批量工单截止 deadline of {count} tasks",
        )
        deadline.passed = True

    async def _wait_shared(self, task: _Task, deadline: _Deadline) -> bool:
        """Wait on the shared first deadline; whether the task was completed before it."""
        await workflow.wait_condition(lambda: task.outcome is not None or deadline.passed)
        deadline.waiting -= 1
        # Everybody answered early: drop the timer rather than leave it pending.
        if deadline.waiting == 0 and not deadline.passed and deadline.timer is not None:
            deadline.timer.cancel()
        return task.outcome is not None

    async def _wait_and_close(self, task: _Task) -> TaskOutcome:
        template = task.template
        levels = [(template.role, template.due)] + [(e.role, e.due) for e in template.escalation]
        for level, (role, due) in enumerate(levels):
            if level > 0:
                await self._escalate(task, role=role, level=level, due=due)
            if level == 0 and task.deadline is not None:
                if await self._wait_shared(task, task.deadline):
                    break
                continue
            try:
                await workflow.wait_condition(
                    lambda: task.outcome is not None,
                    timeout=max(task.due_at - workflow.now(), timedelta(seconds=1)),
                    timeout_summary=f"等待{_role_zh(role)}处理: {template.title_zh}",
                )
                break
            except TimeoutError:
                continue
        task.settled = True
        outcome = task.outcome
        await self._engine(
            ActivityName.CLOSE_TASK,
            CloseTaskInput(
                task_id=task.task_id,
                status=TaskStatus.DONE if outcome else TaskStatus.EXPIRED,
                actor=outcome.actor if outcome else None,
                role=outcome.role if outcome else None,
                result=outcome.data if outcome else None,
                closed_at=workflow.now(),
            ),
            summary=f"关闭工单 close task: {template.title_zh}",
            key=task.step_key,
        )
        task.closed = True
        # A bulk task upserts CareOverdue only when it changes: hundreds close in a batch.
        self._refresh_overdue(if_changed=task.deadline is not None)
        self._refresh_details()
        if outcome is None:
            raise TaskExpired(task.task_id, task.step_key)
        return outcome

    async def _escalate(self, task: _Task, *, role: str, level: int, due: timedelta) -> None:
        task.role, task.level = role, level
        task.due_at = workflow.now() + due
        task.allowed.append(role)
        await self._engine(
            ActivityName.ESCALATE_TASK,
            EscalateTaskInput(
                task_id=task.task_id,
                workflow_id=workflow.info().workflow_id,
                step_key=task.step_key,
                role=role,
                level=level,
                due_at=task.due_at,
            ),
            summary=f"超时升级 escalate to {_role_zh(role)}: {task.template.title_zh}",
            key=task.step_key,
        )
        await self.notify(
            f"{task.step_key}.escalated.{level}",
            recipient_ref=f"role:{role}",
            template="task_escalated",
            body_zh=f"工单「{task.template.title_zh}」已超时，升级至{_role_zh(role)}处理。",
            params={"task_id": task.task_id, "level": level},
        )
        self._refresh_overdue()
        self._refresh_details()

    def complete_from_event(self, step_key: str, *, actor: str, data: dict[str, Any]) -> bool:
        """Complete the open task of ``step_key`` from a validated device or partner event.

        Returns:
            Whether an open task was waiting for it. If none was, the event is kept and
            completes the task as soon as it opens.
        """
        for task in self._tasks.values():
            if task.step_key == step_key and not task.settled and task.outcome is None:
                form = _form(task.template.form_ref)
                task.outcome = TaskOutcome(
                    task_id=task.task_id,
                    actor=actor,
                    role="device",
                    data=form.model_validate(data).model_dump(mode="json"),
                    completed_at=workflow.now(),
                )
                return True
        if not any(task.step_key == step_key for task in self._tasks.values()):
            self._early[step_key] = (actor, data)
        return False

    @workflow.update(name="complete_task")
    async def complete_task(self, input: CompleteTaskInput) -> TaskOutcome:
        """Staff complete an open task with the form's data."""
        task = self._tasks[input.task_id]
        form = _form(task.template.form_ref)
        task.outcome = TaskOutcome(
            task_id=task.task_id,
            actor=input.actor,
            role=input.role,
            data=form.model_validate(input.data).model_dump(mode="json"),
            completed_at=workflow.now(),
        )
        # Answer once the task row is closed, so the caller's inbox is already up to date.
        await workflow.wait_condition(lambda: task.closed)
        return task.outcome

    @complete_task.validator
    def _validate_complete_task(self, input: CompleteTaskInput) -> None:
        task = self._tasks.get(input.task_id)
        if task is None:
            raise ApplicationError(
                f"task {input.task_id} is not part of this process", type="UnknownTask"
            )
        if task.settled or task.outcome is not None:
            raise ApplicationError(f"task {input.task_id} is already closed", type="TaskClosed")
        if input.role not in task.allowed:
            raise ApplicationError(
                f"role {input.role!r} may not complete task {input.task_id} "
                f"(allowed: {', '.join(task.allowed)})",
                type="RoleNotAllowed",
            )
        try:
            _form(task.template.form_ref).model_validate(input.data)
        except ValidationError as err:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(form)'}: {e['msg']}"
                for e in err.errors()
            )
            raise ApplicationError(f"form data rejected: {problems}", type="InvalidForm") from None

    # -- extension points

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

    # -- child processes

    async def resolve_child(self, process: str) -> ChildStart:
        """Resolve the plan of a child process once, to start many children with it."""
        return await resolve_process(process, district=self.context.district)

    async def start_child(
        self,
        process: str,
        *,
        request: dict[str, Any],
        case_ref: str,
        community: str | None = None,
        resolved: ChildStart | None = None,
    ) -> workflow.ChildWorkflowHandle[Any, Any]:
        """Start another process of the same district as a child.

        Args:
            resolved: A plan from :meth:`resolve_child`, shared by a wave of children so that
                each start does not cost a plan-resolution activity.
        """
        return await start_process(
            process,
            district=self.context.district,
            community=community or self.context.community,
            case_ref=case_ref,
            request=request,
            resolved=resolved,
        )

    async def run_child(
        self,
        process: str,
        *,
        request: dict[str, Any],
        case_ref: str,
        community: str | None = None,
    ) -> Any:
        """Start a child process and wait for its result."""
        handle = await self.start_child(
            process, request=request, case_ref=case_ref, community=community
        )
        return await handle

    # -- long life

    def should_continue_as_new(self, *, max_history: int | None = None) -> bool:
        """Whether the history is long enough to start afresh."""
        info = workflow.info()
        if info.is_continue_as_new_suggested():
            return True
        return max_history is not None and info.get_current_history_length() >= max_history

    async def continue_as_new(self, carry: dict[str, Any]) -> NoReturn:
        """Continue as new with the same context and plan, after every handler has finished."""
        await workflow.wait_condition(workflow.all_handlers_finished)
        current = self._require_input()
        workflow.continue_as_new(current.model_copy(update={"carry": carry}))


async def resolve_process(process: str, *, district: str) -> ChildStart:
    """Resolve a process's plan in an activity: workflows cannot read the plugins themselves."""
    resolved: ChildStart = await workflow.execute_activity(
        ActivityName.RESOLVE_PLAN,
        ResolvePlanInput(process=process, district=district),
        result_type=ChildStart,
        start_to_close_timeout=ENGINE_TIMEOUT,
        retry_policy=ENGINE_RETRY,
        summary=f"解析流程计划 resolve plan: {process}",
    )
    return resolved


async def start_process(
    process: str,
    *,
    district: str,
    community: str | None,
    case_ref: str,
    request: dict[str, Any],
    resolved: ChildStart | None = None,
) -> workflow.ChildWorkflowHandle[Any, Any]:
    """Start a process from inside a workflow, resolving its plan unless ``resolved`` is given.

    The child is abandoned on parent close: a process outlives whatever started it.
    """
    if resolved is None:
        resolved = await resolve_process(process, district=district)
    elif resolved.plan.process != process or resolved.plan.district != district:
        raise ApplicationError(
            f"plan of {resolved.plan.process}/{resolved.plan.district} given for "
            f"{process}/{district}",
            non_retryable=True,
        )
    parent_id = workflow.info().workflow_id
    context = ProcessContext(
        process=process,
        module=resolved.module,
        district=district,
        community=community,
        case_ref=case_ref,
        started_by=f"workflow:{parent_id}",
        parent_workflow_id=parent_id,
    )
    return await workflow.start_child_workflow(
        resolved.workflow_type,
        ProcessInput[Any](context=context, plan=resolved.plan, request=request),
        id=process_workflow_id(process, district, case_ref),
        search_attributes=start_attributes(context),
        static_summary=process_summary(resolved.title_zh, context),
        static_details=resolved.plan.describe_zh(),
        memo=plan_memo(resolved.plan),
        parent_close_policy=ParentClosePolicy.ABANDON,
    )

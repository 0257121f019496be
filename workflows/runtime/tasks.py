"""Human tasks (工单): single and bulk, due times, escalation, the ``complete_task`` Update.

A task opens a row in the inbox (an activity), then waits for staff through the
``complete_task`` Update, whose validator refuses a closed task, a role not allowed or a form
that does not parse, from workflow state alone. Past each due time the task escalates to the
next role and notifies; past the last the caller gets :class:`TaskExpired`. Tasks opened in
bulk share one timer per due time.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from temporalio import workflow
from temporalio.exceptions import ApplicationError

from careflow.forms import known_form
from careflow.metrics import (
    TASKS_COMPLETED,
    TASKS_ESCALATED,
    TASKS_OPENED,
    TASKS_OVERDUE,
    count,
    task_labels,
)
from careflow.models import (
    ActivityName,
    CloseTaskInput,
    CompleteTaskInput,
    EscalateTaskInput,
    OpenTaskInput,
    OpenTasksInput,
    TaskOutcome,
    TaskStatus,
)
from careflow.plan import TaskTemplate
from careflow.roles import role_title
from workflows.runtime.records import CaseRecords
from workflows.runtime.state import BulkTask, SharedDeadline, TaskExpired, TaskState

__all__ = ["HumanTasks"]

T = TypeVar("T")


def _form_of(ref: str) -> type[BaseModel]:
    # The ref comes from the workflow's own code or its frozen plan, and is looked up among
    # the forms the worker's registry declares (``careflow.forms.known_form``): a dict read,
    # deterministic, and nothing is imported inside the sandbox.
    return known_form(ref)


class HumanTasks(CaseRecords):
    """Open tasks, wait for staff, escalate; the ``complete_task`` Update and its validator."""

    def _count_tasks(self, name: str, role: str, value: int = 1, **extra: str) -> None:
        # Replay-safe meter: a replayed history counts nothing again. Labels are codes: the
        # task's first role (its kind), never the task, its case or who answered it.
        context = self.context
        labels = {**task_labels(context.district, context.process, role), **extra}
        count(workflow.metric_meter(), name, labels, value)

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
        task = TaskState(
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
            summary=f"开工单 open task: {template.title_zh} → {role_title(task.role)}",
            key=key,
        )
        self._count_tasks(TASKS_OPENED, template.role)
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
        deadlines: dict[datetime, SharedDeadline] = {}
        tasks: list[TaskState] = []
        rows: list[OpenTaskInput] = []
        for item in items:
            template = item.template
            due_at = now + template.due
            deadline = deadlines.setdefault(due_at, SharedDeadline(at=due_at))
            deadline.waiting += 1
            task = TaskState(
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
            # A stalled step's key is shown in the details: a batch's task keys may hold
            # case refs, so under case keys it is named by what it does.
            key="open_tasks" if self._keyed else items[0].key,
        )
        for role, opened in sorted(Counter(item.template.role for item in items).items()):
            self._count_tasks(TASKS_OPENED, role, opened)
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

    async def wait_tasks(
        self,
        task_ids: Sequence[str],
        then: Callable[[str, TaskOutcome | None], Awaitable[T]],
    ) -> list[T]:
        """Wait for many tasks from :meth:`open_tasks` with one waiter per shared deadline.

        Each task behaves as with :meth:`wait_task`, but until its first due time nothing
        waits on it alone: the deadline's one waiter wakes for each answer, so a batch of
        hundreds of tasks holds no coroutine, future or condition per task while they wait.
        As each task is closed, ``then(task_id, outcome)`` runs (``outcome`` is ``None`` for a
        task that expired), concurrently with the tasks still open.

        Returns:
            What ``then`` returned, in the order of ``task_ids``.
        """
        tasks = [self._tasks[task_id] for task_id in task_ids]
        groups: dict[int, tuple[SharedDeadline, list[TaskState]]] = {}
        for task in tasks:
            if task.deadline is None:
                raise ApplicationError(
                    f"wait_tasks: task {task.task_id} was not opened by open_tasks",
                    non_retryable=True,
                )
            groups.setdefault(id(task.deadline), (task.deadline, []))[1].append(task)
        results: dict[str, T] = {}
        closing: list[asyncio.Task[None]] = []

        async def finish(task: TaskState, from_level: int) -> None:
            try:
                if from_level > 0:
                    await self._wait_levels(task, from_level)
                outcome: TaskOutcome | None = await self._close_task(task)
            except TaskExpired:
                outcome = None
            results[task.task_id] = await then(task.task_id, outcome)

        def start(task: TaskState, from_level: int) -> None:
            closing.append(asyncio.create_task(finish(task, from_level)))

        await asyncio.gather(
            *(self._wait_group(deadline, group, start) for deadline, group in groups.values())
        )
        await asyncio.gather(*closing)
        return [results[task_id] for task_id in task_ids]

    async def _wait_group(
        self,
        deadline: SharedDeadline,
        tasks: list[TaskState],
        start: Callable[[TaskState, int], None],
    ) -> None:
        """Hand each of ``tasks`` to ``start`` once answered, or at level 1 past the deadline."""
        pending = {task.task_id: task for task in tasks}
        seen = 0  # of deadline.answered, which may hold other waiters' tasks too

        def woken() -> bool:
            return len(deadline.answered) > seen or deadline.passed

        while pending:
            await workflow.wait_condition(woken)
            answered, seen = deadline.answered[seen:], len(deadline.answered)
            for task in answered:
                if pending.pop(task.task_id, None) is not None:
                    deadline.waiting -= 1
                    start(task, 0)
            if deadline.passed:
                for task in pending.values():
                    start(task, 1)
                pending.clear()
        # Everybody answered early: drop the timer rather than leave it pending.
        if deadline.waiting == 0 and not deadline.passed and deadline.timer is not None:
            deadline.timer.cancel()

    async def human_tasks(self, items: Sequence[BulkTask]) -> list[TaskOutcome | None]:
        """Open tasks in bulk and wait for all of them; ``None`` for a task that expired."""

        async def outcome(task_id: str) -> TaskOutcome | None:
            try:
                return await self.wait_task(task_id)
            except TaskExpired:
                return None

        ids = await self.open_tasks(items)
        return list(await asyncio.gather(*(outcome(task_id) for task_id in ids)))

    async def _deadline_timer(self, deadline: SharedDeadline, count: int) -> None:
        await workflow.sleep(
            max(deadline.at - workflow.now(), timedelta(seconds=1)),
            summary=f"等待批量工单截止 deadline of {count} tasks",
        )
        deadline.passed = True

    async def _wait_shared(self, task: TaskState, deadline: SharedDeadline) -> bool:
        """Wait on the shared first deadline; whether the task was completed before it."""
        await workflow.wait_condition(lambda: task.outcome is not None or deadline.passed)
        deadline.waiting -= 1
        # Everybody answered early: drop the timer rather than leave it pending.
        if deadline.waiting == 0 and not deadline.passed and deadline.timer is not None:
            deadline.timer.cancel()
        return task.outcome is not None

    async def _wait_and_close(self, task: TaskState) -> TaskOutcome:
        await self._wait_levels(task, 0)
        return await self._close_task(task)

    async def _wait_levels(self, task: TaskState, from_level: int) -> None:
        """Wait at each level from ``from_level``; escalate past each due time."""
        template = task.template
        levels = [(template.role, template.due)] + [(e.role, e.due) for e in template.escalation]
        for level, (role, due) in enumerate(levels):
            if level < from_level:
                continue
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
                    timeout_summary=f"等待{role_title(role)}处理: {template.title_zh}",
                )
                break
            except TimeoutError:
                continue

    async def _close_task(self, task: TaskState) -> TaskOutcome:
        """Close a task whose fate is decided; raise :class:`TaskExpired` if nobody answered."""
        template = task.template
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
        if outcome is None:
            self._count_tasks(TASKS_OVERDUE, template.role)
        else:
            # Late: answered only after its first due time passed (it had escalated).
            on_time = task.level == 0 and outcome.completed_at <= task.due_at
            self._count_tasks(
                TASKS_COMPLETED, template.role, outcome="on_time" if on_time else "late"
            )
        # A bulk task upserts CareOverdue only when it changes: hundreds close in a batch.
        self._refresh_overdue(if_changed=task.deadline is not None)
        self._refresh_details()
        if outcome is None:
            raise TaskExpired(task.task_id, task.step_key)
        return outcome

    async def _escalate(self, task: TaskState, *, role: str, level: int, due: timedelta) -> None:
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
            summary=f"超时升级 escalate to {role_title(role)}: {task.template.title_zh}",
            key=task.step_key,
        )
        self._count_tasks(TASKS_ESCALATED, task.template.role)
        await self.notify(
            f"{task.step_key}.escalated.{level}",
            recipient_ref=f"role:{role}",
            template="task_escalated",
            body_zh=f"工单「{task.template.title_zh}」已超时，升级至{role_title(role)}处理。",
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
                form = _form_of(task.template.form_ref)
                task.answer(
                    TaskOutcome(
                        task_id=task.task_id,
                        actor=actor,
                        role="device",
                        data=form.model_validate(data).model_dump(mode="json"),
                        completed_at=workflow.now(),
                    )
                )
                return True
        if not any(task.step_key == step_key for task in self._tasks.values()):
            self._early[step_key] = (actor, data)
        return False

    @workflow.update(name="complete_task")
    async def complete_task(self, input: CompleteTaskInput) -> TaskOutcome:
        """Staff complete an open task with the form's data."""
        task = self._tasks[input.task_id]
        form = _form_of(task.template.form_ref)
        outcome = TaskOutcome(
            task_id=task.task_id,
            actor=input.actor,
            role=input.role,
            data=form.model_validate(input.data).model_dump(mode="json"),
            completed_at=workflow.now(),
        )
        task.answer(outcome)
        # Answer once the task row is closed, so the caller's inbox is already up to date.
        await workflow.wait_condition(lambda: task.closed)
        return outcome

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
            _form_of(task.template.form_ref).model_validate(input.data)
        except ValidationError as err:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(form)'}: {e['msg']}"
                for e in err.errors()
            )
            raise ApplicationError(f"form data rejected: {problems}", type="InvalidForm") from None

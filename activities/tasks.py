"""Activities of the human-task store: open, escalate and close task rows (工单)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import Engine, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from careflow.db import crud
from careflow.db.engine import session_scope
from careflow.db.tables import Task
from careflow.db.types import utcnow
from careflow.forms import FormRefError, resolve_form
from careflow.models import (
    ActivityName,
    CloseTaskInput,
    EscalateTaskInput,
    OpenTaskInput,
    OpenTasksInput,
    TaskStatus,
)

if TYPE_CHECKING:
    from careflow.registry import PluginRegistry

__all__ = ["TaskActivities", "unknown_task"]

_log = structlog.get_logger("careflow.activities.tasks")


def unknown_task(task_id: str) -> ApplicationError:
    """The non-retryable business failure for a task id that no row has."""
    return ApplicationError(f"unknown task {task_id!r}", type="UnknownTask", non_retryable=True)


class TaskActivities:
    """Writes the task rows that staff inboxes read; every write is idempotent.

    Args:
        engine: Engine of the app database.
        registry: The loaded plugins; a task's form is looked up among their forms.
        clock: Source of the current time (UTC); ``datetime.now(UTC)`` by default.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        registry: PluginRegistry,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """Keep the dependencies."""
        self._engine = engine
        self._registry = registry
        self._clock = clock or utcnow

    def _schema(self, ref: str) -> dict[str, Any]:
        try:
            return resolve_form(self._registry, ref).model_json_schema()
        except FormRefError as err:
            raise ApplicationError(str(err), type="BadFormRef", non_retryable=True) from err

    @activity.defn(name=ActivityName.OPEN_TASK)
    def open_task(self, input: OpenTaskInput) -> None:
        """Open a task row with its form schema, once per (workflow id, step key).

        Raises:
            ApplicationError: ``BadFormRef`` (non-retryable) when no loaded plugin declares
                the form.
        """
        schema = self._schema(input.form_ref)
        with session_scope(self._engine) as session:
            task, created = self._insert(session, input, schema)
        _log.info(
            "task.opened" if created else "task.open_repeated",
            task_id=task.task_id,
            workflow_id=task.workflow_id,
            step_key=task.step_key,
        )

    @activity.defn(name=ActivityName.OPEN_TASKS)
    def open_tasks(self, input: OpenTasksInput) -> int:
        """Open many task rows in one transaction, each once per (workflow id, step key).

        A retry after a partial failure writes nothing twice: rows already there are kept
        with their first task id, which is also the id the workflow registered.

        Returns:
            How many rows this call created.

        Raises:
            ApplicationError: ``BadFormRef`` (non-retryable) when no loaded plugin declares
                a form.
        """
        # Every check of a batch shares one form: build each JSON schema once.
        schemas = {ref: self._schema(ref) for ref in {t.form_ref for t in input.tasks}}
        with session_scope(self._engine) as session:
            created = self._insert_many(session, input.tasks, schemas)
        _log.info(
            "tasks.opened",
            count=len(input.tasks),
            created=created,
            workflow_ids=sorted({t.workflow_id for t in input.tasks}),
        )
        return created

    def _insert_many(
        self, session: Session, tasks: list[OpenTaskInput], schemas: dict[str, dict[str, Any]]
    ) -> int:
        """Insert the rows whose (workflow id, step key) no row has yet; return how many.

        One read of the keys already there and one multi-row insert, instead of a read, a
        savepoint and an insert per row (a curtain batch opens 500 at once). A concurrent
        insert of one of the keys fails the whole insert; the row-by-row path then settles
        each key on its own.
        """
        workflow_ids = {t.workflow_id for t in tasks}
        there = {
            (workflow_id, step_key)
            for workflow_id, step_key in session.exec(
                select(Task.workflow_id, Task.step_key).where(
                    col(Task.workflow_id).in_(workflow_ids)
                )
            )
        }
        fresh: dict[tuple[str, str], OpenTaskInput] = {}
        for item in tasks:
            key = (item.workflow_id, item.step_key)
            if key not in there:
                fresh.setdefault(key, item)  # a key given twice: the first one, as one by one
        if not fresh:
            return 0
        opened_at = self._clock()
        try:
            with session.begin_nested():
                # An ORM bulk insert of plain values: no model object (and its validation)
                # per row, one multi-row statement.
                session.execute(
                    insert(Task),
                    [
                        self._values(item, schemas[item.form_ref], opened_at)
                        for item in fresh.values()
                    ],
                )
        except IntegrityError:
            return sum(
                self._insert(session, item, schemas[item.form_ref])[1] for item in fresh.values()
            )
        return len(fresh)

    @staticmethod
    def _values(
        input: OpenTaskInput, schema: dict[str, Any], opened_at: datetime
    ) -> dict[str, Any]:
        """A new task row's column values, as :func:`careflow.db.crud.insert_task` sets them."""
        context = input.context
        return {
            "task_id": input.task_id,
            "workflow_id": input.workflow_id,
            "step_key": input.step_key,
            "process": context.process,
            "module": context.module,
            "district": context.district,
            "community": context.community,
            "case_ref": context.case_ref,
            "role": input.role,
            "title_zh": input.title_zh,
            "title_en": input.title_en,
            "form_ref": input.form_ref,
            "form_schema": schema,
            "status": TaskStatus.OPEN.value,
            "escalation_level": 0,
            "overdue": False,
            "due_at": input.due_at,
            "opened_at": opened_at,
            # Given, as the model object gives it: the JSON column then holds JSON null.
            "result": None,
        }

    def _insert(
        self, session: Session, input: OpenTaskInput, schema: dict[str, Any]
    ) -> tuple[Task, bool]:
        context = input.context
        return crud.insert_task(
            session,
            task_id=input.task_id,
            workflow_id=input.workflow_id,
            step_key=input.step_key,
            process=context.process,
            module=context.module,
            district=context.district,
            community=context.community,
            case_ref=context.case_ref,
            role=input.role,
            title_zh=input.title_zh,
            title_en=input.title_en,
            form_ref=input.form_ref,
            form_schema=schema,
            due_at=input.due_at,
            opened_at=self._clock(),
        )

    @activity.defn(name=ActivityName.ESCALATE_TASK)
    def escalate_task(self, input: EscalateTaskInput) -> None:
        """Hand an overdue task to the next role; a level already applied changes nothing.

        Raises:
            ApplicationError: ``UnknownTask`` (non-retryable) when no row has the task id.
        """
        with session_scope(self._engine) as session:
            try:
                task = crud.escalate_task(
                    session,
                    task_id=input.task_id,
                    role=input.role,
                    level=input.level,
                    due_at=input.due_at,
                )
            except crud.UnknownTaskError as err:
                raise unknown_task(input.task_id) from err
        _log.info(
            "task.escalated",
            task_id=task.task_id,
            workflow_id=task.workflow_id,
            level=task.escalation_level,
            role=task.role,
        )

    @activity.defn(name=ActivityName.CLOSE_TASK)
    def close_task(self, input: CloseTaskInput) -> None:
        """Close a task with its outcome; closing a closed task changes nothing.

        Raises:
            ApplicationError: ``UnknownTask`` (non-retryable) when no row has the task id, or
                ``InvalidTaskStatus`` (non-retryable) for the status ``open``.
        """
        with session_scope(self._engine) as session:
            try:
                task = crud.close_task(
                    session,
                    task_id=input.task_id,
                    status=input.status,
                    actor=input.actor,
                    role=input.role,
                    result=input.result,
                    closed_at=input.closed_at,
                )
            except crud.UnknownTaskError as err:
                raise unknown_task(input.task_id) from err
            except ValueError as err:
                raise ApplicationError(
                    str(err), type="InvalidTaskStatus", non_retryable=True
                ) from err
        _log.info(
            "task.closed", task_id=task.task_id, workflow_id=task.workflow_id, status=task.status
        )

    def all(self) -> list[Callable[..., Any]]:
        """The bound activity methods, for the worker."""
        return [self.open_task, self.open_tasks, self.escalate_task, self.close_task]

"""Task activities write the inbox read model idempotently and fail clearly on bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities import TaskActivities
from careflow.contract import CarePlugin, TaskType
from careflow.db import get_task, list_tasks, session_scope
from careflow.models import (
    CloseTaskInput,
    CompleteTaskInput,
    EscalateTaskInput,
    OpenTaskInput,
    OpenTasksInput,
    ProcessContext,
    TaskStatus,
)
from careflow.registry import PluginRegistry

NOW = datetime(2026, 2, 1, 1, 0, tzinfo=UTC)
FORM = "careflow.models:CompleteTaskInput"


FORMS = CarePlugin(
    name="forms",
    version="1.0.0",
    title_zh="测试表单",
    title_en="Test forms",
    task_types=(TaskType(form=CompleteTaskInput),),
)


@pytest.fixture
def acts(any_engine: Engine) -> TaskActivities:
    return TaskActivities(any_engine, registry=PluginRegistry.build([FORMS]), clock=lambda: NOW)


def open_input(**overrides: object) -> OpenTaskInput:
    fields: dict[str, object] = {
        "task_id": "wf-1/triage",
        "workflow_id": "wf-1",
        "step_key": "triage",
        "context": ProcessContext(
            process="eldercare.green_channel",
            module="eldercare",
            district="xinghualing",
            community="xinghualing.julun.julun",
            case_ref="P00042",
            started_by="staff:S0001",
        ),
        "role": "doctor",
        "title_zh": "急诊分诊",
        "title_en": "Emergency triage",
        "form_ref": FORM,
        "due_at": NOW + timedelta(hours=2),
    }
    fields.update(overrides)
    return OpenTaskInput.model_validate(fields)


def test_open_task_writes_one_row_with_form_schema(
    acts: TaskActivities, any_engine: Engine
) -> None:
    env = ActivityEnvironment()

    env.run(acts.open_task, open_input())
    env.run(acts.open_task, open_input())  # a retry of the same step
    env.run(acts.open_task, open_input(task_id="wf-1/triage-2"))  # a retry with a new id

    with session_scope(any_engine) as session:
        tasks = list_tasks(session, workflow_id="wf-1")
    assert [t.task_id for t in tasks] == ["wf-1/triage"]
    task = tasks[0]
    assert task.form_schema == CompleteTaskInput.model_json_schema()
    assert (task.status, task.role, task.district, task.community, task.case_ref) == (
        "open",
        "doctor",
        "xinghualing",
        "xinghualing.julun.julun",
        "P00042",
    )
    assert (task.opened_at, task.due_at) == (NOW, NOW + timedelta(hours=2))


def test_open_many_writes_one_row_per_key_when_retried(
    acts: TaskActivities, any_engine: Engine
) -> None:
    env = ActivityEnvironment()
    first = [open_input(task_id=f"T{n}", step_key=f"check.{n}") for n in range(3)]
    # A retry after a lost answer: the same keys with new ids, plus one key only it has.
    retry = [open_input(task_id=f"R{n}", step_key=f"check.{n}") for n in range(4)]

    assert env.run(acts.open_tasks, OpenTasksInput(tasks=first)) == 3
    assert env.run(acts.open_tasks, OpenTasksInput(tasks=retry)) == 1
    env.run(acts.open_task, open_input(task_id="S0", step_key="check.0"))  # a single open too

    with session_scope(any_engine) as session:
        tasks = list_tasks(session, workflow_id="wf-1")
    assert sorted((t.step_key, t.task_id) for t in tasks) == [
        ("check.0", "T0"),
        ("check.1", "T1"),
        ("check.2", "T2"),
        ("check.3", "R3"),
    ]
    assert all(t.form_schema == CompleteTaskInput.model_json_schema() for t in tasks)


@pytest.mark.parametrize("ref", ["os:system", "tests.evil:Thing", "careflow.db.tables:Task"])
def test_open_task_refuses_a_form_no_plugin_declares(
    acts: TaskActivities, any_engine: Engine, ref: str
) -> None:
    with pytest.raises(ApplicationError) as info:
        ActivityEnvironment().run(acts.open_task, open_input(form_ref=ref))
    assert info.value.type == "BadFormRef" and info.value.non_retryable
    with session_scope(any_engine) as session:
        assert list_tasks(session, workflow_id="wf-1") == []


def test_open_many_with_bad_form_ref_writes_nothing(
    acts: TaskActivities, any_engine: Engine
) -> None:
    tasks = [open_input(task_id="T1", step_key="a"), open_input(task_id="T2", step_key="b")]
    tasks[1] = tasks[1].model_copy(update={"form_ref": "careflow.models:Nope"})
    with pytest.raises(ApplicationError) as info:
        ActivityEnvironment().run(acts.open_tasks, OpenTasksInput(tasks=tasks))
    assert info.value.type == "BadFormRef" and info.value.non_retryable
    with session_scope(any_engine) as session:
        assert list_tasks(session, workflow_id="wf-1") == []


def test_open_task_with_bad_form_ref_is_not_retried(acts: TaskActivities) -> None:
    with pytest.raises(ApplicationError) as info:
        ActivityEnvironment().run(acts.open_task, open_input(form_ref="careflow.models:Nope"))
    assert info.value.type == "BadFormRef"
    assert info.value.non_retryable


def test_escalate_sets_role_level_and_overdue_once(
    acts: TaskActivities, any_engine: Engine
) -> None:
    env = ActivityEnvironment()
    env.run(acts.open_task, open_input())
    first_due = NOW + timedelta(hours=6)
    escalate = EscalateTaskInput(
        task_id="wf-1/triage",
        workflow_id="wf-1",
        step_key="triage",
        role="district_admin",
        level=1,
        due_at=first_due,
    )

    env.run(acts.escalate_task, escalate)
    env.run(acts.escalate_task, escalate.model_copy(update={"due_at": NOW + timedelta(days=9)}))

    with session_scope(any_engine) as session:
        task = get_task(session, task_id="wf-1/triage")
    assert task is not None
    assert (task.role, task.escalation_level, task.overdue, task.due_at) == (
        "district_admin",
        1,
        True,
        first_due,
    )


def test_close_stores_the_result_and_a_retry_changes_nothing(
    acts: TaskActivities, any_engine: Engine
) -> None:
    env = ActivityEnvironment()
    env.run(acts.open_task, open_input())
    close = CloseTaskInput(
        task_id="wf-1/triage",
        status=TaskStatus.DONE,
        actor="S0007",
        role="doctor",
        result={"level": "red", "hospital": "PV001"},
        closed_at=NOW + timedelta(minutes=20),
    )

    env.run(acts.close_task, close)
    env.run(acts.close_task, close.model_copy(update={"result": {"level": "green"}}))

    with session_scope(any_engine) as session:
        task = get_task(session, task_id="wf-1/triage")
    assert task is not None
    assert task.status == "done"
    assert task.result == {"level": "red", "hospital": "PV001"}
    assert (task.completed_by, task.completed_role) == ("S0007", "doctor")
    assert task.closed_at == NOW + timedelta(minutes=20)


def test_unknown_task_is_a_non_retryable_business_failure(acts: TaskActivities) -> None:
    env = ActivityEnvironment()
    escalate = EscalateTaskInput(
        task_id="missing", workflow_id="wf-x", step_key="s", role="doctor", level=1, due_at=NOW
    )
    close = CloseTaskInput(task_id="missing", status=TaskStatus.EXPIRED, closed_at=NOW)

    with pytest.raises(ApplicationError) as escalated:
        env.run(acts.escalate_task, escalate)
    with pytest.raises(ApplicationError) as closed:
        env.run(acts.close_task, close)

    for info in (escalated, closed):
        assert info.value.type == "UnknownTask"
        assert info.value.non_retryable


def test_all_returns_the_bound_activities(acts: TaskActivities) -> None:
    assert acts.all() == [acts.open_task, acts.open_tasks, acts.escalate_task, acts.close_task]

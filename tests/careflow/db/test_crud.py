"""Idempotent writes and inbox reads of the app database, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine

from careflow.db import (
    Task,
    UnknownTaskError,
    close_task,
    communities_of,
    escalate_task,
    get_area,
    get_person,
    get_task,
    insert_case_record,
    insert_notification,
    insert_task,
    list_case_records,
    list_notifications,
    list_tasks,
    mark_notification_sent,
    registry_is_empty,
    seed_demo,
    session_scope,
)
from careflow.models import TaskStatus

NOW = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
SHANGHAI = timezone(timedelta(hours=8))


def task_fields(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "task_id": "T-1",
        "workflow_id": "wf-1",
        "step_key": "review",
        "process": "childcare.micro_wish",
        "module": "childcare",
        "district": "wanbailin",
        "community": "wanbailin.wanghua.jiusi",
        "case_ref": "C-1",
        "role": "community_staff",
        "title_zh": "审核心愿",
        "title_en": "Review wishes",
        "form_ref": "careflow.models:CompleteTaskInput",
        "form_schema": {"type": "object"},
        "due_at": NOW + timedelta(days=1),
        "opened_at": NOW,
    }
    fields.update(overrides)
    return fields


def open_task(engine: Engine, **overrides: Any) -> Task:
    with session_scope(engine) as session:
        task, _ = insert_task(session, **task_fields(**overrides))
    return task


def test_insert_task_is_idempotent_on_workflow_and_step(any_engine: Engine) -> None:
    with session_scope(any_engine) as session:
        first, created = insert_task(session, **task_fields())
    with session_scope(any_engine) as session:
        again, created_again = insert_task(
            session, **task_fields(task_id="T-other", title_zh="别的标题")
        )

    assert created is True
    assert created_again is False
    assert again.task_id == first.task_id == "T-1"
    assert again.title_zh == "审核心愿"
    with session_scope(any_engine) as session:
        assert len(list_tasks(session, workflow_id="wf-1")) == 1
        assert get_task(session, task_id="T-other") is None


def test_times_come_back_aware_in_utc(any_engine: Engine) -> None:
    due_local = datetime(2026, 2, 2, 17, 30, tzinfo=SHANGHAI)
    open_task(any_engine, due_at=due_local)

    with session_scope(any_engine) as session:
        task = get_task(session, task_id="T-1")

    assert task is not None
    assert task.due_at == due_local
    assert task.due_at.tzinfo is not None
    assert task.due_at.utcoffset() == timedelta(0)
    assert task.form_schema == {"type": "object"}


def test_concurrent_insert_of_the_same_key_returns_the_winner(any_engine: Engine) -> None:
    results: list[tuple[str, bool]] = []
    errors: list[BaseException] = []

    def loser() -> None:
        try:
            with session_scope(any_engine) as session:
                task, created = insert_task(session, **task_fields(task_id="T-loser"))
                results.append((task.task_id, created))
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    with session_scope(any_engine) as winner_session:
        _, created = insert_task(winner_session, **task_fields())
        thread = threading.Thread(target=loser)
        thread.start()
        time.sleep(0.3)  # the loser now waits on the winner's uncommitted row (or lock)
    thread.join(timeout=15)

    assert created is True
    assert errors == []
    assert results == [("T-1", False)]
    with session_scope(any_engine) as session:
        assert [t.task_id for t in list_tasks(session, workflow_id="wf-1")] == ["T-1"]


def test_escalate_moves_task_to_next_role_once(any_engine: Engine) -> None:
    open_task(any_engine)
    new_due = NOW + timedelta(days=2)

    with session_scope(any_engine) as session:
        task = escalate_task(session, task_id="T-1", role="district_admin", level=1, due_at=new_due)
        assert (task.role, task.escalation_level, task.overdue) == ("district_admin", 1, True)
    with session_scope(any_engine) as session:
        again = escalate_task(
            session, task_id="T-1", role="district_admin", level=1, due_at=new_due + timedelta(1)
        )
        lower = escalate_task(session, task_id="T-1", role="grid_worker", level=0, due_at=NOW)

    assert again.due_at == new_due
    assert lower.role == "district_admin"
    with session_scope(any_engine) as session:
        stored = get_task(session, task_id="T-1")
        assert stored is not None
        assert (stored.role, stored.escalation_level, stored.due_at) == (
            "district_admin",
            1,
            new_due,
        )


def test_escalate_and_close_unknown_task_raise(any_engine: Engine) -> None:
    with session_scope(any_engine) as session, pytest.raises(UnknownTaskError):
        escalate_task(session, task_id="nope", role="doctor", level=1, due_at=NOW)
    with session_scope(any_engine) as session, pytest.raises(UnknownTaskError):
        close_task(
            session,
            task_id="nope",
            status=TaskStatus.DONE,
            actor=None,
            role=None,
            result=None,
            closed_at=NOW,
        )


def test_close_stores_outcome_and_is_idempotent(any_engine: Engine) -> None:
    open_task(any_engine)
    closed_at = NOW + timedelta(hours=3)

    with session_scope(any_engine) as session:
        close_task(
            session,
            task_id="T-1",
            status=TaskStatus.DONE,
            actor="S0001",
            role="community_staff",
            result={"approved": True, "items": ["书包"]},
            closed_at=closed_at,
        )
    with session_scope(any_engine) as session:
        again = close_task(
            session,
            task_id="T-1",
            status=TaskStatus.CANCELLED,
            actor="S0002",
            role="grid_worker",
            result={"approved": False},
            closed_at=closed_at + timedelta(hours=1),
        )
        escalated = escalate_task(session, task_id="T-1", role="doctor", level=1, due_at=NOW)

    assert again.status == "done"
    assert again.result == {"approved": True, "items": ["书包"]}
    assert (again.completed_by, again.completed_role, again.closed_at) == (
        "S0001",
        "community_staff",
        closed_at,
    )
    assert escalated.escalation_level == 0


def test_close_with_open_status_is_refused(any_engine: Engine) -> None:
    open_task(any_engine)
    with session_scope(any_engine) as session, pytest.raises(ValueError):
        close_task(
            session,
            task_id="T-1",
            status=TaskStatus.OPEN,
            actor=None,
            role=None,
            result=None,
            closed_at=NOW,
        )


def test_list_tasks_filters_the_inbox(any_engine: Engine) -> None:
    open_task(any_engine, task_id="A", step_key="a", due_at=NOW + timedelta(hours=1))
    open_task(any_engine, task_id="B", step_key="b", due_at=NOW - timedelta(hours=1))
    open_task(
        any_engine, task_id="C", step_key="c", district="yingze", community=None, role="doctor"
    )
    open_task(any_engine, task_id="D", step_key="d", due_at=NOW + timedelta(days=3))
    with session_scope(any_engine) as session:
        escalate_task(
            session, task_id="D", role="community_staff", level=1, due_at=NOW + timedelta(days=5)
        )
        close_task(
            session,
            task_id="A",
            status=TaskStatus.DONE,
            actor="S1",
            role="community_staff",
            result={},
            closed_at=NOW,
        )

    def ids(**filters: Any) -> list[str]:
        filters.setdefault("now", NOW)
        with session_scope(any_engine) as session:
            return [t.task_id for t in list_tasks(session, **filters)]

    assert ids() == ["B", "A", "C", "D"]
    assert ids(status="open") == ["B", "C", "D"]
    assert ids(status="done") == ["A"]
    assert ids(status="overdue") == ["B", "D"]
    assert ids(role="doctor") == ["C"]
    assert ids(district="wanbailin", status="open") == ["B", "D"]
    assert ids(community="wanbailin.wanghua.jiusi") == ["B", "A", "D"]
    assert ids(status="overdue", now=NOW - timedelta(days=1)) == ["D"]


def test_case_records_are_written_once_per_step(any_engine: Engine) -> None:
    fields: dict[str, Any] = {
        "workflow_id": "wf-1",
        "process": "eldercare.green_channel",
        "district": "xinghualing",
        "case_ref": "P00001",
        "created_at": NOW,
    }
    with session_scope(any_engine) as session:
        _, created = insert_case_record(
            session, step_key="triage", kind="triaged", data={"level": 2}, **fields
        )
        _, created_again = insert_case_record(
            session, step_key="triage", kind="other", data={"level": 9}, **fields
        )
        insert_case_record(
            session,
            step_key="arrive",
            kind="arrived",
            data={},
            **(fields | {"created_at": NOW + timedelta(hours=1)}),
        )

    with session_scope(any_engine) as session:
        records = list_case_records(session, workflow_id="wf-1")

    assert (created, created_again) == (True, False)
    assert [(r.step_key, r.kind, r.data) for r in records] == [
        ("triage", "triaged", {"level": 2}),
        ("arrive", "arrived", {}),
    ]


def test_notifications_outbox_is_idempotent(any_engine: Engine) -> None:
    fields: dict[str, Any] = {
        "workflow_id": "wf-1",
        "step_key": "notify-doctor",
        "district": "xinghualing",
        "community": None,
        "recipient_ref": "role:doctor",
        "template": "task.escalated",
        "body_zh": "有一项工单已超时",
        "params": {"task_id": "T-1"},
    }
    with session_scope(any_engine) as session:
        row, created = insert_notification(session, **fields)
        again, created_again = insert_notification(session, **(fields | {"body_zh": "变了"}))
    assert (created, created_again) == (True, False)
    assert again.id == row.id
    assert again.body_zh == "有一项工单已超时"
    assert row.id is not None

    with session_scope(any_engine) as session:
        sent = mark_notification_sent(session, notification_id=row.id, adapter="a", sent_at=NOW)
        resent = mark_notification_sent(
            session, notification_id=row.id, adapter="b", sent_at=NOW + timedelta(1)
        )
    assert (sent.status, resent.adapter, resent.sent_at) == ("sent", "a", NOW)

    with session_scope(any_engine) as session:
        assert len(list_notifications(session, workflow_id="wf-1", status="sent")) == 1
        assert list_notifications(session, status="pending") == []
        assert len(list_notifications(session, recipient_ref="role:doctor")) == 1


def test_registry_helpers(any_engine: Engine) -> None:
    with session_scope(any_engine) as session:
        assert registry_is_empty(session) is True
        seed_demo(session)
    with session_scope(any_engine) as session:
        assert registry_is_empty(session) is False
        district = get_area(session, code="xiaodian")
        assert district is not None and district.name_zh == "小店区"
        codes = [a.code for a in communities_of(session, district="xiaodian")]
        assert "xiaodian.tanghuai.wutong" in codes
        assert all(code.startswith("xiaodian.") for code in codes)
        assert communities_of(session, district="jinyuan") == []
        person = get_person(session, person_id="P00001")
        assert person is not None and person.kind == "elder"
        assert get_person(session, person_id="P99999") is None

"""The notify activity keeps an outbox row and delivers it once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import structlog
from sqlalchemy import Engine
from temporalio.testing import ActivityEnvironment

from activities import NotificationActivities
from careflow.db import Notification, list_notifications, session_scope
from careflow.models import NotifyInput, ProcessContext
from careflow.notify import NotificationAdapter, OutboxLogAdapter
from careflow.privacy.pseudonyms import case_key

NOW = datetime(2026, 2, 1, 1, 0, tzinfo=UTC)
NOTE = NotifyInput(
    workflow_id="wf-3",
    step_key="tell-grid-worker",
    context=ProcessContext(
        process="eldercare.curtain_check",
        module="eldercare",
        district="xinghualing",
        community="xinghualing.jianhe.jianhe",
        case_ref="P00101",
        started_by="schedule:curtain",
    ),
    recipient_ref="role:grid_worker",
    template="curtain.door_check",
    body_zh="请上门查看张大爷",
    params={"elder_name": "张大爷", "address": "涧河社区3号楼"},
)


class RecordingAdapter:
    """Remembers what it sent; fails the first ``failures`` sends."""

    name = "recording"

    def __init__(self, failures: int = 0) -> None:
        self.sent: list[int | None] = []
        self.failures = failures

    def send(self, notification: Notification) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("gateway down")
        self.sent.append(notification.id)


def test_retried_notify_sends_once(any_engine: Engine) -> None:
    adapter = RecordingAdapter()
    acts = NotificationActivities(any_engine, adapter, clock=lambda: NOW)
    env = ActivityEnvironment()

    env.run(acts.notify, NOTE)
    env.run(acts.notify, NOTE)

    with session_scope(any_engine) as session:
        rows = list_notifications(session, workflow_id="wf-3")
    assert len(rows) == 1
    assert adapter.sent == [rows[0].id]
    row = rows[0]
    assert (row.status, row.adapter, row.sent_at, row.created_at) == ("sent", "recording", NOW, NOW)
    assert (row.recipient_ref, row.template, row.district, row.community) == (
        "role:grid_worker",
        "curtain.door_check",
        "xinghualing",
        "xinghualing.jianhe.jianhe",
    )
    assert row.params == NOTE.params
    assert acts.all() == [acts.notify]


def test_failed_delivery_is_marked_and_retried(any_engine: Engine) -> None:
    adapter = RecordingAdapter(failures=1)
    acts = NotificationActivities(any_engine, adapter)
    env = ActivityEnvironment()

    with pytest.raises(ConnectionError):
        env.run(acts.notify, NOTE)
    with session_scope(any_engine) as session:
        assert [r.status for r in list_notifications(session, workflow_id="wf-3")] == ["failed"]

    env.run(acts.notify, NOTE)
    env.run(acts.notify, NOTE)

    with session_scope(any_engine) as session:
        rows = list_notifications(session, workflow_id="wf-3")
    assert [r.status for r in rows] == ["sent"]
    assert adapter.sent == [rows[0].id]


def test_outbox_log_adapter_logs_references_only(engine: Engine) -> None:
    adapter = OutboxLogAdapter()
    assert isinstance(adapter, NotificationAdapter)
    acts = NotificationActivities(engine, adapter)

    with structlog.testing.capture_logs() as logs:
        ActivityEnvironment().run(acts.notify, NOTE)

    sent = [entry for entry in logs if entry["event"] == "notification.sent"]
    assert len(sent) == 1
    assert sent[0]["template"] == "curtain.door_check"
    assert sent[0]["recipient"] == "role:grid_worker"
    assert sent[0]["district"] == "xinghualing"
    assert sent[0]["notification_id"] is not None
    text = repr(logs)
    for private in ("张大爷", "涧河社区3号楼", "请上门查看"):
        assert private not in text
    with session_scope(engine) as session:
        assert [r.status for r in list_notifications(session)] == ["sent"]


def test_outbox_log_adapter_logs_a_person_by_case_key(engine: Engine) -> None:
    acts = NotificationActivities(engine, OutboxLogAdapter())
    to_elder = NOTE.model_copy(update={"recipient_ref": "P00101", "step_key": "tell-elder"})

    with structlog.testing.capture_logs() as logs:
        ActivityEnvironment().run(acts.notify, to_elder)

    (sent,) = [entry for entry in logs if entry["event"] == "notification.sent"]
    assert sent["recipient"] == case_key("P00101")
    assert "P00101" not in repr(logs)
    with session_scope(engine) as session:
        assert [r.recipient_ref for r in list_notifications(session)] == ["P00101"]

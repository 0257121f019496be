"""Log lines: temporalio's failure records keep no exception message (it may quote a person)."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from careflow.logging import StderrHandler, formatter

NAME = "张晓明"
PHONE = "13812345678"


@activity.defn(name="logging_test.call")
async def call(phone: str) -> None:
    raise RuntimeError(f"no answer from {NAME} at {phone}")


@workflow.defn(name="LoggingTestCall")
class CallWorkflow:
    @workflow.run
    async def run(self, phone: str) -> str:
        try:
            await workflow.execute_activity(
                call,
                phone,
                start_to_close_timeout=timedelta(seconds=5),
                retry_policy=RetryPolicy(maximum_attempts=1),
            )
        except ActivityError:
            return "failed"
        return "answered"


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """The root logger writes JSON through careflow's formatter into a buffer."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter(use_json=True))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def test_a_failed_activity_is_logged_by_type_and_place_not_by_message(
    ts_env: WorkflowEnvironment, log_lines: io.StringIO
) -> None:
    queue = f"logging-{uuid.uuid4()}"
    async with Worker(
        ts_env.client,
        task_queue=queue,
        workflows=[CallWorkflow],
        activities=[call],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        result = await ts_env.client.execute_workflow(
            CallWorkflow.run, PHONE, id=f"logging-{uuid.uuid4()}", task_queue=queue
        )
    assert result == "failed"
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    (failed,) = [
        line for line in lines if line["event"].startswith("Completing activity as failed")
    ]
    assert failed["error_type"] == "RuntimeError"
    assert failed["error_at"].endswith("test_logging.py:27")
    text = log_lines.getvalue()
    assert NAME not in text and PHONE not in text


def test_other_records_keep_their_exception() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter(use_json=True))
    log = logging.getLogger("careflow.test_logging")
    log.addHandler(handler)
    log.propagate = False
    try:
        try:
            raise ValueError("careflow's own message")
        except ValueError:
            log.exception("own failure")
    finally:
        log.removeHandler(handler)
        log.propagate = True
    assert "careflow's own message" in out.getvalue()


def test_the_handler_follows_stderr_when_it_is_swapped_and_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handler = StderrHandler()
    handler.setFormatter(formatter(use_json=True))
    record = logging.LogRecord("careflow.test", logging.WARNING, __file__, 1, "first", None, None)
    first = io.StringIO()
    monkeypatch.setattr("sys.stderr", first)
    handler.emit(record)
    first.close()  # as a test runner closes the stream it captured with
    second = io.StringIO()
    monkeypatch.setattr("sys.stderr", second)
    handler.emit(record)
    assert json.loads(second.getvalue())["event"] == "first"

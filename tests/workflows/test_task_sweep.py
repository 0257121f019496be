"""The inbox never shows tasks of a process that is no longer running.

Before: terminating a process (from the Web UI, say) left its open tasks in every inbox for
good, and completing one failed with "the process is not running".
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from careflow import service
from careflow.registry import PluginRegistry
from cli import app
from tests.support.inbox import tasks_of, wait_for_task
from worker.reconcile import reconcile_tasks
from worker.testing import running_worker

REQUEST: dict[str, Any] = {
    "recipient_ref": "P00012",
    "donor_ref": "D0003",
    "items": [{"category": "school_bag", "quantity": 1}],
    "purpose": "micro_wish",
}


def _inbox(database_url: str, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What ``careflow tasks --status open --json`` shows on the test database."""
    monkeypatch.setenv("CAREFLOW_DATABASE_URL", database_url)
    result = CliRunner().invoke(app, ["tasks", "--status", "open", "--json"])
    assert result.exit_code == 0, result.stderr
    shown: list[dict[str, Any]] = json.loads(result.stdout)
    return shown


async def test_tasks_of_a_terminated_process_leave_the_inbox_after_a_sweep(
    ts_env: WorkflowEnvironment,
    engine: Engine,
    database_url: str,
    registry: PluginRegistry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        started = [
            await service.start_process(
                ts_env.client,
                registry,
                process="delivery",
                district="yingze",
                request=REQUEST,
                started_by="staff:S0001",
                task_queue=worker.task_queue,
            )
            for _ in range(2)
        ]
        terminated, running = (s.workflow_id for s in started)
        gone = await wait_for_task(engine, terminated, "dropoff")
        kept = await wait_for_task(engine, running, "dropoff")
        assert {t["task_id"] for t in _inbox(database_url, monkeypatch)} == {
            gone.task_id,
            kept.task_id,
        }

        await ts_env.client.get_workflow_handle(terminated).terminate(reason="opened by mistake")
        report = await reconcile_tasks(ts_env.client, engine)
        again = await reconcile_tasks(ts_env.client, engine)

    assert report == {"checked": 2, "closed": 1, "cancelled": 1}
    assert again == {"checked": 1, "closed": 0, "cancelled": 0}
    assert [t["task_id"] for t in _inbox(database_url, monkeypatch)] == [kept.task_id]
    (swept,) = tasks_of(engine, terminated)
    assert swept.status == "cancelled"
    assert swept.result == {"cancelled": "process_terminated"}
    assert swept.closed_at is not None

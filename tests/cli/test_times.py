"""Staff read times in Asia/Shanghai to the minute; ``--json`` keeps UTC ISO 8601."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from careflow import service
from careflow.db import crud, make_engine, session_scope
from careflow.forms import form_ref, form_schema
from careflow.registry import PluginRegistry
from cli import app
from cli.process_cmd import _status_lines
from plugins.engine import plugin as engine_plugin
from plugins.engine.delivery import HandoverForm
from tests.support.inbox import wait_for_task
from worker.testing import running_worker

DUE = datetime(2026, 3, 1, 8, 5, 33, 123456, tzinfo=UTC)  # 16:05 in Shanghai


def _migrated(runner: CliRunner) -> str:
    result = runner.invoke(app, ["migrate", "--json"])
    assert result.exit_code == 0, result.stderr
    return str(json.loads(result.stdout)["database"])


def _open_task(url: str) -> None:
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            crud.insert_task(
                session,
                task_id="T-1",
                workflow_id="delivery-wanbailin-C-1",
                step_key="handover",
                process="delivery",
                module="shared",
                district="wanbailin",
                community="wanbailin.wanghua.jiusi",
                case_ref="C-1",
                role="grid_worker",
                title_zh="入户交接物资并签收",
                title_en="Hand over goods and collect the signed receipt",
                form_ref=form_ref(HandoverForm),
                form_schema=form_schema(form_ref(HandoverForm)),
                due_at=DUE,
            )
    finally:
        engine.dispose()


def test_inbox_shows_local_minutes_and_json_keeps_utc(runner: CliRunner) -> None:
    _open_task(_migrated(runner))
    human = runner.invoke(app, ["tasks"])
    assert human.exit_code == 0, human.stderr
    assert "截止 due 2026-03-01 16:05" in human.stdout
    assert "08:05" not in human.stdout and ".123456" not in human.stdout
    machine = runner.invoke(app, ["tasks", "--json"])
    assert json.loads(machine.stdout)[0]["due_at"] == "2026-03-01T08:05:33.123456+00:00"


def test_status_shows_local_minutes() -> None:
    info = {
        "workflow_id": "delivery-wanbailin-C-1",
        "status": "RUNNING",
        "stage": "handover",
        "process": "delivery",
        "district": "wanbailin",
        "tasks": [
            {
                "task_id": "T-1",
                "status": "open",
                "title_zh": "交接",
                "role": "grid_worker",
                "due_at": DUE.isoformat(),
            }
        ],
    }
    text = "\n".join(_status_lines(info))
    assert "截止 due 2026-03-01 16:05" in text and "08:05" not in text


async def test_ui_current_details_show_local_due_times(
    ts_env: WorkflowEnvironment, engine: Engine
) -> None:
    registry = PluginRegistry.build([engine_plugin])
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        started = await service.start_process(
            ts_env.client,
            registry,
            process="delivery",
            district="wanbailin",
            request={"recipient_ref": "P00030", "items": [{"category": "winter_coat"}]},
            started_by="staff:S0001",
            task_queue=worker.task_queue,
        )
        task = await wait_for_task(engine, started.workflow_id, "dropoff")
        due = task.due_at.astimezone(UTC)
        shanghai = f"{(due.hour + 8) % 24:02d}:{due.minute:02d}"
        handle = ts_env.client.get_workflow_handle(started.workflow_id)
        # The task row is written by the activity; the workflow sets its details
        # only once it has the activity's result, a moment later.
        deadline = time.monotonic() + 20
        while True:
            meta = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
            if "截止" in meta.current_details or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        await handle.terminate("test finished")
    details = meta.current_details
    assert f"{shanghai} 北京时间 UTC+8" in details, details
    assert " UTC)" not in details

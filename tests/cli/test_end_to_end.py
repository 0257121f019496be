"""A staff member drives a Delivery from the ``careflow`` CLI against a real dev server."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.db.tables import Staff
from careflow.registry import PluginRegistry
from plugins.engine import plugin as engine_plugin
from tests.support.inbox import wait_for_task
from tests.support.sample_plugin import make_sample_plugin
from worker.testing import cli_environment, running_worker


async def _careflow(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await proc.communicate(stdin.encode() if stdin is not None else None)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


JIUSI = "wanbailin.wanghua.jiusi"


def _account(engine: Engine, username: str) -> str:
    """The staff id of a demo account."""
    with Session(engine) as session:
        return session.exec(select(Staff.id).where(Staff.username == username)).one()


async def test_staff_drive_a_delivery_end_to_end(
    dev_env: WorkflowEnvironment, seeded_engine: Engine, database_url: str, tmp_path: Path
) -> None:
    registry = PluginRegistry.build([engine_plugin])
    async with running_worker(dev_env.client, registry, engine=seeded_engine) as worker:
        # The CLI plans with the worker's plugins only, whatever else is installed.
        env = cli_environment(
            registry.plugins,
            CAREFLOW_TEMPORAL_ADDRESS=dev_env.client.service_client.config.target_host,
            CAREFLOW_DATABASE_URL=database_url,
            CAREFLOW_TASK_QUEUE=worker.task_queue,
            CAREFLOW_DATA_DIR=str(tmp_path),
        )
        request = {
            "recipient_ref": "P00012",
            "donor_ref": "D0003",
            "items": [{"category": "school_bag", "quantity": 1}],
        }
        code, out, err = await _careflow(
            env,
            "start",
            "delivery",
            "--district",
            "wanbailin",
            "--community",
            "wanbailin.wanghua.jiusi",
            "--input",
            "-",
            "--actor",
            "S0001",
            stdin=json.dumps(request),
        )
        assert code == 0, err
        workflow_id = out.strip()
        assert workflow_id.startswith("delivery-wanbailin-")

        await wait_for_task(seeded_engine, workflow_id, "dropoff")
        code, out, err = await _careflow(
            env,
            "tasks",
            "--role",
            "community_staff",
            "--community",
            "wanbailin.wanghua.jiusi",
            "--status",
            "open",
            "--json",
        )
        assert code == 0, err
        inbox: list[dict[str, Any]] = json.loads(out)
        dropoff = next(t for t in inbox if t["workflow_id"] == workflow_id)
        assert dropoff["form_schema"]["properties"]["items_match"]["type"] == "boolean"

        # A volunteer of the community may not complete it: exit 2, nothing written.
        code, _, err = await _careflow(
            env,
            "task",
            "complete",
            dropoff["task_id"],
            "--actor",
            _account(seeded_engine, f"{JIUSI}-volunteer"),
            "--data",
            "-",
            stdin='{"items_match": true}',
        )
        assert code == 2 and "role" in err

        for step, role, data in (
            ("dropoff", "community_staff", {"items_match": True}),
            ("handover", "grid_worker", {"handed_over": True, "receipt_ref": "R-1"}),
        ):
            task = await wait_for_task(seeded_engine, workflow_id, step)
            code, _, err = await _careflow(
                env,
                "task",
                "complete",
                task.task_id,
                "--actor",
                _account(seeded_engine, f"{JIUSI}-{role}"),
                "--data",
                "-",
                stdin=json.dumps(data),
            )
            assert code == 0, err

        await dev_env.client.get_workflow_handle(workflow_id).result()
        code, out, err = await _careflow(env, "status", workflow_id, "--json")
        assert code == 0, err
        status = json.loads(out)
    assert status["status"] == "COMPLETED" and status["stage"] == "closed"
    assert status["result"]["outcome"] == "delivered"
    assert [t["status"] for t in status["tasks"]] == ["done", "done"]


async def test_worker_refuses_to_start_without_a_plugin_running_plans_need(
    dev_env: WorkflowEnvironment, engine: Engine, database_url: str, tmp_path: Path
) -> None:
    with_sample = PluginRegistry.build([engine_plugin, make_sample_plugin()])
    async with running_worker(dev_env.client, with_sample, engine=engine) as worker:
        started = await service.start_process(
            dev_env.client,
            with_sample,
            process="delivery",
            district="yingze",
            request={"recipient_ref": "P00012", "items": [{"category": "stationery"}]},
            started_by="staff:S1",
            task_queue=worker.task_queue,
        )
        env = {
            **os.environ,
            "CAREFLOW_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
            "CAREFLOW_DATABASE_URL": database_url,
            "CAREFLOW_TASK_QUEUE": f"refused-{worker.task_queue}",
            "CAREFLOW_DATA_DIR": str(tmp_path),
        }
        # The installed plugins (entry points) do not include the test's sample plugin.
        code, _, err = await asyncio.wait_for(_careflow(env, "worker"), timeout=60)
        assert code == 2, err
        assert "sample 1.0.0" in err and "--allow-missing" in err
        code, out, _ = await _careflow(env, "plugins", "check", "--json")
        assert code == 1
        missing = [d for d in json.loads(out) if d["missing"]]
        assert any(
            d["plugin"] == "sample" and started.workflow_id in d["workflow_ids"] for d in missing
        )
        await dev_env.client.get_workflow_handle(started.workflow_id).terminate("test finished")

"""A district plugin that lives outside this repository works like a built-in one.

The plugin in ``tests/outside/jinyuan_plugin`` is built and installed as its own distribution
(pip, no index, no build isolation: nothing is downloaded) into a temporary directory; it is then
discovered through its entry point, validated, planned by the CLI, and run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from careflow import service
from careflow.registry import PluginRegistry, discover_plugins
from tests.support.inbox import result_of, wait_for_task
from tests.support.plugins import BUILT_IN
from worker.testing import cli_environment, running_worker

SOURCE = Path(__file__).parent.parent / "outside" / "jinyuan_plugin"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The plugin installed as a distribution into a directory put on ``sys.path``."""
    work = tmp_path_factory.mktemp("outside")
    source = shutil.copytree(SOURCE, work / "src")
    target = work / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
    )
    sys.path.insert(0, str(target))
    try:
        yield target
    finally:
        sys.path.remove(str(target))


def test_discovered_validated_and_planned(installed: Path) -> None:
    plugins = {p.name: p for p in discover_plugins()}
    assert plugins["jinyuan"].version == "1.0.0"
    registry = PluginRegistry.build(plugins.values())
    plan = registry.resolve_plan("delivery", "jinyuan")
    step = next(s for s in plan.steps if s.key == "jinyuan.follow_up_call")
    assert (step.plugin, step.plugin_version, step.point) == ("jinyuan", "1.0.0", "after_handover")
    assert "jinyuan.follow_up_call" not in [
        s.key for s in registry.resolve_plan("delivery", "yingze").steps
    ]

    # The suite lets the CLI load only the built-in plugins; this test means jinyuan too.
    env = cli_environment(
        [*BUILT_IN, plugins["jinyuan"]],
        PYTHONPATH=os.pathsep.join([str(installed), *sys.path]),
    )
    shown = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli",
            "plan",
            "delivery",
            "--district",
            "jinyuan",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    planned = json.loads(shown.stdout)
    assert any(
        s["key"] == "jinyuan.follow_up_call" and s["plugin"] == "jinyuan" for s in planned["steps"]
    )


async def test_its_step_runs_in_place(
    installed: Path, ts_env: WorkflowEnvironment, engine: Engine
) -> None:
    registry = PluginRegistry.build(discover_plugins())
    async with running_worker(ts_env.client, registry, engine=engine) as worker:
        started = await service.start_process(
            ts_env.client,
            registry,
            process="delivery",
            district="jinyuan",
            request={"recipient_ref": "P00030", "items": [{"category": "winter_coat"}]},
            started_by="staff:S0001",
            task_queue=worker.task_queue,
        )
        for key, role, data in (
            ("dropoff", "community_staff", {"items_match": True}),
            ("handover", "grid_worker", {"handed_over": True, "receipt_ref": "R-5"}),
            (
                "jinyuan.follow_up_call",
                "community_staff",
                {"reached": True, "goods_suitable": True},
            ),
        ):
            task = await wait_for_task(engine, started.workflow_id, key)
            await service.complete_task(
                ts_env.client, engine, task_id=task.task_id, actor="S0001", role=role, data=data
            )
        result = await result_of(ts_env, ts_env.client.get_workflow_handle(started.workflow_id))
    assert result["outcome"] == "delivered"

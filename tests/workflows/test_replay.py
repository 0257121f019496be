"""Replay of recorded histories: a workflow change that breaks running processes fails here.

Histories are recorded by the workflow tests with ``CAREFLOW_RECORD_HISTORIES=1``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from careflow.codec import data_converter
from careflow.registry import PluginRegistry
from careflow.settings import Settings
from worker.main import workflow_runner

HISTORIES = sorted((Path(__file__).parent.parent / "histories").glob("*.json"))


def _workflow_type(path: Path) -> str:
    first = json.loads(path.read_text(encoding="utf-8"))["events"][0]
    return str(first["workflowExecutionStartedEventAttributes"]["workflowType"]["name"])


def _replayer(full_registry: PluginRegistry) -> Replayer:
    return Replayer(
        workflows=[wf for plugin in full_registry.plugins for wf in plugin.all_workflows()],
        # The workers' own converter: the recorded histories are plain and pass through it.
        data_converter=data_converter(Settings()),
        workflow_runner=workflow_runner(),
    )


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays(path: Path, full_registry: PluginRegistry) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
    result = await _replayer(full_registry).replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"


def test_every_workflow_type_has_a_recorded_history(full_registry: PluginRegistry) -> None:
    recorded = {_workflow_type(p) for p in HISTORIES}
    registered = {
        getattr(wf, "__temporal_workflow_definition").name
        for plugin in full_registry.plugins
        for wf in plugin.all_workflows()
    }
    assert registered - recorded == set()
